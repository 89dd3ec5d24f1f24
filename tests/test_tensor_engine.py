"""The tensor autograd engine on its own: every operation against central differences and
torch.autograd over hypothesis shapes (with broadcasting), a node used twice, a deep chain,
accumulation on leaves, no-grad."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from impls.tensor_engine import Tensor, no_grad, unbroadcast

torch = pytest.importorskip("torch")


def numeric_gradient(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar f at every entry of x."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + h
        up = f(x)
        x[i] = saved - h
        down = f(x)
        x[i] = saved
        grad[i] = (up - down) / (2 * h)
    return grad


# (name, on Tensors, on torch tensors, positive inputs only)
BINARY = [
    ("add", lambda a, b: a + b, lambda a, b: a + b, False),
    ("sub", lambda a, b: a - b, lambda a, b: a - b, False),
    ("mul", lambda a, b: a * b, lambda a, b: a * b, False),
    ("div", lambda a, b: a / b, lambda a, b: a / b, True),
]
UNARY = [
    ("neg", lambda a: -a, lambda a: -a, False),
    ("exp", lambda a: a.exp(), lambda a: a.exp(), False),
    ("log", lambda a: a.log(), lambda a: a.log(), True),
    ("sigmoid", lambda a: a.sigmoid(), lambda a: a.sigmoid(), False),
    ("tanh", lambda a: a.tanh(), lambda a: a.tanh(), False),
    ("relu", lambda a: a.relu(), lambda a: a.relu(), False),
    ("pow", lambda a: a**3, lambda a: a**3, False),
    ("sqrt", lambda a: a**0.5, lambda a: a**0.5, True),
    ("sum", lambda a: a.sum(axis=0), lambda a: a.sum(dim=0), False),
    ("mean", lambda a: a.mean(axis=-1, keepdims=True), lambda a: a.mean(dim=-1, keepdim=True), False),
    ("max", lambda a: a.max(axis=-1), lambda a: a.max(dim=-1).values, False),
]

shapes = st.tuples(st.integers(1, 4), st.integers(1, 4))


def broadcast_pair(draw_shape, mask):
    """A shape and a second one broadcastable against it (some axes 1, maybe fewer axes)."""
    other = tuple(1 if m else n for n, m in zip(draw_shape, mask))
    return draw_shape, other


def check(op, torch_op, arrays, seed_weights):
    tensors = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    out = op(*tensors)
    # A random weighted sum makes the output a scalar and checks every entry's gradient.
    weights = seed_weights(out.shape)
    (out * weights).sum().backward()
    references = [torch.tensor(a, requires_grad=True) for a in arrays]
    (torch_op(*references) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(out.data, torch_op(*references).detach().numpy(), rtol=1e-12, atol=1e-12)
    for k, (t, r) in enumerate(zip(tensors, references)):
        assert t.grad.shape == t.shape
        np.testing.assert_allclose(t.grad, r.grad.numpy(), rtol=1e-10, atol=1e-12)

        def f(x, k=k):
            inputs = [x if j == k else a for j, a in enumerate(arrays)]
            return float((op(*[Tensor(i) for i in inputs]).data * weights).sum())

        np.testing.assert_allclose(t.grad, numeric_gradient(f, arrays[k].copy()), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name,op,torch_op,positive", BINARY, ids=[b[0] for b in BINARY])
@settings(max_examples=25, deadline=None)
@given(shape=shapes, mask=st.tuples(st.booleans(), st.booleans()), drop=st.booleans(), swap=st.booleans(),
       seed=st.integers(0, 2**16))
def test_binary_operations_with_broadcasting(name, op, torch_op, positive, shape, mask, drop, swap, seed):
    rng = np.random.default_rng(seed)
    first, second = broadcast_pair(shape, mask)
    if drop:
        second = second[1:]  # fewer axes: broadcast over the leading one
    if swap:
        first, second = second, first
    draw = (lambda s: rng.uniform(0.5, 2.0, s)) if positive else (lambda s: rng.uniform(-2, 2, s))
    check(op, torch_op, [draw(first), draw(second)], lambda s: rng.standard_normal(s))


@pytest.mark.parametrize("name,op,torch_op,positive", UNARY, ids=[u[0] for u in UNARY])
@settings(max_examples=20, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_unary_operations_and_reductions(name, op, torch_op, positive, shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.3, 2.0, shape) if positive else rng.uniform(-2, 2, shape)
    if name == "relu":
        x[np.abs(x) < 1e-3] = 0.5  # off the kink, where central differences are wrong by design
    check(op, torch_op, [x], lambda s: rng.standard_normal(s))


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 5), k=st.integers(1, 5), m=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_matmul(n, k, m, seed):
    rng = np.random.default_rng(seed)
    check(lambda a, b: a @ b, lambda a, b: a @ b, [rng.standard_normal((n, k)), rng.standard_normal((k, m))],
          lambda s: rng.standard_normal(s))


def test_pick_takes_one_class_per_row():
    rng = np.random.default_rng(0)
    index = np.array([2, 0, 1, 2])
    check(lambda a: a.pick(index), lambda a: a[torch.arange(4), torch.tensor(index)],
          [rng.standard_normal((4, 3))], lambda s: rng.standard_normal(s))


def test_unbroadcast_sums_back_to_the_input_shape():
    g = np.ones((5, 4, 3))
    assert unbroadcast(g, (3,)).tolist() == [20.0] * 3
    assert unbroadcast(g, (4, 1)).shape == (4, 1) and unbroadcast(g, (4, 1))[0, 0] == 15.0
    assert unbroadcast(g, ()).item() == 60.0


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), depth=st.integers(1, 12))
def test_random_expression_graphs_match_torch(seed, depth):
    """Random graphs mixing every operation, reusing earlier nodes (so gradients add)."""
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0.5, 1.5, (3, 4)), rng.uniform(0.5, 1.5, (1, 4))
    ours, theirs = [Tensor(x, True), Tensor(y, True)], [torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)]
    steps = [
        lambda a, b: (a * b, a * b), lambda a, b: (a + b, a + b), lambda a, b: (a - b, a - b),
        lambda a, b: (a.tanh(), a.tanh()), lambda a, b: (a.sigmoid(), a.sigmoid()),
        lambda a, b: ((a * a + 1).log(), (a * a + 1).log()), lambda a, b: (a / (b * b + 1), a / (b * b + 1)),
    ]
    for _ in range(depth):
        i, j, s = rng.integers(len(ours)), rng.integers(len(ours)), rng.integers(len(steps))
        # Apply the same step to ours[i], ours[j] and to theirs[i], theirs[j].
        ours.append(steps[s](ours[i], ours[j])[0])
        theirs.append(steps[s](theirs[i], theirs[j])[1])
    ours[-1].sum().backward()
    theirs[-1].sum().backward()
    for leaf, reference in zip(ours[:2], theirs[:2]):
        expected = np.zeros(leaf.shape) if reference.grad is None else reference.grad.numpy()
        got = np.zeros(leaf.shape) if leaf.grad is None else leaf.grad
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_a_node_used_twice_gets_both_contributions():
    x = Tensor(np.array([1.5, -2.0]), True)
    y = x.tanh()
    (y * y + y).sum().backward()  # d/dx (t^2 + t) = (2t + 1)(1 - t^2)
    t = np.tanh(x.data)
    np.testing.assert_allclose(x.grad, (2 * t + 1) * (1 - t * t), rtol=1e-14)


def test_a_node_waits_for_every_node_computed_from_it():
    # a feeds the loss twice: directly, and through a chain made after it. Backward must visit
    # a once, after both gradients have arrived (the chain's through 50 nodes): visited early, it
    # would hand on a part and be visited again.
    x = Tensor(np.array([0.3, -0.2]), True)
    a = x.tanh()
    b = a
    for _ in range(50):
        b = b * 1.01
    visits = []
    (rule,) = a.rules
    a.rules = (lambda g: visits.append(g.copy()) or rule(g),)
    (a + b).sum().backward()
    assert len(visits) == 1
    np.testing.assert_allclose(visits[0], [1 + 1.01**50] * 2, rtol=1e-13)
    np.testing.assert_allclose(x.grad, (1 + 1.01**50) * (1 - np.tanh(x.data) ** 2), rtol=1e-13)


def test_a_chain_of_ten_thousand_operations_needs_no_recursion():
    x = Tensor(np.array([0.5]), True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0001**10_000], rtol=1e-9)


def test_backward_twice_accumulates_on_leaves_until_zero_grad():
    x = Tensor(np.array([[1.0, 2.0]]), True)
    loss = (x * x).sum()
    loss.backward()
    loss.backward()
    np.testing.assert_array_equal(x.grad, 2 * 2 * x.data)
    x.zero_grad()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [[3.0, 3.0]])


def test_no_grad_builds_no_graph():
    w = Tensor(np.ones((2, 2)), True)
    with no_grad():
        out = (w @ w).tanh().sum()
    assert out.parents == () and not out.requires_grad
    assert (w @ w).parents  # and recording is back on after the block


def test_constants_get_no_gradient_and_backward_needs_a_scalar():
    c, w = Tensor(np.ones(3)), Tensor(np.ones(3), True)
    (c * w).sum().backward()
    assert c.grad is None and w.grad.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="needs its gradient"):
        (c * w).backward()
    with pytest.raises(TypeError, match="exponent must be a number"):
        w ** w


def test_a_power_of_zero_has_gradient_zero_even_at_zero_as_in_torch():
    w, reference = Tensor(np.array([0.0, 2.0]), True), torch.tensor([0.0, 2.0], dtype=torch.float64, requires_grad=True)
    (w ** 0).sum().backward()
    (reference ** 0).sum().backward()
    assert w.grad.tolist() == reference.grad.tolist() == [0.0, 0.0]


def test_float32_stays_float32():
    w = Tensor(np.ones((2, 3), np.float32), True)
    out = (w @ np.ones((3, 1), np.float32)).sigmoid().sum()
    out.backward()
    assert out.data.dtype == np.float32 and w.grad.dtype == np.float32


def test_an_array_or_numpy_number_on_the_left_is_a_constant():
    """NumPy would otherwise make an array of Tensors, one per entry, or fail (matmul)."""
    w = Tensor(np.arange(6.0).reshape(2, 3), True)
    c = np.full((2, 3), 2.0)
    for out, dw in [(c * w, c), (c + w, 1.0), (c - w, -1.0), (c / (w + 1), -c / (w.data + 1) ** 2),
                    (np.float64(3.0) * w, 3.0), (np.ones((4, 2)) @ w, 4.0)]:
        assert isinstance(out, Tensor), type(out)
        w.zero_grad()
        out.sum().backward()
        assert np.allclose(w.grad, dw)
    half = Tensor(np.ones(3, np.float32), True)
    assert (np.float64(0.5) * half).data.dtype == np.float32  # a number takes the tensor's dtype


def test_the_readmes_one_neuron_example_gives_the_scalar_engines_numbers():
    """The README's tensor snippet, run as written, agrees with its scalar engine's table."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    snippet = next(block for block in re.findall(r"```python\n(.*?)```", readme, re.S)
                   if "tensor_engine import Tensor" in block)
    scope: dict = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(snippet, scope)
    assert printed.getvalue().strip() in readme  # what the README says it prints
    assert abs(float(scope["loss"].data) - 0.12814) < 5e-6
    np.testing.assert_allclose(scope["WT"].grad.ravel(), [-0.06327, -0.12654, -0.03164], atol=5e-6)
    np.testing.assert_allclose(scope["b"].grad, [-0.12654], atol=5e-6)


def test_a_constants_rule_never_runs():
    """The network's input is a constant: the gradient of x @ W by x (the largest product of
    a first layer) is never computed."""
    x, w = Tensor(np.ones((2, 3))), Tensor(np.ones((3, 4)), True)
    out = x @ w

    def refuse(g):
        raise AssertionError("the constant's rule ran")

    out.rules = (refuse, out.rules[1])
    out.sum().backward()
    np.testing.assert_array_equal(w.grad, np.full((3, 4), 2.0))


def test_a_single_number_leaf_gets_an_array_as_its_gradient():
    s = Tensor(3.0, requires_grad=True)
    (s * s).backward()
    assert isinstance(s.grad, np.ndarray) and s.grad.shape == () and s.grad == 6.0


def test_leaves_get_arrays_of_their_own():
    """+ hands its gradient on unchanged to both parents: each leaf still gets its own array,
    and not the caller's either, so accumulating into one changes nothing else."""
    a, b = Tensor(np.zeros(3), True), Tensor(np.zeros(3), True)
    seed = np.ones(3)
    (a + b).backward(seed)
    assert a.grad is not b.grad and a.grad is not seed and b.grad is not seed
    a.grad += 1
    assert b.grad.tolist() == [1.0, 1.0, 1.0] and seed.tolist() == [1.0, 1.0, 1.0]


# ---------------------------------------------------------------- off the happy path (a learner's)


def test_integers_and_lists_become_float64():
    """Cast to the integers' dtype, 0.5 * [1, 2, 3] was [0, 0, 0] and every gradient 0."""
    x = Tensor([1, 2, 3], requires_grad=True)
    assert x.data.dtype == np.float64 and Tensor(np.arange(3)).data.dtype == np.float64
    (x * 0.5 + x.sigmoid()).sum().backward()
    s = 1 / (1 + np.exp(-np.array([1.0, 2.0, 3.0])))
    np.testing.assert_allclose(x.grad, 0.5 + s * (1 - s))
    for bad in ([Tensor(1.0), Tensor(2.0)], "3", None):
        with pytest.raises(TypeError, match="holds numbers"):
            Tensor(bad)


def test_what_the_engine_does_not_do_is_refused_with_a_message():
    w = Tensor(np.eye(3), requires_grad=True)
    with pytest.raises(ValueError, match="2-D tensors.*one row or one column"):
        w @ np.array([0.5, 1.0, 0.25])  # its gradient was a number, not a 3x3 matrix
    logits = Tensor(np.zeros((4, 3)), requires_grad=True)
    for index in (np.array([0, 1]), np.zeros((4, 4), int), np.array([0.0, 1.0, 2.0, 0.0])):
        with pytest.raises(ValueError, match="one integer class per row"):
            logits.pick(index)
    with pytest.raises(ValueError, match="one integer class per row"):
        Tensor(np.zeros((2, 4, 3))).pick(np.array([0, 1]))
    for axis in (None, (0, 1)):
        with pytest.raises(TypeError, match="one axis, an int"):
            logits.max(axis=axis)
    with pytest.raises(TypeError, match="must be a number"):
        w ** np.ones((4, 1))
    with pytest.raises(TypeError, match=r"w.data -= lr \* w.grad"):
        w -= 0.1
    with pytest.raises(TypeError, match=r"2 \*\* t as \(t \* math.log\(2\)\).exp\(\)"):
        2 ** w


def test_backward_checks_its_seed_and_what_it_is_called_on():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(ValueError, match=r"gradient has shape \(3, 2\), the tensor \(2,\)"):
        (w * 2).backward(np.ones((3, 2)))  # was summed into [6, 6] without a word
    with pytest.raises(ValueError, match=r"its \.sum\(\)"):
        (w * 2).backward()
    (w * w).sum().backward(2.0)  # a number as the seed (a learning rate, say)
    np.testing.assert_array_equal(w.grad, [4.0, 8.0])
    with pytest.raises(ValueError, match="made from constants only"):
        Tensor(np.ones(2)).sum().backward()
    with no_grad():
        evaluated = (w * w).sum()
    with pytest.raises(ValueError, match="inside no_grad"):
        evaluated.backward()
    w.zero_grad()
    w.backward(np.ones(2))  # a leaf by itself: d w / d w = 1, accumulating like any leaf
    w.backward(np.ones(2))
    np.testing.assert_array_equal(w.grad, [2.0, 2.0])


def test_mean_over_several_axes_and_relu_at_infinity_match_torch():
    data = np.random.default_rng(0).standard_normal((2, 3, 4))
    for axis, keepdims in [((0, 2), False), ((0, 2), True), (-1, False), (None, False)]:
        t, ref = Tensor(data.copy(), True), torch.tensor(data, requires_grad=True)
        out = t.mean(axis=axis, keepdims=keepdims)
        expected = ref.mean() if axis is None else ref.mean(dim=axis, keepdim=keepdims)
        np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-15)
        (out * out).sum().backward()
        (expected * expected).sum().backward()
        np.testing.assert_allclose(t.grad, ref.grad.numpy(), rtol=1e-14)
    x = Tensor(np.array([-np.inf, -1.0, 2.0]), True)
    out = x.relu()
    out.sum().backward()
    assert out.data.tolist() == [0.0, 0.0, 2.0] and x.grad.tolist() == [0.0, 0.0, 1.0]  # not nan at -inf
    half = Tensor(np.ones(3, np.float32), True)
    assert (half ** np.float64(2)).data.dtype == np.float32


def test_a_tensor_prints_its_numbers():
    loss = (Tensor(np.array([0.5, 1.5]), requires_grad=True) ** 2).mean()
    assert repr(loss) == "Tensor(1.25, requires_grad=True)" and loss.item() == 1.25
    assert repr(Tensor(np.zeros(2, np.float32))) == "Tensor([0., 0.], dtype=float32)"


def test_an_interior_node_set_to_need_no_gradient_cuts_the_graph_there():
    """A "detach": nothing flows back through it (it was a KeyError inside backward)."""
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    hidden = w * w
    hidden.requires_grad = False
    (hidden * w).sum().backward()
    np.testing.assert_array_equal(w.grad, [1.0, 4.0])  # d(h w)/dw with h held fixed: h
