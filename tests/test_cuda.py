"""The torch implementation on a CUDA device (skipped where there is none, as in CI)."""

from __future__ import annotations

import numpy as np
import pytest

from impls import build
from shared.config import Config
from shared.params import init_params, relative_error

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")


def test_cuda_gradients_match_the_cpu_in_float64():
    config = Config(sizes=(784, 30, 10), activation="tanh", loss="cross-entropy")
    params = init_params(config.sizes, seed=4)
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 784)), rng.integers(0, 10, 16)
    cpu = build("torch", config.with_changes(device="cpu"), params)
    cuda = build("torch", config.with_changes(device="cuda"), params)
    assert cuda.device.type == "cuda"
    loss_cpu, grads_cpu = cpu.loss_and_gradients(x, y)
    loss_cuda, grads_cuda = cuda.loss_and_gradients(x, y)
    assert loss_cuda == pytest.approx(loss_cpu, rel=1e-12)
    for (gW, gb), (hW, hb) in zip(grads_cpu, grads_cuda):
        assert relative_error(gW, hW) < 1e-10 and relative_error(gb, hb) < 1e-10


def test_auto_picks_cuda_and_training_steps_run_there():
    config = Config(sizes=(784, 16, 10), dtype="float32")
    model = build("torch", config, init_params(config.sizes))
    assert model.device.type == "cuda"
    x = np.random.default_rng(1).random((32, 784)).astype(np.float32)
    y = np.arange(32) % 10
    first = model.train_step(x, y, 0.5)
    for _ in range(20):
        last = model.train_step(x, y, 0.5)
    assert last < first
    assert model.parameters()[0][0].dtype == np.float64


def test_the_training_set_is_placed_on_the_device_once_and_batches_picked_there(mnist):
    from shared.training import prepare, train

    config = Config(sizes=(784, 16, 10), train_limit=500, test_limit=200, epochs=2, momentum=0.9, lr=0.1)
    params = init_params(config.sizes, config.init, config.seed)
    split = prepare(mnist, config)
    cuda = build("torch", config.with_changes(device="cuda"), params)
    cpu = build("torch", config.with_changes(device="cpu"), params)
    train(cuda, split, config.with_changes(device="cuda"))
    train(cpu, split, config.with_changes(device="cpu"))
    assert cuda.train_x.device.type == "cuda" and cuda.train_y.device.type == "cuda"
    assert relative_error(cuda.parameters()[0][0], cpu.parameters()[0][0]) < 1e-9
