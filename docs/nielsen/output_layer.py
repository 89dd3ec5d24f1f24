"""The book's chapter-3 output layer against ours, on the 1,000-image experiments of docs/NIELSEN.md.

    .venv/bin/python docs/nielsen/output_layer.py            # overfitting: no regularization
    .venv/bin/python docs/nielsen/output_layer.py 0.1        # the L2 row: lambda 0.1

network2.py's CrossEntropyCost has ten sigmoid outputs and the cost sum_j -[y_j ln a_j + (1 - y_j)
ln(1 - a_j)]; our cross-entropy is a softmax and -ln a_y. Both give the output error a - y, so this
script trains the same [784, 30, 10] sigmoid network both ways from the same initial parameters
(shared.params.init_params, N(0, 1): "nielsen-large") on the same mini-batches
(shared.data.minibatches): eta 0.5, batches of 10, 400 epochs on the first 1,000 training images,
the best test accuracy over the epochs, for seeds 0, 1, 2. A check behind the document, written out
in NumPy as network2.py does it; the project's own training loop is shared/training.py.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from shared.data import load_dataset, minibatches, scale_pixels  # noqa: E402
from shared.params import init_params  # noqa: E402

ETA, EPOCHS, IMAGES = 0.5, 400, 1000


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def best_test_accuracy(seed: int, output, lam: float, data) -> float:
    x, y, x_test, y_test = data
    (W1, b1), (W2, b2) = init_params((784, 30, 10), "nielsen-large", seed)
    targets, best = np.eye(10), 0.0
    for epoch in range(1, EPOCHS + 1):
        for batch in minibatches(IMAGES, 10, seed, epoch):
            a1 = sigmoid(x[batch] @ W1.T + b1)
            delta2 = (output(a1 @ W2.T + b2) - targets[y[batch]]) / len(batch)  # a - y, either cost
            delta1 = (delta2 @ W2) * a1 * (1 - a1)
            decay = 1 - ETA * lam / IMAGES  # the book's L2: w -> (1 - eta lambda / n) w - eta grad C0
            W2, b2 = decay * W2 - ETA * delta2.T @ a1, b2 - ETA * delta2.sum(axis=0)
            W1, b1 = decay * W1 - ETA * delta1.T @ x[batch], b1 - ETA * delta1.sum(axis=0)
        predictions = (sigmoid(x_test @ W1.T + b1) @ W2.T + b2).argmax(axis=1)  # the same argmax either way
        best = max(best, float(np.mean(predictions == y_test)))
    return best


def main(lam: float) -> None:
    mnist = load_dataset()
    data = (scale_pixels(mnist.train_images[:IMAGES]), mnist.train_labels[:IMAGES].astype(int),
            scale_pixels(mnist.test_images), mnist.test_labels.astype(int))
    print(f"lambda {lam:g}: best test accuracy, the book's output layer (sigmoid + binary cross-entropies) and ours (softmax)")
    for seed in range(3):
        book = best_test_accuracy(seed, sigmoid, lam, data)
        ours = best_test_accuracy(seed, softmax, lam, data)
        print(f"  seed {seed}: {100 * book:.2f}%  {100 * ours:.2f}%", flush=True)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 0.0)
