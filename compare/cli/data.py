"""`compare data download` and `compare data verify`."""

from __future__ import annotations

import os
from pathlib import Path

import click

from compare.cli.options import EXIT_CODES


@click.group()
def data():
    """Download and check datasets (the bundled MNIST needs neither)."""


@data.command("download", epilog=EXIT_CODES)
@click.option("--dataset", default="mnist", show_default=True, metavar="NAME",
              help="mnist, fashion-mnist, or any name with --mirror (and --md5 to verify).")
@click.option("--dest", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Directory for the four files. Default: data/NAME in this project.")
@click.option("--mirror", "mirrors", multiple=True, metavar="URL",
              help="A base URL holding the four .gz files; repeat to try several in order. Default: the known mirrors.")
@click.option("--md5", "md5_pairs", multiple=True, metavar="FILE=HASH",
              help="The MD5 a file must have (for datasets without known checksums).")
@click.option("--timeout", type=click.FloatRange(min=0.01), default=30.0, show_default=True,
              help="Seconds to wait on a silent server.")
@click.option("--deadline", type=click.FloatRange(min=0.01), default=600.0, show_default=True,
              help="Seconds one file's transfer may take in all, however slowly the bytes come.")
@click.option("--retries", type=click.IntRange(min=1), default=3, show_default=True, help="Attempts per mirror.")
@click.option("--force", is_flag=True, help="Replace files in --dest that are not the verified ones.")
def data_download(dataset, dest, mirrors, md5_pairs, timeout, deadline, retries, force):
    """Fetch the four IDX files, verify their checksums, and move them into place."""
    from compare.run.outputs import check_directory
    from shared.data import DEFAULT_DATA_DIR, load_dataset
    from shared.download import DATASETS, DownloadError, download_file, files_for, verify_file
    from shared.files import file_kind
    from shared.idx import DataError

    md5s = parse_md5s(md5_pairs)
    if md5s and dataset in DATASETS:
        raise click.BadParameter(f"{dataset}'s checksums are built in; --md5 is for datasets without them",
                                 param_hint="'--md5'")
    for mirror in mirrors:
        check_mirror(mirror)
    if dataset not in DATASETS and not mirrors:
        raise click.BadParameter(f"{dataset!r} is not a known dataset ({', '.join(DATASETS)}): give --mirror URL",
                                 param_hint="'--dataset'")
    if not dataset.strip() or any(c in dataset for c in "/\\\0") or dataset in (".", ".."):
        raise click.BadParameter(f"{dataset!r} is not a name: a dataset's files go to data/NAME (give --dest DIR "
                                 f"for another place)", param_hint="'--dataset'")
    mirrors = list(mirrors) or DATASETS[dataset][0]
    dest = dest or DEFAULT_DATA_DIR.parent / dataset
    check_directory(dest, "--dest")
    files = files_for(dataset, md5s)
    for remote in files:  # a FIFO would hang the checksum, a directory fail the rename: neither is replaced
        kind = file_kind(dest / remote.name) if not (dest / remote.name).is_symlink() else None
        if kind is not None:
            raise click.BadParameter(f"{dest / remote.name} is {kind}, not a regular file; compare replaces only "
                                     f"regular files, not even with --force", param_hint="'--dest'")
    verified = {remote.name for remote in files
                if (dest / remote.name).exists() and remote.verifiable and verify_file(dest / remote.name, remote) is None}
    replaced = [remote.name for remote in files if os.path.lexists(dest / remote.name) and remote.name not in verified]
    if replaced and not force:  # the user's own files: refused before anything is fetched
        raise click.BadParameter(f"{dest} already holds {', '.join(replaced)}, not the verified download: "
                                 f"give --force to replace {'it' if len(replaced) == 1 else 'them'}",
                                 param_hint="'--dest'")
    for remote in files:
        path = dest / remote.name
        if remote.name in verified:
            click.echo(f"{path}: already there, verified")
            continue
        if not remote.verifiable:
            click.echo(f"{remote.name}: no checksum known: it will be unverified (give --md5 {remote.name}=HASH)")
        click.echo(f"{remote.name}: downloading")
        try:
            download_file(remote, mirrors, dest, timeout=timeout, retries=retries, echo=click.echo,
                          progress_factory=download_progress, deadline=deadline)
        except DownloadError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"{path}: {'verified' if remote.verifiable else 'UNVERIFIED: a complete IDX file, but nothing says it is the right one'}")
    try:
        loaded = load_dataset(dest)
    except DataError as error:
        raise click.ClickException(str(error)) from None
    click.echo(describe_dataset(loaded))


def parse_md5s(pairs) -> dict[str, str]:
    """--md5 FILE=HASH: FILE one of the four file names, HASH 32 hexadecimal digits."""
    from shared.data import FILE_STEMS

    names = [f"{stem}.gz" for stem in FILE_STEMS.values()]
    md5s = {}
    for pair in pairs:
        name, _, digest = pair.partition("=")
        if name not in names:
            raise click.BadParameter(f"{name!r} is not one of the files: {', '.join(names)}", param_hint="'--md5'")
        if len(digest) != 32 or any(c not in "0123456789abcdefABCDEF" for c in digest):
            raise click.BadParameter(f"expected FILE=HASH with an MD5 of 32 hexadecimal digits; got {pair!r}",
                                     param_hint="'--md5'")
        md5s[name] = digest.lower()
    return md5s


def check_mirror(url: str) -> None:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError as error:
        raise click.BadParameter(f"{url!r} is not a URL ({error})", param_hint="'--mirror'") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(f"{url!r} is not an http:// or https:// URL", param_hint="'--mirror'")


def download_progress(name: str):
    """A tqdm bar for one file (silent off a terminal)."""
    from tqdm import tqdm

    bar = tqdm(desc=f"  {name}", unit="B", unit_scale=True, leave=False, disable=None)

    def update(done: int, total: int | None) -> None:
        if total and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)
        if total and done >= total:
            bar.close()

    return update


def describe_dataset(dataset) -> str:
    rows, cols = dataset.train_images.shape[1:]
    state = f"{dataset.name}, checksums verified" if dataset.verified else "no known checksums (unverified)"
    return (f"{dataset.directory}: {state}: {len(dataset.train_labels):,} training and {len(dataset.test_labels):,} "
            f"test images of {rows}x{cols}, {dataset.num_classes} classes")


@data.command("verify", epilog=EXIT_CODES)
@click.argument("directory", required=False, type=click.Path(path_type=Path))
def data_verify(directory):
    """Check a data directory (default: the bundled MNIST) and say what is wrong."""
    from shared.data import load_dataset
    from shared.idx import DataError

    try:
        click.echo(describe_dataset(load_dataset(directory)))
    except DataError as error:
        raise click.ClickException(str(error)) from None
