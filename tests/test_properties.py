"""Property tests (hypothesis): the IDX reader under arbitrary and mutated bytes, the
gradient agreement on random networks, the batch order; and whole-run reproducibility."""

from __future__ import annotations

import json
import struct

import numpy as np
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compare.cli import main
from compare.check.gradients import PAIR_TOLERANCE, check_gradients, format_agreement
from conftest import available_impls, idx_bytes
from shared.config import ACTIVATIONS, LOSSES, Config
from shared.data import batch_order, minibatches
from shared.health import probe, saturation_warning
from shared.idx import IMAGES_MAGIC, LABELS_MAGIC, DataError, parse_idx
from shared.params import init_params

VALID_IMAGES = idx_bytes(np.arange(2 * 3 * 4).reshape(2, 3, 4) % 256)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.sampled_from([IMAGES_MAGIC, LABELS_MAGIC]))
def test_arbitrary_bytes_raise_only_data_errors(content, magic):
    try:
        values = parse_idx(content, "fuzz.idx", magic)
    except DataError as error:
        assert str(error).startswith("fuzz.idx: ") and "\n" not in str(error)
    else:  # the rare valid file: its header and length must agree
        assert values.dtype == np.uint8 and values.ndim == magic & 0xFF


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.booleans(), st.integers(0, 40))
def test_arbitrary_files_gzipped_or_not_raise_only_data_errors(content, gzipped, cut):
    """The whole reading path, gzip detection and decompression included."""
    import gzip
    import tempfile
    from pathlib import Path

    from shared.idx import read_idx

    data = gzip.compress(content) if gzipped else content
    data = data[: max(0, len(data) - cut)]  # often a truncated .gz
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fuzz.gz"
        path.write_bytes(data)
        try:
            read_idx(path, LABELS_MAGIC)
        except DataError as error:
            assert str(error).startswith(str(path)) and "\n" not in str(error)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(VALID_IMAGES) - 1), st.integers(0, 255), st.integers(0, 8))
def test_mutated_headers_raise_only_data_errors(position, value, cut):
    content = bytearray(VALID_IMAGES)
    content[min(position, 15)] = value  # within the header: magic and dimensions
    content = bytes(content[: len(content) - cut])
    try:
        values = parse_idx(content, "mutated.idx", IMAGES_MAGIC)
    except DataError:
        return
    shape = struct.unpack(">3I", content[4:16])
    assert values.shape == shape and 16 + values.size == len(content)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(1, 9), min_size=2, max_size=5).map(tuple),
    activation=st.sampled_from(ACTIVATIONS),
    loss=st.sampled_from(LOSSES),
    batch=st.integers(1, 7),
    seed=st.integers(0, 2**16),
)
def test_random_networks_keep_the_gradient_agreement(sizes, activation, loss, batch, seed):
    config = Config(sizes=sizes, activation=activation, loss=loss)
    rng = np.random.default_rng(seed)
    params = init_params(sizes, "nielsen", seed)  # random biases: kinks at exactly 0 stay rare
    x = rng.random((batch, sizes[0])) * (rng.random((batch, sizes[0])) > 0.3)
    y = rng.integers(0, sizes[-1], batch)
    result = check_gradients(config, params, x, y, available_impls(), coordinates=4, seed=seed)
    # The implementations must agree as closely as anywhere. Finite differences get a looser
    # bound here: in random deep, narrow sigmoid chains the first layer's gradient can vanish to
    # ~1e-6, where the rounding of C(theta +- h) alone is 1e-6 of it (found by hypothesis:
    # 2-1-1-1-1, sigmoid, mse). A wrong formula is off by far more than 1e-4.
    assert result.worst_pair <= PAIR_TOLERANCE, format_agreement(result)
    assert result.worst_finite_difference <= 1e-4, format_agreement(result)


@settings(max_examples=100, deadline=None)
@given(count=st.integers(1, 500), batch=st.integers(1, 64), seed=st.integers(0, 2**31), epoch=st.integers(1, 50))
def test_batch_order_is_a_permutation_fixed_by_seed_and_epoch(count, batch, seed, epoch):
    order = batch_order(count, seed, epoch)
    assert np.array_equal(np.sort(order), np.arange(count))
    assert np.array_equal(order, batch_order(count, seed, epoch))
    batches = list(minibatches(count, batch, seed, epoch))
    assert np.array_equal(np.concatenate(batches), order)
    assert all(len(b) == batch for b in batches[:-1]) and 1 <= len(batches[-1]) <= batch


TIMING_KEYS = {"train_seconds", "eval_seconds", "samples_per_second", "train_seconds_per_epoch",
               "eval_seconds_per_epoch", "peak_rss_bytes", "load_average", "waiting_share", "created", "environment", "command", "name"}


def without_timings(value):
    if isinstance(value, dict):
        return {k: [w for w in v if "the machine was busy" not in w] if k == "warnings" else without_timings(v)
                for k, v in value.items() if k not in TIMING_KEYS}  # a busy-machine warning is a measurement
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def test_the_same_command_twice_gives_identical_results(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["run", "--impl", "all" if "torch" in available_impls() else "scratch,numpy", "--sizes", "784,10,10",
            "--train-limit", "300", "--test-limit", "200", "--epochs", "2", "-q"]
    for name in ("first", "second"):
        assert CliRunner().invoke(main, [*args, "--name", name], catch_exceptions=False).exit_code == 0
    first = json.loads((tmp_path / "reports" / "first" / "results.json").read_text())
    second = json.loads((tmp_path / "reports" / "second" / "results.json").read_text())
    assert json.dumps(without_timings(first), sort_keys=True) == json.dumps(without_timings(second), sort_keys=True)
    assert first["implementations"][0]["epochs"][1]["train_loss"] > 0


def test_saturation_is_measured_and_warned_about(mnist):
    x = mnist.train_images[:200].reshape(200, -1) / 255.0
    healthy = init_params((784, 30, 10), "nielsen")
    assert probe(healthy, x, "sigmoid", "mse").saturated == 0.0
    blown = [(W * 100, b * 100) for W, b in healthy]
    share = probe(blown, x, "sigmoid", "mse").saturated
    assert share > 0.9
    warning = saturation_warning(share, 3, "numpy", Config())
    assert "saturated" in warning and "epoch 3" in warning
    assert probe(healthy, x, "relu", "mse").saturated is None and saturation_warning(None, 1, "numpy", Config()) is None


def test_run_warns_when_sigmoids_saturate(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # (lr 300 used to be the example here: it diverges, and is now stopped as such)
    result = CliRunner().invoke(main, ["run", "--impl", "numpy", "--init", "nielsen-large", "--lr", "10",
                                       "--train-limit", "2000", "--test-limit", "200", "--epochs", "1"],
                                catch_exceptions=False)
    assert result.exit_code == 0
    assert "warning: after epoch 1, 99% of numpy's hidden units are saturated" in result.output
