"""`compare presets`: the named configs `compare run --preset NAME` starts from, and with
--time how long each takes on this machine."""

from __future__ import annotations

import click

from shared import config as cfg


@click.command()
@click.option("--time", "timed", is_flag=True,
              help="Also say how long each preset takes here: a short timed probe of each of its implementations "
                   "(about 20 s in all).")
def presets(timed):
    """List the named configs that `compare run --preset NAME` starts from."""
    for name, (description, values, impls) in cfg.PRESETS.items():
        click.echo(f"{name}\n  {description}")
        settings = ", ".join(
            f"--{key.replace('_', '-')} {','.join(map(str, value)) if isinstance(value, tuple) else value}"
            for key, value in values.items())
        click.echo(f"  {settings}, --impl {impls}")
        if timed:
            click.echo(f"  {preset_time(values, impls)}")


def preset_time(values: dict, impl_text: str) -> str:
    """How long `compare run --preset` with these values takes here, from a probe of each
    implementation (shared.training.estimate_training), as `compare run` says it before it starts."""
    from compare.cli.options import parse_impls
    from compare.cli.preflight import read_data
    from compare.run.comparison import probe_each
    from compare.run.machine import cores, is_busy, load_now
    from compare.wording import plural
    from shared.params import init_params
    from shared.training import format_duration, prepare

    config = cfg.Config(**values)
    impls = parse_impls(impl_text)
    split = prepare(read_data(None), config)
    estimates = probe_each(impls, config, init_params(config.sizes, config.init, config.seed), split, "auto")
    total = sum(e.seconds for e in estimates.values())
    each = ", ".join(f"{name} {format_duration(e.seconds)}" for name, e in estimates.items())
    load = load_now()
    busy = f"; the machine is busy (load {load:.1f} on {cores()} cores), so it may be far off" \
        if is_busy(load, cores()) else ""
    return (f"takes about {format_duration(total)} here for {plural(config.epochs, 'epoch')} ({each}), "
            f"from a short probe of each implementation{busy}")
