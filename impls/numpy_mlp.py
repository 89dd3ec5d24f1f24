"""The vectorized NumPy implementation: the same four equations, a whole batch at once.

A batch is a matrix with one sample per row, so a layer is Z = A W^T + b, and each
equation of the scratch loop becomes one matrix expression for all n samples, its sums
over the samples matrix products. No Python loop runs over samples; the only loop is over
layers. Computes in float64 or float32.

Nielsen's notation, one row per sample (delta = dC/dZ, * is elementwise):

    (BP1)  delta^L = dC/dA^L * sigma'(Z^L)                 output error
    (BP2)  delta^l = (delta^(l+1) W^(l+1)) * sigma'(Z^l)   error moves back a layer
    (BP3)  dC/db^l = delta^l summed over the batch
    (BP4)  dC/dW^l = (delta^l)^T A^(l-1)                   summed over the batch by the product

Two things are done for speed, each marked where it is done: W is kept transposed, and
plain SGD folds the learning rate into delta^L.
"""

from __future__ import annotations

import numpy as np

from shared.config import Config
from shared.model import check_batch, check_model_inputs
from shared.params import Params


def sigmoid(z):
    # Below z = -709 (-88 in float32) e^-z overflows to inf and 1 / (1 + inf) is the right 0:
    # the callers silence that warning with np.errstate(over="ignore").
    return 1 / (1 + np.exp(-z))


def relu(z):
    return np.maximum(z, 0)


# Each activation with its derivative, written in terms of the activation a = sigma(z)
# that the forward pass keeps: sigma'(z) = a (1 - a) for the sigmoid.
ACTIVATIONS = {
    "sigmoid": (sigmoid, lambda a: a * (1 - a)),
    "tanh": (np.tanh, lambda a: 1 - a * a),
    "relu": (relu, lambda a: a > 0),  # a boolean mask: multiplying by it is the derivative
}


class NumpyMLP:
    name = "numpy"

    def __init__(self, config: Config, params: Params):
        check_model_inputs(config, params)
        self.config = config
        self.dtype = np.dtype(config.dtype)
        self.sigma, self.sigma_prime = ACTIVATIONS[config.activation]
        self.softmax_output = config.loss == "cross-entropy"
        # Speed: W^T kept contiguous, (inputs, outputs), as A @ W^T wants it: float32 BLAS
        # multiplies that layout 10-15% faster than a transposed view of W (784-128-10).
        self.WT = [np.ascontiguousarray(W.T, dtype=self.dtype) for W, _ in params]
        self.b = [b.astype(self.dtype) for _, b in params]
        self.eye = np.eye(config.sizes[-1], dtype=self.dtype)  # rows are one-hot targets
        self.velocity = None  # momentum's (v for W^T, v for b) per layer, made at the first step

    def feedforward(self, x):
        """Every layer's activations A, input first, and the output layer's Z."""
        activations = [x]
        for WT, b in zip(self.WT[:-1], self.b[:-1]):
            activations.append(self.sigma(activations[-1] @ WT + b))
        return activations, activations[-1] @ self.WT[-1] + self.b[-1]

    def backprop(self, x, y, scale: float = 1.0):
        """The batch-mean loss, and scale times its gradients (dC/dW^T, dC/db) per layer."""
        n = len(x)
        activations, z = self.feedforward(x)
        # The cost is the mean over the batch, so each sample's delta^L is divided by n;
        # every gradient below is linear in delta^L, so `scale` there scales them all.
        if self.softmax_output:
            z = z - z.max(axis=1, keepdims=True)  # shifted so exp cannot overflow
            exps = np.exp(z)
            total = exps.sum(axis=1, keepdims=True)
            loss = (np.log(total[:, 0]) - z[np.arange(n), y]).mean()  # mean of -log softmax(z)_y
            delta = (exps / total - self.eye[y]) * (scale / n)  # (BP1) softmax + cross-entropy: a - y
        else:
            a = sigmoid(z)
            error = a - self.eye[y]
            loss = 0.5 * np.vdot(error, error) / n
            delta = error * (a * (1 - a)) * (scale / n)  # (BP1) quadratic cost: (a - y) * sigma'(z)
        grads = []
        for l in range(len(self.WT) - 1, -1, -1):
            # (BP4) dC/dW = delta^T A, here as its transpose A^T delta; (BP3) dC/db = sum of delta.
            grads.append((activations[l].T @ delta, delta.sum(axis=0)))
            if l > 0:
                delta = (delta @ self.WT[l].T) * self.sigma_prime(activations[l])  # (BP2)
        return float(loss), grads[::-1]

    def gradients(self, x, y):
        check_batch(self.config, x, y)
        with np.errstate(over="ignore"):  # e^-z of the sigmoid may overflow to inf: see sigmoid
            return self.backprop(np.asarray(x, dtype=self.dtype), y)

    def step(self, x, y, lr: float) -> float:
        """One step of torch.optim.SGD's: g = dC/dtheta, plus weight_decay * W for the weights;
        with momentum v = momentum * v + g, else v = g; theta -= lr * v. Returns the loss."""
        momentum, decay = self.config.momentum, self.config.weight_decay
        with np.errstate(over="ignore"):  # e^-z of the sigmoid may overflow to inf: see sigmoid
            if not momentum and not decay:
                # Speed: lr folded into delta^L makes BP3 and BP4 give lr * g, the step itself,
                # saving a pass over every weight (8-14% of a step on the two small networks).
                loss, steps = self.backprop(x, y, scale=lr)
                for WT, b, (step_WT, step_b) in zip(self.WT, self.b, steps):
                    WT -= step_WT
                    b -= step_b
                return loss
            loss, grads = self.backprop(x, y)
        if momentum and self.velocity is None:
            self.velocity = [(np.zeros_like(WT), np.zeros_like(b)) for WT, b in zip(self.WT, self.b)]
        for l, (WT, b, (gWT, gb)) in enumerate(zip(self.WT, self.b, grads)):
            if decay:
                gWT += decay * WT  # g = dC/dW + weight_decay * W, on the weights only
            if momentum:
                vWT, vb = self.velocity[l]
                vWT *= momentum  # v = momentum * v + g
                vWT += gWT
                vb *= momentum
                vb += gb
                gWT, gb = vWT, vb  # the step follows v
            WT -= lr * gWT
            b -= lr * gb
        return loss

    # -- the interface ---------------------------------------------------------------
    def loss_and_gradients(self, x, y) -> tuple[float, Params]:
        loss, grads = self.gradients(x, y)
        return loss, [(to_float64(gWT.T), to_float64(gb)) for gWT, gb in grads]

    def train_step(self, x, y, lr: float) -> float:
        check_batch(self.config, x, y)
        return self.step(np.asarray(x, dtype=self.dtype), y, lr)

    # -- the optional part (shared.model.TakesTrainingSet) -------------------------------
    def load_training_set(self, x, y) -> None:
        """Checked and converted once, not at every step (up to 14% of a step, 784-30-10)."""
        check_batch(self.config, x, y)
        self.train_x, self.train_y = np.asarray(x, dtype=self.dtype), y

    def train_step_at(self, indices, lr: float) -> float:
        return self.step(self.train_x[indices], self.train_y[indices], lr)

    def predict_proba(self, x):
        check_batch(self.config, x)
        with np.errstate(over="ignore"):
            z = self.feedforward(np.asarray(x, dtype=self.dtype))[1]
            if self.softmax_output:
                exps = np.exp(z - z.max(axis=1, keepdims=True))
                return to_float64(exps / exps.sum(axis=1, keepdims=True))
            return to_float64(sigmoid(z))

    def parameters(self) -> Params:
        return [(to_float64(WT.T), to_float64(b)) for WT, b in zip(self.WT, self.b)]


def to_float64(array) -> np.ndarray:
    """A float64, C-ordered copy: the neutral format, W as (outputs, inputs)."""
    return np.array(array, dtype=np.float64, order="C")
