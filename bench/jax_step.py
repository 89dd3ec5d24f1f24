"""The peer an engineer would pick instead: the same MLP in JAX, gradients by jax.grad, the
training step compiled by XLA. Two ways, two baselines:

- jax-jit: `jax.jit` of one training step (forward, gradients, SGD update), called once per
  mini-batch from Python, as JAX's own MNIST example does;
- jax-scan: a whole run of mini-batches (an epoch) as one compiled `lax.scan` of that
  step, called once: no Python between steps at all.

Both take the training set once (shared.model.TakesTrainingSet) as device arrays and pick
each batch by index inside the compiled step, the same batches in the same order as the
implementations; same initial parameters (the shared initializer's, W as (outputs, inputs)),
same math (sigmoid or ReLU or tanh layers, Nielsen's quadratic cost on sigmoid outputs or
softmax cross-entropy, the batch mean, plain SGD). `float(loss)` at the end of a call waits
for XLA's result, as the torch implementation's `.item()` does.

XLA computes on one core, as the issue's reference figures were measured (see
start_xla_on_one_core). float64 needs JAX's x64 mode, which this module turns on (JAX
computes float32 otherwise, whatever the arrays were). Needs `pip install '.[jax]'`;
nothing else in the project imports it.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np

from shared.config import Config

jax.config.update("jax_enable_x64", True)


def start_xla_on_one_core() -> None:
    """XLA makes its CPU thread pool once, when it starts, and splits each computation over
    it: with jax 0.10 two threads shared every call on 2 cores whatever XLA_FLAGS said
    (--xla_cpu_multi_thread_eigen=false, intra_op_parallelism_threads=1). Threads keep the
    cores they were allowed when made: start XLA while this process may use one core only,
    then give it back all its cores (NumPy's and torch's threads are not XLA's)."""
    if not hasattr(os, "sched_setaffinity"):  # not Linux: XLA takes the cores it finds
        jax.devices()
        return
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cores)})
    try:
        jax.devices()  # the CPU client and its threads are made here
    finally:
        os.sched_setaffinity(0, cores)


start_xla_on_one_core()

ACTIVATIONS = {"sigmoid": jax.nn.sigmoid, "tanh": jnp.tanh, "relu": jax.nn.relu}


def make_logits(config: Config):
    """The output layer's z for parameters [(W, b), ...] and a batch x (rows): sigma(a W^T + b) per hidden layer."""
    sigma = ACTIVATIONS[config.activation]

    def logits(params, x):
        a = x
        for W, b in params[:-1]:
            a = sigma(a @ W.T + b)
        W, b = params[-1]
        return a @ W.T + b

    return logits


def make_loss(config: Config):
    """The batch-mean loss, as the implementations define it."""
    logits = make_logits(config)

    def loss(params, x, y):
        z = logits(params, x)
        if config.loss == "cross-entropy":
            return -jnp.take_along_axis(jax.nn.log_softmax(z), y[:, None], axis=1).mean()
        error = jax.nn.sigmoid(z) - jax.nn.one_hot(y, z.shape[1], dtype=z.dtype)
        return 0.5 * (error * error).sum() / len(y)

    return loss


class JaxJitMLP:
    name = "jax-jit"

    def __init__(self, config: Config, params):
        self.config = config
        self.params = [(jnp.asarray(W, dtype=config.dtype), jnp.asarray(b, dtype=config.dtype)) for W, b in params]
        loss = make_loss(config)
        self.gradients = jax.jit(jax.value_and_grad(loss))
        logits = make_logits(config)
        output = jax.nn.softmax if config.loss == "cross-entropy" else jax.nn.sigmoid
        self.outputs = jax.jit(lambda params, x: output(logits(params, x)))

        def step(params, x, y, lr):
            value, grads = jax.value_and_grad(loss)(params, x, y)
            return [(W - lr * gW, b - lr * gb) for (W, b), (gW, gb) in zip(params, grads)], value

        def step_at(params, X, Y, rows, lr):
            return step(params, X[rows], Y[rows], lr)

        def steps_at(params, X, Y, batches, lr):  # batches: (steps, batch size) row indices
            return jax.lax.scan(lambda p, rows: step_at(p, X, Y, rows, lr), params, batches)

        # The old parameters' buffers are given to XLA for the new ones (no copy of them per step).
        self.step = jax.jit(step, donate_argnums=0)
        self.step_at = jax.jit(step_at, donate_argnums=0)
        self.steps_at = jax.jit(steps_at, donate_argnums=0)

    def inputs(self, x):
        return jnp.asarray(x, dtype=self.config.dtype)

    # -- the interface ---------------------------------------------------------------
    def loss_and_gradients(self, x, y):
        value, grads = self.gradients(self.params, self.inputs(x), jnp.asarray(y))
        return float(value), [(np.array(gW, dtype=np.float64), np.array(gb, dtype=np.float64)) for gW, gb in grads]

    def train_step(self, x, y, lr: float) -> float:
        self.params, value = self.step(self.params, self.inputs(x), jnp.asarray(y), lr)
        return float(value)

    def load_training_set(self, x, y) -> None:
        """The training set as device arrays, once."""
        self.X, self.Y = self.inputs(x), jnp.asarray(y)

    def train_step_at(self, rows, lr: float) -> float:
        self.params, value = self.step_at(self.params, self.X, self.Y, rows, lr)
        return float(value)

    def predict_proba(self, x):
        return np.array(self.outputs(self.params, self.inputs(x)), dtype=np.float64)

    def parameters(self):
        return [(np.array(W, dtype=np.float64), np.array(b, dtype=np.float64)) for W, b in self.params]


class JaxScanMLP(JaxJitMLP):
    """The same step, a whole sequence of mini-batches per call: one compiled lax.scan."""

    name = "jax-scan"

    def train_steps_at(self, batches: np.ndarray, lr: float) -> float:
        """One SGD step per row of `batches` (row indices, shape (steps, batch size)), in
        order, in one call; returns the last step's loss."""
        self.params, losses = self.steps_at(self.params, self.X, self.Y, batches, lr)
        return float(losses[-1])
