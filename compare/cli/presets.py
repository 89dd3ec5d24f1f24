"""`compare presets`: the named configs `compare run --preset NAME` starts from."""

from __future__ import annotations

import click

from shared import config as cfg


@click.command()
def presets():
    """List the named configs that `compare run --preset NAME` starts from."""
    for name, (description, values, impls) in cfg.PRESETS.items():
        click.echo(f"{name}\n  {description}")
        settings = ", ".join(
            f"--{key.replace('_', '-')} {','.join(map(str, value)) if isinstance(value, tuple) else value}"
            for key, value in values.items())
        click.echo(f"  {settings}, --impl {impls}")
