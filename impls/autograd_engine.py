"""A scalar reverse-mode automatic differentiation engine in pure Python (only `math`).

A `Value` is one number in a computation graph. Every operation on Values makes a new
Value that remembers its inputs (`parents`) and, for each of them, the local derivative
d(output)/d(input) (`local_grads`), computed while the forward value is computed.
`root.backward()` then applies the chain rule once per edge, from the root back to the
leaves, in reverse topological order:

    parent.grad += node.grad * d(node)/d(parent)

so that afterwards every Value's `grad` holds d(root)/d(that value). That one line is
the whole of backpropagation; nothing else in here knows about derivatives of a graph.

Leaves (Values made directly, e.g. a network's weights) accumulate their gradients over
calls to backward(), as in PyTorch, until the caller sets `grad` back to 0. Plain numbers
mixed into an expression are constants: they get no node of their own.

Two n-ary operations stand beside the elementary ones, because a sum of many terms is one
step of the chain rule, not many: `total(values)` (every local derivative 1) and
`dot(values, factors, start)`, start + the sum of values[k] * factors[k], whose local
derivatives are the other factor, as a matrix product is one operation in PyTorch.
`dot(w, x, b)` gives the same value and gradients as
`total([wk * xk for wk, xk in zip(w, x)]) + b`, with one node instead of 2n + 2.

The engine knows nothing about neural networks.
"""

from __future__ import annotations

import math
from operator import mul


class Value:
    """A number in the graph: its value (data), d(root)/d(it) after backward (grad), and
    where it came from (parents, with the local derivative of this value by each)."""

    __slots__ = ("data", "grad", "parents", "local_grads")

    def __init__(self, data: float, parents: tuple = (), local_grads: tuple = ()):
        self.data = data
        self.grad = 0.0
        self.parents = parents
        self.local_grads = local_grads

    def __repr__(self) -> str:
        return f"Value(data={self.data!r}, grad={self.grad!r})"

    # -- elementary operations: the value, and the derivative by each input -------------
    def __add__(self, other) -> Value:
        if isinstance(other, Value):
            return Value(self.data + other.data, (self, other), (1.0, 1.0))
        return Value(self.data + other, (self,), (1.0,))

    def __radd__(self, other) -> Value:  # number + Value
        return Value(other + self.data, (self,), (1.0,))

    def __mul__(self, other) -> Value:
        if isinstance(other, Value):  # d(ab)/da = b, d(ab)/db = a
            return Value(self.data * other.data, (self, other), (other.data, self.data))
        return Value(self.data * other, (self,), (other,))

    def __rmul__(self, other) -> Value:
        return Value(other * self.data, (self,), (other,))

    def __neg__(self) -> Value:
        return Value(-self.data, (self,), (-1.0,))

    def __sub__(self, other) -> Value:
        if isinstance(other, Value):
            return Value(self.data - other.data, (self, other), (1.0, -1.0))
        return Value(self.data - other, (self,), (1.0,))

    def __rsub__(self, other) -> Value:
        return Value(other - self.data, (self,), (-1.0,))

    def __truediv__(self, other) -> Value:
        if isinstance(other, Value):  # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
            b = other.data
            return Value(self.data / b, (self, other), (1.0 / b, -self.data / (b * b)))
        return Value(self.data / other, (self,), (1.0 / other,))

    def __rtruediv__(self, other) -> Value:  # number / Value
        a = self.data
        return Value(other / a, (self,), (-other / (a * a),))

    def __pow__(self, exponent) -> Value:
        if isinstance(exponent, Value):
            raise TypeError("Value ** Value is not supported; the exponent must be a number")
        # d(a^n)/da = n a^(n-1)
        return Value(self.data**exponent, (self,), (exponent * self.data ** (exponent - 1),))

    def exp(self) -> Value:
        e = math.exp(self.data)
        return Value(e, (self,), (e,))  # d(e^a)/da = e^a

    def log(self) -> Value:
        return Value(math.log(self.data), (self,), (1.0 / self.data,))

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        return Value(t, (self,), (1.0 - t * t,))

    def sigmoid(self) -> Value:
        z = self.data
        if z >= 0:  # two forms, so that exp never overflows
            s = 1.0 / (1.0 + math.exp(-z))
        else:
            e = math.exp(z)
            s = e / (1.0 + e)
        return Value(s, (self,), (s * (1.0 - s),))

    def relu(self) -> Value:
        z = self.data
        # The derivative at exactly 0 is taken as 0, as PyTorch does.
        return Value(z if z > 0.0 else 0.0, (self,), (1.0 if z > 0.0 else 0.0,))

    # -- the chain rule ----------------------------------------------------------------
    def backward(self) -> None:
        """d(self)/d(v) into v.grad for every Value v this one was computed from."""
        order = topological_order(self)
        # Interior nodes hold the gradient of this root only: start them from 0.
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):  # every node before the nodes it was computed from
            g = node.grad
            if g == 0.0:  # nothing flows back (a silent ReLU unit): skip its inputs
                continue
            for parent, local in zip(node.parents, node.local_grads):
                parent.grad += g * local


def total(values) -> Value:
    """values[0] + values[1] + ... as one node: every local derivative is 1."""
    values = tuple(values)
    return Value(sum([v.data for v in values]), values, (1.0,) * len(values))


def dot(values, factors, start=None) -> Value:
    """start + sum_k values[k] * factors[k] as one node, whose local derivatives are the
    other factor: d/d values[k] = factors[k], d/d factors[k] = values[k] when the factors
    are Values too, and 1 for start. `factors` is either all Values or all plain numbers
    (constants); `start` is a Value, a number, or None."""
    values = tuple(values)
    if len(values) != len(factors):
        raise ValueError(f"dot of {len(values)} values with {len(factors)} factors")
    data = [v.data for v in values]
    if factors and isinstance(factors[0], Value):
        factor_data = [f.data for f in factors]
        result = sum(map(mul, data, factor_data))
        parents, local_grads = values + tuple(factors), (*factor_data, *data)
    else:
        result = sum(map(mul, data, factors))
        if isinstance(result, Value):
            raise TypeError("dot: factors must be all Values or all numbers, not a mix")
        parents, local_grads = values, tuple(factors)
    if isinstance(start, Value):
        return Value(result + start.data, parents + (start,), local_grads + (1.0,))
    return Value(result if start is None else result + start, parents, local_grads)


def topological_order(root: Value) -> list[Value]:
    """The interior nodes (those with parents) root depends on, root last, each after
    everything it was computed from.

    Iterative depth-first search with an explicit stack, so a chain of any depth works
    (recursion would stop at Python's limit of about 1,000 frames). Leaves are left out
    at once: nothing flows back from them, and a neuron can have hundreds of weights.
    """
    order: list[Value] = []
    seen = {root}
    stack = [(root, iter([p for p in root.parents if p.parents]))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:  # resumes where it stopped when we come back to this node
            if parent not in seen:
                seen.add(parent)
                stack.append((parent, iter([p for p in parent.parents if p.parents])))
                break
        else:  # all of its parents are placed: it can be
            stack.pop()
            order.append(node)
    return order
