"""A plain, idiomatic PyTorch training loop: what a PyTorch user writes without thinking.

nn.Sequential, torch.optim.SGD, and per step zero_grad / loss / backward / step, on
tensors made once before the loop (prepare_batch). The torch implementation is held
to being no slower than this.
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
        layers = []
        for W, b in params:
            linear = nn.Linear(W.shape[1], W.shape[0], dtype=self.dtype)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W))
                linear.bias.copy_(torch.from_numpy(b))
            layers += [linear, ACTIVATIONS[config.activation]()]
        self.model = nn.Sequential(*layers[:-1])
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=config.lr)

    def prepare_batch(self, x, y):
        """Tensors made once, outside the timed loop, as a DataLoader would hand them over."""
        return torch.as_tensor(x, dtype=self.dtype), torch.as_tensor(np.asarray(y, dtype=np.int64))

    def loss(self, x, y):
        logits = self.model(x)
        if self.config.loss == "cross-entropy":
            return F.cross_entropy(logits, y)
        target = F.one_hot(y, logits.shape[1]).to(logits.dtype)
        return 0.5 * F.mse_loss(torch.sigmoid(logits), target, reduction="sum") / len(y)

    def train_step(self, x, y, lr):
        self.optimizer.zero_grad()
        loss = self.loss(x, y)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def loss_and_gradients(self, x, y):
        x, y = self.prepare_batch(x, y)
        self.optimizer.zero_grad()
        loss = self.loss(x, y)
        loss.backward()
        linears = [m for m in self.model if isinstance(m, nn.Linear)]
        return loss.item(), [(m.weight.grad.double().numpy().copy(), m.bias.grad.double().numpy().copy()) for m in linears]

    def parameters(self):
        linears = [m for m in self.model if isinstance(m, nn.Linear)]
        return [(m.weight.detach().double().numpy().copy(), m.bias.detach().double().numpy().copy()) for m in linears]
