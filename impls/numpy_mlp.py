"""The vectorized NumPy implementation: the same four equations, a whole batch at once.

A batch is a matrix with one sample per row, so a layer is Z = A W^T + b and the
per-sample sums of the scratch loop become matrix products. No Python loop runs
over samples; the only loop is over layers. Computes in float64 or float32.

Each layer keeps W^T (inputs x outputs, contiguous) rather than W: then Z = A W^T is a
product of two row-major matrices, which BLAS ran about 20% faster than A times a
transposed view of W on the first layer (64 x 784 times 784 x 128, float32).

It takes the training set once (shared.model.TakesTrainingSet): checked and converted a
single time, then each batch is picked from it by row index.
"""

from __future__ import annotations

import numpy as np

from shared.config import Config
from shared.model import check_batch, check_model_inputs
from shared.params import Params


def sigmoid(z, out=None):
    # 1 / (1 + e^-z) in four passes, in place when out=z: no new array. For z below
    # -709 (-88 in float32) e^-z overflows to inf and the result is the right 0; the
    # callers run under np.errstate(over="ignore") so that says nothing.
    out = np.negative(z, out=out)
    np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


def relu(z, out=None):
    return np.maximum(z, 0, out=out)


def tanh(z, out=None):
    return np.tanh(z, out=out)


# sigma'(z), written in terms of the activation a = sigma(z) that the forward pass keeps.
ACTIVATIONS = {
    "sigmoid": (sigmoid, lambda a: a * (1 - a)),
    "tanh": (tanh, lambda a: 1 - a * a),
    "relu": (relu, lambda a: a > 0),  # a boolean mask: multiplying by it is the derivative
}


class Workspace:
    """The arrays one training step writes, for one batch size, made at the first step of
    that size and reused by every later one. A step then allocates nothing large: with
    fresh arrays per step the allocator's work was measured at 6-28% of a step."""

    def __init__(self, sizes, n: int, dtype):
        self.rows = np.arange(n)
        self.z = [np.empty((n, m), dtype) for m in sizes[1:]]  # z, overwritten by a = sigma(z)
        self.delta = [np.empty((n, m), dtype) for m in sizes[1:]]
        self.grad_WT = [np.empty((k, m), dtype) for k, m in zip(sizes[:-1], sizes[1:])]
        self.grad_b = [np.empty(m, dtype) for m in sizes[1:]]


class NumpyMLP:
    name = "numpy"

    def __init__(self, config: Config, params: Params):
        check_model_inputs(config, params)
        self.config = config
        self.dtype = np.dtype(config.dtype)
        self.softmax_output = config.loss == "cross-entropy"
        self.WT = [np.ascontiguousarray(W.T, dtype=self.dtype) for W, _ in params]  # W^T: see above
        self.b = [b.astype(self.dtype) for _, b in params]
        self.eye = np.eye(config.sizes[-1], dtype=self.dtype)  # rows are one-hot targets
        self.velocity = None  # momentum's (vW, vb) per layer, made at the first step
        self.workspaces: dict[int, Workspace] = {}

    def workspace(self, n: int) -> Workspace:
        if n not in self.workspaces:
            if len(self.workspaces) >= 4:  # batch, last batch, evaluation chunks: a few sizes at most
                self.workspaces.clear()
            self.workspaces[n] = Workspace(self.config.sizes, n, self.dtype)
        return self.workspaces[n]

    def feedforward(self, x, ws: Workspace):
        """Activations of every layer (input first) and the output layer's Z, in ws."""
        sigma = ACTIVATIONS[self.config.activation][0]
        activations = [np.asarray(x, dtype=self.dtype)]
        for WT, b, z in zip(self.WT, self.b, ws.z):
            if len(activations) > 1:
                sigma(activations[-1], out=activations[-1])  # in place: z becomes a = sigma(z)
            np.matmul(activations[-1], WT, out=z)
            z += b
            activations.append(z)
        return activations[:-1], activations[-1]

    def gradients(self, x, y):
        """Batch-mean loss and gradients, in this implementation's dtype. The gradients
        are the workspace's arrays: valid until the next call with a batch of this size."""
        check_batch(self.config, x, y)
        with np.errstate(over="ignore"):  # e^-z of the sigmoid may overflow to inf: see sigmoid
            return self.gradients_into(self.workspace(len(x)), x, y)

    def gradients_into(self, ws: Workspace, x, y, scale: float = 1.0):
        """Loss and gradients times scale (train_step passes lr: the step itself)."""
        n = len(x)
        sigma_prime = ACTIVATIONS[self.config.activation][1]
        activations, z = self.feedforward(x, ws)
        delta = ws.delta[-1]
        if self.softmax_output:
            z -= z.max(axis=1, keepdims=True)  # log-softmax, shifted so exp cannot overflow
            total = np.exp(z, out=delta).sum(axis=1)
            loss = (np.log(total) - z[ws.rows, y]).mean()  # mean of -log softmax(z)_y
            delta /= total[:, None]  # the softmax outputs a
            delta[ws.rows, y] -= 1  # (BP1) softmax + cross-entropy: a - y
        else:
            a = sigmoid(z, out=z)
            np.subtract(a, self.eye[y], out=delta)
            loss = 0.5 * np.vdot(delta, delta) / n
            delta *= a * (1 - a)  # (BP1) (a - y) * sigma'(z)
        # Every gradient below is linear in delta^L: dividing it by n once makes them those
        # of the batch mean, and multiplying by a learning rate too makes them SGD's step.
        delta *= scale / n
        for l in range(len(self.WT) - 1, -1, -1):
            # (BP3) dC/db = delta summed over the batch; (BP4) dC/dW^T = (a^(l-1))^T delta.
            np.matmul(activations[l].T, delta, out=ws.grad_WT[l])
            delta.sum(axis=0, out=ws.grad_b[l])
            if l > 0:
                # (BP2) delta^(l-1) = (delta^l W^l) * sigma'(z^(l-1)), row per sample.
                delta = np.matmul(delta, self.WT[l].T, out=ws.delta[l - 1])
                delta *= sigma_prime(activations[l])
        return float(loss), list(zip(ws.grad_WT, ws.grad_b))

    # -- the interface ---------------------------------------------------------------
    def loss_and_gradients(self, x, y) -> tuple[float, Params]:
        loss, grads = self.gradients(x, y)
        return loss, [(to_float64(gWT.T), to_float64(gb)) for gWT, gb in grads]

    def train_step(self, x, y, lr: float) -> float:
        check_batch(self.config, x, y)
        return self.step(self.workspace(len(x)), x, y, lr)

    def step(self, ws: Workspace, x, y, lr: float) -> float:
        momentum, decay = self.config.momentum, self.config.weight_decay
        with np.errstate(over="ignore"):  # e^-z of the sigmoid may overflow to inf: see sigmoid
            if not momentum and not decay:
                # Plain SGD: with lr folded into delta^L the gradients are the step itself.
                loss, steps = self.gradients_into(ws, x, y, scale=lr)
                for W, b, (sW, sb) in zip(self.WT, self.b, steps):
                    W -= sW
                    b -= sb
                return loss
            loss, grads = self.gradients_into(ws, x, y)
        if decay:
            for W, (gW, _) in zip(self.WT, grads):
                gW += decay * W  # L2 on the weights, not the biases
        if momentum:
            if self.velocity is None:
                self.velocity = [(np.zeros_like(W), np.zeros_like(b)) for W, b in zip(self.WT, self.b)]
            for (vW, vb), (gW, gb) in zip(self.velocity, grads):
                vW *= momentum
                vW += gW  # v = momentum * v + g
                vb *= momentum
                vb += gb
        steps = self.velocity if momentum else grads
        for W, b, (sW, sb), (gW, gb) in zip(self.WT, self.b, steps, grads):
            W -= np.multiply(sW, lr, out=gW)  # lr * step written over the gradient: no new array
            b -= np.multiply(sb, lr, out=gb)
        return loss

    # -- the optional part (shared.model.TakesTrainingSet) -------------------------------
    def load_training_set(self, x, y) -> None:
        """Checked and converted once, not at every step."""
        check_batch(self.config, x, y)
        self.train_x, self.train_y = np.asarray(x, dtype=self.dtype), y

    def train_step_at(self, indices, lr: float) -> float:
        # Fancy indexing: measured 2.5x faster than np.take(..., out=) into a reused array.
        return self.step(self.workspace(len(indices)), self.train_x[indices], self.train_y[indices], lr)

    def predict_proba(self, x):
        check_batch(self.config, x)
        with np.errstate(over="ignore"):
            z = self.feedforward(x, self.workspace(len(x)))[1]
            if self.softmax_output:
                z -= z.max(axis=1, keepdims=True)
                np.exp(z, out=z)
                z /= z.sum(axis=1, keepdims=True)
            else:
                sigmoid(z, out=z)
        return z.astype(np.float64)  # a copy: the workspace is reused

    def parameters(self) -> Params:
        return [(to_float64(WT.T), to_float64(b)) for WT, b in zip(self.WT, self.b)]


def to_float64(array) -> np.ndarray:
    """A float64, C-ordered copy: the neutral format, W as (outputs, inputs)."""
    return np.array(array, dtype=np.float64, order="C")
