"""The graphs of the autograd engines: how many nodes, and how many bytes, one training
image's graph takes in `autograd` and in the micrograd-style baseline, and one training
step's (a whole batch's) in `tensor`.

Counted here, from outside the engines (their lesson files hold only the lesson): each
engine's graph is built by its own forward pass and loss, and walked back from the loss
the way that engine's backward would; its memory is what tracemalloc sees allocated while
the graph is built and alive (NumPy reports its arrays to tracemalloc).
"""

from __future__ import annotations

import statistics

import numpy as np

from compare.benchmark.measure import build_runner
from compare.benchmark.plan import BENCH_CONFIGS, DTYPES, NIELSEN, THREEB1B, Plan
from impls.autograd_engine import topological_order
from shared.config import Config
from shared.data import Dataset, scale_pixels
from shared.model import nonzero_entries
from shared.params import init_params


def autograd_graph(model, row: np.ndarray, label: int):
    """`autograd`'s loss of one image, with its graph (fed the non-zero pixels, as in training)."""
    return model.loss(model.forward(nonzero_entries(row[None])[0]), label)


def autograd_nodes(model, loss) -> int:
    """The interior of its graph: the nodes made for the image (the parameters are leaves)."""
    return len(topological_order(loss))


def micrograd_graph(model, row: np.ndarray, label: int):
    return model.loss(model.logits(row.tolist()), label)


def micrograd_nodes(model, loss) -> int:
    """Everything in its graph but the parameters (its constants are nodes too)."""
    return len(reachable(loss, lambda node: node._prev) - set(model.parameters_list()))


def tensor_nodes(loss) -> int:
    """The interior of `tensor`'s graph, the nodes its backward visits: those recorded (with
    parents) that need a gradient. Its leaves and constants are not counted."""
    return len(reachable(loss, lambda node: [p for p in node.parents if p.parents and p.requires_grad]))


def reachable(root, inputs) -> set:
    """root and every node reached from it through inputs(node), without recursion."""
    seen, stack = {root}, [root]
    while stack:
        for child in inputs(stack.pop()):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


# runner -> (its graph of one image, the nodes made for it)
ENGINES = {"autograd": (autograd_graph, autograd_nodes), "micrograd-style": (micrograd_graph, micrograd_nodes)}


AUTOGRAD_CONFIGS = (THREEB1B, NIELSEN)


def traced(build):
    """What build() returns, and the bytes allocated while it ran that are still held."""
    import tracemalloc

    tracemalloc.start()
    try:
        result = build()
        return result, tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()


def graph_footprint(runner: str, config: Config, x: np.ndarray, y: np.ndarray) -> dict:
    """Nodes and bytes of the graphs one runner builds, one image at a time: the nodes
    made for an image (its parameters, which exist anyway, not counted) and the memory
    allocated while its graph is alive (tracemalloc), mean and largest over the images."""
    model = build_runner(runner, config, init_params(config.sizes, config.init, seed=0))
    nodes, sizes = [], []
    graph, count = ENGINES[runner]
    for row, label in zip(x, y.tolist()):
        loss, size = traced(lambda: graph(model, row, label))
        sizes.append(size)
        nodes.append(count(model, loss))
        del loss
    return {"nodes_per_sample": statistics.mean(nodes), "max_nodes": max(nodes),
            "bytes_per_sample": statistics.mean(sizes), "max_bytes": max(sizes), "samples": len(nodes)}


def graph_footprints(dataset: Dataset, plan: Plan, echo, engines=tuple(ENGINES)) -> list[dict]:
    """graph_footprint of autograd and its baseline (or those of `engines`) on the configs of
    the autograd targets."""
    x = scale_pixels(dataset.train_images[: plan.graph_samples], "float64")
    y = dataset.train_labels[: plan.graph_samples].astype(np.int64)
    nonzero = float(np.mean(np.count_nonzero(x, axis=1)))
    entries = []
    for name in AUTOGRAD_CONFIGS:
        config = Config(lr=0.01, **BENCH_CONFIGS[name])
        for runner in engines:
            entry = {"config": name, "runner": runner, "nonzero_pixels": nonzero} | graph_footprint(runner, config, x, y)
            entries.append(entry)
            echo(f"  graph of one image, {name}, {runner}: {entry['nodes_per_sample']:,.0f} nodes, "
                 f"{entry['bytes_per_sample'] / 1024:,.0f} KiB")
    return entries


def tensor_graph_footprint(config: Config, x: np.ndarray, y: np.ndarray) -> dict:
    """Nodes and bytes of the graph `tensor` builds for one training step: the nodes made for
    the batch (its leaves, the parameters, and its constants, the batch and the targets, not
    counted) and the memory allocated while the graph is alive: every node's array and what
    its backward rules keep, as the step holds them when backward starts."""
    model = build_runner("tensor", config, init_params(config.sizes, config.init, seed=0))
    batch, labels = x[: config.batch_size].astype(config.dtype), y[: config.batch_size]
    loss, size = traced(lambda: model.loss(model.forward(batch), labels))
    return {"nodes_per_step": tensor_nodes(loss), "bytes_per_step": size, "batch_size": config.batch_size}


def tensor_graph_footprints(dataset: Dataset, echo, runners=("tensor",)) -> list[dict]:
    """tensor_graph_footprint on every benchmark config, float32 and float64 (none when tensor
    is not among the runners measured)."""
    if "tensor" not in runners:
        return []
    x = scale_pixels(dataset.train_images[:256], "float64")
    y = dataset.train_labels[:256].astype(np.int64)
    entries = []
    for name, spec in BENCH_CONFIGS.items():
        for dtype in DTYPES:
            entry = {"config": name, "dtype": dtype} | tensor_graph_footprint(Config(dtype=dtype, lr=0.01, **spec), x, y)
            entries.append(entry)
            echo(f"  graph of one step, {name}, {dtype}, tensor: {entry['nodes_per_step']} nodes, "
                 f"{entry['bytes_per_step'] / 1024:,.0f} KiB")
    return entries
