"""compare.check: the Protocol's promises, the verdict and its outcomes, and the API."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from compare.check.judge import check
from compare.check.verdict import DIAGNOSED, NOT_LOADED, PASSED
from conftest import available_impls
from impls.numpy_mlp import NumpyMLP

ROOT = Path(__file__).resolve().parent.parent


def summaries(verdict) -> list[str]:
    return [finding.summary for finding in verdict.findings]


@pytest.mark.parametrize("name", available_impls())
def test_every_built_in_implementation_passes(name):
    verdict = check(name)
    assert verdict.outcome == PASSED, verdict.text()
    assert verdict.exit_code == 0 and bool(verdict)
    assert "36 networks" in verdict.checked and "finite differences on 6" in verdict.checked


# -- the Protocol's promises -------------------------------------------------------------------
class Float32Output(NumpyMLP):
    def predict_proba(self, x):
        return super().predict_proba(x).astype(np.float32)


class ChangesItsInput(NumpyMLP):
    def predict_proba(self, x):
        result = super().predict_proba(x)
        x[0, 0] = 99.0
        return result


class ReturnsItsOwnArrays(NumpyMLP):
    def parameters(self):
        return [(WT.T, b) for WT, b in zip(self.WT, self.b)]  # views of what it computes with


class KeepsWTransposed(NumpyMLP):
    def parameters(self):
        return [(WT.copy(), b.copy()) for WT, b in zip(self.WT, self.b)]  # (inputs, outputs)


class Accumulates(NumpyMLP):
    def loss_and_gradients(self, x, y):
        loss, grads = super().loss_and_gradients(x, y)
        if not hasattr(self, "sums"):
            self.sums = [(np.zeros_like(W), np.zeros_like(b)) for W, b in grads]
        for (sW, sb), (gW, gb) in zip(self.sums, grads):
            sW += gW
            sb += gb
        return loss, [(sW.copy(), sb.copy()) for sW, sb in self.sums]


class StepsTheCallersArrays(NumpyMLP):
    def __init__(self, config, params):
        super().__init__(config, params)
        self.given = params

    def train_step(self, x, y, lr):
        loss = super().train_step(x, y, lr)
        for W, b in self.given:
            W -= 0.01
        return loss


class NoConfig(NumpyMLP):
    def __init__(self, config, params):
        super().__init__(config, params)
        self.settings = self.config
        del self.config

    def __getattr__(self, name):
        if name == "config":
            return self.settings
        raise AttributeError(name)


class Lacking:
    def __init__(self, config, params):
        self.config = config

    def predict_proba(self, x):
        return np.zeros((len(x), self.config.sizes[-1]))


@pytest.mark.parametrize("cls,line,blocking", [
    (Float32Output, "predict_proba returns float32, expected float64", True),
    (ChangesItsInput, "predict_proba changes its input x", False),
    (ReturnsItsOwnArrays, "parameters() returns the arrays the model computes with, not a copy", False),
    (KeepsWTransposed, "parameters(): layer 1: W has shape (7, 6), expected (6, 7) (W1 is transposed: the neutral "
                       "format is (outputs, inputs), as z = W a + b)", True),
    (Accumulates, "loss_and_gradients gives other gradients the second time on the same batch: do they accumulate "
                  "across calls (not set back to zero)?", False),
    (StepsTheCallersArrays, "train_step changed the arrays the model was built from", False),
])
def test_each_broken_promise_is_one_line(cls, line, blocking):
    verdict = check(cls)
    assert verdict.outcome == DIAGNOSED and verdict.exit_code == 1
    conformance = [f.summary for f in verdict.findings if f.kind == "conformance"]
    assert any(summary.startswith(line) for summary in conformance), verdict.text()
    assert all("\n" not in summary for summary in conformance)
    if blocking:  # nothing after it is compared
        assert {f.kind for f in verdict.findings} == {"conformance"}


def test_missing_methods_are_named_and_stop_the_check():
    verdict = check(Lacking)
    assert summaries(verdict) == [
        f"the class has no method {name} (the Protocol shared.model.MLP has loss_and_gradients, train_step, "
        "predict_proba, parameters)" for name in ("loss_and_gradients", "train_step", "parameters")]


def test_a_missing_config_attribute_is_reported():
    class Nameless(NumpyMLP):
        name = None

    assert any("has no `name`" in s for s in summaries(check(Nameless)))


# -- refusals, crashes, hangs --------------------------------------------------------------------
class SigmoidOnly(NumpyMLP):
    def __init__(self, config, params):
        if config.activation != "sigmoid":
            raise ValueError(f"only sigmoid is supported, not {config.activation}")
        super().__init__(config, params)


def test_a_refused_config_is_skipped_not_failed():
    verdict = check(SigmoidOnly)
    assert verdict.outcome == PASSED, verdict.text()
    assert "checked on 12 networks (sigmoid;" in verdict.text()
    assert verdict.notes == [
        "skipped 12 networks the class refused (tanh cross-entropy, tanh mse): ValueError: only sigmoid is supported, "
        "not tanh",
        "skipped 12 networks the class refused (relu cross-entropy, relu mse): ValueError: only sigmoid is supported, "
        "not relu",
    ]


def test_a_class_that_refuses_everything_is_diagnosed():
    class Never(NumpyMLP):
        def __init__(self, config, params):
            raise ValueError("not today")

    verdict = check(Never)
    assert verdict.outcome == DIAGNOSED
    (summary,) = summaries(verdict)
    assert summary.startswith("Never(config, params) raised ValueError: not today for every network checked (at "
                              "test_check.py:")
    assert summary.endswith("in __init__: `raise ValueError(\"not today\")`)")


def test_a_crash_is_one_line_with_its_place_and_the_traceback_is_kept():
    class Divides(NumpyMLP):
        def loss_and_gradients(self, x, y):
            if len(self.config.sizes) == 4:
                return 1 / 0
            return super().loss_and_gradients(x, y)

    verdict = check(Divides)
    crashed = [f for f in verdict.findings if f.kind == "crashed"]
    assert len(crashed) == 1, verdict.text()
    assert crashed[0].summary.startswith("Divides.loss_and_gradients raised ZeroDivisionError: division by zero at "
                                         "test_check.py:")
    assert crashed[0].summary.endswith("in loss_and_gradients: `return 1 / 0`")
    assert crashed[0].where == "in 12 of the 36 networks checked, e.g. 4-4-4-4 sigmoid mse"
    assert "Traceback" not in verdict.text() and "ZeroDivisionError" in crashed[0].traceback
    assert "<details>" in verdict._repr_html_()


def test_a_call_that_hangs_is_bounded_and_named():
    class Hangs(NumpyMLP):
        def train_step(self, x, y, lr):
            while True:
                pass

    verdict = check(Hangs, call_limit=0.2)
    assert verdict.outcome == DIAGNOSED
    assert summaries(verdict) == ["Hangs.train_step did not return within its limit (0.2 s): an endless loop?"]


def test_a_method_left_not_implemented_is_named():
    class NoPredict(NumpyMLP):
        def predict_proba(self, x):
            raise NotImplementedError("later")

    assert summaries(check(NoPredict))[0].startswith("NoPredict.predict_proba is not implemented (later) at test_check.py:")


# -- numbers the Protocol's types cannot catch ---------------------------------------------------
def test_a_batch_loss_summed_is_named():
    class SummedLoss(NumpyMLP):
        def loss_and_gradients(self, x, y):
            loss, grads = super().loss_and_gradients(x, y)
            return loss * len(x), grads

    finding = check(SummedLoss).findings[0]
    assert (finding.kind, finding.mistake) == ("cost", "sum instead of mean")
    assert finding.summary == "the cost of a batch is not the mean of its samples' costs: sum instead of mean"


def test_train_step_returning_the_loss_after_the_step_is_named():
    class LossAfter(NumpyMLP):
        def train_step(self, x, y, lr):
            super().train_step(x, y, lr)
            return self.loss_and_gradients(x, y)[0]

    finding = check(LossAfter).findings[0]
    assert (finding.kind, finding.mistake) == ("update", "loss after the step")


def test_the_forward_pass_wrong_at_the_output_layer_is_found_there():
    class NoSoftmax(NumpyMLP):
        def predict_proba(self, x):
            if self.config.loss == "cross-entropy":
                return self.feedforward(x)[1].astype(np.float64)
            return super().predict_proba(x)

    findings = [f for f in check(NoSoftmax).findings if f.kind == "forward"]
    assert [(f.mistake, f.summary.split(":")[0]) for f in findings] == [
        ("no output activation", "the forward pass is wrong at the output layer (the first layer whose output differs)")]


# -- could not load -------------------------------------------------------------------------------
def test_a_file_that_cannot_be_imported_could_not_load(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text("import numpy\nraise RuntimeError('my bug')\n")
    verdict = check(str(path))
    assert verdict.outcome == NOT_LOADED and verdict.exit_code == 2 and not verdict
    text = verdict.text()
    assert text.splitlines()[0] == f"{path}: could not load"
    assert text.splitlines()[1] == f"  {path} failed to import (the traceback is from your code):"
    assert f'File "{path}", line 2, in <module>' in text and text.endswith("RuntimeError: my bug")


@pytest.mark.parametrize("target,line", [
    ("no/such/file.py", "no such file: no/such/file.py"),
    (42, "check takes a class, a .py file, module:Class or a plugin's name; got int"),
])
def test_what_names_nothing_could_not_load(target, line):
    verdict = check(target)
    assert verdict.outcome == NOT_LOADED and verdict.load_error == line


# -- the result object ----------------------------------------------------------------------------
def test_the_verdict_as_text_html_and_json(tmp_path):
    class SignFlipped(NumpyMLP):
        def loss_and_gradients(self, x, y):
            loss, grads = super().loss_and_gradients(x, y)
            return loss, [(-W, -b) for W, b in grads]

    verdict = check(SignFlipped)
    assert repr(verdict) == str(verdict) == verdict.text()
    # NumpyMLP's own train_step still steps downhill: against the gradients this class returns,
    # that is a step up, and the update is judged against the implementation's own gradients.
    assert verdict.text().splitlines()[:2] == [
        "SignFlipped: diagnosed, 2 problems", "  - BP1 is wrong: the output error δᴸ: sign error"]
    assert [(f.kind, f.mistake) for f in verdict.findings] == [("BP1", "sign error"), ("update", "sign error")]
    page = verdict._repr_html_()
    assert "<strong" in page and "BP1 is wrong: the output error δᴸ: sign error" in page and "δᴸ = y − aᴸ" in page
    data = json.loads(json.dumps(verdict.to_dict()))
    assert data["outcome"] == "diagnosed" and data["exit_code"] == 1
    assert data["findings"][0]["kind"] == "BP1" and data["findings"][0]["mistake"] == "sign error"


def test_an_instance_is_checked_through_its_class():
    from shared.config import Config
    from shared.params import init_params

    config = Config(sizes=(4, 3, 2))
    assert check(NumpyMLP(config, init_params(config.sizes))).outcome == PASSED


def test_from_compare_import_check_is_lazy_and_stays_a_function():
    code = textwrap.dedent("""
        import sys
        import compare
        assert "numpy" not in sys.modules, "import compare loaded numpy"
        import compare.check.verdict          # the subpackage loads: the name stays the function's
        from compare import check
        verdict = check("numpy")
        assert verdict.exit_code == 0, verdict
        assert compare.check.judge.check is not None   # the subpackage's modules, through the function
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.stdout.strip() == "ok", result.stderr


def test_differences_of_float32_size_are_said_to_be():
    class Float32Inside(NumpyMLP):
        def loss_and_gradients(self, x, y):
            loss, grads = super().loss_and_gradients(x, y)
            return loss, [(W.astype(np.float32).astype(np.float64), b.astype(np.float32).astype(np.float64))
                          for W, b in grads]

    verdict = check(Float32Inside)
    assert verdict.outcome == DIAGNOSED
    assert verdict.notes == ["every difference is below 1e-05, the size of float32 rounding: does it compute in "
                             "float32 somewhere? The check compares float64 results"], verdict.text()


def test_nan_never_passes_for_agreement():
    class NaNsUnderReLU(NumpyMLP):  # the conformance case is a sigmoid network: it passes there
        def predict_proba(self, x):
            result = super().predict_proba(x)
            if self.config.activation == "relu":
                result[:, 0] = np.nan
            return result

    verdict = check(NaNsUnderReLU)
    assert [(f.kind, f.relative_error) for f in verdict.findings] == [("forward", float("inf"))], verdict.text()
    assert verdict.findings[0].where == "in 12 of the 36 networks checked"
