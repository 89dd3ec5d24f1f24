"""A network on a scalar autograd engine in micrograd's design: the baseline for `autograd`.

Written the way karpathy/micrograd writes its engine (not copied from it): every scalar
operation makes one Value object, which keeps its inputs in a set and gets a closure that
knows how to push its gradient back; `backward()` sorts the graph with a recursive
depth-first search, every call; a plain number in an expression is wrapped in a Value
of its own. The neuron is micrograd's `sum((wi * xi for ...), b)`: a product node and an
add node per input.

It is fed the same non-zero pixels as impls/autograd_mlp.py and builds its graph per image
as that one does, so the speed ratio between the two measures the engines. The recursion
is as deep as the longest path in the graph, about the number of non-zero pixels plus the
layers: at most about 400 for MNIST, inside Python's limit of 1,000.

Each closure refers to the node that holds it, a reference cycle, so the graphs are freed
by the garbage collector rather than at once: a good part of this design's time.
"""

from __future__ import annotations

import math

from shared.config import Config
from shared.model import outputs_from_lists
from shared.params import params_from_lists


class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, other):
        assert isinstance(other, (int, float)), "only int/float powers"
        out = Value(self.data**other, (self,), f"**{other}")

        def _backward():
            self.grad += (other * self.data ** (other - 1)) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self):
        out = Value(math.log(self.data), (self,), "log")

        def _backward():
            self.grad += (1.0 / self.data) * out.grad

        out._backward = _backward
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward():
            self.grad += (1.0 - out.data**2) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self):
        z = self.data
        s = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
        out = Value(s, (self,), "sigmoid")

        def _backward():
            self.grad += out.data * (1.0 - out.data) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = Value(0.0 if self.data < 0 else self.data, (self,), "ReLU")

        def _backward():
            self.grad += (out.data > 0) * out.grad

        out._backward = _backward
        return out

    def backward(self):
        topo = []
        visited = set()

        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)

        build_topo(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other**-1


class Neuron:
    def __init__(self, weights, bias, nonlin):
        self.w = [Value(w) for w in weights]
        self.b = Value(bias)
        self.nonlin = nonlin

    def __call__(self, x):
        """x: (index, value) pairs of the non-zero inputs."""
        act = sum((self.w[k] * xk for k, xk in x), self.b)
        return getattr(act, self.nonlin)() if self.nonlin else act


class Layer:
    def __init__(self, W, b, nonlin):
        self.neurons = [Neuron(row, bj, nonlin) for row, bj in zip(W, b)]

    def __call__(self, x):
        return [n(x) for n in self.neurons]


class MicrogradStyleMLP:
    name = "micrograd-style"

    def __init__(self, config: Config, params):
        self.config = config
        last = len(params) - 1
        self.layers = [Layer(W.tolist(), b.tolist(), config.activation if l < last else "")
                       for l, (W, b) in enumerate(params)]

    def parameters_list(self):
        return [p for layer in self.layers for n in layer.neurons for p in n.w + [n.b]]

    def logits(self, row):
        x = [(k, v) for k, v in enumerate(row) if v != 0.0]  # the non-zero pixels only
        for layer in self.layers:
            x = list(enumerate(layer(x)))
        return [v for _, v in x]

    def loss(self, z, label):
        if self.config.loss == "cross-entropy":
            top = max(zj.data for zj in z)
            return sum((zj - top).exp() for zj in z).log() + top - z[label]
        return sum(((zj.sigmoid() - (1.0 if j == label else 0.0)) ** 2 for j, zj in enumerate(z)), Value(0.0)) * 0.5

    def gradients(self, x, y):
        params = self.parameters_list()
        for p in params:
            p.grad = 0.0
        n, total = len(x), 0.0
        for row, label in zip(x.tolist(), y.tolist()):
            loss = self.loss(self.logits(row), label)
            (loss * (1.0 / n)).backward()
            total += loss.data
        return total / n

    def grads_and_data(self, attr):
        W = [[[getattr(w, attr) for w in n.w] for n in layer.neurons] for layer in self.layers]
        b = [[getattr(n.b, attr) for n in layer.neurons] for layer in self.layers]
        return params_from_lists(W, b)

    def loss_and_gradients(self, x, y):
        loss = self.gradients(x, y)
        return loss, self.grads_and_data("grad")

    def train_step(self, x, y, lr):
        loss = self.gradients(x, y)
        for p in self.parameters_list():
            p.data -= lr * p.grad
        return loss

    def predict_proba(self, x):
        rows = []
        for row in x.tolist():
            z = self.logits(row)
            if self.config.loss == "cross-entropy":
                top = max(zj.data for zj in z)
                exps = [math.exp(zj.data - top) for zj in z]
                rows.append([e / sum(exps) for e in exps])
            else:
                rows.append([zj.sigmoid().data for zj in z])
        return outputs_from_lists(rows)

    def parameters(self):
        return self.grads_and_data("data")
