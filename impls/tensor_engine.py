"""A reverse-mode automatic differentiation engine on whole NumPy arrays.

A `Tensor` holds an array (`data`), after backward its gradient (`grad`, same shape), the
Tensors it was computed from (`parents`) and the backward rule of the operation that made
it: a function from this node's gradient to one gradient per parent. `root.backward()`
visits the graph in reverse topological order (iteratively: no recursion limit) and does

    parent.grad += rule(node.grad)

for each parent: the scalar engine's one line (impls/autograd_engine.py), with arrays.

Broadcasting: an operation may broadcast an input of shape (3,) against (5, 3); its
gradient then has the output's shape and must be summed back to the input's shape
(`unbroadcast`), since each input entry was used once per broadcast copy.

Leaves (Tensors made directly, with requires_grad=True, e.g. a network's weights)
accumulate their gradients over calls to backward(), as in PyTorch, until `zero_grad()`.
Interior nodes start from zero at every backward. Inside `with no_grad():` operations
record no parents and no rule: evaluation builds no graph. Plain numbers and arrays mixed
into an expression are constants. The engine knows nothing about neural networks.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

_recording = [True]  # False inside no_grad(): a list so the context manager can set it


@contextmanager
def no_grad():
    """Operations inside build no graph (evaluation)."""
    previous = _recording[0]
    _recording[0] = False
    try:
        yield
    finally:
        _recording[0] = previous


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum a gradient of the broadcast result back to an input's shape."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)  # leading axes the input did not have
    grad = grad.sum(axis=tuple(range(extra))) if extra else grad
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True) if stretched else grad


def as_tensor(x, dtype=None) -> Tensor:
    """A Tensor as is; a number or array as a constant (numbers in the other operand's dtype,
    so that float32 stays float32)."""
    if isinstance(x, Tensor):
        return x
    return Tensor(np.asarray(x, dtype=dtype if isinstance(x, (int, float)) else None))


class Tensor:
    __slots__ = ("data", "grad", "parents", "rule", "requires_grad")

    def __init__(self, data, requires_grad: bool = False, parents: tuple = (), rule=None):
        self.data = data if isinstance(data, np.ndarray) else np.asarray(data, dtype=np.float64 if isinstance(data, (int, float)) else None)
        self.grad = None
        self.requires_grad = requires_grad
        self.parents = parents
        self.rule = rule  # node gradient -> a gradient for each parent

    def __repr__(self) -> str:
        return f"Tensor(shape={self.data.shape}, dtype={self.data.dtype})"

    @property
    def shape(self) -> tuple:
        return self.data.shape

    def zero_grad(self) -> None:
        self.grad = None

    def _make(self, data, parents: tuple, rule) -> Tensor:
        """A result node; recorded only when some parent needs a gradient."""
        if _recording[0] and any(p.requires_grad for p in parents):
            return Tensor(data, True, parents, rule)
        return Tensor(data)

    # -- elementwise operations with broadcasting --------------------------------------
    def __add__(self, other) -> Tensor:
        other = as_tensor(other, self.data.dtype)
        a, b = self.shape, other.shape
        return self._make(self.data + other.data, (self, other), lambda g: (unbroadcast(g, a), unbroadcast(g, b)))

    __radd__ = __add__

    def __sub__(self, other) -> Tensor:
        other = as_tensor(other, self.data.dtype)
        a, b = self.shape, other.shape
        return self._make(self.data - other.data, (self, other), lambda g: (unbroadcast(g, a), unbroadcast(-g, b)))

    def __rsub__(self, other) -> Tensor:
        return as_tensor(other, self.data.dtype) - self

    def __mul__(self, other) -> Tensor:
        other = as_tensor(other, self.data.dtype)
        x, y = self.data, other.data  # d(xy)/dx = y, d(xy)/dy = x
        return self._make(x * y, (self, other), lambda g: (unbroadcast(g * y, x.shape), unbroadcast(g * x, y.shape)))

    __rmul__ = __mul__

    def __truediv__(self, other) -> Tensor:
        other = as_tensor(other, self.data.dtype)
        x, y = self.data, other.data  # d(x/y)/dx = 1/y, d(x/y)/dy = -x/y^2
        return self._make(x / y, (self, other),
                          lambda g: (unbroadcast(g / y, x.shape), unbroadcast(-g * x / (y * y), y.shape)))

    def __rtruediv__(self, other) -> Tensor:
        return as_tensor(other, self.data.dtype) / self

    def __neg__(self) -> Tensor:
        return self._make(-self.data, (self,), lambda g: (-g,))

    def __pow__(self, exponent: float) -> Tensor:
        if isinstance(exponent, Tensor):
            raise TypeError("Tensor ** Tensor is not supported; the exponent must be a number")
        x = self.data  # d(x^n)/dx = n x^(n-1)
        return self._make(x**exponent, (self,), lambda g: (g * exponent * x ** (exponent - 1),))

    def exp(self) -> Tensor:
        e = np.exp(self.data)
        return self._make(e, (self,), lambda g: (g * e,))

    def log(self) -> Tensor:
        x = self.data
        return self._make(np.log(x), (self,), lambda g: (g / x,))

    def sigmoid(self) -> Tensor:
        with np.errstate(over="ignore"):  # e^-z overflows to inf for very negative z: s = 0, right
            s = 1 / (1 + np.exp(-self.data))
        return self._make(s, (self,), lambda g: (g * s * (1 - s),))

    def tanh(self) -> Tensor:
        t = np.tanh(self.data)
        return self._make(t, (self,), lambda g: (g * (1 - t * t),))

    def relu(self) -> Tensor:
        on = self.data > 0  # the derivative at exactly 0 is taken as 0, as PyTorch does
        return self._make(self.data * on, (self,), lambda g: (g * on,))

    # -- products and reductions -------------------------------------------------------
    def __matmul__(self, other) -> Tensor:
        other = as_tensor(other, self.data.dtype)
        x, y = self.data, other.data  # 2-D: dL/dx = g y^T, dL/dy = x^T g
        # Skipped for a constant (a network's input): the largest product of the first layer.
        wanted = self.requires_grad
        return self._make(x @ y, (self, other), lambda g: (g @ y.T if wanted else None, x.T @ g))

    def sum(self, axis=None, keepdims: bool = False) -> Tensor:
        shape = self.shape  # every entry contributes once: the gradient spread back
        kept = lambda g: g if keepdims or axis is None else np.expand_dims(g, axis)
        return self._make(self.data.sum(axis=axis, keepdims=keepdims), (self,),
                          lambda g: (np.broadcast_to(kept(g), shape).copy(),))

    def mean(self, axis=None, keepdims: bool = False) -> Tensor:
        count = self.data.size if axis is None else self.shape[axis]
        return self.sum(axis, keepdims) / count

    def max(self, axis: int, keepdims: bool = False) -> Tensor:
        """The largest entry along axis; its gradient goes to the first maximum only."""
        x = self.data
        first = np.expand_dims(x.argmax(axis=axis), axis)
        top = np.take_along_axis(x, first, axis)

        def rule(g):
            out = np.zeros_like(x)
            np.put_along_axis(out, first, g if keepdims else np.expand_dims(g, axis), axis)
            return (out,)

        return self._make(top if keepdims else top.squeeze(axis), (self,), rule)

    def pick(self, index: np.ndarray) -> Tensor:
        """Row i's entry in column index[i], for a 2-D tensor: a target class per row."""
        rows = np.arange(len(index))

        def rule(g):
            out = np.zeros_like(self.data)
            out[rows, index] = g
            return (out,)

        return self._make(self.data[rows, index], (self,), rule)

    # -- the chain rule ----------------------------------------------------------------
    def backward(self, grad=None) -> None:
        """d(self)/d(t) into t.grad for every Tensor t this one was computed from that
        requires a gradient (self must be a single number unless grad is given)."""
        if grad is None:
            if self.data.size != 1:
                raise ValueError(f"backward of a tensor of shape {self.shape} needs its gradient")
            grad = np.ones_like(self.data)
        order = topological_order(self)
        grads = {id(self): grad}  # interior nodes: this root's gradient only
        for node in reversed(order):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            for parent, pg in zip(node.parents, node.rule(g)):
                if not parent.requires_grad:
                    continue
                if parent.parents:  # interior: summed over the edges into it
                    grads[id(parent)] = grads[id(parent)] + pg if id(parent) in grads else pg
                elif parent.grad is None:  # a leaf: accumulated over backward calls
                    parent.grad = np.array(pg, dtype=parent.data.dtype)
                else:
                    parent.grad += pg


def topological_order(root: Tensor) -> list[Tensor]:
    """The interior nodes root depends on, root last, each after everything it was computed
    from: an iterative depth-first search with an explicit stack (any depth works)."""
    order: list[Tensor] = []
    if not root.parents:
        return order
    seen = {id(root)}
    interior = lambda node: iter([p for p in node.parents if p.parents])
    stack = [(root, interior(root))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append((parent, interior(parent)))
                break
        else:
            stack.pop()
            order.append(node)
    return order
