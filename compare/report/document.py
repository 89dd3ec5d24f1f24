"""report.md and a self-contained report.html from one or more results documents.

The content is built once as blocks (compare.blocks) and written twice, so the Markdown and
the HTML always say the same thing. Its sections are below, in order; each figure of the
registry (compare.report.figures) stands in the section it names.
"""

from __future__ import annotations

import re
from pathlib import Path

from compare.blocks import Figure, Heading, Paragraph, Table, to_html, to_markdown
from compare.progress import Progress
from compare.report.figures import FIGURES
from compare.wording import describe_network, epochs_trained, process_memory, start_epoch, summary_table
from shared.atomic import atomic_write_text
from shared.files import read_regular

PAGE = "page.html"
MAX_REPORT_BYTES = 16 << 20  # a report.md is tens of kilobytes  # the run's drawing page, linked when it is beside the report


def setup_lines(document: dict) -> str:
    config, data, env = document["config"], document["data"], document["environment"]
    blas = ", ".join(f"{b['internal_api']} {b['version']} ({b['num_threads']} threads)" for b in env["blas"]) or "unknown"
    torch = f"PyTorch {env['torch']} ({env['torch_threads']} threads)" if env.get("torch_threads") else (
        f"PyTorch {env['torch']} (not used)" if env.get("torch") else "PyTorch not installed")
    verified = "checksums verified" if data["verified"] else "unverified"
    return (
        f"**Network** {describe_network(config)} (seed {config['seed']}). "
        f"**Training** {epochs_trained(config['epochs'], start_epoch(document))} of mini-batch SGD, "
        f"batch {config['batch_size']}, "
        f"learning rate {config['lr']:g}, {config['dtype']}, on {data['train_images']:,} {data['name']} "
        f"training images ({verified}), tested on {data['test_images']:,}. "
        f"**Machine** {env['cpu']}, {env['cores']} cores, Python {env['python']}, NumPy {env['numpy']} "
        f"with {blas}, {torch}.{training_threads(document)} Created {document['created']}"
        + (f" by `{document['command']}`." if document.get("command") else ".")
    )


def training_threads(document: dict) -> str:
    """The BLAS and torch threads each implementation trained with (the machine line above gives
    the libraries' defaults), as `compare run --threads` chose them."""
    chosen = {(i["threads"]["threads"], i["threads"]["reason"]) for i in document["implementations"] if i.get("threads")}
    if not chosen:
        return ""
    if len(chosen) == 1:
        [(count, reason)] = chosen
        return f" **Threads while training** {count} ({reason})."
    return " **Threads while training** " + ", ".join(
        f"{i['name']} {i['threads']['threads']}" for i in document["implementations"] if i.get("threads")) + "."


def gradient_table(document: dict) -> Table:
    gradients = document["gradients"]
    tensors = gradients["tensors"]
    pairs = list(tensors[0]["pairs"]) if tensors else []
    headers = ["parameter", "shape"] + [p.replace("~", " vs ") for p in pairs] + [f"{i} vs finite diff." for i in gradients["impls"]]
    rows = [
        [t["name"], "x".join(map(str, t["shape"]))]
        + [f"{t['pairs'][p]:.1e}" for p in pairs]
        + [f"{t['finite_differences'][i]:.1e}" for i in gradients["impls"]]
        for t in tensors
    ]
    return Table(headers, rows)


def epoch_table(document: dict) -> Table:
    """Every epoch of every implementation; with a validation set its columns come first, and
    the test set's cells are blank on the epochs it was not evaluated after."""
    def number(value, form: str) -> str:
        return "" if value is None else format(value, form)

    epochs = [(impl["name"], e) for impl in document["implementations"] for e in impl["epochs"]]
    validation = any(e.get("validation_accuracy") is not None for _, e in epochs)
    rows = [
        [name, f"{e['epoch']} (before resuming)" if e.get("before_resume") else str(e["epoch"]),
         f"{e['train_loss']:.4f}"]
        + ([number(e.get("validation_loss"), ".4f"), number(e.get("validation_accuracy"), ".2%")] if validation else [])
        + [number(e["test_loss"], ".4f"), number(e["test_accuracy"], ".2%"), f"{e['train_seconds']:.2f}",
           f"{e['eval_seconds']:.2f}", f"{e['samples_per_second']:,.0f}"]
        for name, e in epochs
    ]
    return Table(["implementation", "epoch", "train loss"]
                 + (["validation loss", "validation accuracy"] if validation else [])
                 + ["test loss", "test accuracy", "train s", "eval s", "samples/s"], rows)


def agreement_sentence(document: dict) -> str:
    gradients = document["gradients"]
    verdict = "pass" if gradients["passed"] else "**FAIL**"
    pairs = (f"the largest relative error between two implementations' gradients is {gradients['worst_pair']:.1e} "
             f"(tolerance {gradients['tolerances']['pairs']:.0e}) and" if len(gradients["impls"]) > 1
             else "with one implementation there is no pair to compare; the largest relative error of its gradients is")
    text = (
        f"From the same parameters and batch, in float64, {pairs} against central finite differences "
        f"{gradients['worst_finite_difference']:.1e} (tolerance {gradients['tolerances']['finite_differences']:.0e}): {verdict}."
    )
    after = document["parameter_agreement"]
    if after:
        worst = max(after, key=lambda p: p["max_abs_difference"])
        same = min(p["same_predictions"] for p in after)
        agreement = "for every test image" if same == 1.0 else f"for at least {same:.2%} of the test images"
        text += (
            f" After training, the largest difference between two implementations' parameters is "
            f"{worst['max_abs_difference']:.1e} ({worst['a']} vs {worst['b']}), and they give the same "
            f"prediction {agreement}."
        )
    return text


def warning_blocks(documents: list[dict]) -> list:
    """Every warning the runs printed, so a report never looks cleaner than its run."""
    rows = [[d["name"], w] if len(documents) > 1 else [w] for d in documents for w in d.get("warnings", [])]
    if not rows:
        return []
    return [Heading("Warnings"), Table((["run"] if len(documents) > 1 else []) + ["warning"], rows)]


# The report's sections with figures, in order: (heading, one per run?, the blocks that open it).
SECTIONS = [
    ("Learning", False, lambda documents: []),
    ("Speed", False, lambda documents: []),
    ("Do they compute the same thing?", True,
     lambda document: [Paragraph(agreement_sentence(document)), gradient_table(document)]),
    ("What the network learned", True, lambda document: []),
]


def figure_count(documents: list[dict]) -> int:
    """How many figures the report of `documents` draws."""
    return sum(sum(map(spec.applies, documents)) if spec.per_run else int(spec.applies(documents))
               for spec in FIGURES.values())


def section_blocks(section: str, drawn, directory: Path, opening: list, tick, named: str = "",
                   suffix: str = "") -> list:
    """A section: its heading (with the run's name when runs stand side by side), its opening
    blocks, then each registered figure of it, drawn from `drawn` (one document or all of them)
    into `directory`, their file names ending in `suffix`."""
    blocks = [Heading(section + named), *opening]
    for spec in FIGURES.values():
        if spec.section != section or not spec.applies(drawn):
            continue
        name = f"{spec.name}{suffix}.png"
        path = spec.draw(drawn, directory / name, spec.size)
        tick(name)
        blocks.append(Figure(path, spec.caption_for(drawn)))
        note = spec.note(drawn) if spec.note else None
        if note:
            blocks.append(Paragraph(note))
    return blocks


def build_blocks(documents: list[dict], directory: Path, tick=lambda name: None) -> list:
    unknown = {spec.section for spec in FIGURES.values()} - {heading for heading, _, _ in SECTIONS}
    assert not unknown, f"figures registered in sections the report does not have: {unknown}"
    first = documents[0]
    title = first["name"] if len(documents) == 1 else " vs ".join(d["name"] for d in documents)
    blocks: list = [Heading(f"MNIST five ways: {title}", 1)]
    for document in documents:
        if len(documents) > 1:
            blocks.append(Paragraph(f"**{document['name']}**"))
        blocks.append(Paragraph(setup_lines(document)))
        if document.get("interrupted"):
            blocks.append(Paragraph(f"**Interrupted** ({document['interrupted']}): this report holds only the "
                                    f"epochs completed before Ctrl-C."))
    if (directory / PAGE).is_file():  # the run's page, written before its report
        blocks.append(Paragraph(
            f"**Draw a digit** and watch this run's trained network answer, layer by layer: [{PAGE}]({PAGE}) "
            "(the first implementation's final parameters; one self-contained page that works offline)."))
    blocks += [Heading("Summary"), summary_table(documents), Paragraph(process_memory(documents))]
    blocks += warning_blocks(documents)
    for heading, per_run, opening in SECTIONS:
        if not per_run:
            blocks += section_blocks(heading, documents, directory, opening(documents), tick)
    for index, document in enumerate(documents):
        several = len(documents) > 1
        suffix, named = (f"-{index + 1}", f" ({document['name']})") if several else ("", "")
        for heading, per_run, opening in SECTIONS:
            if per_run:
                blocks += section_blocks(heading, document, directory, opening(document), tick, named, suffix)
        blocks += [Heading(f"Every epoch{named}", 3), epoch_table(document)]
    return blocks


def write_report(documents: list[dict], directory: Path, progress: bool = False) -> list[Path]:
    """Draw the figures and write report.md and report.html into `directory`. A report
    replaced there takes its own figures with it (those its report.md shows and the new one
    does not), so none of them is left to be mistaken for this one's; nothing else is touched."""
    directory.mkdir(parents=True, exist_ok=True)
    earlier = figures_shown(directory / "report.md")
    with Progress("drawing the report", figure_count(documents), unit="figure", enabled=progress) as bar:
        blocks = build_blocks(documents, directory, tick=lambda name: bar.update(1, name))
    atomic_write_text(directory / "report.md", to_markdown(blocks, directory))
    atomic_write_text(directory / "report.html", to_html(blocks))
    figures = [b.path for b in blocks if isinstance(b, Figure)]
    for stale in earlier - {path.name for path in figures}:
        (directory / stale).unlink(missing_ok=True)
    return [directory / "report.md", directory / "report.html", *figures]


def figures_shown(markdown: Path) -> set[str]:
    """The PNG files (in its own directory) an earlier report.md shows."""
    try:
        text = read_regular(markdown, MAX_REPORT_BYTES).decode("utf-8")
    except (OSError, UnicodeDecodeError):  # NotReadable too: a FIFO there is never opened to wait
        return set()
    return {name for name in re.findall(r"!\[[^\]]*\]\(([^)/\\]+\.png)\)", text)}
