"""The network and training configuration shared by every implementation.

Kept free of NumPy so that the command line can build and check a config before
any heavy library is imported.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

ACTIVATIONS = ("sigmoid", "tanh", "relu")
# Each loss fixes the output layer: "mse" is Nielsen's quadratic cost on sigmoid
# outputs, C = mean over the batch of 1/2 * sum_j (a_j - y_j)^2; "cross-entropy" is
# softmax outputs with C = mean over the batch of -log a_y.
LOSSES = ("mse", "cross-entropy")
OUTPUT_ACTIVATION = {"mse": "sigmoid", "cross-entropy": "softmax"}
INITS = ("nielsen", "nielsen-large", "xavier", "he")
DTYPES = ("float64", "float32")
FLOAT32_MAX = 3.4028234663852886e38  # numpy.finfo(numpy.float32).max (this module imports no NumPy)
DEVICES = ("auto", "cpu", "cuda")
# How the learning rate changes over training: "constant"; "cosine", which decays it from lr
# to 0 over all the steps of the run along half a cosine wave; or "halve", the book's schedule
# (chapter 3): halve it each time the validation accuracy has not improved for PATIENCE epochs
# (or early_stop's), and end the run when it has fallen to 1/2**HALVINGS (1/128) of lr.
SCHEDULES = ("constant", "cosine", "halve")
PATIENCE = 10  # the book's "no-improvement-in-ten" rule
HALVINGS = 7
# Expanded training data (the book's chapter 6): "shifts" adds each training image moved by one
# pixel up, down, left and right (5x the images); "rotations" adds it turned by a small seeded
# angle each way (3x); "shifts+rotations" both (7x). shared.expansion makes them.
EXPANSIONS = ("none", "shifts", "rotations", "shifts+rotations")


class ConfigError(ValueError):
    """A config value is invalid; `field` names the Config field it belongs to."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class Config:
    """One multilayer perceptron and how to train it.

    sizes: neurons per layer, input first: (784, 16, 16, 10) is 3Blue1Brown's
    network, (784, 30, 10) the one of chapter 1 of Nielsen's book.
    """

    # The defaults are the network of chapter 3 of Nielsen's book (784-30-10 sigmoid,
    # cross-entropy, lr 0.5, mini-batches of 10), trained for one epoch: it reaches about
    # 95%, and the two pure-Python implementations (scratch, autograd) finish it in about
    # a minute each, so that `compare run --impl all` stays within 5 minutes on 2 cores.
    sizes: tuple[int, ...] = (784, 30, 10)
    activation: str = "sigmoid"
    loss: str = "cross-entropy"
    init: str = "nielsen"
    lr: float = 0.5
    batch_size: int = 10
    epochs: int = 1
    # SGD with momentum: v = momentum * v + g; theta -= lr * v (as torch.optim.SGD).
    momentum: float = 0.0
    # L2 penalty on the weights (not the biases): g += weight_decay * W.
    weight_decay: float = 0.0
    # The same penalty in the book's convention, C = C0 + (l2 / 2n) sum w^2 with n the number of
    # training images: its gradient adds (l2 / n) W, so it trains as weight_decay = l2 / n, which
    # shared.training.regularized fills in once n is known. Either l2 or weight_decay is given.
    l2: float = 0.0
    schedule: str = "constant"
    # Training images held out at the end of the training set as a validation set, evaluated
    # after every epoch (the test set then only once, at the end). None: the data's own split
    # (Nielsen's mnist.pkl.gz holds 10,000 out; the IDX files none); 0: none.
    validation: int | None = None
    # End the run when the validation accuracy has not improved for this many epochs.
    early_stop: int | None = None
    expand: str = "none"
    seed: int = 0
    dtype: str = "float64"
    device: str = "auto"
    train_limit: int | None = None
    test_limit: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "sizes", tuple(self.sizes))
        check_config(self)

    @property
    def output_activation(self) -> str:
        return OUTPUT_ACTIVATION[self.loss]

    @property
    def patience(self) -> int | None:
        """Epochs without a better validation accuracy before the run reacts (stops, or halves
        the learning rate under the "halve" schedule); None: it never does."""
        return self.early_stop or (PATIENCE if self.schedule == "halve" else None)

    def with_changes(self, **changes) -> "Config":
        return replace(self, **changes)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["sizes"] = list(self.sizes)
        return data


def _choice(field: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(field, f"{field} must be one of {', '.join(allowed)}; got {value!r}")


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _positive_int(field: str, value, what: str | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        what = what or field.replace("_", " ")
        raise ConfigError(field, f"{what} must be a positive integer; got {value!r}")


def check_config(config: Config) -> None:
    """Raise ConfigError (a ValueError) naming the field, as the CLI shows it."""
    if len(config.sizes) < 2:
        raise ConfigError("sizes", f"sizes needs at least an input and an output layer; got {config.sizes}")
    for size in config.sizes:
        _positive_int("sizes", size, "every layer size")
    _choice("activation", config.activation, ACTIVATIONS)
    _choice("loss", config.loss, LOSSES)
    _choice("init", config.init, INITS)
    _choice("dtype", config.dtype, DTYPES)
    _choice("device", config.device, DEVICES)
    lr = config.lr
    if not _number(lr) or not 0 < lr < float("inf"):
        raise ConfigError("lr", f"learning rate must be a positive finite number; got {lr!r}")
    if config.dtype == "float32":  # torch cannot even take the step; NumPy would make every weight inf
        for field, value, what in (("lr", lr, "learning rate"), ("weight_decay", config.weight_decay, "weight decay")):
            if _number(value) and value > FLOAT32_MAX:
                raise ConfigError(field, f"{what} {value:g} is beyond the largest float32 number ({FLOAT32_MAX:.3g}); "
                                         f"give a smaller one, or --dtype float64")
    _positive_int("batch_size", config.batch_size)
    if not _number(config.momentum) or not 0 <= config.momentum < 1:
        raise ConfigError("momentum", f"momentum must be at least 0 and below 1; got {config.momentum!r}")
    if not _number(config.weight_decay) or not 0 <= config.weight_decay < float("inf"):
        raise ConfigError("weight_decay", f"weight decay must be 0 or a positive number; got {config.weight_decay!r}")
    if not _number(config.l2) or not 0 <= config.l2 < float("inf"):
        raise ConfigError("l2", f"the L2 parameter lambda must be 0 or a positive number; got {config.l2!r}")
    _choice("schedule", config.schedule, SCHEDULES)
    _choice("expand", config.expand, EXPANSIONS)
    if config.validation is not None and (isinstance(config.validation, bool) or not isinstance(config.validation, int)
                                          or config.validation < 0):
        raise ConfigError("validation", f"validation must be a number of images (0 or more); got {config.validation!r}")
    if config.early_stop is not None:
        _positive_int("early_stop", config.early_stop, "early stop (epochs without improvement)")
    _positive_int("epochs", config.epochs)
    if isinstance(config.seed, bool) or not isinstance(config.seed, int) or config.seed < 0:
        raise ConfigError("seed", f"seed must be a non-negative integer; got {config.seed!r}")
    for name in ("train_limit", "test_limit"):
        if getattr(config, name) is not None:
            _positive_int(name, getattr(config, name))


def parse_sizes(text: str) -> tuple[int, ...]:
    """'784,16,16,10' -> (784, 16, 16, 10), with a message a person can act on."""
    parts = [part.strip() for part in text.replace("-", ",").split(",")]
    try:
        sizes = tuple(int(part) for part in parts)
    except ValueError:
        raise ConfigError("sizes", f"layer sizes must be whole numbers separated by commas, e.g. 784,16,16,10; got {text!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise ConfigError("sizes", f"need at least two positive layer sizes, e.g. 784,16,16,10; got {text!r}")
    return sizes


# Named starting points: (description, config values, implementations to run when
# --impl is not given). Options given on the command line override them.
PRESETS: dict[str, tuple[str, dict, str]] = {
    "3b1b": (
        "784-16-16-10 sigmoid network of 3Blue1Brown's videos, quadratic cost",
        dict(sizes=(784, 16, 16, 10), activation="sigmoid", loss="mse", init="nielsen", lr=3.0, batch_size=10, epochs=3),
        "all",
    ),
    "nielsen": (
        "chapter 1 of Nielsen's book: 784-30-10 sigmoid, quadratic cost, N(0,1) weights, "
        "batch 10, lr 3.0, 30 epochs (the book reports about 95%)",
        dict(sizes=(784, 30, 10), activation="sigmoid", loss="mse", init="nielsen-large", lr=3.0, batch_size=10, epochs=30),
        "all",
    ),
    "best": (
        "the most accurate of these MLPs in about a minute of training: 784-800-800-10 ReLU, He init, "
        "softmax cross-entropy, momentum 0.9, weight decay 5e-4, cosine schedule, batch 128, 11 epochs, "
        "float32 (over 98.5%); numpy and torch only, the scratch loop would take hours",
        dict(sizes=(784, 800, 800, 10), activation="relu", loss="cross-entropy", init="he", lr=0.1, momentum=0.9,
             weight_decay=5e-4, schedule="cosine", batch_size=128, epochs=11, dtype="float32"),
        "numpy,torch",
    ),
}
