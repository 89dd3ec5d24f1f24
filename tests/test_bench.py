"""The benchmark's baselines compute the right thing, and `compare bench --quick` measures."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from bench import BASELINES, baseline_class, installed as bench_installed
from compare.benchmark.markdown import to_markdown
from compare.benchmark.plan import BENCH_CONFIGS, NIELSEN, THREEB1B
from compare.benchmark.targets import targets
from compare.run.machine import training_flops
from compare.cli import main
from impls import build
from shared.config import Config
from shared.data import scale_pixels
from shared.params import init_params, max_abs_difference, relative_error


def available(name):
    if "torch" in name:
        pytest.importorskip("torch")
    if BASELINES[name].needs:
        pytest.importorskip(BASELINES[name].needs)
    return baseline_class(name)


@pytest.mark.parametrize("name", list(BASELINES))
@pytest.mark.parametrize("activation,loss", [("sigmoid", "mse"), ("relu", "cross-entropy"), ("tanh", "cross-entropy")])
def test_baselines_compute_the_same_gradients_and_steps(name, activation, loss):
    cls = available(name)
    config = Config(sizes=(12, 7, 5, 4), activation=activation, loss=loss, lr=0.3)
    params = init_params(config.sizes, seed=3)
    rng = np.random.default_rng(0)
    x, y = rng.random((9, 12)), rng.integers(0, 4, 9)
    reference = build("numpy", config, params)
    baseline = cls(config, params)
    loss_ref, grads_ref = reference.loss_and_gradients(x, y)
    loss_base, grads_base = baseline.loss_and_gradients(x, y)
    assert loss_base == pytest.approx(loss_ref, rel=1e-12)
    for (gW, gb), (hW, hb) in zip(grads_ref, grads_base):
        assert relative_error(gW, hW) < 1e-10 and relative_error(gb, hb) < 1e-10
    prepare = getattr(baseline, "prepare_batch", None)
    batch = prepare(x, y) if prepare else (x, y)
    reference.train_step(x, y, 0.3)
    baseline.train_step(*batch, 0.3)
    assert max_abs_difference(reference.parameters(), baseline.parameters()) < 1e-12


def test_training_flops_counts_forward_weight_gradients_and_errors_sent_back():
    # forward 2*784*30 + 2*30*10, weight gradients the same again, errors only into layer 2
    assert training_flops((784, 30, 10)) == 2 * (784 * 30 + 300) * 2 + 2 * 300


def test_targets_report_met_and_unmet():
    config = next(iter(BENCH_CONFIGS))
    entry = lambda **rates: {"median": 0, "gflops": 0.0} | rates  # noqa: E731
    document = {
        "matmul_peak_gflops": {"float32": 100.0, "float64": 50.0},
        "throughput": [{"config": config, "dtype": "float32",
                        "results": {"numpy": entry(median=300.0), "torch": entry(median=200.0)}}],
        "help_seconds": 0.5,
    }
    rows = {row["target"]: row for row in targets(document)}
    row = rows[f"numpy / torch, {config}, float32"]
    assert row["measured"] == pytest.approx(1.5) and row["met"] is True
    assert rows["`compare --help` wall time"]["met"] is False
    assert rows["peak memory of `compare run --impl numpy`"]["met"] is None
    assert rows[f"autograd / scratch loop, {THREEB1B}"]["met"] is None  # not measured: no verdict


def test_autograd_targets_are_ratios_to_its_baseline_and_to_scratch():
    entry = lambda rate: {"median": rate, "gflops": 0.0}  # noqa: E731
    document = {
        "matmul_peak_gflops": {"float32": 100.0, "float64": 50.0},
        "throughput": [{"config": NIELSEN, "dtype": "float64",
                        "results": {"autograd": entry(600.0), "scratch": entry(1200.0), "micrograd-style": entry(5.0)}}],
    }
    rows = {row["target"]: row for row in targets(document)}
    assert rows[f"autograd / micrograd-style baseline, {NIELSEN}"]["measured"] == pytest.approx(120.0)
    assert rows[f"autograd / micrograd-style baseline, {NIELSEN}"]["met"] is True
    assert rows[f"autograd / scratch loop, {NIELSEN}"]["measured"] == pytest.approx(0.5)
    assert rows[f"autograd / scratch loop, {NIELSEN}"]["met"] is False


def test_quick_bench_writes_json_and_markdown(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["bench", "--quick", "--out", "out", "--markdown", "table.md"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "out" / "bench.json").read_text())
    assert document["threads"] == "auto" and document["matmul_peak_gflops"]["float64"] > 0
    # Each config at the threads `compare run --threads auto` would use, the same for every runner.
    from compare.run.machine import choose_threads
    for entry in document["throughput"]:
        spec = BENCH_CONFIGS[entry["config"]]
        assert entry["threads"] == document["threads_per_config"][entry["config"]]
        assert entry["threads"] in (1, choose_threads("auto", spec["sizes"], spec["batch_size"], load=0.0).threads)
    assert len(first_rates := document["throughput"][0]["results"]["numpy"]["rates"]) == 5 and min(first_rates) > 0
    assert len(document["throughput"]) == 2 * len(BENCH_CONFIGS)
    first = document["throughput"][0]["results"]["numpy"]
    assert first["repeats"] == 5 and first["min"] <= first["median"] <= first["max"]
    assert any(row["target"].startswith("scratch / textbook") and row["measured"] for row in document["targets"])
    measured = {row["target"]: row["measured"] for row in document["targets"]}
    assert measured[f"autograd / micrograd-style baseline, {NIELSEN}"] > 1
    assert measured[f"autograd / scratch loop, {NIELSEN}"] > 0
    graphs = {(g["config"], g["runner"]): g for g in document["autograd_graph"]}
    assert graphs[(NIELSEN, "micrograd-style")]["nodes_per_sample"] > 50 * graphs[(NIELSEN, "autograd")]["nodes_per_sample"]
    assert graphs[(NIELSEN, "autograd")]["bytes_per_sample"] > 0
    table = (tmp_path / "table.md").read_text()
    assert table == (tmp_path / "out" / "bench.md").read_text() == to_markdown(document) + "\n"
    assert "| target | measured | goal | met |" in table
    assert "| &gt;= 1.0 |" in table and "&gt;" not in result.output and "| >= 1.0 |" in result.output
    assert "A short run (`--quick`): rounds of 0.03 s, against 0.3 s in a full one." in table
    assert "## The graphs of the scalar autograd engines" in table
    steps = {(g["config"], g["dtype"]): g for g in document["tensor_graph"]}
    assert steps[(NIELSEN, "float64")]["nodes_per_step"] == 10 and steps[(NIELSEN, "float64")]["batch_size"] == 10
    assert steps[(NIELSEN, "float64")]["bytes_per_step"] > steps[(NIELSEN, "float32")]["bytes_per_step"] > 3 * 10 * 30 * 4
    assert "## The graph of the tensor engine" in table
    if bench_installed(BASELINES["jax-scan"]):  # the optional extra: measured where installed
        assert "jax-scan" in document["throughput"][0]["results"] and "JAX lax.scan per epoch (baseline)" in table


# -- issue 11: faithful baselines, batches by index, threads, load warnings ---------------


def test_per_sample_baseline_takes_the_books_data_format():
    """Column vectors and one-hot columns, as network.py's mnist_loader makes them."""
    cls = baseline_class("per-sample-numpy")
    config = Config(sizes=(12, 7, 4), loss="mse")
    model = cls(config, init_params(config.sizes, seed=1))
    rng = np.random.default_rng(0)
    pairs, _ = model.prepare_batch(rng.random((3, 12)), np.array([0, 3, 1]))
    assert [x.shape for x, _ in pairs] == [(12, 1)] * 3
    assert pairs[1][1].ravel().tolist() == [0, 0, 0, 1]


@pytest.mark.parametrize("name", ["scratch", "autograd", "numpy", "tensor", "torch"])
@pytest.mark.parametrize("momentum,decay", [(0.9, 1e-3), (0.0, 0.0)])
def test_indexed_batches_train_exactly_like_gathered_ones(mnist, name, momentum, decay):
    """The optional TakesTrainingSet path of the shared loop gives the same network as
    train_step on gathered rows, to the last bit, with a schedule, with and without momentum."""
    if name == "torch":
        pytest.importorskip("torch")
    from shared.model import TakesTrainingSet
    from shared.training import prepare, train

    class Gathered:  # the same model offering only the plain interface
        def __init__(self, model):
            self.model, self.name, self.config = model, model.name, model.config

        def train_step(self, x, y, lr):
            return self.model.train_step(x, y, lr)

        def predict_proba(self, x):
            return self.model.predict_proba(x)

        def parameters(self):
            return self.model.parameters()

    config = Config(sizes=(784, 16, 10), train_limit=300, test_limit=200, epochs=2, momentum=momentum,
                    weight_decay=decay, schedule="cosine", lr=0.1, device="cpu")
    params = init_params(config.sizes, config.init, config.seed)
    split = prepare(mnist, config)
    indexed, gathered = build(name, config, params), Gathered(build(name, config, params))
    assert isinstance(indexed, TakesTrainingSet) and not isinstance(gathered, TakesTrainingSet)
    a, b = train(indexed, split, config), train(gathered, split, config)
    assert max_abs_difference(indexed.parameters(), gathered.parameters()) == 0.0
    assert [e.train_loss for e in a.history] == [e.train_loss for e in b.history]
    np.testing.assert_array_equal(a.test_outputs, b.test_outputs)


@pytest.mark.parametrize("momentum,decay", [(0.0, 0.0), (0.9, 0.0), (0.5, 1e-2)])
def test_torch_update_is_torch_optim_sgd(momentum, decay):
    torch = pytest.importorskip("torch")
    config = Config(sizes=(10, 6, 3), momentum=momentum, weight_decay=decay, lr=0.3, device="cpu")
    params = init_params(config.sizes, seed=2)
    model = build("torch", config, params)
    reference = build("torch", config, params)
    optimizer = torch.optim.SGD([{"params": [l.weight for l in reference.linears], "weight_decay": decay},
                                 {"params": [l.bias for l in reference.linears], "weight_decay": 0.0}],
                                lr=0.3, momentum=momentum)
    rng = np.random.default_rng(3)
    for step in range(4):
        x, y = rng.random((5, 10)), rng.integers(0, 3, 5)
        lr = 0.3 / (step + 1)
        model.train_step(x, y, lr)
        for group in optimizer.param_groups:
            group["lr"] = lr
        reference.backward(*reference.tensors(x, y))
        optimizer.step()
    assert max_abs_difference(model.parameters(), reference.parameters()) < 1e-15


def test_bench_hands_each_runner_its_batches_as_in_real_use():
    from compare.benchmark.measure import build_runner, feed

    pytest.importorskip("torch")
    config = Config(sizes=(12, 5, 4), loss="mse")
    params = init_params(config.sizes, seed=0)
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 12)), rng.integers(0, 4, 40)
    rows = [np.arange(0, 10), np.arange(30, 40)]
    step, batches, per_call = feed(build_runner("torch", config, params), x, y, rows)
    assert batches == [(rows[0],), (rows[1],)] and step.__name__ == "train_step_at" and per_call == 1
    step, batches, _ = feed(build_runner("per-sample-numpy", config, params), x, y, rows)
    assert len(batches[0][0]) == 10 and batches[0][0][0][0].shape == (12, 1)

    class Plain:  # the Protocol's train_step only (a learner's class, say): rows gathered at every step
        def __init__(self, model):
            self.model = model

        def train_step(self, x, y, lr):
            return self.model.train_step(x, y, lr)

    step, batches, _ = feed(Plain(build("numpy", config, params)), x, y, rows)
    reference = build("numpy", config, params)
    assert step.__name__ == "train_step" and step(*batches[1], 0.1) == reference.train_step(x[30:40], y[30:40], 0.1)


def test_bench_hands_a_compiled_loop_every_batch_at_once():
    pytest.importorskip("jax")
    from compare.benchmark.measure import build_runner, feed

    config = Config(sizes=(12, 5, 4), loss="mse")
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 12)), rng.integers(0, 4, 40)
    rows = [np.arange(0, 10), np.arange(30, 40), np.arange(10, 20)]
    step, batches, per_call = feed(build_runner("jax-scan", config, init_params(config.sizes, seed=0)), x, y, rows)
    assert step.__name__ == "train_steps_at" and per_call == 3
    assert len(batches) == 1 and batches[0][0].tolist() == np.stack(rows).tolist()


# -- issue 20: the JAX baselines ------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("activation,loss", [("sigmoid", "mse"), ("relu", "cross-entropy")])
def test_jax_steps_and_scan_train_like_the_numpy_implementation(mnist, dtype, activation, loss):
    """Same initial parameters, same batches by index: after a few steps JAX's jit step and its
    scan over the same batches hold numpy's parameters (1e-10 in float64)."""
    pytest.importorskip("jax")
    config = Config(sizes=(784, 16, 10), activation=activation, loss=loss, dtype=dtype, lr=0.5, batch_size=10)
    params = init_params(config.sizes, "he" if activation == "relu" else "nielsen", seed=4)
    x, y = scale_pixels(mnist.train_images[:200], dtype), mnist.train_labels[:200].astype(np.int64)
    batches = [np.random.default_rng(step).choice(200, 10, replace=False) for step in range(6)]
    reference, jit, scan = build("numpy", config, params), available("jax-jit")(config, params), available("jax-scan")(config, params)
    for model in (reference, jit, scan):
        model.load_training_set(x, y)
    losses = [(reference.train_step_at(rows, 0.5), jit.train_step_at(rows, 0.5)) for rows in batches]
    last = scan.train_steps_at(np.stack(batches), 0.5)
    tolerance = 1e-10 if dtype == "float64" else 1e-5
    assert max_abs_difference(reference.parameters(), jit.parameters()) < tolerance
    assert max_abs_difference(reference.parameters(), scan.parameters()) < tolerance
    assert all(a == pytest.approx(b, rel=tolerance) for a, b in losses) and last == pytest.approx(losses[-1][0], rel=tolerance)
    assert jit.parameters()[0][0].dtype == np.float64  # the neutral format, whatever it computed in


def test_numpy_against_jax_is_a_target_per_config_and_dtype():
    entry = lambda rate: {"median": rate, "gflops": 0.0}  # noqa: E731
    document = {"matmul_peak_gflops": {"float32": 1.0, "float64": 1.0}, "throughput": [
        {"config": NIELSEN, "dtype": "float64",
         "results": {"numpy": entry(130_688.0), "jax-jit": entry(57_690.0), "jax-scan": entry(84_774.0)}}]}
    rows = {row["target"]: row for row in targets(document)}
    jit, scan = rows[f"numpy / JAX, jax.jit per step, {NIELSEN}, float64"], rows[
        f"numpy / JAX, an epoch as one compiled lax.scan, {NIELSEN}, float64"]
    assert jit["measured"] == pytest.approx(2.265, abs=1e-3) and jit["met"] is True
    assert scan["measured"] == pytest.approx(1.542, abs=1e-3) and scan["met"] is True
    assert rows[f"numpy / JAX, jax.jit per step, {NIELSEN}, float32"]["met"] is None  # not measured


# -- issue 19: a learner's implementation in the bench ---------------------------------------


@pytest.fixture
def tiny_plan(monkeypatch):
    """compare bench --quick, shorter still: two rounds, one pure-Python config."""
    from compare.benchmark.plan import Plan

    plan = Plan(repeats=2, seconds_per_repeat=0.01, warmup_steps=1, matmul_sizes=(64,), settle_seconds=0.0,
                pure_python_configs=(NIELSEN,), measure_memory=False, micrograd_configs=(), graph_samples=1)
    monkeypatch.setattr(Plan, "quick", classmethod(lambda cls: plan))
    return plan


def test_bench_measures_a_learners_file_under_its_own_name(tmp_path, monkeypatch, tiny_plan, learner):
    import impls

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["bench", "--quick", "--impl", f"numpy,{learner}", "--out", "out"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "out" / "bench.json").read_text())
    assert document["runners"] == ["numpy", "my_mlp"] and document["selected"] is True
    assert str(learner) in document["loaded"]["my_mlp"]
    nielsen = next(e for e in document["throughput"] if e["config"] == NIELSEN and e["dtype"] == "float64")
    assert set(nielsen["results"]) == {"numpy", "my_mlp"} and nielsen["results"]["my_mlp"]["median"] > 0
    assert all(set(e["results"]) == {"numpy"} for e in document["throughput"] if e is not nielsen)
    assert "tensor_graph" not in document and document["autograd_graph"] == []  # tensor, autograd not chosen
    table = (tmp_path / "out" / "bench.md").read_text()
    assert "| config | numpy | my_mlp |" in table and f"`my_mlp` is " in table
    assert "not measured" not in table  # targets of runners not chosen are left out
    assert "my_mlp" not in impls.REGISTRY


def test_bench_times_a_learners_steps_without_a_limit_per_call(learner):
    """impls.plugins.bounded's limit costs more per call than a small network's whole step:
    the bench builds the learner's class as it is and bounds whole rounds instead."""
    from compare.benchmark.measure import build_runner
    from impls import REGISTRY, learners_scope, parse_impl_names

    with learners_scope():
        (name,) = parse_impl_names(str(learner))
        config = Config(sizes=(784, 8, 10))
        model = build_runner(name, config, init_params(config.sizes, seed=0))
        assert type(model) is REGISTRY[name].loaded


def test_bench_stops_a_learners_hanging_step_with_a_message(tmp_path, monkeypatch, tiny_plan, learner):
    import impls

    monkeypatch.setattr(impls, "LEARNER_CALL_LIMIT", 1.0)
    text = learner.read_text().replace(
        "    def train_step(self", "    def train_step(self, *a, **k):\n        while True:\n            pass\n\n"
        "    def old_train_step(self", 1)
    learner.write_text(text)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["bench", "--quick", "--impl", str(learner), "--out", "out"])
    assert result.exit_code == 1, result.output
    assert "error: MyMLP.train_step did not return within 1 s (stopped: an endless loop?)" in result.output
    assert not (tmp_path / "out" / "bench.json").exists()


def test_bench_impl_refuses_unknown_names_and_missing_packages_in_one_line(tmp_path, monkeypatch):
    import bench

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["bench", "--quick", "--impl", "numpy,nosuch"])
    assert result.exit_code == 2 and "unknown implementation nosuch" in result.output
    assert "Traceback" not in result.output
    monkeypatch.setattr(bench, "installed", lambda baseline: False)
    result = CliRunner().invoke(main, ["bench", "--quick", "--impl", "jax-scan"])
    assert result.exit_code == 2 and "the baseline jax-scan needs jax, which is not installed" in result.output
    assert "pip install '.[jax]'" in result.output


def test_thread_choice():
    from compare.run.machine import PARALLEL_FLOPS, choose_threads, step_flops

    small = choose_threads("auto", (784, 30, 10), 10, core_count=2, load=0.1)
    assert small.threads == 1 and "below" in small.reason
    assert step_flops((784, 256, 10), 128) >= PARALLEL_FLOPS
    assert choose_threads("auto", (784, 256, 10), 128, core_count=2, load=0.2).threads == 2
    busy = choose_threads("auto", (784, 256, 10), 128, core_count=2, load=3.5)
    assert busy.threads == 1 and "busy" in busy.reason
    assert choose_threads("auto", (784, 256, 10), 128, core_count=1, load=0.0).threads == 1
    assert choose_threads("3", (784, 30, 10), 10, core_count=2).to_dict() == {
        "requested": "3", "threads": 3, "reason": "as asked with --threads"}


def test_busy_warning_from_injected_load_values():
    from compare.run.machine import busy_warning, is_busy

    assert not is_busy(1.9, 2) and not is_busy(None, 2) and is_busy(2.1, 2)
    assert busy_warning(1.5, 2, "numpy's training") is None
    assert "load average 6.9 on 2 cores" in busy_warning(6.9, 2, "numpy's training")


def fake_document(loads, peak=100.0):
    config = next(iter(BENCH_CONFIGS))
    entry = {"median": 100.0, "min": 90.0, "max": 110.0, "gflops": 1.0}
    throughput = [{"config": config, "dtype": dtype, "load_average": load, "busy": load > 2,
                   "results": {"torch": entry, "idiomatic-torch": entry | {"median": 80.0}}}
                  for dtype, load in zip(("float32", "float64"), loads)]
    return {"environment": {"cores": 2}, "matmul_peak_gflops": {"float32": peak, "float64": peak / 2},
            "throughput": throughput}


def test_bench_marks_figures_from_a_busy_machine_unreliable():
    from compare.benchmark.targets import reliability

    quiet = fake_document([0.5, 1.2])
    quiet["reliability"] = reliability(quiet, {"float32": 120.0, "float64": 60.0})
    assert quiet["reliability"]["unreliable"] is False
    rows = {r["target"]: r for r in targets(quiet)}
    row = rows[f"torch / idiomatic PyTorch loop, {next(iter(BENCH_CONFIGS))}, float32"]
    assert row["measured"] == pytest.approx(1.25) and row["met"] and not row["unreliable"]

    busy = fake_document([0.5, 6.9])  # float64 measured at load 6.9 on 2 cores
    busy["reliability"] = reliability(busy, None)
    assert busy["reliability"]["unreliable"] and "load average up to 6.9" in busy["reliability"]["reasons"][0]
    rows = {r["target"]: r for r in targets(busy)}
    assert rows[f"torch / idiomatic PyTorch loop, {next(iter(BENCH_CONFIGS))}, float64"]["unreliable"]

    slow_peak = fake_document([0.5, 0.5], peak=5.6)  # quiet load, but BLAS got 5.6 of 135 GFLOP/s
    slow_peak["reliability"] = reliability(slow_peak, {"float32": 135.0, "float64": 70.0})
    assert slow_peak["reliability"]["unreliable"]
    assert "float32 matmul peak 5.6 GFLOP/s" in slow_peak["reliability"]["reasons"][0]
    assert all(r["unreliable"] for r in targets(slow_peak) if r["measured"] is not None)


def test_a_bench_whose_threads_waited_for_a_core_is_unreliable_whatever_the_load_average():
    from compare.benchmark.markdown import reliability_blocks
    from compare.benchmark.targets import reliability

    lagging = fake_document([0.5, 1.9])  # the 1-minute average had not caught up with the burners
    lagging["throughput"][0]["waiting_share"] = 0.004
    lagging["throughput"][1] |= {"waiting_share": 0.33, "busy": True}
    lagging["reliability"] = info = reliability(lagging, None)
    assert info["unreliable"] and info["waiting_share_max"] == 0.33
    assert info["reasons"] == ["the bench's threads waited for a core up to 33% of the time (1 of 2 configs 25% or more)"]
    rows = {r["target"]: r for r in targets(lagging)}
    assert rows[f"torch / idiomatic PyTorch loop, {next(iter(BENCH_CONFIGS))}, float64"]["unreliable"]

    quiet = fake_document([0.5, 0.9])
    for entry, share in zip(quiet["throughput"], (0.004, 0.012)):
        entry["waiting_share"] = share
    quiet["reliability"] = reliability(quiet, None)
    assert not quiet["reliability"]["unreliable"]
    (sentence,) = reliability_blocks(quiet)
    assert "quiet: load average at most 0.9 on 2 cores, the bench's threads waiting for a core at most 1.2%" in sentence.text


def test_a_matmul_peak_below_a_training_steps_speed_is_not_kept_as_the_quiet_one(tmp_path):
    """Seen by a newcomer: a peak of 11.2 GFLOP/s (192 a minute later), a step's share of it
    627%, and that peak kept as the quiet reference, so later busy runs went unflagged."""
    from compare.benchmark.targets import below_a_step, read_quiet_peaks, reliability, remember_quiet_peaks

    cut_short = fake_document([0.5, 1.2], peak=11.2)
    step = {"median": 100.0, "min": 90.0, "max": 110.0}
    cut_short["throughput"][0]["results"] |= {"numpy": step | {"gflops": 70.2}, "jax-scan": step | {"gflops": 90.0}}
    cut_short["reliability"] = reliability(cut_short, None)
    assert below_a_step(cut_short) == ["float32"]
    remember_quiet_peaks(tmp_path / "peaks.json", cut_short)
    assert read_quiet_peaks(tmp_path / "peaks.json") is None
    cut_short["throughput"][0]["results"]["numpy"]["gflops"] = 9.0  # only JAX above it: XLA is not this BLAS
    assert below_a_step(cut_short) == []
    remember_quiet_peaks(tmp_path / "peaks.json", cut_short)
    assert read_quiet_peaks(tmp_path / "peaks.json") == {"float32": 11.2, "float64": 5.6}

    waited = fake_document([0.5, 0.5]) | {"matmul_peak_waiting_share": 0.47}
    assert reliability(waited, None)["reasons"] == ["the matmul peak's threads waited for a core 47% of the time"]


def test_a_bench_beside_burners_says_it_was_busy_at_once(mnist):
    """What the load average missed for a short bench: burners started a second before it. The
    test and its burners share one CPU, so the share waited is the same on any machine (2/3)."""
    from compare.benchmark.measure import bench_config
    from compare.benchmark.plan import Plan
    from compare.benchmark.threads_study import Burners
    from compare.run.machine import WAITING_LIMIT, thread_limits, thread_schedules

    if thread_schedules() is None or not hasattr(os, "sched_setaffinity"):
        pytest.skip("this system does not tell how long a thread waited for a core")
    plan = Plan(repeats=4, seconds_per_repeat=0.25, warmup_steps=1, settle_seconds=0.0)
    lines, cpus = [], os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cpus)})  # this thread, and the burners started from it
    try:
        with Burners(2, seconds=60), thread_limits(1, with_torch=False):
            entry = bench_config(NIELSEN, "float64", mnist, plan, ["numpy"], lines.append)
    finally:
        os.sched_setaffinity(0, cpus)
    assert entry["busy"] and entry["waiting_share"] >= WAITING_LIMIT, entry["waiting_share"]
    assert "waited for a core" in lines[-1]


def test_quiet_peaks_are_remembered_only_from_quiet_runs(tmp_path):
    from compare.benchmark.targets import read_quiet_peaks, reliability, remember_quiet_peaks

    path = tmp_path / "matmul-peak.json"
    assert read_quiet_peaks(path) is None
    document = fake_document([0.5, 0.5])
    document["reliability"] = reliability(document, None)
    remember_quiet_peaks(path, document)
    assert read_quiet_peaks(path) == {"float32": 100.0, "float64": 50.0}
    busy = fake_document([5.0, 5.0], peak=10.0)
    busy["reliability"] = reliability(busy, read_quiet_peaks(path))
    remember_quiet_peaks(path, busy)
    assert read_quiet_peaks(path) == {"float32": 100.0, "float64": 50.0}


def test_burners_are_bounded_and_ended_by_pid():
    from compare.benchmark.threads_study import Burners

    with Burners(1, seconds=30) as burners:
        (process,) = burners.processes
        assert process.poll() is None  # burning
    assert process.returncode is not None  # ended when the block ended


def test_run_records_the_threads_and_load(tmp_path, monkeypatch):
    import compare.run.comparison as running

    monkeypatch.setattr(running, "load_average", lambda: 7.5)
    result = CliRunner().invoke(main, ["run", "--impl", "numpy", "--train-limit", "200", "--test-limit", "100",
                                       "--epochs", "1", "--threads", "1", "--reports-dir", str(tmp_path),
                                       "--name", "t"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "threads: 1 (as asked with --threads)" in result.output
    assert "warning: the machine was busy during numpy's training (load average 7.5 on" in result.output
    assert "too short to compare" not in result.output  # one implementation: nothing is compared
    entry = json.loads((tmp_path / "t" / "results.json").read_text())["implementations"][0]
    assert entry["threads"] == {"requested": "1", "threads": 1, "reason": "as asked with --threads"}
    assert entry["load_average"] == 7.5
    bad = CliRunner().invoke(main, ["run", "--threads", "many"])
    assert bad.exit_code == 2 and "--threads" in bad.output


def test_a_run_whose_threads_waited_for_a_core_warns_and_records_it(tmp_path, monkeypatch):
    import compare.run.comparison as running

    monkeypatch.setattr(running, "load_average", lambda: 0.6)  # the average had not caught up yet
    monkeypatch.setattr(running.Waiting, "share", lambda self: 0.41)
    result = CliRunner().invoke(main, ["run", "--impl", "numpy", "--train-limit", "200", "--test-limit", "100",
                                       "--epochs", "1", "--reports-dir", str(tmp_path), "--name", "t"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert ("warning: the machine was busy during numpy's training (its threads waited for a core 41% of the "
            "time): the speeds measured are unreliable") in result.output
    assert json.loads((tmp_path / "t" / "results.json").read_text())["implementations"][0]["waiting_share"] == 0.41


def test_a_wait_over_almost_no_running_is_not_judged():
    from compare.run.machine import Waiting

    assert Waiting().share() is None  # a few milliseconds' wait would be a large share of nothing


def test_busy_signs_name_each_sign_of_a_busy_machine():
    from compare.run.machine import busy_signs

    assert busy_signs(0.5, 2, 0.02) == [] and busy_signs(None, 2, None) == []
    assert busy_signs(6.9, 2, 0.3) == ["load average 6.9 on 2 cores", "its threads waited for a core 30% of the time"]


def test_busy_torch_target_counts_only_what_one_thread_would_have_avoided():
    config = next(iter(BENCH_CONFIGS))
    document = {"throughput": [], "matmul_peak_gflops": {"float32": 1.0, "float64": 1.0},
                "threads_study": {"configs": [
                    {"config": "collapsed", "torch_busy_over_quiet": 0.05, "torch_busy_1_over_quiet": 0.7},
                    {"config": "kept", "torch_busy_over_quiet": 0.7, "torch_busy_1_over_quiet": 0.7},
                    {"config": "both slow", "torch_busy_over_quiet": 0.3, "torch_busy_1_over_quiet": 0.3}]}}
    rows = {r["target"].rsplit(", ", 1)[1]: r for r in targets(document) if "busy machine" in r["target"]}
    assert rows["collapsed"]["met"] is False and rows["kept"]["met"] is True and rows["both slow"]["met"] is True
    assert config  # the study's rows carry their own config names


def test_load_now_sees_runnable_processes_at_once(monkeypatch):
    import compare.run.machine as machine

    monkeypatch.setattr(machine, "load_average", lambda: 0.4)
    assert machine.load_now() >= 0.4


def test_a_ratio_compares_the_fastest_rounds():
    """Noise on a shared machine only ever adds time: a target's ratio is that of the two
    runners' best rounds, not of medians that a burst of load in one round can move."""
    from compare.benchmark.targets import ratio

    entry = {"results": {"numpy": {"median": 20.0, "rates": [10.0, 30.0, 20.0]},
                         "per-sample-numpy": {"median": 10.0, "rates": [10.0, 10.0, 40.0]}}}
    table = {(NIELSEN, "float64"): entry}
    assert ratio(table, NIELSEN, "float64", "numpy", "per-sample-numpy") == 0.75  # 30 / 40
    del entry["results"]["numpy"]["rates"]  # a bench.json from before the rates were kept
    assert ratio(table, NIELSEN, "float64", "numpy", "per-sample-numpy") == 2.0


def test_a_share_of_the_peak_above_one_is_not_met_and_unreliable():
    """A matmul peak measured during a burst of load made numpy reach '765%' of it: that
    says the peak is wrong, not that the target is met."""
    from compare.benchmark.plan import RELU256

    document = {"throughput": [{"config": RELU256, "dtype": "float32", "busy": False,
                                "results": {"numpy": {"median": 1.0, "gflops": 85.0}}}],
                "matmul_peak_gflops": {"float32": 11.2}, "reliability": {"unreliable": False}}
    row = next(r for r in targets(document) if r["target"].startswith("numpy float32 GFLOP/s"))
    assert row["met"] is False and row["unreliable"] is True
    skipped = next(r for r in targets(document) if r["target"].startswith("scratch / textbook"))
    assert skipped["measured"] is None and skipped["unreliable"] is False  # not measured is not "busy"


def test_a_commands_peak_memory_is_its_own_not_the_bench_processes():
    """A child's peak RSS on Linux counts the memory of the process it was forked from: the
    bench, holding torch and XLA, once measured more than `compare run` itself used."""
    import sys

    from compare.benchmark.measure import peak_rss

    held = np.ones(400 * 2**20 // 8)  # 400 MiB held by this process while the child runs
    peak = peak_rss([sys.executable, "-c", "data = bytearray(60 * 2**20)"])
    assert 60 * 2**20 < peak < 300 * 2**20 and held[0] == 1.0


def test_a_ratio_that_rounds_to_its_goal_shows_which_side_it_is_on():
    from compare.benchmark.markdown import format_measured

    def shown(value, goal=">= 0.7"):
        return format_measured({"measured": value, "unit": "x", "goal": goal})

    assert shown(0.699444) == "0.699x"  # missed: "0.70x ... no" would read as a contradiction
    assert shown(0.7046) == "0.705x" and shown(0.7) == "0.70x"
    assert shown(0.6286) == "0.63x" and shown(0.7146) == "0.71x"
    assert shown(0.9996, ">= 1.0") == "1.000x" and shown(0.498, ">= 0.5 (or 1 thread no better)") == "0.498x"
