"""From what an implementation returned to which equation is wrong, and where.

Each equation is judged on the implementation's own inputs to it, so that one mistake is
reported once, where it is made, and not again in every layer it flows into:

- forward: the output probabilities against the reference; the first layer that differs is
  found by comparing the networks without, with one and with two hidden layers;
- cost: the loss of one sample, given right probabilities;
- BP1-BP4, layer by layer from the output, on batches of one sample, where ∂C/∂bˡ is δˡ:
  BP4 makes ∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ, so the δˡ that BP4 used can be read back from ∂C/∂Wˡ
  (the least-squares δ of ∂C/∂Wˡ aˡ⁻¹ / |aˡ⁻¹|²) and set beside the one BP3 returned.
  Both agree with the δˡ expected (BP1 at the output; BP2 from the implementation's own
  δˡ⁺¹ below it): the layer is right. Both agree with each other but not with it: δˡ is wrong,
  BP1 or BP2. ∂C/∂b right, ∂C/∂W wrong: BP4; the other way round: BP3;
- batch: the gradient of a batch against the mean of the gradients of its samples alone,
  which names a sum where a mean belongs;
- update: the parameters after train_step against θ − η g, g its own gradient.

A wrong quantity is compared with what each classic mistake would give
(compare.check.equations), and named when one matches.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from compare.check import equations as eq
from compare.check.battery import Case
from compare.check.calls import LearnerFailed
from compare.check.equations import TOLERANCE, Mistake, Trace, name_mistake, up
from compare.check.verdict import KINDS, Finding
from shared.params import Params


@dataclass
class Observation:
    """What one case's calls returned (None: not reached, `failure` says why)."""

    case: Case
    reference: Trace  # the whole batch
    singles_reference: list[Trace] = field(default_factory=list)  # each sample alone
    probabilities: np.ndarray | None = None  # predict_proba(batch)
    singles: list[tuple[float, Params]] = field(default_factory=list)  # loss_and_gradients of each sample alone
    batch: tuple[float, Params] | None = None  # loss_and_gradients(batch)
    step_loss: float | None = None  # what train_step(batch) returned
    after_step: Params | None = None  # parameters() after it
    loss_after_step: float | None = None  # its own loss at those parameters, when asked
    finite_differences: dict[str, float] = field(default_factory=dict)  # tensor -> relative error
    problems: list[str] = field(default_factory=list)  # broken promises of the Protocol seen in this case
    failure: LearnerFailed | None = None  # the call that stopped the case


@dataclass(frozen=True, eq=False)
class Local:
    """One wrong quantity in one case."""

    kind: str
    role: str  # where, in a form shared by networks of different depths: "output", "hidden", "into output", ...
    layer: int | None
    error: float
    mistake: Mistake | None = None
    detail: str = ""  # for "batch": which gradients


def rel(observed, expected) -> float:
    """max|o − e| / max(max|o|, max|e|); 0 when both are zero (a dead ReLU layer's δ)."""
    observed = np.asarray(observed, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if observed.shape != expected.shape or not np.all(np.isfinite(observed)):
        return float("inf")  # NaN compares as neither larger nor smaller: it must never pass for agreement
    scale = max(float(np.max(np.abs(observed), initial=0.0)), float(np.max(np.abs(expected), initial=0.0)))
    if scale < 1e-13:
        return 0.0
    return float(np.max(np.abs(observed - expected))) / scale


def flat(params: Params, which=(0, 1)) -> np.ndarray:
    return np.concatenate([np.ravel(layer[i]) for layer in params for i in which])


# -- the forward pass ---------------------------------------------------------------------
def forward_locals(observations: list[Observation]) -> dict[int, Local]:
    """id(observation) -> the forward finding, for every case whose probabilities are wrong."""
    found = {}
    groups = defaultdict(list)
    for ob in observations:
        if ob.probabilities is not None:
            c = ob.case.config
            groups[(ob.case.family, c.activation, c.loss)].append(ob)
    for group in groups.values():
        group.sort(key=lambda ob: ob.case.hidden_layers)
        wrong = [ob for ob in group if rel(ob.probabilities, ob.reference.a[-1]) > TOLERANCE]
        if not wrong:
            continue
        first = wrong[0]
        depth = first.case.hidden_layers
        tried_shallower = any(ob.case.hidden_layers < depth for ob in group)
        # The first layer that differs: the output layer if the network without hidden layers
        # is already wrong, else hidden layer d, where d hidden layers first go wrong.
        if depth == 0:
            role, layer = "output", first.reference.L
        elif tried_shallower:
            role, layer = f"hidden {depth}", depth
        else:
            role, layer = "hidden or output", None
        for ob in wrong:
            mistake = None
            if ob is first and layer is not None:
                mistake = name_mistake(ob.probabilities, ob.reference.a[-1], eq.forward_mistakes(ob.reference, layer))
            found[id(ob)] = Local("forward", role, layer, rel(ob.probabilities, ob.reference.a[-1]), mistake)
    return found


# -- the cost ---------------------------------------------------------------------------------
def cost_locals(ob: Observation) -> list[Local]:
    for (loss, _), t in zip(ob.singles, ob.singles_reference):
        if rel(loss, t.loss) > TOLERANCE:
            return [Local("cost", "cost", None, rel(loss, t.loss), name_mistake(loss, t.loss, eq.cost_mistakes(t)))]
    return []


# -- BP1-BP4, layer by layer, on each sample alone ------------------------------------------------
def role_of(kind: str, l: int, L: int) -> str:
    if kind in ("BP1", "BP3", "BP4") and l == L:
        return "output"
    if kind == "BP2":
        return "into output" if l == L - 1 else f"between {l} and {l + 1}"
    return f"hidden {l}"


def backprop_locals(ob: Observation) -> list[Local]:
    found: dict[tuple[str, str], Local] = {}
    for (_, grads), t in zip(ob.singles, ob.singles_reference):
        for local in sample_locals(grads, t):
            found.setdefault((local.kind, local.role), local)
    return list(found.values())


def sample_locals(grads: Params, t: Trace) -> list[Local]:
    """One sample's gradients, judged equation by equation from the output back."""
    L = t.L
    found = []
    learners_delta: dict[int, np.ndarray] = {}
    for l in range(L, 0, -1):
        gW, gb = np.asarray(grads[l - 1][0], dtype=np.float64), np.asarray(grads[l - 1][1], dtype=np.float64)[None, :]
        if l == L:
            expected = t.delta[L]
            delta_kind, delta_mistakes = "BP1", eq.bp1_mistakes(t)
        else:
            expected = eq.bp2(t.config.activation, t.W[l + 1], learners_delta[l + 1], t.z[l])
            delta_kind, delta_mistakes = "BP2", eq.bp2_mistakes(t, l, learners_delta[l + 1])
        a_prev = t.a[l - 1]
        norm = float(np.sum(a_prev * a_prev))
        from_weights = (gW @ a_prev[0])[None, :] / norm if norm > 0 else gb  # the δˡ that BP4 used
        rank_one = rel(gW, from_weights.T @ a_prev) <= TOLERANCE
        bias_right = rel(gb, expected) <= TOLERANCE
        weights_right = rel(gW, expected.T @ a_prev) <= TOLERANCE

        def delta_wrong(observed):
            mistake = name_mistake(observed, expected, delta_mistakes)
            found.append(Local(delta_kind, role_of(delta_kind, l, L), l, rel(observed, expected), mistake))

        def bp4_wrong(delta):
            right = delta.T @ a_prev
            found.append(Local("BP4", role_of("BP4", l, L), l, rel(gW, right),
                               name_mistake(gW, right, eq.bp4_mistakes(t, l, delta))))

        def bp3_wrong(delta):
            found.append(Local("BP3", role_of("BP3", l, L), l, rel(gb, delta),
                               name_mistake(gb[0], delta[0], eq.bp3_mistakes(t, l, delta))))

        if bias_right and weights_right:
            learners_delta[l] = expected
        elif rank_one and rel(gb, from_weights) <= TOLERANCE:
            delta_wrong(gb)  # BP3 and BP4 agree on a δˡ, and it is not the one expected
            learners_delta[l] = gb
        elif bias_right:
            bp4_wrong(expected)
            learners_delta[l] = expected
        elif rank_one and rel(from_weights, expected) <= TOLERANCE:
            bp3_wrong(expected)
            learners_delta[l] = expected
        elif rank_one:  # δˡ is wrong, and BP3 does not return the δˡ that BP4 used
            delta_wrong(from_weights)
            bp3_wrong(from_weights)
            learners_delta[l] = from_weights
        else:
            delta_wrong(gb)
            bp4_wrong(gb)
            learners_delta[l] = gb
    return found


# -- the batch and the update -------------------------------------------------------------------
def batch_locals(ob: Observation) -> list[Local]:
    if ob.batch is None or len(ob.singles) != len(ob.case.y):
        return []
    n = len(ob.singles)
    found = []
    loss, grads = ob.batch
    losses = [single[0] for single in ob.singles]
    if rel(loss, np.mean(losses)) > TOLERANCE:
        mistakes = [Mistake("sum instead of mean", "C = Σₓ Cₓ: the losses of the batch summed, not averaged", sum(losses)),
                    Mistake("one sample", "C = C of the batch's last sample alone", losses[-1])]
        found.append(Local("cost", "batch", None, rel(loss, np.mean(losses)), name_mistake(loss, np.mean(losses), mistakes)))
    singles = [single[1] for single in ob.singles]
    for which, detail in ((0, "∂C/∂W"), (1, "∂C/∂b")):
        observed = flat(grads, (which,))
        per_sample = [flat(g, (which,)) for g in singles]
        mean = np.mean(per_sample, axis=0)
        if rel(observed, mean) <= TOLERANCE:
            continue
        mistakes = [
            Mistake("sum instead of mean", f"Σₓ ∂Cₓ/∂{detail[-1]}: summed over the batch's {n} samples, not averaged "
                    f"({n} times too large)", np.sum(per_sample, axis=0)),
            Mistake("one sample", f"{detail} of the batch's last sample alone: each sample's gradient replaces the "
                    "previous one (= where += belongs?)", per_sample[-1]),
            Mistake("one sample", f"{detail} of the batch's last sample divided by n: each sample's gradient replaces "
                    "the previous one (= where += belongs?)", per_sample[-1] / n),
            Mistake("one sample", f"{detail} of the batch's first sample alone", per_sample[0]),
        ]
        found.append(Local("batch", "batch", None, rel(observed, mean), name_mistake(observed, mean, mistakes), detail))
    if len(found) == 3 or (len(found) == 2 and found[0].kind == "batch"):
        # The same mistake in ∂C/∂W and ∂C/∂b: said once, for every gradient.
        names = {local.mistake.name if local.mistake else None for local in found if local.kind == "batch"}
        if len(names) == 1:
            batch = [local for local in found if local.kind == "batch"]
            mistake = batch[0].mistake
            if mistake is not None:  # said of θ, every parameter, rather than of W
                mistake = Mistake(mistake.name, mistake.explanation.replace("∂C/∂W", "∂C/∂θ").replace("∂Cₓ/∂W", "∂Cₓ/∂θ"), mistake.predicted)
            found = [local for local in found if local.kind != "batch"]
            found.append(Local("batch", "batch", None, max(local.error for local in batch), mistake, "every gradient"))
    return found


def update_locals(ob: Observation) -> list[Local]:
    if ob.after_step is None or ob.batch is None:
        return []
    found = []
    lr, n = ob.case.config.lr, len(ob.case.y)
    before, grads = ob.case.params, ob.batch[1]
    moved = flat(ob.after_step) - flat(before)
    step = -lr * flat(grads)
    if rel(moved, step) > TOLERANCE:
        weights_only = np.concatenate([np.concatenate([-lr * np.ravel(g[0]), np.zeros(np.size(g[1]))]) for g in grads])
        biases_only = np.concatenate([np.concatenate([np.zeros(np.size(g[0])), -lr * np.ravel(g[1])]) for g in grads])
        mistakes = [
            Mistake("sign error", "θ → θ + η ∂C/∂θ: a step up the cost, not down", -step),
            Mistake("learning rate left out", "θ → θ − ∂C/∂θ: η is not applied", step / lr),
            Mistake("learning rate twice", "θ → θ − η² ∂C/∂θ: η applied twice", step * lr),
            Mistake("divided by n twice", f"θ → θ − (η/n) ∂C/∂θ: the gradient of the mean divided by n = {n} again", step / n),
            Mistake("sum instead of mean", f"θ → θ − η n ∂C/∂θ: multiplied by n = {n}", step * n),
            Mistake("not updated", "θ is left as it was", np.zeros_like(step)),
            Mistake("biases not updated", "W moves, b does not", weights_only),
            Mistake("weights not updated", "b moves, W does not", biases_only),
        ]
        found.append(Local("update", "update", None, rel(moved, step), name_mistake(moved, step, mistakes)))
    if ob.step_loss is not None and rel(ob.step_loss, ob.batch[0]) > TOLERANCE:
        after = ob.loss_after_step
        mistake = Mistake("loss after the step", "train_step returns the loss at the new parameters, not at the "
                          "ones it started from", after) if after is not None else None
        found.append(Local("update", "returned loss", None, rel(ob.step_loss, ob.batch[0]),
                           name_mistake(ob.step_loss, ob.batch[0], [mistake] if mistake else [])))
    return found


# -- many cases into a few findings ---------------------------------------------------------------
def diagnose(observations: list[Observation]) -> list[Finding]:
    forward = forward_locals(observations)
    by_key: dict[tuple, list[tuple[Observation, Local]]] = defaultdict(list)
    for ob in observations:
        if id(ob) in forward:
            locals_ = [forward[id(ob)]]  # wrong probabilities: the rest would only repeat it
        else:
            locals_ = cost_locals(ob) + backprop_locals(ob) + batch_locals(ob) + update_locals(ob)
        for local in locals_:
            by_key[(local.kind, local.role, local.detail)].append((ob, local))
    findings = [finding_from(kind, role, detail, seen, observations) for (kind, role, detail), seen in by_key.items()]
    findings = merge_hidden_layers(findings)
    return sorted(findings, key=lambda f: (KINDS.index(f.kind), -max(f.layers, default=99)))


def finding_from(kind: str, role: str, detail: str, seen: list[tuple[Observation, Local]], observations) -> Finding:
    """One finding from the same wrong quantity in many cases, named by its most frequent mistake."""
    names = Counter(local.mistake.name for _, local in seen if local.mistake is not None)
    top = names.most_common(1)[0][0] if names else None
    example = next((local for _, local in seen if local.mistake is not None and local.mistake.name == top), seen[0][1])
    mistake = example.mistake
    cases = {id(ob) for ob, _ in seen}
    recognized = {id(ob) for ob, local in seen if local.mistake is not None and local.mistake.name == top}
    eligible = [ob for ob in observations if could_show(kind, role, ob)]
    layers = tuple(sorted({local.layer for _, local in seen if local.layer is not None}))
    place, equation = place_and_equation(kind, role, detail, seen[0][0], example)
    where = f"in {len(cases)} of the {len(eligible)} {scope_words(kind, role)} checked"
    if mistake and len(recognized) < len(cases) and kind != "forward":  # forward: named in the shallowest network only
        where += f" (the mistake recognized in {len(recognized)})"
    return Finding(kind=kind, summary=f"{place}: {mistake.name}" if mistake else place, equation=equation,
                   found=mistake.explanation if mistake else "", mistake=mistake.name if mistake else None,
                   relative_error=max(local.error for _, local in seen), where=where, layers=layers)


def min_depth(role: str) -> int:
    """The fewest hidden layers a network needs to show a finding at `role`."""
    if role == "into output" or role == "hidden or output":
        return 1
    if role.startswith("between"):
        return int(role.split()[-1])
    if role.startswith("hidden"):
        return int(role.split()[-1])
    return 0


def could_show(kind: str, role: str, ob: Observation) -> bool:
    return ob.case.hidden_layers >= min_depth(role)


def scope_words(kind: str, role: str) -> str:
    depth = min_depth(role)
    if depth == 0:
        return "networks"
    return "networks with hidden layers" if depth == 1 else f"networks with {depth} hidden layers"


def place_and_equation(kind: str, role: str, detail: str, ob: Observation, local: Local) -> tuple[str, str]:
    loss = ob.case.config.loss
    l = local.layer
    if kind == "forward":
        where = {"output": "the output layer"}.get(role) or (
            f"hidden layer {l}" if l is not None else "hidden layer 1 or the output layer (the network without hidden layers "
            "was not checked)")
        equation = eq.forward_text(l, ob.reference.L, loss) if l is not None else "zˡ = Wˡ aˡ⁻¹ + bˡ, aˡ = σ(zˡ)"
        return f"the forward pass is wrong at {where} (the first layer whose output differs)", equation
    if kind == "cost":
        if role == "batch":
            return "the cost of a batch is not the mean of its samples' costs", eq.cost_text(loss)
        return "the cost is wrong (the output probabilities are right)", eq.cost_text(loss)
    if kind == "BP1":
        return "BP1 is wrong: the output error δᴸ", eq.bp1_text(loss)
    if kind == "BP2":
        if role == "into output":
            return ("BP2 is wrong between the last hidden layer and the output layer",
                    "(BP2) δᴸ⁻¹ = ((Wᴸ)ᵀ δᴸ) ⊙ σ′(zᴸ⁻¹)")
        return f"BP2 is wrong between hidden layer {l} and hidden layer {l + 1}", eq.bp2_text(l)
    if kind in ("BP3", "BP4"):
        what = "∂C/∂b" if kind == "BP3" else "∂C/∂W"
        text = eq.bp3_text if kind == "BP3" else eq.bp4_text
        if role == "output":
            return f"{kind} is wrong at the output layer: {what}ᴸ", text("L")
        return f"{kind} is wrong at hidden layer {l}: {what}{up(l)}", text(l)
    if kind == "batch":
        if detail == "every gradient":
            return "the gradients of a batch are not the mean of its samples' gradients", eq.BATCH_TEXT
        return f"{detail} of a batch is not the mean of its samples' {detail}", eq.BATCH_TEXT
    if kind == "update":
        if role == "returned loss":
            return "train_step does not return the batch's loss before the step", "train_step returns C(θ), θ as it was before the step"
        return "the update of train_step is not θ − η g (its gradients are the ones it returns)", eq.UPDATE_TEXT
    return kind, ""


def merge_hidden_layers(findings: list[Finding]) -> list[Finding]:
    """BP3 or BP4 wrong the same way at hidden layers 1 and 2: one finding naming both."""
    merged, groups = [], defaultdict(list)
    for finding in findings:
        if finding.kind in ("BP3", "BP4") and finding.summary.startswith(f"{finding.kind} is wrong at hidden layer"):
            groups[(finding.kind, finding.mistake)].append(finding)
        else:
            merged.append(finding)
    for (kind, mistake), group in groups.items():
        if len(group) == 1:
            merged.append(group[0])
            continue
        layers = tuple(sorted({layer for f in group for layer in f.layers}))
        what = "∂C/∂b" if kind == "BP3" else "∂C/∂W"
        names = " and ".join(str(layer) for layer in layers)
        first = group[0]
        summary = f"{kind} is wrong at hidden layers {names}: {what}ˡ" + (f": {mistake}" if mistake else "")
        text = eq.bp3_text("l") if kind == "BP3" else eq.bp4_text("l")
        merged.append(Finding(kind=kind, summary=summary, equation=text, found=first.found, mistake=mistake,
                              relative_error=max(f.relative_error or 0.0 for f in group),
                              where="; ".join(f"layer {f.layers[0]}: {f.where}" for f in group), layers=layers))
    return merged
