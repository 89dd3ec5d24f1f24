"""The Protocol's promises (shared.model.MLP), checked before any number is compared.

The methods exist; predict_proba, loss_and_gradients and parameters return the documented
types, shapes and dtypes (float64, W as (outputs, inputs)); no method changes the arrays
it is given; parameters() is a copy; asking for the gradients twice gives the same
gradients (a gradient that accumulates across calls is the classic autograd slip). Each
broken promise is one line. Some make every comparison after them meaningless (wrong
shapes, a missing method): those are `blocking`, and the check stops there.
"""

from __future__ import annotations

import numbers

import numpy as np

from compare.check.battery import Case
from compare.check.calls import CALL_LIMIT, LearnerFailed, call
from compare.check.verdict import Finding
from impls.plugins import OPTIONAL_METHODS, PROTOCOL_METHODS, missing_methods
from shared.params import Params, check_params, copy_params

PROTOCOL = "shared.model.MLP"


def problem(summary: str) -> Finding:
    return Finding(kind="conformance", summary=summary)


def same(a: Params, b: Params) -> bool:
    return all(np.array_equal(x, y) for la, lb in zip(a, b) for x, y in zip(la, lb)) and len(a) == len(b)


def close(a: Params, b: Params, tolerance: float = 1e-12) -> bool:
    return all(np.allclose(p, q, rtol=0, atol=tolerance) for lp, lq in zip(a, b) for p, q in zip(lp, lq))


def format_problem(value, sizes, what: str) -> str | None:
    """One line if `value` is not parameters in the neutral format for `sizes`."""
    try:
        check_params(value if not isinstance(value, tuple) else list(value), sizes)
    except ValueError as error:
        # A weight gradient shaped wrong is BP4 written wrong: say so, not only the shapes.
        bp4 = "gradient" in what and "W has shape" in str(error)
        hint = " (BP4, ∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ: a row per neuron of the layer, a column per input)" if bp4 else ""
        try:
            for index, (W, _) in enumerate(value, start=1):
                if np.shape(W) == (sizes[index - 1], sizes[index]) and sizes[index - 1] != sizes[index]:
                    name, equation = (f"W{index}'s gradient", "; BP4: ∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ") if bp4 else (f"W{index}", "")
                    hint = f" ({name} is transposed: the neutral format is (outputs, inputs), as z = W a + b{equation})"
                    break
        except (TypeError, ValueError, IndexError):
            pass
        return f"{what}: {error}{hint}"
    return None


def check_conformance(cls: type, case: Case, limit: float | None = CALL_LIMIT, label: str | None = None) -> tuple[list[Finding], bool]:
    """(problems, blocking) on one case. Raises LearnerFailed when the class cannot be built
    for it (the caller decides whether that is a refusal)."""
    missing = missing_methods(cls)
    if missing:
        return [problem(f"the class has no method {name} (the Protocol {PROTOCOL} has {', '.join(PROTOCOL_METHODS)})")
                for name in missing], True
    config, sizes = case.config, case.config.sizes
    given = copy_params(case.params)
    model = call(cls, "__init__", config, given, limit=limit, label=label)
    problems: list[Finding] = []
    blocking = False

    def ask(method, *args):
        return call(model, method, *args, limit=limit, label=label)

    # -- attributes the harness reads
    name = getattr(model, "name", None)
    if not isinstance(name, str) or not name.strip():
        problems.append(problem("the instance has no `name` (a str: the name reports give it, e.g. name = \"my_mlp\")"))
    if getattr(model, "config", None) != config:
        problems.append(problem("the instance's `config` is not the Config it was built from (keep it: self.config = config)"))

    # -- parameters(): the neutral format, equal to what it was built from, a copy
    try:
        params = ask("parameters")
        bad = format_problem(params, sizes, "parameters()")
        if bad:
            problems.append(problem(bad))
            blocking = True
        elif not close(params, case.params):
            problems.append(problem("parameters() right after construction differs from the parameters it was built from"))
            blocking = True
        else:
            for W, b in params:
                W += 1.0
                b += 1.0
            if not close(ask("parameters"), case.params):
                problems.append(problem("parameters() returns the arrays the model computes with, not a copy: "
                                        "changing what it returned changed the model"))
    except LearnerFailed:
        pass

    x, y = case.x.copy(), case.y.copy()
    # -- predict_proba
    try:
        probabilities = ask("predict_proba", x)
        if not np.array_equal(x, case.x):
            problems.append(problem("predict_proba changes its input x"))
        classes = sizes[-1]
        if not isinstance(probabilities, np.ndarray):
            problems.append(problem(f"predict_proba returns {type(probabilities).__name__}, not a NumPy array of shape "
                                    f"(batch, {classes})"))
            blocking = True
        elif probabilities.shape != (len(x), classes):
            problems.append(problem(f"predict_proba returns shape {probabilities.shape}, expected {(len(x), classes)} "
                                    "(one row per sample, one column per class)"))
            blocking = True
        elif probabilities.dtype != np.float64:
            problems.append(problem(f"predict_proba returns {probabilities.dtype}, expected float64"))
            blocking = True
        elif not np.all(np.isfinite(probabilities)):
            problems.append(problem("predict_proba returns NaN or infinite values"))
            blocking = True
        elif config.loss == "cross-entropy" and not np.allclose(probabilities.sum(axis=1), 1.0, rtol=0, atol=1e-9):
            problems.append(problem("predict_proba's rows do not sum to 1: under cross-entropy they are softmax probabilities"))
        elif np.any(probabilities < 0) or np.any(probabilities > 1):
            problems.append(problem("predict_proba returns values outside [0, 1]"))
    except LearnerFailed:
        pass

    # -- loss_and_gradients
    try:
        x, y = case.x.copy(), case.y.copy()
        result = ask("loss_and_gradients", x, y)
        if not (np.array_equal(x, case.x) and np.array_equal(y, case.y)):
            problems.append(problem("loss_and_gradients changes its inputs x or y"))
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            problems.append(problem("loss_and_gradients must return a pair (loss, gradients)"))
            blocking = True
        else:
            loss, grads = result
            if not isinstance(loss, numbers.Real) and not (isinstance(loss, np.ndarray) and loss.shape == ()):
                problems.append(problem(f"loss_and_gradients returns a loss of type {type(loss).__name__}, not a number"))
                blocking = True
            elif not np.isfinite(float(loss)):
                problems.append(problem("loss_and_gradients returns a loss that is NaN or infinite"))
                blocking = True
            bad = format_problem(grads, sizes, "loss_and_gradients: the gradients")
            if bad:
                problems.append(problem(bad))
                blocking = True
            else:
                kept = copy_params(grads)
                again = ask("loss_and_gradients", case.x.copy(), case.y.copy())[1]
                if format_problem(again, sizes, "") is None and not all(
                        np.allclose(p, q, rtol=1e-12, atol=1e-15) for lp, lq in zip(kept, again) for p, q in zip(lp, lq)):
                    problems.append(problem("loss_and_gradients gives other gradients the second time on the same batch: "
                                            "do they accumulate across calls (not set back to zero)?"))
                after = ask("parameters")
                if format_problem(after, sizes, "") is None and not same(after, case.params):
                    problems.append(problem("loss_and_gradients changes the parameters (only train_step may)"))
    except LearnerFailed:
        pass

    # -- train_step
    try:
        x, y = case.x.copy(), case.y.copy()
        returned = ask("train_step", x, y, config.lr)
        if not (np.array_equal(x, case.x) and np.array_equal(y, case.y)):
            problems.append(problem("train_step changes its inputs x or y"))
        if not same(given, case.params):
            problems.append(problem("train_step changed the arrays the model was built from: copy them in __init__ "
                                    "(every implementation starts from the same ones)"))
        if not isinstance(returned, numbers.Real) and not (isinstance(returned, np.ndarray) and returned.shape == ()):
            problems.append(problem(f"train_step returns {type(returned).__name__}, not the batch's loss (a number)"))
    except LearnerFailed:
        pass

    # -- the optional part: the training set taken once, batches as indices
    if all(callable(getattr(cls, method, None)) for method in OPTIONAL_METHODS):
        problems += takes_training_set_problems(cls, case, limit, label)
    return problems, blocking


def takes_training_set_problems(cls, case: Case, limit, label) -> list[Finding]:
    try:
        by_rows = call(cls, "__init__", case.config, copy_params(case.params), limit=limit, label=label)
        plain = call(cls, "__init__", case.config, copy_params(case.params), limit=limit, label=label)
        call(by_rows, "load_training_set", case.x.copy(), case.y.copy(), limit=limit, label=label)
        rows = np.array([2, 0])
        call(by_rows, "train_step_at", rows, case.config.lr, limit=limit, label=label)
        call(plain, "train_step", case.x[rows], case.y[rows], case.config.lr, limit=limit, label=label)
        a, b = call(by_rows, "parameters", limit=limit, label=label), call(plain, "parameters", limit=limit, label=label)
    except LearnerFailed:
        return []
    if format_problem(a, case.config.sizes, "") or format_problem(b, case.config.sizes, ""):
        return []
    if not all(np.allclose(p, q, rtol=1e-12, atol=1e-14) for lp, lq in zip(a, b) for p, q in zip(lp, lq)):
        return [problem("train_step_at(rows) after load_training_set does not step as train_step on those rows does")]
    return []
