"""The multilayer perceptron on our own tensor autograd engine (impls/tensor_engine.py).

Written like impls/torch_mlp.py: every weight and bias is a leaf Tensor; the forward pass
and the loss are written with Tensors, which records the graph of the whole batch; one
`loss.backward()` fills every parameter's `grad`. Nothing is differentiated by hand here.
The SGD step (momentum and weight decay as torch.optim.SGD, decay on the weights only)
works on the leaves' arrays; plain SGD seeds backward with the learning rate (see step).
Computes in float64 or float32. It takes the training set once
(shared.model.TakesTrainingSet), converted a single time, then picked by row index.
"""

from __future__ import annotations

import numpy as np

from impls.tensor_engine import Tensor, no_grad
from shared.config import Config
from shared.model import check_batch, check_model_inputs
from shared.params import Params


class TensorMLP:
    name = "tensor"

    def __init__(self, config: Config, params: Params):
        check_model_inputs(config, params)
        self.config = config
        self.dtype = np.dtype(config.dtype)
        # Weights kept as W^T (inputs x outputs): a layer is then x @ W^T + b.
        self.WT = [Tensor(np.ascontiguousarray(W.T, dtype=self.dtype), requires_grad=True) for W, _ in params]
        self.b = [Tensor(b.astype(self.dtype), requires_grad=True) for _, b in params]
        self.leaves = [p for pair in zip(self.WT, self.b) for p in pair]
        self.decays = [config.weight_decay if p.data.ndim == 2 else 0.0 for p in self.leaves]
        self.velocity: list[np.ndarray] | None = None  # momentum's, made at the first step
        self.eye = np.eye(config.sizes[-1], dtype=self.dtype)  # rows: one-hot targets

    def forward(self, x: np.ndarray) -> Tensor:
        """The output layer's logits; every hidden layer's a = sigma(x W^T + b) on the way."""
        a = Tensor(x)
        for l, (WT, b) in enumerate(zip(self.WT, self.b)):
            z = a @ WT + b
            a = getattr(z, self.config.activation)() if l < len(self.WT) - 1 else z
        return a

    def loss(self, logits: Tensor, y: np.ndarray) -> Tensor:
        if self.config.loss == "cross-entropy":
            # mean over the batch of -log softmax(z)_y, shifted by the row maximum so exp
            # cannot overflow (the shift changes neither value nor gradient).
            shifted = logits - logits.max(axis=1, keepdims=True)
            return (shifted.exp().sum(axis=1).log() - shifted.pick(y)).mean()
        # Nielsen's quadratic cost: 1/2 * sum over outputs, mean over the batch.
        error = logits.sigmoid() - self.eye[y]
        return (error * error).sum() * (0.5 / len(y))

    def backward(self, x, y, seed: float = 1.0) -> Tensor:
        """The loss of the batch; seed times its gradient in every leaf's grad."""
        for p in self.leaves:
            p.zero_grad()
        loss = self.loss(self.forward(x), y)
        loss.backward(np.asarray(seed, dtype=self.dtype))
        return loss

    def sgd_update(self, lr: float) -> None:
        """As torch.optim.SGD: g = grad + decay * W (weights only); v = momentum v + g; theta -= lr v."""
        momentum = self.config.momentum
        if momentum and self.velocity is None:
            self.velocity = [np.zeros_like(p.data) for p in self.leaves]
        for i, (p, decay) in enumerate(zip(self.leaves, self.decays)):
            g = p.grad + decay * p.data if decay else p.grad
            if momentum:
                self.velocity[i] *= momentum
                self.velocity[i] += g
                g = self.velocity[i]
            p.data -= lr * g

    def step(self, x, y, lr: float) -> float:
        if self.config.momentum or self.config.weight_decay:
            loss = self.backward(x, y)
            self.sgd_update(lr)
        else:
            # Plain SGD: the chain rule is linear, so backward seeded with lr instead of 1 leaves
            # lr * gradient in each grad, the step itself (one pass less per parameter: 11% at b10).
            loss = self.backward(x, y, seed=lr)
            for p in self.leaves:
                p.data -= p.grad
        return float(loss.data)

    # -- the interface ---------------------------------------------------------------
    def inputs(self, x) -> np.ndarray:
        return x if x.dtype == self.dtype else x.astype(self.dtype)

    def loss_and_gradients(self, x, y) -> tuple[float, Params]:
        check_batch(self.config, x, y)
        loss = self.backward(self.inputs(x), y)
        return float(loss.data), [(to_float64(WT.grad.T), to_float64(b.grad)) for WT, b in zip(self.WT, self.b)]

    def train_step(self, x, y, lr: float) -> float:
        check_batch(self.config, x, y)
        return self.step(self.inputs(x), y, lr)

    # -- the optional part (shared.model.TakesTrainingSet) -------------------------------
    def load_training_set(self, x, y) -> None:
        check_batch(self.config, x, y)
        self.train_x, self.train_y = self.inputs(x), y

    def train_step_at(self, indices, lr: float) -> float:
        return self.step(self.train_x[indices], self.train_y[indices], lr)

    def predict_proba(self, x):
        check_batch(self.config, x)
        with no_grad():
            logits = self.forward(self.inputs(x))
            if self.config.loss == "cross-entropy":
                e = (logits - logits.max(axis=1, keepdims=True)).exp()
                return to_float64((e / e.sum(axis=1, keepdims=True)).data)
            return to_float64(logits.sigmoid().data)

    def parameters(self) -> Params:
        return [(to_float64(WT.data.T), to_float64(b.data)) for WT, b in zip(self.WT, self.b)]


def to_float64(array) -> np.ndarray:
    """A float64, C-ordered copy: the neutral format, W as (outputs, inputs)."""
    return np.array(array, dtype=np.float64, order="C")
