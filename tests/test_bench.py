"""The benchmark's baselines compute the right thing, and `compare bench --quick` measures."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from bench import BASELINES, baseline_class
from compare.bench import BENCH_CONFIGS, NIELSEN, THREEB1B, targets, to_markdown, training_flops
from compare.cli import main
from impls import build
from shared.config import Config
from shared.params import init_params, max_abs_difference, relative_error


def available(name):
    if "torch" in name:
        pytest.importorskip("torch")
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
    assert document["threads"] >= 1 and document["matmul_peak_gflops"]["float64"] > 0
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
    assert "## The graphs of the scalar autograd engines" in table
