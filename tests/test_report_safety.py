"""Issue 23.10: no string in a report (a run's name, any string of a results.json) can make a
link that runs script, or raw HTML, in report.html or report.md; report.html forbids script."""

from __future__ import annotations

import re

import pytest

from compare.blocks import CSP, Heading, Paragraph, Table, defused, to_html, to_markdown

HOSTILE = [
    "[click me](javascript:onerror=alert;throw-document.domain)",
    "[x](JavaScript:alert(1))",
    "[x](data:text/html,<script>alert(1)</script>)",
    "[x](//evil.example/)",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '[x](a"onmouseover="alert(1))',
]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_hostile_string_is_inert_in_report_html(text):
    page = to_html([Heading(text, 1), Paragraph(f"run {text} done"), Table(["name"], [[text]])])
    assert not re.search(r"href\s*=\s*\"?\s*(javascript|data|//)", page, re.I), page
    assert "<script" not in page.lower() and "<img src=x" not in page.lower()
    assert "onmouseover=\"" not in page
    assert f'content="{CSP}"' in page and "default-src 'none'" in CSP


@pytest.mark.parametrize("text", HOSTILE)
def test_a_hostile_string_is_inert_in_report_md(text):
    markdown = to_markdown([Heading(text, 1), Paragraph(f"run {text} done"), Table(["name"], [[text]])])
    assert not re.search(r"\]\((javascript|data|//)", markdown, re.I), markdown
    assert "<script" not in markdown.lower() and "<img" not in markdown.lower()


def test_the_reports_own_links_still_work():
    assert '<a href="page.html">the page</a>' in to_html([Paragraph("open [the page](page.html)")])
    assert '<a href="https://example.org/x">book</a>' in to_html([Paragraph("[book](https://example.org/x)")])
    assert defused("see [curves](curves.png)") == "see [curves](curves.png)"
