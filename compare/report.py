"""report.md and a self-contained report.html from one or more results documents.

The content is built once as a list of blocks (headings, paragraphs, tables, figures)
and rendered twice, so the Markdown and the HTML always say the same thing.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path

from compare import plots
from compare.progress import Progress
from compare.wording import plural, vs_fastest
from shared.atomic import atomic_write_text


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Paragraph:
    text: str


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]


@dataclass
class Figure:
    path: Path
    caption: str


def mebibytes(count: int) -> str:
    return f"{count / 2**20:,.0f} MiB"


def summary_table(documents: list[dict]) -> Table:
    several = len(documents) > 1
    entries = [(d, i) for d in documents for i in d["implementations"]]
    fastest = max(i["final"]["samples_per_second"] for _, i in entries)
    headers = (["run"] if several else []) + [
        "implementation", "test accuracy", "train s/epoch", "samples/s", "vs fastest", "peak memory (RSS)",
    ]
    rows = []
    for document, impl in entries:
        final = impl["final"]
        rows.append(([document["name"]] if several else []) + [
            f"{impl['name']} ({impl['dtype']}, {impl['device']})",
            f"{final['test_accuracy']:.2%}",
            f"{final['train_seconds_per_epoch']:.2f}",
            f"{final['samples_per_second']:,.0f}",
            vs_fastest(final["samples_per_second"], fastest),
            mebibytes(impl["peak_rss_bytes"]),
        ])
    return Table(headers, rows)


def setup_lines(document: dict) -> str:
    config, data, env = document["config"], document["data"], document["environment"]
    blas = ", ".join(f"{b['internal_api']} {b['version']} ({b['num_threads']} threads)" for b in env["blas"]) or "unknown"
    torch = f"PyTorch {env['torch']} ({env['torch_threads']} threads)" if env.get("torch_threads") else (
        f"PyTorch {env['torch']} (not used)" if env.get("torch") else "PyTorch not installed")
    verified = "checksums verified" if data["verified"] else "unverified"
    return (
        f"**Network** {'-'.join(map(str, config['sizes']))}, {config['activation']} hidden layers, "
        f"{config['loss']} loss, {config['init']} initialization (seed {config['seed']}). "
        f"**Training** {plural(config['epochs'], 'epoch')} of mini-batch SGD, batch {config['batch_size']}, "
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
    headers = ["tensor", "shape"] + [p.replace("~", " vs ") for p in pairs] + [f"{i} vs finite diff." for i in gradients["impls"]]
    rows = [
        [t["name"], "x".join(map(str, t["shape"]))]
        + [f"{t['pairs'][p]:.1e}" for p in pairs]
        + [f"{t['finite_differences'][i]:.1e}" for i in gradients["impls"]]
        for t in tensors
    ]
    return Table(headers, rows)


def epoch_table(document: dict) -> Table:
    rows = [
        [impl["name"], str(e["epoch"]), f"{e['train_loss']:.4f}", f"{e['test_loss']:.4f}",
         f"{e['test_accuracy']:.2%}", f"{e['train_seconds']:.2f}", f"{e['eval_seconds']:.2f}",
         f"{e['samples_per_second']:,.0f}"]
        for impl in document["implementations"]
        for e in impl["epochs"]
    ]
    return Table(["implementation", "epoch", "train loss", "test loss", "test accuracy", "train s", "eval s", "samples/s"], rows)


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


def confusion_caption(document: dict) -> str:
    impls = [i["name"] for i in document["implementations"]]
    shown = document["visuals"]["impl"]
    text = f"Confusion matrix of {shown} on the test set: rows are the true digit, columns the prediction."
    agreement = document["parameter_agreement"]
    if len(impls) > 1 and agreement and min(p["same_predictions"] for p in agreement) == 1.0:
        text += f" The same for {', '.join(impls)}: they make the same prediction for every test image."
    elif len(impls) > 1:
        text += f" {shown} is the most accurate; the others' predictions differ on some images."
    return text


def figure_count(documents: list[dict]) -> int:
    return 2 + 4 * len(documents)  # curves, throughput; per run gradients, confusion, weights, misclassified


def build_blocks(documents: list[dict], directory: Path, tick=lambda name: None) -> list:
    first = documents[0]
    title = first["name"] if len(documents) == 1 else " vs ".join(d["name"] for d in documents)
    blocks: list = [Heading(f"MNIST four ways: {title}", 1)]
    for document in documents:
        if len(documents) > 1:
            blocks.append(Paragraph(f"**{document['name']}**"))
        blocks.append(Paragraph(setup_lines(document)))
        if document.get("interrupted"):
            blocks.append(Paragraph(f"**Interrupted** ({document['interrupted']}): this report holds only the "
                                    f"epochs completed before Ctrl-C."))
    if (directory / "page.html").is_file():  # written by `compare run` before its report
        blocks.append(Paragraph(
            "**Draw a digit** and watch this run's trained network answer, layer by layer: [page.html](page.html) "
            "(the first implementation's final parameters; one self-contained page that works offline)."))
    blocks += [Heading("Summary"), summary_table(documents), Paragraph(
        "Peak memory is the resident size of the whole process, sampled while that implementation trained: it "
        "includes the training images as floats and every library loaded so far (torch, once any run used it), "
        "so the differences between rows say more than the numbers themselves.")]
    blocks += warning_blocks(documents)

    figure = plots.plot_curves(documents, directory / "curves.png")
    tick("curves.png")
    coincide = len(documents) == 1 and plots.curves_coincide(first)
    blocks += [Heading("Learning"), Figure(figure, "Test accuracy per epoch and training loss, every implementation.")]
    if coincide:
        blocks.append(Paragraph(
            "The curves lie on top of each other: trained from the same parameters on the same batches, "
            "the implementations compute the same numbers (up to rounding), so only one line shows."))
    blocks += [Heading("Speed"), Figure(plots.plot_throughput(documents, directory / "throughput.png"),
                                        "Training samples per second, each bar labelled with its value and how "
                                        "many times slower than the fastest it is.")]
    tick("throughput.png")

    for index, document in enumerate(documents):
        suffix = "" if len(documents) == 1 else f"-{index + 1}"
        heading = "" if len(documents) == 1 else f" ({document['name']})"
        blocks += [
            Heading(f"Do they compute the same thing?{heading}"),
            Paragraph(agreement_sentence(document)),
            gradient_table(document),
            Figure(plots.plot_gradients(document, directory / f"gradients{suffix}.png"),
                   "Maximum relative error per weight matrix and bias vector, log scale, against the tolerance."),
            Heading(f"What the network learned{heading}"),
            Figure(plots.plot_confusion(document, directory / f"confusion{suffix}.png"), confusion_caption(document)),
        ]
        tick(f"gradients{suffix}.png")
        tick(f"confusion{suffix}.png")
        weights = plots.plot_weights(document, directory / f"weights{suffix}.png")
        tick(f"weights{suffix}.png")
        if weights:
            blocks.append(Figure(weights, "First-layer weights, one image per hidden unit: the pattern each neuron responds to."))
        wrong = plots.plot_misclassified(document, directory / f"misclassified{suffix}.png")
        tick(f"misclassified{suffix}.png")
        if wrong:
            blocks.append(Figure(wrong, "Test digits the network got wrong, most confident first, with the probability it gave."))
        blocks += [Heading(f"Every epoch{heading}", 3), epoch_table(document)]
    return blocks


def to_markdown(blocks: list, directory: Path) -> str:
    out = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            out.append(block.text)
        elif isinstance(block, Table):
            out.append("| " + " | ".join(block.headers) + " |")
            out.append("|" + "|".join("---" for _ in block.headers) + "|")
            out.extend("| " + " | ".join(row) + " |" for row in block.rows)
        elif isinstance(block, Figure):
            out.append(f"![{block.caption}]({block.path.relative_to(directory).as_posix()})\n\n*{block.caption}*")
        out.append("")
    return "\n".join(out)


def inline_markdown(text: str) -> str:
    """The little Markdown the paragraphs use (**bold**, `code`, [links](to)) as HTML."""
    escaped = html.escape(text)
    parts = escaped.split("**")
    escaped = "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))
    parts = escaped.split("`")
    escaped = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    return re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r'<a href="\2">\1</a>', escaped)


CSS = """
body { font-family: system-ui, sans-serif; max-width: 1250px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.5; }
table { border-collapse: collapse; margin: 1em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
figure { margin: 1.5em 0; }
img { max-width: 100%; }
figcaption { color: #555; font-style: italic; }
code { background: #f3f3f3; padding: 0 0.2em; }
"""


def to_html(blocks: list) -> str:
    title = next((b.text for b in blocks if isinstance(b, Heading)), "report")
    out = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>",
           f"<style>{CSS}</style></head><body>"]
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            out.append(f"<p>{inline_markdown(block.text)}</p>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{html.escape(h)}</th>" for h in block.headers)
            body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in block.rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif isinstance(block, Figure):
            data = base64.b64encode(block.path.read_bytes()).decode("ascii")
            out.append(f"<figure><img alt=\"{html.escape(block.caption)}\" src=\"data:image/png;base64,{data}\">"
                       f"<figcaption>{html.escape(block.caption)}</figcaption></figure>")
    out.append("</body></html>\n")
    return "\n".join(out)


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
        text = markdown.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return set()
    return {name for name in re.findall(r"!\[[^\]]*\]\(([^)/\\]+\.png)\)", text)}
