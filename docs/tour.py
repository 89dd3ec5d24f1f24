# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A tour of MNIST five ways
#
# One network for handwritten digits, written five ways (a pure-Python loop, a scalar
# autograd engine, NumPy, a tensor autograd engine on NumPy, PyTorch), proven to compute the
# same thing, and a referee that tells you which equation of *your* implementation is wrong. This notebook runs top to
# bottom in under a minute, from a clone where `make setup` has run (it uses the project's
# `.venv`: pick it as the kernel). Nothing in it depends on a hidden helper file.
#
# 1. The data
# 2. One neuron through the autograd engine
# 3. The implementations' gradients side by side
# 4. Your own implementation, checked: a broken one diagnosed, then fixed
# 5. A few hundred training steps
# 6. Where the page is

# %%
import numpy as np
import matplotlib.pyplot as plt

from shared.data import load_dataset, scale_pixels

dataset = load_dataset()  # the MNIST bundled in data/mnist, its checksums verified
print(dataset.name, "verified" if dataset.verified else "unverified",
      f"{len(dataset.train_labels):,} training and {len(dataset.test_labels):,} test images of",
      "x".join(map(str, dataset.train_images.shape[1:])), "pixels")

# %% [markdown]
# ## 1. The data
#
# Each image is 28x28 bytes, 0 for the background and 255 for full ink. Every implementation
# sees them as rows of 784 numbers in [0, 1] (`scale_pixels` divides by 255, and that is the
# only normalization in this project).

# %%
fig, axes = plt.subplots(1, 10, figsize=(10, 1.4))
for ax, image, label in zip(axes, dataset.train_images[:10], dataset.train_labels[:10]):
    ax.imshow(image, cmap="gray_r")
    ax.set_title(str(label))
    ax.axis("off")
plt.show()

# %% [markdown]
# ## 2. One neuron through the autograd engine
#
# `impls/autograd_engine.py` is a `Value`: a number that remembers which values it was
# computed from and the local derivative by each. `backward()` walks the graph from the
# loss back, each node passing `its grad × local derivative` to its parents. Here is one
# sigmoid neuron with three inputs and the quadratic cost for a target of 1.

# %%
from impls.autograd_engine import Value

w = [Value(0.2), Value(-0.4), Value(0.7)]
b = Value(0.1)
x = [0.5, 1.0, 0.25]  # pixels are constants: no nodes of their own

z = b
for wk, xk in zip(w, x):
    z = z + wk * xk
a = z.sigmoid()
loss = 0.5 * (a - 1.0) ** 2
loss.backward()

print(f"z = {z.data:.5f}, a = {a.data:.5f}, loss = {loss.data:.5f}")
print("dloss/dw =", [round(wk.grad, 5) for wk in w], " dloss/db =", round(b.grad, 5))
print("Nielsen's delta = (a - y) sigma'(z) =", round((a.data - 1.0) * a.data * (1 - a.data), 5))

# %% [markdown]
# That δ is the bias's gradient (BP3), and each weight's gradient is δ times its input
# (BP4): the engine computed the book's equations without anyone writing them.
#
# ## 3. The implementations' gradients side by side
#
# The same parameters, the same batch of eight training images, five implementations. The
# first numbers of ∂C/∂b of the output layer, from each:

# %%
from compare.check.gradients import check_gradients, format_agreement
from impls import NAMES, build
from shared.config import Config
from shared.params import init_params

try:
    import torch  # noqa: F401  (the torch implementation runs where PyTorch is installed)
    names = list(NAMES)
except ImportError:
    names = [name for name in NAMES if name != "torch"]

config = Config(sizes=(784, 16, 10), activation="sigmoid", loss="cross-entropy")
params = init_params(config.sizes, seed=0)
x8 = scale_pixels(dataset.train_images[:8])
y8 = dataset.train_labels[:8].astype(np.int64)

for name in names:
    loss8, grads = build(name, config, params).loss_and_gradients(x8, y8)
    print(f"{name:>8}  loss {loss8:.15f}  dC/db2[:4] = {np.array2string(grads[-1][1][:4], precision=12)}")

# %% [markdown]
# Every pair, on every weight matrix and bias vector, as relative error
# max|a − b| / max(max|a|, max|b|); and each against central finite differences of its own
# loss:

# %%
print(format_agreement(check_gradients(config, params, x8, y8, names, coordinates=4)))

# %% [markdown]
# ## 4. Your own implementation, checked
#
# `write_exercise` (the command line's `compare exercise DIR`) writes a starting
# implementation, `my_mlp.py`, complete except the four equations of backpropagation: each
# is a method whose body is a marked TODO that cites it and the book's section. Checked as
# it is, the four are reported, one line each:

# %%
import tempfile
from pathlib import Path

from compare import check
from compare.check.exercise import write_exercise

workdir = Path(tempfile.mkdtemp(prefix="tour-"))
path = write_exercise(workdir, style="numpy")
check(str(path))

# %% [markdown]
# You would now open `my_mlp.py` and fill in the four methods. Here, so that the notebook
# shows only those four, an attempt is written as a subclass of the skeleton's class, with
# a slip that is easy to make: BP2 without its σ′(zˡ).

# %%
from impls.plugins import load_implementation

Skeleton = load_implementation(str(path)).cls


class Attempt(Skeleton):
    def output_error(self, Z, A, Y):  # (BP1)
        return A - Y if self.softmax_output else (A - Y) * A * (1 - A)

    def hidden_error(self, W_next, delta_next, Z):  # (BP2), sigma'(z) forgotten
        return delta_next @ W_next

    def bias_gradient(self, delta):  # (BP3), the mean over the batch
        return delta.mean(axis=0)

    def weight_gradient(self, delta, A_prev):  # (BP4), the mean over the batch
        return delta.T @ A_prev / len(delta)


check(Attempt)

# %% [markdown]
# The check judged each equation on the implementation's own inputs to it: δᴸ and the
# output layer's ∂C/∂b and ∂C/∂W are right, BP3 and BP4 are right at every layer, and BP2
# is wrong at each step back, from the output to the last hidden layer and between hidden
# layers; it recognized the mistake and named the missing factor. The fix:

# %%
class Fixed(Attempt):
    def hidden_error(self, W_next, delta_next, Z):  # (BP2)
        return (delta_next @ W_next) * self.sigma_prime(Z)


check(Fixed)

# %% [markdown]
# ## 5. A few hundred training steps
#
# The fixed implementation and the project's NumPy implementation, trained by the one shared
# training loop from the same initial parameters on the same 9,600 images, in batches of 32
# (300 steps), then tested on the 10,000 test images.

# %%
from shared.training import prepare, train

config = Config(sizes=(784, 30, 10), activation="sigmoid", loss="cross-entropy", lr=0.5,
                batch_size=32, epochs=1, train_limit=9600)
split = prepare(dataset, config)
start = init_params(config.sizes, seed=config.seed)
runs = {"numpy": train(build("numpy", config, start), split, config),
        "Fixed (yours)": train(Fixed(config, start), split, config)}

fig, ax = plt.subplots(figsize=(6, 3.2))
for (label, run), style in zip(runs.items(), ("-", "--")):
    steps, losses = zip(*run.history[-1].loss_curve)
    ax.plot(np.array(steps) * 300, losses, style, label=f"{label}: {run.history[-1].test_accuracy:.1%} on the test set")
ax.set_xlabel("training step (batch of 32)")
ax.set_ylabel("cross-entropy")
ax.legend()
plt.show()

# %% [markdown]
# The two curves lie on each other: both compute the same gradients, so they take the same
# steps.
#
# ## 6. Where the page is
#
# [`docs/page.html`](page.html) is a page where you draw a digit and watch a network answer,
# every neuron lit by its activation; open it from disk, it needs no server. It is generated
# from a saved model: `compare run --save models/mine.npz` trains and saves one, and
# `compare page models/mine.npz --out mine.html` writes its page.
