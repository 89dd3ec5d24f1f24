"""check(target): load an implementation, hold it to the Protocol, compare it with the numpy
implementation on the battery of networks, and say which equation is wrong, and where.

    from compare import check
    check(MyMLP)                      # a class
    check("ex/my_mlp.py")             # a file (its one class), "ex/my_mlp.py:MyMLP", "pkg.mod:MyMLP",
                                      # an installed plugin's name, or a built-in's ("numpy")

returns a compare.check.verdict.Verdict: passed, diagnosed (the findings) or could not load.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from os import PathLike

import numpy as np

from compare.check import battery
from compare.check.calls import CALL_LIMIT, NOT_IMPLEMENTED, TIMED_OUT, LearnerFailed, call, unfinished_stubs
from compare.check.conformance import check_conformance, format_problem
from compare.check.diagnosis import Observation, diagnose, rel
from compare.check.equations import TOLERANCE, bp2_text, bp3_text, bp4_text, trace
from compare.check.verdict import DIAGNOSED, KINDS, NOT_LOADED, PASSED, Finding, Verdict
from compare.check.gradients import FD_STEP, FD_TOLERANCE, crosses_kink, losses_around, pick_coordinates, tensor_names
from impls import build
from impls.plugins import PluginError, PluginImportError, load_implementation, offers_protocol
from shared.params import Params, copy_params

FD_COORDINATES = 6  # entries per tensor compared with central differences (the largest and random ones)
FD_HIDDEN_LAYERS = 2
FLOAT32_SIZED = 1e-5  # relative errors float32 arithmetic would leave (its epsilon is 1.2e-7)  # finite differences on the networks with this many hidden layers
# What a not-implemented line quotes of each equation.
EQUATION_TEXT = {
    "BP1": "δᴸ = ∂C/∂aᴸ ⊙ σ′(zᴸ)",
    "BP2": bp2_text().removeprefix("(BP2) "),
    "BP3": bp3_text().removeprefix("(BP3) "),
    "BP4": bp4_text().removeprefix("(BP4) ").split(", i.e.")[0],
}


def check(target, *, seed: int = 0, call_limit: float | None = CALL_LIMIT) -> Verdict:
    """Judge an implementation of the Protocol (shared.model.MLP) against the numpy one.

    target: a class (an instance is taken for its class: the check builds its own, from
    seeded parameters), or a string: a .py file, file.py:Class, module:Class, an installed
    plugin's name or a built-in's. Loading a file runs it. Each call into the implementation
    is limited to call_limit seconds (shared.call_limit says what such a limit cannot stop).
    """
    shown = str(target) if isinstance(target, (str, PathLike)) else getattr(target, "__qualname__", repr(target))
    try:
        cls, shown = resolve(target)
    except PluginImportError as error:
        return Verdict(target=shown, outcome=NOT_LOADED, load_error=str(error), load_traceback=error.traceback)
    except PluginError as error:
        return Verdict(target=shown, outcome=NOT_LOADED, load_error=str(error))
    return judge_class(cls, shown, seed=seed, call_limit=call_limit)


def resolve(target) -> tuple[type, str]:
    if inspect.isclass(target):
        return target, target.__name__
    if isinstance(target, (str, PathLike)):
        text = str(target)
        from impls import REGISTRY

        if text.strip() in REGISTRY:
            return REGISTRY[text.strip()].load(), text.strip()
        loaded = load_implementation(text)
        return loaded.cls, loaded.origin
    if offers_protocol(type(target)):
        return type(target), type(target).__name__
    raise PluginError(f"check takes a class, a .py file, module:Class or a plugin's name; got {type(target).__name__}")


def judge_class(cls: type, shown: str, seed: int = 0, call_limit: float | None = CALL_LIMIT) -> Verdict:
    label = cls.__name__
    cases = battery.cases(seed)
    refused: dict[str, list[battery.Case]] = defaultdict(list)

    # 1. The Protocol's promises, on the first case the class agrees to be built for.
    problems, blocking, refusal = [], True, None
    for case in battery.conformance_order(cases):
        try:
            problems, blocking = check_conformance(cls, case, call_limit, label)
            tried_on = case.label
            break
        except LearnerFailed as failure:
            if failure.kind == TIMED_OUT:
                return Verdict(shown, DIAGNOSED, [Finding("timed out", failure.line())])
            refusal = failure
    else:
        at = f" (at {refusal.location})" if refusal.location else ""
        return Verdict(shown, DIAGNOSED, [Finding("conformance", f"{refusal.method} raised {refusal.message} for every "
                                                  f"network checked{at}", traceback=refusal.traceback)])
    if blocking:
        return Verdict(shown, DIAGNOSED, problems, checked=f"a {tried_on} network, for the Protocol's promises (the rest needs them kept)")

    # 2. The battery: every case, what the implementation returns.
    observations: list[Observation] = []
    for case in cases:
        ob = observe(cls, case, call_limit, label)
        if ob.failure is not None and ob.failure.method.endswith("(config, params)") and ob.failure.kind != TIMED_OUT:
            refused[ob.failure.message].append(case)
            continue
        observations.append(ob)
        if ob.failure is not None and ob.failure.kind == TIMED_OUT:
            break  # every further case would wait as long
    for ob in observations:
        if ob.failure is None and ob.case.hidden_layers == FD_HIDDEN_LAYERS and ob.case.family == "distinct":
            ob.finite_differences = finite_differences(cls, ob, call_limit, label, seed)

    # 3. The diagnosis.
    findings = problems + failure_findings(cls, observations) + format_findings(observations)
    complete = [ob for ob in observations if ob.failure is None and not ob.problems]
    findings += diagnose([ob for ob in observations if not ob.problems])  # a failed case still has what came before
    findings.sort(key=lambda finding: KINDS.index(finding.kind))  # stable: each kind keeps its own order
    worst_fd = max((e for ob in complete for e in ob.finite_differences.values()), default=0.0)
    if not findings and worst_fd > FD_TOLERANCE:
        findings.append(Finding("finite differences", "the gradients disagree with finite differences of its own loss",
                                equation="∂C/∂θ ≈ (C(θ + h) − C(θ − h)) / 2h", relative_error=worst_fd))
    verdict = Verdict(shown, DIAGNOSED if findings else PASSED, findings, checked=checked_text(observations),
                      notes=refusal_notes(refused) + rounding_note(findings))
    if not findings:
        if not complete:
            verdict.outcome = DIAGNOSED
            verdict.findings = [Finding("conformance", "no network of the check could be compared")]
        else:
            verdict.agreement = (f"agrees with the numpy implementation (probabilities, cost, gradients, update): worst "
                                 f"relative error {worst_agreement(complete):.1e} (tolerance {TOLERANCE:.0e}); "
                                 f"with finite differences of its own loss: worst {worst_fd:.1e} "
                                 f"(tolerance {FD_TOLERANCE:.0e})")
    return verdict


def as_params(value) -> Params:
    return [(np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64)) for W, b in value]


def observe(cls: type, case: battery.Case, call_limit, label) -> Observation:
    """Run the case's calls; stop at the first that fails (ob.failure says which)."""
    config, x, y = case.config, case.x, case.y
    reference = trace(config, case.params, x, y)
    check_reference(case, reference)
    ob = Observation(case=case, reference=reference,
                     singles_reference=[trace(config, case.params, x[i:i + 1], y[i:i + 1]) for i in range(len(y))])
    sizes = config.sizes

    def ask(model, method, *args):
        return call(model, method, *args, limit=call_limit, label=label)

    def gradients_of(result, what):
        loss, grads = result
        bad = format_problem(grads, sizes, what)
        if bad:
            ob.problems.append(bad)
            return None
        return float(loss), as_params(grads)

    try:
        model = ask(cls, "__init__", config, copy_params(case.params))
        probabilities = ask(model, "predict_proba", x.copy())
        if np.shape(probabilities) != (len(x), sizes[-1]):
            ob.problems.append(f"predict_proba returns shape {np.shape(probabilities)}, expected {(len(x), sizes[-1])}")
            return ob
        ob.probabilities = np.asarray(probabilities, dtype=np.float64)
        for i in range(len(y)):
            single = gradients_of(ask(model, "loss_and_gradients", x[i:i + 1].copy(), y[i:i + 1].copy()),
                                  "loss_and_gradients on one sample: the gradients")
            if single is None:
                return ob
            ob.singles.append(single)
        ob.batch = gradients_of(ask(model, "loss_and_gradients", x.copy(), y.copy()), "loss_and_gradients: the gradients")
        if ob.batch is None:
            return ob
        stepper = ask(cls, "__init__", config, copy_params(case.params))
        ob.step_loss = float(ask(stepper, "train_step", x.copy(), y.copy(), config.lr))
        after = ask(stepper, "parameters")
        if format_problem(after, sizes, "parameters() after train_step"):
            ob.problems.append(format_problem(after, sizes, "parameters() after train_step"))
            return ob
        ob.after_step = as_params(after)
        if rel(ob.step_loss, ob.batch[0]) > TOLERANCE:
            moved = ask(cls, "__init__", config, copy_params(ob.after_step))
            ob.loss_after_step = float(ask(moved, "loss_and_gradients", x.copy(), y.copy())[0])
    except LearnerFailed as failure:
        ob.failure = failure
    return ob


def check_reference(case: battery.Case, reference) -> None:
    """The referee's trace and impls.numpy_mlp must agree, or the check itself is wrong."""
    numpy = build("numpy", case.config, case.params)
    loss, grads = numpy.loss_and_gradients(case.x, case.y)
    ours = reference.gradients()
    errors = [rel(loss, reference.loss), rel(numpy.predict_proba(case.x), reference.a[-1])]
    errors += [rel(g, o) for layer, mine in zip(grads, ours) for g, o in zip(layer, mine)]
    if max(errors) > 1e-10:
        raise RuntimeError(f"the check's reference disagrees with the numpy implementation on {case.label} "
                           f"(relative error {max(errors):.1e}): a bug in compare/check/equations.py")


def finite_differences(cls: type, ob: Observation, call_limit, label, seed: int) -> dict[str, float]:
    """Each tensor's gradient from loss_and_gradients against central differences of the same
    implementation's own loss (compare.check.gradients' steps, kink test and choice of entries)."""
    case = ob.case
    loss, grads = ob.batch

    def loss_at(params: Params) -> float:
        model = call(cls, "__init__", case.config, copy_params(params), limit=call_limit, label=label)
        return float(call(model, "loss_and_gradients", case.x.copy(), case.y.copy(), limit=call_limit, label=label)[0])

    rng = np.random.default_rng(seed)
    work = copy_params(case.params)
    errors = {}
    try:
        for l, i, name in tensor_names(work):
            analytic = grads[l][i].ravel()
            scale = max(float(np.max(np.abs(analytic))), 1e-12)
            pairs = []
            for index in pick_coordinates(analytic, FD_COORDINATES, rng):
                plus, minus = losses_around(loss_at, work, l, i, index, FD_STEP)
                relu_kink = case.config.activation == "relu" and crosses_kink(
                    loss_at, work, (l, i, index), base=loss, plus=plus, minus=minus, scale=scale)
                if not relu_kink:
                    pairs.append(((plus - minus) / (2 * FD_STEP), analytic[index]))
            if pairs:
                numeric, exact = np.array(pairs).T
                errors[name] = float(np.max(np.abs(numeric - exact))) / max(scale, float(np.max(np.abs(numeric))))
    except LearnerFailed:
        pass  # the same call failed elsewhere in the case; that is reported once, there
    return errors


def failure_findings(cls: type, observations: list[Observation]) -> list[Finding]:
    failures = [ob.failure for ob in observations if ob.failure is not None]
    findings = []
    if any(f.kind == NOT_IMPLEMENTED for f in failures):
        stubs = [stub for stub in unfinished_stubs(cls) if stub.equation]
        for stub in sorted(stubs, key=lambda s: s.equation):
            findings.append(Finding("not implemented", f"{stub.equation} not implemented: {EQUATION_TEXT[stub.equation]} "
                                    f"(the TODO at {stub.location})", mistake="not implemented"))
        covered = {stub.location for stub in stubs}
        others = {(f.method, f.message, f.location): f for f in failures
                  if f.kind == NOT_IMPLEMENTED and not any(f.location.startswith(place) for place in covered)}
        findings += [Finding("not implemented", f.line(), traceback=f.traceback) for f in others.values()]
    grouped = defaultdict(list)
    for ob in observations:
        if ob.failure is not None and ob.failure.kind != NOT_IMPLEMENTED:
            grouped[(ob.failure.kind, ob.failure.method, ob.failure.message, ob.failure.location)].append(ob)
    for (kind, *_), obs in grouped.items():
        first = obs[0].failure
        where = f"in {len(obs)} of the {len(observations)} networks checked" + (
            f", e.g. {obs[0].case.label}" if len(obs) < len(observations) else "")
        findings.append(Finding(kind, first.line(), where=where, traceback=first.traceback))
    return findings


def format_findings(observations: list[Observation]) -> list[Finding]:
    grouped = defaultdict(list)
    for ob in observations:
        for line in ob.problems:
            grouped[line].append(ob)
    return [Finding("conformance", line, where=f"in {len(obs)} of the {len(observations)} networks checked, e.g. {obs[0].case.label}")
            for line, obs in grouped.items()]


def worst_agreement(observations: list[Observation]) -> float:
    errors = [0.0]
    for ob in observations:
        errors.append(rel(ob.probabilities, ob.reference.a[-1]))
        errors.append(rel(ob.batch[0], ob.reference.loss))
        for mine, right in zip(ob.batch[1], ob.reference.gradients()):
            errors += [rel(m, r) for m, r in zip(mine, right)]
        expected = [(W - ob.case.config.lr * gW, b - ob.case.config.lr * gb)
                    for (W, b), (gW, gb) in zip(ob.case.params, ob.reference.gradients())]
        errors += [rel(m, r) for layer, right in zip(ob.after_step, expected) for m, r in zip(layer, right)]
    return max(errors)


def rounding_note(findings: list[Finding]) -> list[str]:
    """Differences all of float32's rounding size, none a recognized mistake: say so."""
    numeric = [f for f in findings if f.relative_error is not None]
    if numeric and len(numeric) == len(findings) and all(f.mistake is None and f.relative_error < FLOAT32_SIZED
                                                          for f in numeric):
        return [f"every difference is below {FLOAT32_SIZED:.0e}, the size of float32 rounding: does it compute in "
                "float32 somewhere? The check compares float64 results"]
    return []


def checked_text(observations: list[Observation]) -> str:
    if not observations:
        return ""
    activations = sorted({ob.case.config.activation for ob in observations})
    losses = sorted({ob.case.config.loss for ob in observations})
    depths = sorted({ob.case.hidden_layers for ob in observations})
    fd = sum(bool(ob.finite_differences) for ob in observations)
    return (f"{len(observations)} networks ({', '.join(activations)}; {', '.join(losses)}; "
            f"{', '.join(map(str, depths))} hidden layers), each on a batch of {battery.BATCH} and on its samples alone"
            + (f"; finite differences on {fd} of them" if fd else ""))


def refusal_notes(refused: dict[str, list[battery.Case]]) -> list[str]:
    notes = []
    for message, cases in refused.items():
        kinds = sorted({f"{c.config.activation} {c.config.loss}" for c in cases})
        notes.append(f"skipped {len(cases)} networks the class refused ({', '.join(kinds[:4])}"
                     f"{', ...' if len(kinds) > 4 else ''}): {message}")
    return notes
