"""docs/NIELSEN.md: each experiment's table and figure, in a block the command writes.

A block lies between two marker lines:

    <!-- begin compare experiment NAME (sha256 DIGEST): written by `compare experiment NAME` ... -->
    ...
    <!-- end compare experiment NAME -->

Running the experiment again replaces its block (and its figure, docs/nielsen/NAME.png) and
nothing else: the text around the blocks is the authors' (why a row differs from the book, say)
and is kept as it is. DIGEST is the SHA-256 of what the command wrote between the markers; a
block whose text no longer matches it was edited by hand, and is replaced only with --force.
A line `<!-- compare experiment NAME -->` marks where a block not written yet goes (the authors
choose the order and the prose around it); a document without either gets the block appended,
under the experiment's title.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from compare.experiment.conduct import CLOSE, Conducted, run_seconds
from compare.wording import shown_path
from shared.atomic import atomic_write_text
from shared.training import format_duration

FIGURES = "nielsen"  # the figures' folder, beside the document
BEGIN = re.compile(r"^<!-- begin compare experiment (?P<name>[\w.-]+) \(sha256 (?P<digest>[0-9a-f]{64})\).*-->\n",
                   re.MULTILINE)
HEADER = """# Nielsen's book, reproduced

The experiments of chapters 1 and 3 of Michael Nielsen's *Neural Networks and Deep Learning*,
each one command: `compare experiment NAME` (`compare experiment --list` names them). Each
block below is written by its command and replaced when it runs again; text outside the blocks
is kept.
"""


class DocumentError(Exception):
    """The document cannot take the block (unreadable, or the block was edited by hand)."""


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def slot(name: str) -> str:
    return f"<!-- compare experiment {name} -->\n"


def end_marker(name: str) -> str:
    return f"<!-- end compare experiment {name} -->\n"


def read_document(path: Path) -> str | None:
    """The document's text, or None when there is none yet."""
    if not path.exists():
        return None
    if not path.is_file():
        raise DocumentError(f"{path} is not a file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DocumentError(f"{path} is not UTF-8 text") from None
    except OSError as error:
        raise DocumentError(f"{path}: cannot read it ({error.strerror or error})") from None


def find_block(text: str, name: str) -> tuple[int, int, str, str] | None:
    """(start, end, recorded digest, content) of the block of `name`, or None."""
    for match in BEGIN.finditer(text):
        if match.group("name") != name:
            continue
        end = text.find(end_marker(name), match.end())
        if end < 0:
            return match.start(), len(text), match.group("digest"), text[match.end():]  # an end marker deleted: edited
        return match.start(), end + len(end_marker(name)), match.group("digest"), text[match.end():end]
    return None


def check_document(path: Path, name: str, force: bool) -> None:
    """Before any run: the document can take the block of `name` (refused: a hand-edited block, unless force)."""
    text = read_document(path)
    block = find_block(text, name) if text is not None else None
    if block is not None and digest(block[3]) != block[2] and not force:
        raise DocumentError(f"{shown_path(path)}: the block of {name} was edited by hand since compare experiment "
                            f"wrote it; move your text outside its markers, or add --force to replace it")


def write_block(path: Path, conducted: Conducted, figure: Path, force: bool) -> str:
    """Put the experiment's block into the document: 'replaced', 'added' or 'created'."""
    name = conducted.experiment.name
    check_document(path, name, force)
    content = render(conducted, figure.relative_to(path.parent).as_posix())
    marker = (f"<!-- begin compare experiment {name} (sha256 {digest(content)}): written by "
              f"`compare experiment {name}`, replaced when it runs again; edit outside these lines -->\n")
    block = marker + content + end_marker(name)
    text = read_document(path)
    if text is None:
        how, text = "created", f"{HEADER}\n## {conducted.experiment.title}\n\n{block}"
    else:
        found = find_block(text, name)
        if found is None and slot(name) in text:
            how, text = "added", text.replace(slot(name), block, 1)
        elif found is None:
            how, text = "added", f"{text.rstrip()}\n\n## {conducted.experiment.title}\n\n{block}"
        else:
            how, text = "replaced", text[: found[0]] + block + text[found[1]:]
    atomic_write_text(path, text)
    return how


def percent(value: float | None) -> str:
    return "a figure" if value is None else f"{value:.2f}%"


def render(conducted: Conducted, figure: str) -> str:
    """The block's Markdown: the book's settings, the table, the figure, how it was measured."""
    experiment = conducted.experiment
    lines = [f"*The book* ({experiment.chapter}): {experiment.settings}.", "",
             "| | the book | ours | difference | ours, read as |", "|---|---:|---:|---:|---|"]
    for measured in conducted.rows:
        difference = "" if measured.difference is None else f"{measured.difference:+.2f}"
        lines.append(f"| {measured.row.label} | {percent(measured.row.book)} | {measured.ours:.2f}% | {difference} | "
                     f"{measured.row.reading.what} |")
    compared = [m for m in conducted.rows if m.close is not None]
    far = [m.row.label for m in compared if not m.close]
    if compared:
        lines += ["", f"Within {CLOSE} points of the book: {len(compared) - len(far)} of {len(compared)} rows"
                  + (f"; not {', '.join(far)} (see below)." if far else ".")]
    lines += ["", f"![{experiment.name}: ours beside the book]({figure})", ""]
    lines += measured_lines(conducted)
    if experiment.differs:
        lines += ["", f"*What differs from the book*: {experiment.differs} The book's random seeds differ from ours "
                      "(seed 0 here), so single runs differ by some tenths of a point either way."]
    else:
        lines += ["", "*What differs from the book*: its random seeds (seed 0 here): single runs differ by some "
                      "tenths of a point either way."]
    return "\n".join(lines) + "\n"


def measured_lines(conducted: Conducted) -> list[str]:
    documents = list(conducted.documents.values())
    impl = documents[0]["implementations"][0]
    environment = documents[0]["environment"]
    loads = [d["implementations"][0].get("load_average") for d in documents]
    loads = [load for load in loads if load is not None]
    span = f"{min(loads):.1f}" if loads and min(loads) == max(loads) else f"{min(loads, default=0):.1f} to {max(loads, default=0):.1f}"
    busy = (f", more than its {environment['cores']} cores: other work shared the machine and the times are longer "
            "than on a quiet one" if loads and environment.get("cores") and max(loads) > environment["cores"] else "")
    load = f"; load average {span} when the runs ended{busy}" if loads else ""
    wall = conducted.wall_seconds
    lines = [f"*Ours*: {impl['name']} ({impl['dtype']}), on {environment['cpu']} ({environment['cores']} cores), "
             f"{documents[0]['created'][:10]}: {format_duration(conducted.training_seconds)} of training and "
             f"evaluation by the runs' own clocks"
             + (f", {format_duration(wall)} wall-clock for the whole runs" if wall else "") + f"{load}. "
             f"`compare experiment {conducted.experiment.name}` ran:", ""]
    for spec in conducted.specs:
        wall = conducted.wall.get(spec.name)
        lines.append(f"- `compare run {' '.join(spec.args)}` "
                     f"({format_duration(run_seconds(conducted.documents[spec.name]))} training and evaluation"
                     + (f", {format_duration(wall)} wall-clock" if wall is not None else "") + ")")
    return lines
