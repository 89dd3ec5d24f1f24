"""A plain, idiomatic PyTorch training loop: what a PyTorch user writes without thinking.

What it stands for: the loop of PyTorch's tutorials for data that fits in memory:
nn.Sequential, torch.optim.SGD, the training set made a tensor once, and per step a
batch picked by index (`xb, yb = X[idx], Y[idx]`, as after `torch.randperm`) then
zero_grad / loss / backward / step / loss.item(). No DataLoader, which would be slower
(it collates sample by sample). On the device the torch implementation would use (a GPU
when there is one and the config allows it), data placed there once, as tutorials do. The
torch implementation is held to being no slower than this on every benchmark config.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from shared.config import Config

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


class IdiomaticTorchMLP:
    name = "idiomatic-torch"

    def __init__(self, config: Config, params):
        self.config = config
        self.dtype = getattr(torch, config.dtype)
        self.device = torch.device("cuda" if config.device != "cpu" and torch.cuda.is_available() else "cpu")
        layers = []
        for W, b in params:
            linear = nn.Linear(W.shape[1], W.shape[0], dtype=self.dtype, device=self.device)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W))
                linear.bias.copy_(torch.from_numpy(b))
            layers += [linear, ACTIVATIONS[config.activation]()]
        self.model = nn.Sequential(*layers[:-1])
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=config.lr)

    def load_training_set(self, x, y):
        """The whole training set as tensors, made once before the loop."""
        self.X = torch.as_tensor(x, dtype=self.dtype, device=self.device)
        self.Y = torch.as_tensor(np.asarray(y, dtype=np.int64), device=self.device)

    def loss(self, x, y):
        logits = self.model(x)
        if self.config.loss == "cross-entropy":
            return F.cross_entropy(logits, y)
        target = F.one_hot(y, logits.shape[1]).to(logits.dtype)
        return 0.5 * F.mse_loss(torch.sigmoid(logits), target, reduction="sum") / len(y)

    def train_step_at(self, idx, lr):
        idx = torch.from_numpy(idx).to(self.device)
        xb, yb = self.X[idx], self.Y[idx]
        for group in self.optimizer.param_groups:  # what a learning-rate scheduler does
            group["lr"] = lr
        self.optimizer.zero_grad()
        loss = self.loss(xb, yb)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def train_step(self, x, y, lr):
        self.load_training_set(x, y)
        return self.train_step_at(np.arange(len(x)), lr)

    def loss_and_gradients(self, x, y):
        x = torch.as_tensor(x, dtype=self.dtype, device=self.device)
        y = torch.as_tensor(np.asarray(y, dtype=np.int64), device=self.device)
        self.optimizer.zero_grad()
        loss = self.loss(x, y)
        loss.backward()
        linears = [m for m in self.model if isinstance(m, nn.Linear)]
        return loss.item(), [(m.weight.grad.double().cpu().numpy().copy(), m.bias.grad.double().cpu().numpy().copy())
                             for m in linears]

    def parameters(self):
        linears = [m for m in self.model if isinstance(m, nn.Linear)]
        return [(m.weight.detach().double().cpu().numpy().copy(), m.bias.detach().double().cpu().numpy().copy())
                for m in linears]
