"""What `compare bench` measures: the configs, the runners (every implementation of the
registry and every baseline of bench/, or those chosen with --impl, a learner's among them),
and how long and how often (Plan)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.util import find_spec

from bench import BASELINES, installed
from impls import IMPLEMENTATIONS, REGISTRY, LearnerImplementation

# The configs of issue 4: 3Blue1Brown's, Nielsen's, and two ReLU networks.
BENCH_CONFIGS = {
    "784-16-16-10 sigmoid/mse b32": dict(sizes=(784, 16, 16, 10), activation="sigmoid", loss="mse", batch_size=32),
    "784-30-10 sigmoid/mse b10": dict(sizes=(784, 30, 10), activation="sigmoid", loss="mse", batch_size=10),
    "784-128-10 relu/ce b64": dict(sizes=(784, 128, 10), activation="relu", loss="cross-entropy", init="he", batch_size=64),
    "784-256-10 relu/ce b128": dict(sizes=(784, 256, 10), activation="relu", loss="cross-entropy", init="he", batch_size=128),
}
THREEB1B, NIELSEN, RELU128, RELU256 = BENCH_CONFIGS
DTYPES = ("float32", "float64")
BATCH_POOL = 2048  # training images the timed steps cycle through


@dataclass(frozen=True)
class Runner:
    """An implementation or a baseline, as the benchmark sees it."""

    name: str
    label: str  # its column in the tables
    python_floats: bool  # pure Python: measured in float64 only
    uses_torch: bool  # needs torch installed
    baseline: bool
    learner: bool = False  # loaded from a spec after --impl for this command (impls.LearnerImplementation)


def implementation_runner(impl) -> Runner:
    return Runner(impl.name, impl.name, impl.python_floats, impl.uses_torch, False,
                  learner=isinstance(impl, LearnerImplementation))


RUNNERS = {r.name: r for r in (
    [implementation_runner(i) for i in IMPLEMENTATIONS]
    + [Runner(name, f"{b.label} (baseline)", b.python_floats, b.uses_torch, True) for name, b in BASELINES.items()]
)}


def runner(name: str) -> Runner:
    """A built-in runner, or an implementation this command loaded from a spec (in impls.REGISTRY)."""
    return RUNNERS[name] if name in RUNNERS else implementation_runner(REGISTRY[name])


def runnable(name: str) -> bool:
    """Whether what the runner needs is installed (torch; jax for the JAX baselines)."""
    if name in BASELINES:
        return installed(BASELINES[name])
    return not runner(name).uses_torch or find_spec("torch") is not None
# The implementations that compute with BLAS or torch: their GFLOP/s against the matmul
# peak, and their threads in the threads study.
VECTORIZED = tuple(r.name for r in RUNNERS.values() if not r.baseline and not r.python_floats)


@dataclass(frozen=True)
class Plan:
    # Many short rounds rather than a few long ones: a target's ratio is that of the two
    # runners' fastest rounds (see ratio), and more rounds give each more chances of a quiet one.
    repeats: int = 9
    seconds_per_repeat: float = 0.3  # each timed run lasts about this long (at least one step)
    warmup_steps: int = 3
    matmul_sizes: tuple[int, ...] = (256, 512, 1024, 2048)
    # Pause before each timed run: OpenBLAS threads keep spinning for a while after a
    # NumPy call, and measured here that slowed torch steps started right after by a
    # third. The pause lets them sleep, so no runner pays for the one before it.
    settle_seconds: float = 0.2
    pure_python_configs: tuple[str, ...] = tuple(BENCH_CONFIGS)
    measure_memory: bool = True
    # The micrograd-style baseline runs about 100 times slower than anything else: only on
    # the two configs of the autograd targets, and only one of them in a quick run.
    micrograd_configs: tuple[str, ...] = (THREEB1B, NIELSEN)
    graph_samples: int = 100  # images whose graphs are counted for nodes per sample

    @classmethod
    def quick(cls) -> "Plan":
        return cls(repeats=5, seconds_per_repeat=0.03, warmup_steps=1, matmul_sizes=(256, 512), settle_seconds=0.05,
                   pure_python_configs=(THREEB1B, NIELSEN), measure_memory=False, micrograd_configs=(NIELSEN,),
                   graph_samples=5)
