"""The experiments of Nielsen's book, chapters 1 and 3, as data: the book's settings as `compare run`
options, the book's figures, and how to read ours from each run's results.json.

Settings are the book's (network.py in chapter 1, network2.py in chapter 3; the scripts of its
fig/ folder for the figures): mini-batches of 10, the first 50,000 training images (the book's
training set; its validation set is our last 10,000, held out with --validation 10000), the
weights it initializes with (chapter 1 and the first experiments of chapter 3 use N(0, 1),
"large"; later N(0, 1/n_in)), evaluation after every epoch on the set the book evaluated on.
The book's seeds differ from ours (seed 0), and so do two things no option changes: its
chapter-3 output layer is ten sigmoids under a sum of binary cross-entropies where ours is
softmax under -log a_y, and its mnist.pkl.gz holds the pixels as bytes / 256 where we divide by 255.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

IMAGES = ("--train-limit", "50000")  # the book's training set: the first 50,000 training images
TEST_EVERY_EPOCH = ("--validation", "0")  # evaluated on the test set after every epoch (also with the book's file)
VALIDATION = ("--validation", "10000")  # the book's validation set: the last 10,000
CHAPTER_1 = ("--loss", "mse", "--init", "nielsen-large", "--lr", "3.0", "--batch-size", "10")
CHAPTER_3 = ("--loss", "cross-entropy", "--batch-size", "10")


def options(*groups: tuple[str, ...], **values) -> tuple[str, ...]:
    """`compare run` options: groups as given, then --key value for each keyword."""
    args = [arg for group in groups for arg in group]
    for key, value in values.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    return tuple(args)


def first(document: dict) -> dict:
    """The implementation an experiment ran (its runs have one)."""
    return document["implementations"][0]


@dataclass(frozen=True)
class Reading:
    """How our figure is read from a run's results document, in percent."""

    what: str
    read: Callable[[dict], float]


BEST_TEST = Reading("best epoch, test", lambda d: 100 * max(e["test_accuracy"] for e in first(d)["epochs"]))
BEST_VALIDATION = Reading("best epoch, validation",
                          lambda d: 100 * max(e["validation_accuracy"] for e in first(d)["epochs"]))
FINAL_VALIDATION = Reading("after the last epoch, validation", lambda d: 100 * first(d)["epochs"][-1]["validation_accuracy"])
TRAINING = Reading("after the last epoch, training images", lambda d: 100 * first(d)["final"]["train_accuracy"])


def after_epoch(number: int) -> Reading:
    return Reading(f"after epoch {number}, validation",
                   lambda d: 100 * next(e for e in first(d)["epochs"] if e["epoch"] == number)["validation_accuracy"])


@dataclass(frozen=True)
class Run:
    name: str  # its folder
    args: tuple[str, ...]  # `compare run` options, without --impl (the experiment's --impl is added)
    label: str  # how its curve is named in the figure


@dataclass(frozen=True)
class Row:
    label: str
    run: str  # the Run it is read from
    book: float | None  # the book's figure in percent; None: the book draws a figure, gives no number
    reading: Reading


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    chapter: str  # where in the book
    settings: str  # the book's settings, in words
    runs: tuple[Run, ...]
    rows: tuple[Row, ...]
    figure: str  # how compare.experiment.figures draws it
    differs: str = ""  # what the book did that no option of ours does
    # What the book's figure plots, for the figure to draw beside ours: label -> [(x, y)], from the
    # book's repository (fig/*.json of mnielsen/neural-networks-and-deep-learning).
    book_curves: dict = field(default_factory=dict)
    # The runs drawn side by side, each group in a panel of its own (runs whose accuracies lie far
    # apart); empty: all in one
    panels: tuple[tuple[str, ...], ...] = ()

    def run(self, name: str) -> Run:
        return next(run for run in self.runs if run.name == name)


SIGMOID_OUTPUT = ("The book's chapter-3 network has ten sigmoid outputs and the cost sum_j -[y_j ln a_j + "
                  "(1 - y_j) ln(1 - a_j)]; ours has a softmax output and -ln a_y. Both make the output error a - y, "
                  "so the same learning rate takes steps of the same size.")

# Validation accuracy per epoch (epochs 1-30), fig/weight_initialization_30.json: [784, 30, 10],
# cross-entropy, eta 0.1, lambda 5.0 (the run behind the book's figure of weight initializations).
BOOK_INIT_DEFAULT = [9270, 9414, 9470, 9504, 9537, 9550, 9587, 9594, 9596, 9594, 9616, 9595, 9622, 9630, 9636,
                     9641, 9625, 9652, 9637, 9634, 9642, 9639, 9649, 9646, 9646, 9653, 9646, 9653, 9640, 9650]
BOOK_INIT_LARGE = [8643, 9044, 9141, 9231, 9299, 9327, 9385, 9416, 9433, 9449, 9476, 9489, 9500, 9535, 9521,
                   9548, 9564, 9573, 9585, 9592, 9596, 9615, 9607, 9605, 9606, 9622, 9637, 9648, 9635, 9637]
# Cost on the 50,000 training images after each epoch, fig/multiple_eta.json (rounded to 4 digits).
BOOK_COSTS = {
    "0.025": [0.8781, 0.6741, 0.5980, 0.5553, 0.5175, 0.4942, 0.4726, 0.4607, 0.4430, 0.4310, 0.4231, 0.4141, 0.4057,
              0.4011, 0.3916, 0.3871, 0.3812, 0.3760, 0.3730, 0.3706, 0.3655, 0.3634, 0.3575, 0.3554, 0.3537, 0.3501,
              0.3495, 0.3460, 0.3439, 0.3392],
    "0.25": [0.4950, 0.4063, 0.4048, 0.3716, 0.3738, 0.3715, 0.3537, 0.3557, 0.3432, 0.3434, 0.3368, 0.3453, 0.3351,
             0.3476, 0.3492, 0.3385, 0.3284, 0.3318, 0.3313, 0.3302, 0.3274, 0.3260, 0.3200, 0.3342, 0.3388, 0.3252,
             0.3268, 0.3249, 0.3306, 0.3388],
    "2.5": [0.9249, 0.8392, 0.8875, 0.7963, 0.7812, 1.1366, 0.7879, 0.7678, 0.7369, 0.8013, 0.7443, 0.7373, 0.8025,
            0.8519, 0.7987, 0.8024, 0.8065, 0.8147, 0.8253, 0.7504, 0.9366, 0.8824, 0.8612, 0.7249, 0.8041, 0.8396,
            0.8339, 0.8828, 0.8858, 0.8607],
}
# Validation accuracy after training on the first N images, fig/more_data.json.
BOOK_SIZES = [(100, 69.09), (200, 76.37), (500, 85.29), (1000, 88.85), (2000, 91.27), (5000, 93.24), (10000, 94.89),
              (20000, 95.85), (50000, 95.97)]


def training_size_run(size: int) -> Run:
    """more_data.py: N(0, 1) weights, eta 0.5, lambda = N / 10,000 (so lambda / n is the same for every
    N), 1,500,000 / N epochs (every run sees 1.5 million images), validation accuracy at the end."""
    return Run(f"images-{size}", options(CHAPTER_3, VALIDATION, sizes="784,30,10", init="nielsen-large", lr=0.5,
                                         train_limit=size, l2=f"{size * 0.0001:g}", epochs=1_500_000 // size),
               f"{size:,} images")


EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (
    Experiment(
        "ch1", "Chapter 1: the first network, quadratic cost", "chapter 1, \"Implementing our network\"",
        "network.py: sigmoid layers, quadratic cost, N(0, 1) weights and biases, eta 3.0, mini-batches of 10, "
        "30 epochs on the 50,000 training images, the test set after every epoch; the book quotes the best epoch",
        runs=(Run("hidden-30", options(CHAPTER_1, IMAGES, TEST_EVERY_EPOCH, sizes="784,30,10", epochs=30), "30 hidden"),
              Run("hidden-100", options(CHAPTER_1, IMAGES, TEST_EVERY_EPOCH, sizes="784,100,10", epochs=30),
                  "100 hidden")),
        rows=(Row("[784, 30, 10]", "hidden-30", 95.42, BEST_TEST),
              Row("[784, 100, 10]", "hidden-100", 96.59, BEST_TEST)),
        figure="accuracy"),
    Experiment(
        "ch3-cross-entropy", "Chapter 3: the cross-entropy cost", "chapter 3, \"The cross-entropy cost function\"",
        "network2.py with the cross-entropy cost, N(0, 1) weights (large_weight_initializer), eta 0.5, "
        "mini-batches of 10, 30 epochs on the 50,000 training images, the test set after every epoch",
        runs=(Run("hidden-30", options(CHAPTER_3, IMAGES, TEST_EVERY_EPOCH, sizes="784,30,10", init="nielsen-large",
                                       lr=0.5, epochs=30), "30 hidden"),
              Run("hidden-100", options(CHAPTER_3, IMAGES, TEST_EVERY_EPOCH, sizes="784,100,10", init="nielsen-large",
                                        lr=0.5, epochs=30), "100 hidden")),
        rows=(Row("[784, 30, 10]", "hidden-30", 95.49, BEST_TEST),
              Row("[784, 100, 10]", "hidden-100", 96.82, BEST_TEST)),
        figure="accuracy", differs=SIGMOID_OUTPUT),
    Experiment(
        "overfitting", "Chapter 3: overfitting 1,000 images", "chapter 3, \"Overfitting and regularization\"",
        "[784, 30, 10], cross-entropy, N(0, 1) weights, eta 0.5, mini-batches of 10, 400 epochs on the first "
        "1,000 training images, no regularization, the test set after every epoch",
        runs=(Run("images-1000", options(CHAPTER_3, TEST_EVERY_EPOCH, sizes="784,30,10", init="nielsen-large", lr=0.5,
                                         train_limit=1000, epochs=400), "1,000 images"),),
        rows=(Row("test accuracy", "images-1000", 82.27, BEST_TEST),
              Row("accuracy on the 1,000 training images", "images-1000", 100.0, TRAINING)),
        figure="overfitting", differs=SIGMOID_OUTPUT),
    Experiment(
        "l2", "Chapter 3: L2 regularization", "chapter 3, \"Regularization\"",
        "network2.py, cross-entropy, N(0, 1) weights, mini-batches of 10, C = C0 + (lambda / 2n) sum w^2: "
        "1,000 images for 400 epochs with lambda 0.1 and eta 0.5; the 50,000 images for 30 epochs with "
        "lambda 5.0 and eta 0.5, with 30 and with 100 hidden neurons; and 100 hidden neurons for 60 epochs with "
        "eta 0.1, the book's 98.04% read on its validation set",
        runs=(Run("images-1000", options(CHAPTER_3, TEST_EVERY_EPOCH, sizes="784,30,10", init="nielsen-large", lr=0.5,
                                         train_limit=1000, epochs=400, l2=0.1), "1,000 images, lambda 0.1"),
              Run("hidden-30", options(CHAPTER_3, IMAGES, TEST_EVERY_EPOCH, sizes="784,30,10", init="nielsen-large",
                                       lr=0.5, epochs=30, l2=5.0), "30 hidden, lambda 5"),
              Run("hidden-100", options(CHAPTER_3, IMAGES, TEST_EVERY_EPOCH, sizes="784,100,10", init="nielsen-large",
                                        lr=0.5, epochs=30, l2=5.0), "100 hidden, lambda 5"),
              Run("hidden-100-eta-0.1", options(CHAPTER_3, VALIDATION, sizes="784,100,10", init="nielsen-large",
                                                lr=0.1, epochs=60, l2=5.0), "100 hidden, eta 0.1, 60 epochs")),
        rows=(Row("1,000 images, lambda 0.1", "images-1000", 87.1, BEST_TEST),
              Row("50,000 images, lambda 5.0", "hidden-30", 96.49, BEST_TEST),
              Row("100 hidden, lambda 5.0", "hidden-100", 97.92, BEST_TEST),
              Row("100 hidden, 60 epochs, eta 0.1, lambda 5.0", "hidden-100-eta-0.1", 98.04, BEST_VALIDATION)),
        figure="accuracy", differs=SIGMOID_OUTPUT,
        panels=(("images-1000",), ("hidden-30", "hidden-100", "hidden-100-eta-0.1"))),
    Experiment(
        "init", "Chapter 3: weight initialization", "chapter 3, \"Weight initialization\"",
        "[784, 30, 10], cross-entropy, eta 0.1, lambda 5.0, mini-batches of 10, 30 epochs on the 50,000 images, "
        "the validation set after every epoch: weights N(0, 1/n_in) against N(0, 1) (biases N(0, 1) both)",
        runs=(Run("scaled", options(CHAPTER_3, VALIDATION, sizes="784,30,10", init="nielsen", lr=0.1, epochs=30,
                                    l2=5.0), "N(0, 1/n_in)"),
              Run("large", options(CHAPTER_3, VALIDATION, sizes="784,30,10", init="nielsen-large", lr=0.1, epochs=30,
                                   l2=5.0), "N(0, 1)")),
        rows=(Row("N(0, 1/n_in), after epoch 1", "scaled", 92.70, after_epoch(1)),
              Row("N(0, 1), after epoch 1", "large", 86.43, after_epoch(1)),
              Row("N(0, 1/n_in), after epoch 30", "scaled", 96.50, FINAL_VALIDATION),
              Row("N(0, 1), after epoch 30", "large", 96.37, FINAL_VALIDATION)),
        figure="accuracy", differs=SIGMOID_OUTPUT,
        book_curves={"N(0, 1/n_in)": [(e, a / 100) for e, a in enumerate(BOOK_INIT_DEFAULT, 1)],
                     "N(0, 1)": [(e, a / 100) for e, a in enumerate(BOOK_INIT_LARGE, 1)]}),
    Experiment(
        "training-size", "Chapter 3: more training data", "chapter 3, \"Other techniques for regularization\"",
        "fig/more_data.py: [784, 30, 10], cross-entropy, N(0, 1) weights, eta 0.5, mini-batches of 10, the first "
        "N training images for 1,500,000 / N epochs with lambda = N / 10,000, the validation accuracy at the end",
        runs=tuple(training_size_run(size) for size in (100, 5000, 50000)),
        rows=tuple(Row(f"{size:,} images", f"images-{size}", book, FINAL_VALIDATION)
                   for size, book in BOOK_SIZES if size in (100, 5000, 50000)),
        figure="sizes", differs=SIGMOID_OUTPUT, book_curves={"the book": [(n, a) for n, a in BOOK_SIZES]}),
    Experiment(
        "learning-rates", "Chapter 3: choosing the learning rate", "chapter 3, \"How to choose a neural network's "
        "hyper-parameters\"",
        "fig/multiple_eta.py: [784, 30, 10], cross-entropy, N(0, 1/n_in) weights, lambda 5.0, mini-batches of 10, "
        "30 epochs on the 50,000 images with eta 0.025, 0.25 and 2.5; the book draws the cost on the training "
        "data after each epoch and gives no number",
        runs=tuple(Run(f"eta-{eta}", options(CHAPTER_3, VALIDATION, sizes="784,30,10", init="nielsen", lr=eta,
                                             epochs=30, l2=5.0), f"eta {eta}") for eta in ("0.025", "0.25", "2.5")),
        rows=tuple(Row(f"eta {eta}, after epoch 30", f"eta-{eta}", None, FINAL_VALIDATION)
                   for eta in ("0.025", "0.25", "2.5")),
        figure="costs", differs=SIGMOID_OUTPUT + " The costs themselves therefore differ in size: the book's sums "
        "ten binary cross-entropies per image.",
        book_curves={f"eta {eta}": [(e, c) for e, c in enumerate(costs, 1)] for eta, costs in BOOK_COSTS.items()}),
)}
