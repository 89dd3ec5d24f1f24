"""The multilayer perceptron on the scalar autograd engine: nothing differentiated by hand.

Every weight and bias is a leaf Value of impls/autograd_engine.py. For each image the
forward pass and the loss are written with Values, which records the graph; one call of
`loss.backward()` then fills every parameter's `grad`. There is no delta, no sigma', no
four equations in this file: the engine applies each operation's local derivative in
reverse topological order, and that is backpropagation.

Pure Python like the scratch loop (a test checks the imports), with two of its shortcuts,
neither of which changes a single result:

- a neuron's weighted sum w . a + b is one `dot` node instead of a product node and a
  sum node per input; the README shows one neuron written both ways;
- the input layer sees only the non-zero pixels: x * 0 adds nothing to the sum, and its
  weight's gradient x * delta is 0.

The graph is built per image and dropped after its backward pass. The loss of each image
is divided by the batch size before backward, so the gradients accumulated in the leaves
over a batch are those of the batch mean, as in the other implementations. Like the
scratch loop, it takes the training set once (shared.model.TakesTrainingSet), as
non-zero pixels.
"""

from __future__ import annotations

from impls.autograd_engine import Value, dot, total
from shared.config import Config
from shared.model import check_batch, check_model_inputs, gatherer, nonzero_batch, nonzero_entries, outputs_from_lists
from shared.params import Params, params_from_lists


class AutogradMLP:
    name = "autograd"

    def __init__(self, config: Config, params: Params):
        check_model_inputs(config, params)
        self.config = config
        # Each activation is an operation of the engine (Value.sigmoid, .tanh, .relu),
        # which knows its own derivative.
        self.activate = getattr(Value, config.activation)
        self.softmax_output = config.loss == "cross-entropy"
        # W[l][j] is the row of weight Values into neuron j of layer l+1 (a tuple: the
        # Values in it change, the row never does).
        self.W = [[tuple(Value(w) for w in row) for row in W.tolist()] for W, _ in params]
        self.b = [[Value(bj) for bj in b.tolist()] for _, b in params]
        self.weights = [w for W in self.W for row in W for w in row]
        self.biases = [bj for b in self.b for bj in b]
        self.velocity_weights: list[float] | None = None  # momentum, made at its first step
        self.velocity_biases: list[float] | None = None

    # -- the graph of one image ------------------------------------------------------
    def forward(self, pixels: tuple[list[int], tuple[float, ...]]) -> list[Value]:
        """The output layer's z as Values; every hidden layer's a = sigma(W a + b) on the way."""
        indices, values = pixels
        # Input layer: the pixels are constants; only the weights of non-zero ones take part,
        # picked from each row by one itemgetter (a tuple, in C).
        pick = gatherer(indices)
        z = [dot(pick(row), values, bj) for row, bj in zip(self.W[0], self.b[0])]
        for W_l, b_l in zip(self.W[1:], self.b[1:]):
            a = tuple([self.activate(zj) for zj in z])
            z = [dot(row, a, bj) for row, bj in zip(W_l, b_l)]
        return z

    def loss(self, z: list[Value], label: int) -> Value:
        """This image's loss as a Value."""
        if self.softmax_output:
            # -log softmax(z)_label = log sum_j exp(z_j) - z_label; shifting by the largest z
            # (a constant) keeps exp from overflowing and changes neither value nor gradient.
            top = max(zj.data for zj in z)
            return total([(zj - top).exp() for zj in z]).log() + top - z[label]
        # Nielsen's quadratic cost on sigmoid outputs: 1/2 sum_j (a_j - y_j)^2, the sum of
        # squares as the error vector's dot product with itself.
        errors = tuple([zj.sigmoid() - (j == label) for j, zj in enumerate(z)])
        return 0.5 * dot(errors, errors)

    def output(self, z: list[Value]) -> list[float]:
        if self.softmax_output:
            top = max(zj.data for zj in z)
            exps = [(zj - top).exp() for zj in z]
            norm = total(exps)
            return [(e / norm).data for e in exps]
        return [zj.sigmoid().data for zj in z]

    # -- gradients of the batch mean, accumulated in the parameters' grad ----------------
    def accumulate_gradients(self, batch) -> float:
        """Backward through each image's graph; returns the batch's mean loss."""
        n = len(batch)
        loss_sum = 0.0
        for pixels, label in batch:
            loss = self.loss(self.forward(pixels), label)
            (loss / n).backward()  # d(mean)/d(this image's loss) = 1/n
            loss_sum += loss.data
        return loss_sum / n

    # -- the interface ---------------------------------------------------------------
    def loss_and_gradients(self, x, y) -> tuple[float, Params]:
        loss = self.accumulate_gradients(nonzero_batch(self.config, x, y))
        grads = params_from_lists(
            [[[w.grad for w in row] for row in W] for W in self.W], [[bj.grad for bj in b] for b in self.b]
        )
        for v in self.weights + self.biases:
            v.grad = 0.0
        return loss, grads

    def train_step(self, x, y, lr: float) -> float:
        return self.step(nonzero_batch(self.config, x, y), lr)

    def step(self, batch, lr: float) -> float:
        loss = self.accumulate_gradients(batch)
        momentum, decay = self.config.momentum, self.config.weight_decay
        if momentum == 0 and decay == 0:
            for v in self.weights + self.biases:  # theta -= lr * dC/dtheta
                v.data -= lr * v.grad
                v.grad = 0.0
            return loss
        if self.velocity_weights is None:
            self.velocity_weights = [0.0] * len(self.weights)
            self.velocity_biases = [0.0] * len(self.biases)
        # As torch.optim.SGD: g = gradient + decay * w (weights only); v = momentum v + g; w -= lr v.
        for params, velocity, wd in ((self.weights, self.velocity_weights, decay), (self.biases, self.velocity_biases, 0.0)):
            for i, v in enumerate(params):
                velocity[i] = momentum * velocity[i] + v.grad + wd * v.data
                v.data -= lr * velocity[i]
                v.grad = 0.0
        return loss

    # -- the optional part (shared.model.TakesTrainingSet) -------------------------------
    def load_training_set(self, x, y) -> None:
        """Keep the training images as their non-zero pixels, converted once, not at every step."""
        self.training_set = nonzero_batch(self.config, x, y)

    def train_step_at(self, indices, lr: float) -> float:
        return self.step([self.training_set[i] for i in indices.tolist()], lr)

    def predict_proba(self, x):
        check_batch(self.config, x)
        return outputs_from_lists([self.output(self.forward(pixels)) for pixels in nonzero_entries(x)])

    def parameters(self) -> Params:
        return params_from_lists(
            [[[w.data for w in row] for row in W] for W in self.W], [[bj.data for bj in b] for b in self.b]
        )
