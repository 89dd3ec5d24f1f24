"""A document as a list of blocks (headings, paragraphs, tables, figures), written out as
Markdown, as one self-contained HTML page, or, for a table, as aligned console text.

The report and the benchmark build their content once as blocks, so that every format
says the same thing and there is one writer of each.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Paragraph:
    text: str  # with the little Markdown inline_markdown knows: **bold**, `code`, [links](to)


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]


@dataclass
class Figure:
    path: Path  # a PNG file
    caption: str


LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
SAFE_TARGET = re.compile(r"(https?://[^\s\"'<>]+|[A-Za-z0-9_.~/#%-]+)\Z")  # http(s), or relative without a scheme


def safe_target(target: str) -> bool:
    """Only links to http(s) or to a relative place: a run's name or a results.json string may
    hold `[text](javascript:...)`, which a reader must never be able to click into script."""
    return bool(SAFE_TARGET.match(target)) and not target.startswith("//")


def defused(text: str) -> str:
    """Markdown with unsafe links turned into plain text and raw HTML shown, not run."""
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    return LINK.sub(lambda m: m.group(0) if safe_target(m.group(2)) else f"{m.group(1)} ({m.group(2)})"
                    .replace("[", "\\[").replace("]", "\\]").replace("(", "\\(").replace(")", "\\)"), text)


def to_markdown(blocks: list, directory: Path | None = None, on_terminal: bool = False) -> str:
    """Markdown, each block followed by an empty line; figures linked relative to `directory`.
    on_terminal: printed, not kept in a file a viewer renders, so its text is not defused
    (">= 1.0", not "&gt;= 1.0")."""
    text = (lambda words: words) if on_terminal else defused
    out = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {text(block.text)}")
        elif isinstance(block, Paragraph):
            out.append(text(block.text))
        elif isinstance(block, Table):
            out.append("| " + " | ".join(text(h) for h in block.headers) + " |")
            out.append("|" + "|".join("---" for _ in block.headers) + "|")
            out.extend("| " + " | ".join(text(c) for c in row) + " |" for row in block.rows)
        elif isinstance(block, Figure):
            link = block.path.relative_to(directory).as_posix() if directory else block.path.name
            out.append(f"![{block.caption}]({link})\n\n*{block.caption}*")
        out.append("")
    return "\n".join(out)


def inline_markdown(text: str) -> str:
    """The little Markdown the paragraphs use (**bold**, `code`, [links](to)) as HTML."""
    escaped = html.escape(text)
    parts = escaped.split("**")
    escaped = "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))
    parts = escaped.split("`")
    escaped = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    # escaped is HTML-escaped already, so a target's quotes cannot end the attribute
    return LINK.sub(lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>' if safe_target(html.unescape(m.group(2)))
                    else m.group(0), escaped)


CSS = """
body { font-family: system-ui, sans-serif; max-width: 1250px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.5; }
table { border-collapse: collapse; margin: 1em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
.table { overflow-x: auto; }  /* a table wider than the window scrolls sideways in its place */
td.word { white-space: nowrap; }  /* a number (5.0e-16) or a name is never split at a hyphen */
figure { margin: 1.5em 0; }
img { max-width: 100%; }
figcaption { color: #555; font-style: italic; }
code { background: #f3f3f3; padding: 0 0.2em; }
"""


# No script runs in a report, whatever a name in it says: only its own styles and data: images.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def to_html(blocks: list) -> str:
    """One self-contained HTML page: the figures inside it as data: URLs."""
    title = next((b.text for b in blocks if isinstance(b, Heading)), "report")
    out = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\"><title>{html.escape(title)}</title>",
           f"<style>{CSS}</style></head><body>"]
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            out.append(f"<p>{inline_markdown(block.text)}</p>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{html.escape(h)}</th>" for h in block.headers)
            body = "".join("<tr>" + "".join(table_cell(c) for c in row) + "</tr>" for row in block.rows)
            out.append(f"<div class=\"table\"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")
        elif isinstance(block, Figure):
            data = base64.b64encode(block.path.read_bytes()).decode("ascii")
            out.append(f"<figure><img alt=\"{html.escape(block.caption)}\" src=\"data:image/png;base64,{data}\">"
                       f"<figcaption>{html.escape(block.caption)}</figcaption></figure>")
    out.append("</body></html>\n")
    return "\n".join(out)


def table_cell(text: str) -> str:
    """A cell of one word (a number, a name) kept on one line; sentences wrap."""
    word = ' class="word"' if text and not any(c.isspace() for c in text) else ""
    return f"<td{word}>{html.escape(text)}</td>"


def to_text(table: Table, left: int = 0) -> list[str]:
    """A table as console lines, two spaces between columns: the first `left` columns
    aligned left (names), the others right (numbers)."""
    rows = [table.headers, *table.rows]
    widths = [max(len(row[c]) for row in rows) for c in range(len(table.headers))]
    return ["  ".join(cell.ljust(w) if c < left else cell.rjust(w) for c, (cell, w) in enumerate(zip(row, widths)))
            for row in rows]
