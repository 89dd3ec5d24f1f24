"""The PyTorch reference: torch.nn layers, gradients from autograd.

Nothing here is differentiated by hand, which is what makes it an independent check
of the backpropagation written out in the other two implementations. The SGD update is
torch.optim.SGD's, written out in a few tensor operations (cheaper at these sizes). Runs
in float64 or float32, on the CPU or a CUDA device ("auto" picks CUDA when there is one).
It takes the training set once (shared.model.TakesTrainingSet): converted and moved to
the device a single time, then each batch is picked by index where the data lives.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from shared.config import Config
from shared.model import check_batch, check_model_inputs
from shared.params import Params

HIDDEN_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device cuda was asked for, but PyTorch sees no CUDA device here")
    return torch.device(name)


class TorchMLP:
    name = "torch"

    def __init__(self, config: Config, params: Params):
        check_model_inputs(config, params)
        self.config = config
        self.device = resolve_device(config.device)
        self.dtype = getattr(torch, config.dtype)
        layers: list[nn.Module] = []
        for index, (W, b) in enumerate(params):
            linear = nn.Linear(W.shape[1], W.shape[0], device=self.device, dtype=self.dtype)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W))
                linear.bias.copy_(torch.from_numpy(b))
            layers.append(linear)
            if index < len(params) - 1:
                layers.append(HIDDEN_ACTIVATIONS[config.activation]())
        # The model ends in logits; the output activation belongs to the loss below.
        self.model = nn.Sequential(*layers)
        self.linears = [layer for layer in layers if isinstance(layer, nn.Linear)]
        # (parameter, its weight decay) per tensor: decay on the weights only, as in the
        # other two implementations; momentum's velocities are made at the first step.
        self.decays = [(p, config.weight_decay if p.dim() == 2 else 0.0) for p in self.model.parameters()]
        self.velocity: list[torch.Tensor] | None = None
        self.eye = torch.eye(config.sizes[-1], dtype=self.dtype, device=self.device)  # rows: one-hot targets

    def tensors(self, x, y=None):
        check_batch(self.config, x, y)
        inputs = torch.from_numpy(x)  # shares the array's memory: no copy on the CPU
        if inputs.dtype != self.dtype or self.device.type != "cpu":
            inputs = inputs.to(self.device, self.dtype)
        if y is None:
            return inputs
        labels = torch.from_numpy(y if y.dtype == np.int64 else y.astype(np.int64))
        return inputs, labels if self.device.type == "cpu" else labels.to(self.device)

    def loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.config.loss == "cross-entropy":
            return F.cross_entropy(logits, y)  # mean over the batch of -log softmax_y
        # Nielsen's quadratic cost: 1/2 * sum over outputs, mean over the batch. (Not
        # nn.MSELoss, which averages over the outputs as well.)
        return F.mse_loss(torch.sigmoid(logits), self.eye[y], reduction="sum") * (0.5 / len(y))

    def backward(self, inputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        for p, _ in self.decays:
            p.grad = None  # what optimizer.zero_grad() does, without its bookkeeping
        loss = self.loss(self.model(inputs), labels)
        loss.backward()
        return loss

    @torch.no_grad()
    def sgd_update(self, lr: float) -> None:
        """torch.optim.SGD's update (dampening 0, no Nesterov): g = dC/dtheta, plus
        weight_decay * W for the weights; v = momentum * v + g; theta -= lr * v.
        Speed: written out, as optimizer.step()'s bookkeeping is 5-30% of a step on these
        small networks (a test checks that the two give the same parameters)."""
        momentum = self.config.momentum
        if momentum and self.velocity is None:
            self.velocity = [torch.zeros_like(p) for p, _ in self.decays]
        for i, (p, decay) in enumerate(self.decays):
            g = p.grad.add(p, alpha=decay) if decay else p.grad
            if momentum:
                g = self.velocity[i].mul_(momentum).add_(g)
            p.add_(g, alpha=-lr)

    def step(self, inputs: torch.Tensor, labels: torch.Tensor, lr: float) -> float:
        loss = self.backward(inputs, labels)
        self.sgd_update(lr)
        # .item() waits for the device, so the shared loop's clock sees finished work.
        return loss.item()

    # -- the interface ---------------------------------------------------------------
    def loss_and_gradients(self, x, y) -> tuple[float, Params]:
        loss = self.backward(*self.tensors(x, y))
        grads = [(to_numpy(layer.weight.grad), to_numpy(layer.bias.grad)) for layer in self.linears]
        return loss.item(), grads

    def train_step(self, x, y, lr: float) -> float:
        return self.step(*self.tensors(x, y), lr)

    # -- the optional part (shared.model.TakesTrainingSet) -------------------------------
    def load_training_set(self, x, y) -> None:
        """Checked, converted and moved to the device once, not at every step."""
        self.train_x, self.train_y = self.tensors(x, y)

    def train_step_at(self, indices, lr: float) -> float:
        rows = torch.from_numpy(indices)
        if self.device.type != "cpu":
            rows = rows.to(self.device)
        return self.step(self.train_x[rows], self.train_y[rows], lr)

    @torch.no_grad()
    def predict_proba(self, x):
        logits = self.model(self.tensors(x))
        if self.config.loss == "cross-entropy":
            return to_numpy(torch.softmax(logits, dim=1))
        return to_numpy(torch.sigmoid(logits))

    def parameters(self) -> Params:
        return [(to_numpy(layer.weight), to_numpy(layer.bias)) for layer in self.linears]


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """Any tensor -> a float64 NumPy copy on the CPU (the neutral format)."""
    return tensor.detach().to("cpu", torch.float64).numpy().copy()
