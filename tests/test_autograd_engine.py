"""The scalar autograd engine on its own: every operation against central differences and
against torch.autograd, random expressions, deep chains, nodes used many times."""

from __future__ import annotations

import gc
import math
import random

import pytest

from impls.autograd_engine import Value, dot, topological_order, total

STEP = 1e-6


def numeric_derivative(f, x: float, h: float = STEP) -> float:
    return (f(x + h) - f(x - h)) / (2 * h)


def close(a: float, b: float, tolerance: float) -> bool:
    return abs(a - b) <= tolerance * max(1.0, abs(a), abs(b))


# One-input operations: (name, on a Value, on a float, points where it is smooth)
UNARY = [
    ("neg", lambda v: -v, lambda x: -x, [-1.3, 0.4, 2.0]),
    ("exp", lambda v: v.exp(), math.exp, [-2.0, 0.1, 1.5]),
    ("log", lambda v: v.log(), math.log, [0.2, 1.0, 7.5]),
    ("tanh", lambda v: v.tanh(), math.tanh, [-2.5, 0.0, 0.7]),
    ("sigmoid", lambda v: v.sigmoid(), lambda x: 1 / (1 + math.exp(-x)), [-4.0, 0.0, 3.0]),
    ("relu", lambda v: v.relu(), lambda x: max(x, 0.0), [-1.0, 0.5, 3.0]),
    ("square", lambda v: v**2, lambda x: x**2, [-1.5, 0.3, 2.0]),
    ("cube", lambda v: v**3, lambda x: x**3, [-1.5, 0.3, 2.0]),
    ("sqrt", lambda v: v**0.5, math.sqrt, [0.3, 1.0, 4.0]),
    ("reciprocal", lambda v: v**-1, lambda x: 1 / x, [-2.0, 0.5, 3.0]),
    ("plus constant", lambda v: v + 2.5, lambda x: x + 2.5, [-1.0, 0.0, 1.0]),
    ("constant plus", lambda v: 2.5 + v, lambda x: 2.5 + x, [-1.0, 0.0, 1.0]),
    ("minus constant", lambda v: v - 2.5, lambda x: x - 2.5, [-1.0, 0.0, 1.0]),
    ("constant minus", lambda v: 2.5 - v, lambda x: 2.5 - x, [-1.0, 0.0, 1.0]),
    ("times constant", lambda v: v * -3.0, lambda x: x * -3.0, [-1.0, 0.0, 1.0]),
    ("constant times", lambda v: -3.0 * v, lambda x: -3.0 * x, [-1.0, 0.0, 1.0]),
    ("over constant", lambda v: v / 4.0, lambda x: x / 4.0, [-1.0, 0.0, 1.0]),
    ("constant over", lambda v: 4.0 / v, lambda x: 4.0 / x, [-1.0, 0.5, 2.0]),
]

# Two-input operations on two Values.
BINARY = [
    ("add", lambda a, b: a + b, lambda a, b: a + b),
    ("sub", lambda a, b: a - b, lambda a, b: a - b),
    ("mul", lambda a, b: a * b, lambda a, b: a * b),
    ("div", lambda a, b: a / b, lambda a, b: a / b),
]


@pytest.mark.parametrize("name,op,reference,points", UNARY, ids=[u[0] for u in UNARY])
def test_each_unary_operation_matches_its_value_and_central_differences(name, op, reference, points):
    for x in points:
        v = Value(x)
        out = op(v)
        assert out.data == pytest.approx(reference(x), rel=1e-15, abs=1e-300)
        out.backward()
        assert close(v.grad, numeric_derivative(reference, x), 1e-8), (name, x, v.grad)


@pytest.mark.parametrize("name,op,reference", BINARY, ids=[b[0] for b in BINARY])
def test_each_binary_operation_matches_central_differences(name, op, reference):
    rng = random.Random(1)
    for _ in range(5):
        x, y = rng.uniform(-2, 2), rng.choice([-1, 1]) * rng.uniform(0.5, 2)
        a, b = Value(x), Value(y)
        out = op(a, b)
        assert out.data == reference(x, y)
        out.backward()
        assert close(a.grad, numeric_derivative(lambda t: reference(t, y), x), 1e-8), name
        assert close(b.grad, numeric_derivative(lambda t: reference(x, t), y), 1e-8), name


def test_total_and_dot_match_the_same_sums_written_with_elementary_operations():
    rng = random.Random(2)
    w = [Value(rng.uniform(-1, 1)) for _ in range(50)]
    a = [Value(rng.uniform(-1, 1)) for _ in range(50)]
    b = Value(0.3)
    # One node each ...
    dot(w, a, b).tanh().backward()
    fused = [v.grad for v in w + a + [b]]
    total(w).backward()
    assert [v.grad for v in w] == pytest.approx([f + 1.0 for f in fused[:50]], rel=1e-15)
    for v in w + a + [b]:
        v.grad = 0.0
    # ... and the same neuron with a product node and an add node per input.
    elementary = b
    for wk, ak in zip(w, a):
        elementary = elementary + wk * ak
    assert elementary.data == pytest.approx(dot(w, a, b).data, rel=1e-14)
    elementary.tanh().backward()
    assert [v.grad for v in w + a + [b]] == pytest.approx(fused, rel=1e-13)


def test_dot_with_constant_factors_differentiates_the_values_only():
    rng = random.Random(3)
    x = [rng.uniform(0, 1) for _ in range(20)]
    w = [Value(rng.uniform(-1, 1)) for _ in range(20)]
    out = dot(w, x, 0.5)
    assert out.data == pytest.approx(sum(wk.data * xk for wk, xk in zip(w, x)) + 0.5, rel=1e-14)
    out.sigmoid().backward()
    s = out.sigmoid().data
    for wk, xk in zip(w, x):
        assert wk.grad == pytest.approx(s * (1 - s) * xk, rel=1e-14)
    # Numerically, through one weight.
    def f(t):
        saved = w[4].data
        w[4].data = t
        value = dot(w, x, 0.5).sigmoid().data
        w[4].data = saved
        return value
    assert close(w[4].grad, numeric_derivative(f, w[4].data), 1e-8)


def test_bad_uses_fail_with_clear_errors():
    with pytest.raises(ValueError, match="dot of 2 values with 3 factors"):
        dot([Value(1.0), Value(2.0)], [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="not a mix"):
        dot([Value(1.0), Value(2.0)], [1.0, Value(2.0)])
    with pytest.raises(TypeError, match="exponent must be a number"):
        Value(2.0) ** Value(3.0)


def test_a_node_used_many_times_collects_every_contribution():
    x = Value(1.5)
    total([x] * 1000).backward()
    assert x.grad == 1000.0
    x = Value(1.5)
    (x * x * x).backward()  # d(x^3) = 3x^2
    assert x.grad == pytest.approx(3 * 1.5**2, rel=1e-15)
    # A diamond: b feeds c twice, and c and b both feed d.
    a = Value(0.7)
    b = a.tanh()
    c = b * b + b
    d = c * b
    d.backward()
    t = math.tanh(0.7)
    assert a.grad == pytest.approx((3 * t**2 + 2 * t) * (1 - t**2), rel=1e-14)
    assert b.grad == pytest.approx(3 * t**2 + 2 * t, rel=1e-14)


def test_backward_accumulates_in_leaves_and_starts_interior_nodes_afresh():
    x, y = Value(2.0), Value(-3.0)
    z = (x * y).exp() + x
    z.backward()
    first = x.grad
    z.backward()  # a second call adds the same again to the leaves ...
    assert x.grad == pytest.approx(2 * first, rel=1e-15)
    inner = z.parents[0]  # ... while interior nodes hold only the latest call's gradient
    assert inner.grad == 1.0


def test_a_chain_of_100000_nodes_needs_no_recursion():
    x = Value(0.5)
    v = x
    for _ in range(100_000):
        v = v * 1.00001
    order = topological_order(v)
    assert len(order) == 100_000 and order[-1] is v and order[0].parents == (x,)
    v.backward()
    assert x.grad == pytest.approx(1.00001**100_000, rel=1e-9)
    del v, order
    gc.collect()  # and freeing the chain does not overflow the C stack


def test_leaves_are_not_in_the_order_and_every_node_comes_after_its_parents():
    rng = random.Random(4)
    leaves = [Value(rng.uniform(-1, 1)) for _ in range(6)]
    pool = list(leaves)
    for _ in range(200):
        a, b = rng.choice(pool), rng.choice(pool)
        pool.append((a * b).tanh() if rng.random() < 0.5 else a + b)
    order = topological_order(pool[-1])
    position = {id(node): i for i, node in enumerate(order)}
    assert not any(leaf in order for leaf in leaves)
    for node in order:
        for parent in node.parents:
            if parent.parents:
                assert position[id(parent)] < position[id(node)]


def test_sigmoid_and_exp_of_large_inputs_do_not_overflow_where_the_math_does_not():
    assert Value(-1000.0).sigmoid().data == 0.0
    assert Value(1000.0).sigmoid().data == 1.0
    v = Value(800.0)
    (v - 800.0).exp().backward()
    assert v.grad == 1.0


# -- against PyTorch: random expressions, values and gradients -------------------------

def random_expression(rng: random.Random, leaves: int, steps: int):
    """The same random expression built twice, with Values and with torch tensors. Each
    step applies a random operation to random earlier results (so nodes are reused), in
    forms that stay inside every operation's domain."""
    import torch

    xs = [rng.uniform(-1.5, 1.5) for _ in range(leaves)]
    ours = [Value(x) for x in xs]
    theirs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    pool = list(zip(ours, theirs))
    for _ in range(steps):
        (a, ta), (b, tb) = rng.choice(pool), rng.choice(pool)
        c = rng.uniform(-2, 2)
        kind = rng.randrange(13)
        if kind == 0:
            new = (a + b, ta + tb)
        elif kind == 1:
            new = (a - b, ta - tb)
        elif kind == 2:
            new = (a * b, ta * tb)
        elif kind == 3:
            new = (a / (b * b + 0.5), ta / (tb * tb + 0.5))
        elif kind == 4:
            new = ((a * 0.5).exp(), torch.exp(ta * 0.5))
        elif kind == 5:
            new = ((a * a + 0.1).log(), torch.log(ta * ta + 0.1))
        elif kind == 6:
            new = (a.tanh(), torch.tanh(ta))
        elif kind == 7:
            new = (a.sigmoid(), torch.sigmoid(ta))
        elif kind == 8:
            new = ((a + c).relu(), torch.relu(ta + c))
        elif kind == 9:
            new = ((a * a + 0.2) ** 1.5, (ta * ta + 0.2) ** 1.5)
        elif kind == 10:
            new = (c - a * c, c - ta * c)
        elif kind == 11:
            picks = [rng.choice(pool) for _ in range(rng.randint(2, 6))]
            new = (total([p for p, _ in picks]), torch.stack([t for _, t in picks]).sum())
        else:
            picks = [rng.choice(pool) for _ in range(rng.randint(2, 6))]
            constants = [rng.uniform(-1, 1) for _ in picks]
            if rng.random() < 0.5:
                others = [rng.choice(pool) for _ in picks]
                new = (dot([p for p, _ in picks], [o for o, _ in others], b),
                       sum(t * o for (_, t), (_, o) in zip(picks, others)) + tb)
            else:
                new = (dot([p for p, _ in picks], constants, c),
                       sum(t * k for (_, t), k in zip(picks, constants)) + c)
        pool.append(new)
    # Squash the last few results into one output so that many paths reach the root.
    root, troot = total([p for p, _ in pool[-5:]]).tanh(), torch.stack([t for _, t in pool[-5:]]).sum().tanh()
    return ours, theirs, root, troot


@pytest.mark.parametrize("seed", range(25))
def test_random_expressions_agree_with_torch_autograd(seed):
    torch = pytest.importorskip("torch")
    rng = random.Random(seed)
    ours, theirs, root, troot = random_expression(rng, leaves=rng.randint(1, 6), steps=rng.randint(5, 60))
    troot.backward()
    assert root.data == pytest.approx(troot.item(), rel=1e-12, abs=1e-15)
    root.backward()
    for v, t in zip(ours, theirs):
        expected = 0.0 if t.grad is None else t.grad.item()
        assert v.grad == pytest.approx(expected, rel=1e-10, abs=1e-12), (seed, v, expected)
    del torch


@pytest.mark.parametrize("name,op,reference,points", UNARY, ids=[u[0] for u in UNARY])
def test_each_unary_operation_agrees_with_torch(name, op, reference, points):
    torch = pytest.importorskip("torch")
    torch_ops = {
        "neg": torch.neg, "exp": torch.exp, "log": torch.log, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
        "relu": torch.relu, "square": lambda t: t**2, "cube": lambda t: t**3, "sqrt": torch.sqrt,
        "reciprocal": lambda t: t**-1, "plus constant": lambda t: t + 2.5, "constant plus": lambda t: 2.5 + t,
        "minus constant": lambda t: t - 2.5, "constant minus": lambda t: 2.5 - t, "times constant": lambda t: t * -3.0,
        "constant times": lambda t: -3.0 * t, "over constant": lambda t: t / 4.0, "constant over": lambda t: 4.0 / t,
    }
    for x in points + [0.0] * (name == "relu"):  # relu at its kink: both say 0
        v, t = Value(x), torch.tensor(x, dtype=torch.float64, requires_grad=True)
        op(v).backward()
        torch_ops[name](t).backward()
        assert v.grad == pytest.approx(t.grad.item(), rel=1e-14, abs=1e-300), (name, x)
