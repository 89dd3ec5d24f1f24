"""A grid of `compare run` options, `--grid lr=0.025,0.25,2.5 --grid sizes=784,30,10:784,100,10`,
into one RunSpec per combination (the product, the first axis varying slowest), each named
after its values: `lr=0.25_sizes=784-30-10`.

An axis is OPTION=VALUES: the option without its dashes, the values separated by commas, or by
colons when a value holds commas itself (layer sizes, lists of implementations).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from compare.sweep.runs import RunSpec

KEY = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*\Z")
UNSAFE = re.compile(r"[^A-Za-z0-9.+-]")  # what else a value holds becomes - in a folder's name
MAX_NAME = 200  # characters of a run's folder name (file systems allow 255)


class GridError(ValueError):
    """A grid that cannot be read: one line to show."""


@dataclass(frozen=True)
class Axis:
    key: str  # the option without its dashes: lr, batch-size
    values: tuple[str, ...]

    @property
    def option(self) -> str:
        return "--" + self.key


def parse_axis(text: str) -> Axis:
    """`lr=0.1,1` -> Axis("lr", ("0.1", "1")); `sizes=784,30,10:784,100,10` splits on colons."""
    key, equals, values = text.partition("=")
    key = key.strip().lstrip("-").replace("_", "-")
    if not equals or not key:
        raise GridError(f"{text!r}: give OPTION=VALUES, e.g. lr=0.025,0.25,2.5")
    if not KEY.match(key):
        raise GridError(f"{text!r}: {key!r} is not an option's name (letters, digits and dashes, e.g. batch-size)")
    parts = [value.strip() for value in values.split(":" if ":" in values else ",")]
    if not values.strip() or any(not part for part in parts):
        raise GridError(f"{text!r}: an empty value; separate values by commas (or by colons when a value holds "
                        f"commas, e.g. sizes=784,30,10:784,100,10)")
    repeated = sorted({part for part in parts if parts.count(part) > 1})
    if repeated:
        raise GridError(f"{text!r}: {repeated[0]} is given twice")
    return Axis(key, tuple(parts))


def check_axes(axes: list[Axis], shared: tuple[str, ...]) -> None:
    keys = [axis.key for axis in axes]
    for key in keys:
        if keys.count(key) > 1:
            raise GridError(f"--grid {key}= is given twice; give all its values in one, separated by commas")
        if any(arg == "--" + key or arg.startswith(f"--{key}=") for arg in shared):
            raise GridError(f"--{key} is both in a --grid and given to every run; keep one")


def run_name(values: dict[str, str]) -> str:
    """A folder's name that says the run's values: `lr=0.25_sizes=784-30-10`."""
    return "_".join(f"{key}={UNSAFE.sub('-', value)}" for key, value in values.items())


def expand(axes: list[Axis], shared: tuple[str, ...]) -> list[tuple[RunSpec, dict[str, str]]]:
    """Every combination of the axes' values, as a RunSpec (the shared options, then its own
    values) and its values by key."""
    check_axes(axes, shared)
    runs, names = [], {}
    for combination in itertools.product(*(axis.values for axis in axes)):
        values = {axis.key: value for axis, value in zip(axes, combination)}
        name = run_name(values)
        if len(name) > MAX_NAME:
            raise GridError(f"{name[:40]}...: a run's folder name would be longer than {MAX_NAME} characters; "
                            f"use shorter values")
        if name in names:
            raise GridError(f"{names[name]} and {values} would both be named {name}; give values that differ in "
                            f"letters or digits")
        names[name] = values
        args = shared + tuple(part for key, value in values.items() for part in ("--" + key, value))
        runs.append((RunSpec(name, args), values))
    return runs
