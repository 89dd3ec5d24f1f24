"""A reverse-mode automatic differentiation engine on whole NumPy arrays.

A `Tensor` holds an array of floating-point numbers (`data`; integers and lists become
float64), the Tensors it was computed from (`parents`) and, for each parent, the backward rule
of the operation that made it (`rules`): a function from this node's gradient to that
parent's. After backward, a leaf that requires a gradient has it in `grad` (same shape).
`root.backward()` visits the graph in reverse topological order and does

    parent.grad += rule(node.grad)

for each parent: the scalar engine's one line (impls/autograd_engine.py), with arrays. A
parent that needs no gradient (a constant, such as a network's input) is skipped, and its
rule never runs: for the first layer's x @ W that is the largest product of the step.

The order: every recorded node gets a number as it is made, after its parents, so a node
always has a larger number than the nodes it was computed from. Backward keeps the nodes that
have received a gradient so far in a heap and always takes the largest number next: by then
every node computed from it has been visited, and its gradient is complete. This is how
PyTorch's engine orders its work too (by each node's sequence number); the scalar engine
sorts the graph first instead. Either way there is no recursion: any depth works.

Broadcasting: an operation may broadcast an input of shape (3,) against (5, 3); its
gradient then has the output's shape and must be summed back to the input's shape
(`unbroadcast`), since each input entry was used once per broadcast copy. Backward does that
in one place, for every operation, wherever a rule's gradient is shaped otherwise than its
parent: so each rule stays the calculus alone (d(x + y)/dy = 1: `lambda g: g`). A sum does
the opposite: its gradient is copied back to every entry it added up (`spread`).

Leaves (Tensors made directly, with requires_grad=True, e.g. a network's weights)
accumulate their gradients over calls to backward(), as in PyTorch, until `zero_grad()`.
Interior nodes keep none: their gradients live only during one backward (PyTorch's default
too, without retain_grad). Inside `with no_grad():` operations record no parents and no
rule: evaluation builds no graph. Plain numbers and arrays mixed into an expression, on
either side, are constants; a number takes the other operand's dtype, so float32 stays float32.

What it does not do, as an MLP does not need it: @ multiplies 2-D tensors, `max` takes one
axis, `pick` one class per row of a 2-D tensor (each refuses anything else with a message).
A Tensor made from an array uses that array, not a copy (as torch.from_numpy), and an
operation keeps its inputs' arrays for its backward rule: change `data` between steps (the
parameter update), never between an operation and the backward through it. A Tensor is never
changed in place (`w -= ...` is refused): update its array, `w.data -= lr * w.grad`.
The engine knows nothing about neural networks.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from heapq import heappop, heappush
from itertools import count

import numpy as np

_recording = [True]  # False inside no_grad(): a list so the context manager can set it
_numbers = count()  # each recorded node's number, in the order they are made (the order, above)


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
    """Sum a gradient of the broadcast result back to the shape the input had (backward calls
    it only where the two differ)."""
    return grad.sum(axis=stretched_axes(grad.shape, shape)).reshape(shape)


@lru_cache(maxsize=256)  # the same few pairs of shapes recur at every step: worked out once
def stretched_axes(result: tuple, shape: tuple) -> tuple:
    """The axes along which broadcasting stretched `shape` to `result`: the leading ones
    it did not have, and those where it had 1 and the result has more."""
    extra = len(result) - len(shape)
    return tuple(range(extra)) + tuple(extra + i for i, n in enumerate(shape) if n == 1 and result[extra + i] != 1)


def spread(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """A sum's gradient (a number, or with its summed axis kept, of size 1) copied back to every
    entry it added."""
    out = np.empty(shape, grad.dtype)
    out[...] = grad
    return out


def as_tensor(x, dtype=None) -> Tensor:
    """A Tensor as is; a number or array as a constant (numbers in the other operand's dtype,
    so that float32 stays float32)."""
    if isinstance(x, Tensor):
        return x
    return Tensor(np.asarray(x, dtype=dtype if isinstance(x, (int, float, np.number)) else None))


def float_array(data) -> np.ndarray:
    """data as an array of floating-point numbers: a float dtype is kept; integers and booleans
    become float64 (a gradient is a real number: 0.5 * an integer array must not be 0)."""
    array = np.asarray(data)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"a Tensor holds numbers, not {array.dtype} data (a list of Tensors, strings?)")
    return array if array.dtype.kind == "f" else array.astype(np.float64)


class Tensor:
    __slots__ = ("data", "grad", "parents", "rules", "requires_grad", "number")
    # NumPy hands `array * tensor` (and +, -, /, @) to the Tensor's __rmul__ etc., where the array
    # is a constant, instead of making an array of Tensors one entry at a time.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad: bool = False):
        """A leaf (a parameter, with requires_grad=True) or a constant; operations make the rest."""
        self.data = data if isinstance(data, np.ndarray) and data.dtype.kind == "f" else float_array(data)
        self.grad = None
        self.requires_grad = requires_grad
        self.parents = ()
        self.rules = ()  # one per parent: this node's gradient -> that parent's

    def __repr__(self) -> str:
        numbers = np.array2string(self.data, precision=5, threshold=24, separator=", ", prefix="Tensor(")
        dtype = "" if self.data.dtype == np.float64 else f", dtype={self.data.dtype}"
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({numbers}{dtype}{grad})"  # as PyTorch prints one

    def item(self) -> float:
        """The number a one-entry Tensor holds (a loss, say)."""
        return self.data.item()

    @property
    def shape(self) -> tuple:
        return self.data.shape

    def zero_grad(self) -> None:
        self.grad = None

    def _make(self, data, parents: tuple, rules: tuple) -> Tensor:
        """An operation's result. It records its parents (self, or self and other), their rules
        and its number only when a parent needs a gradient, and not inside no_grad()."""
        node = Tensor.__new__(Tensor)  # speed: __init__'s checks are for data from outside (with any(), 9% of a small step)
        node.data, node.grad = data, None
        if _recording[0] and (self.requires_grad or parents[-1].requires_grad):
            node.requires_grad, node.parents, node.rules, node.number = True, parents, rules, next(_numbers)
        else:
            node.requires_grad, node.parents, node.rules = False, (), ()
        return node

    # -- elementwise operations with broadcasting --------------------------------------
    def __add__(self, other) -> Tensor:
        other = as_tensor(other, self.data.dtype)
        return self._make(self.data + other.data, (self, other), (lambda g: g, lambda g: g))

    __radd__ = __add__

    def __sub__(self, other) -> Tensor:
        other = as_tensor(other, self.data.dtype)
        return self._make(self.data - other.data, (self, other), (lambda g: g, lambda g: -g))

    def __rsub__(self, other) -> Tensor:
        return as_tensor(other, self.data.dtype) - self

    def __mul__(self, other) -> Tensor:
        other = as_tensor(other, self.data.dtype)
        x, y = self.data, other.data  # d(xy)/dx = y, d(xy)/dy = x
        return self._make(x * y, (self, other), (lambda g: g * y, lambda g: g * x))

    __rmul__ = __mul__

    def __truediv__(self, other) -> Tensor:
        other = as_tensor(other, self.data.dtype)
        x, y = self.data, other.data  # d(x/y)/dx = 1/y, d(x/y)/dy = -x/y^2
        return self._make(x / y, (self, other), (lambda g: g / y, lambda g: -g * x / (y * y)))

    def __rtruediv__(self, other) -> Tensor:
        return as_tensor(other, self.data.dtype) / self

    def __neg__(self) -> Tensor:
        return self._make(-self.data, (self,), (lambda g: -g,))

    def __pow__(self, exponent: float) -> Tensor:
        if isinstance(exponent, Tensor) or np.ndim(exponent) != 0:
            raise TypeError("Tensor ** Tensor or ** array is not supported; the exponent must be a number")
        exponent = float(exponent)  # a Python number: a NumPy float64 would make float32 float64
        x = self.data  # d(x^n)/dx = n x^(n-1), and 0 for n = 0 (where 0 * x^-1 is 0 * inf at x = 0)
        rule = (lambda g: g * exponent * x ** (exponent - 1)) if exponent else (lambda g: np.zeros_like(x))
        return self._make(x**exponent, (self,), (rule,))

    def exp(self) -> Tensor:
        e = np.exp(self.data)
        return self._make(e, (self,), (lambda g: g * e,))

    def log(self) -> Tensor:
        x = self.data
        return self._make(np.log(x), (self,), (lambda g: g / x,))

    def sigmoid(self) -> Tensor:
        with np.errstate(over="ignore"):  # e^-z overflows to inf for very negative z: s = 0, right
            s = 1 / (1 + np.exp(-self.data))
        return self._make(s, (self,), (lambda g: g * s * (1 - s),))

    def tanh(self) -> Tensor:
        t = np.tanh(self.data)
        return self._make(t, (self,), (lambda g: g * (1 - t * t),))

    def relu(self) -> Tensor:
        on = self.data > 0  # the derivative at exactly 0 is taken as 0, as PyTorch does
        return self._make(np.maximum(self.data, 0), (self,), (lambda g: g * on,))

    def __rpow__(self, base):
        raise TypeError("number ** Tensor is not supported (an MLP does not need it): write it with exp, "
                        "e.g. 2 ** t as (t * math.log(2)).exp()")

    def _changed_in_place(self, other):
        raise TypeError("a Tensor is not changed in place (its array may be in a graph): "
                        "update the array, as in w.data -= lr * w.grad")

    __iadd__ = __isub__ = __imul__ = __itruediv__ = _changed_in_place

    # -- products and reductions -------------------------------------------------------
    def __matmul__(self, other) -> Tensor:
        other = as_tensor(other, self.data.dtype)
        x, y = self.data, other.data  # 2-D: dL/dx = g y^T, dL/dy = x^T g
        if x.ndim != 2 or y.ndim != 2:
            raise ValueError(f"@ multiplies 2-D tensors here, not shapes {x.shape} and {y.shape}: "
                             "write a vector as a matrix of one row or one column")
        return self._make(x @ y, (self, other), (lambda g: g @ y.T, lambda g: x.T @ g))

    def __rmatmul__(self, other) -> Tensor:
        return as_tensor(other, self.data.dtype) @ self

    def sum(self, axis=None, keepdims: bool = False) -> Tensor:
        shape = self.shape
        put_back = axis is not None and not keepdims  # the summed axis, so that g broadcasts along it
        # Every entry counts once in the sum: each gets g back.
        return self._make(self.data.sum(axis=axis, keepdims=keepdims), (self,),
                          (lambda g: spread(np.expand_dims(g, axis) if put_back else g, shape),))

    def mean(self, axis=None, keepdims: bool = False) -> Tensor:
        total = self.sum(axis, keepdims)
        return total / (self.data.size // max(total.data.size, 1))  # the entries added into each

    def max(self, axis: int, keepdims: bool = False) -> Tensor:
        """The largest entry along axis; its gradient goes to the first maximum only."""
        if not isinstance(axis, (int, np.integer)):
            raise TypeError(f"max takes one axis, an int, not {axis!r} (softmax needs each row's)")
        x = self.data
        first = np.expand_dims(x.argmax(axis=axis), axis)
        top = np.take_along_axis(x, first, axis)

        def rule(g):
            out = np.zeros_like(x)
            np.put_along_axis(out, first, g.reshape(top.shape), axis)
            return out

        return self._make(top if keepdims else top.squeeze(axis), (self,), (rule,))

    def pick(self, index: np.ndarray) -> Tensor:
        """Row i's entry in column index[i], for a 2-D tensor: a target class per row."""
        x, index = self.data, np.asarray(index)
        if x.ndim != 2 or index.shape != x.shape[:1] or index.dtype.kind not in "iu":
            raise ValueError(f"pick takes a 2-D tensor and one integer class per row: got shape {x.shape} "
                             f"and {index.dtype} classes of shape {index.shape}")
        rows = np.arange(len(index))

        def rule(g):
            out = np.zeros_like(x)
            out[rows, index] = g
            return out

        return self._make(x[rows, index], (self,), (rule,))

    # -- the chain rule ----------------------------------------------------------------
    def backward(self, grad=None) -> None:
        """d(self)/d(t) into t.grad for every Tensor t this one was computed from that
        requires a gradient, times grad: an array of self's shape, or a number when self is one
        (a seed such as a learning rate); left out, 1, for a tensor of a single number."""
        if grad is None:
            if self.data.size != 1:
                raise ValueError(f"backward of a tensor of shape {self.shape} needs its gradient, an array of "
                                 "that shape; or take the backward of a single number, such as its .sum()")
            grad = np.ones_like(self.data)
        grad = np.asarray(grad, dtype=self.data.dtype)
        if grad.shape != self.shape:
            raise ValueError(f"backward's gradient has shape {grad.shape}, the tensor {self.shape}")
        if not self.requires_grad:
            raise ValueError("backward of a tensor that needs no gradient: it was made from constants "
                             "only (no requires_grad=True), or inside no_grad()")
        if not self.parents:  # a leaf by itself: d(self)/d(self) = 1, times grad
            self.grad = grad.copy() if self.grad is None else self.grad + grad
            return
        grads = {self: grad}  # interior nodes: this root's gradient only
        waiting = [(-self.number, self)]  # those with a gradient so far (heapq pops the smallest: negated)
        while waiting:
            node = heappop(waiting)[1]  # the largest number: every node computed from it is done
            g = grads.pop(node)
            for parent, rule in zip(node.parents, node.rules):
                if not parent.requires_grad:
                    continue  # a constant: its gradient is never computed
                pg = rule(g)
                if pg.shape != parent.data.shape:  # the operation broadcast this parent: summed back
                    pg = unbroadcast(pg, parent.data.shape)
                if parent.parents:  # interior: summed over the edges into it
                    if parent in grads:
                        grads[parent] = grads[parent] + pg
                    else:  # its first gradient: it waits its turn
                        grads[parent] = pg
                        heappush(waiting, (-parent.number, parent))
                elif parent.grad is None:  # a leaf: an array of its own (a rule may hand g on as is: copied)
                    dtype = parent.data.dtype
                    parent.grad = np.array(pg, dtype=dtype) if pg is g else np.asarray(pg, dtype=dtype)
                else:
                    parent.grad += pg

