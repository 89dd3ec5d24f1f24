"""Every relative link and image in the README and docs/ leads somewhere: the file exists, and
an #anchor names a heading of the page it points into (as GitHub makes heading anchors)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", ROOT / "bench" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
IMG = re.compile(r"<img[^>]*\ssrc=\"([^\"]+)\"")


def prose(text: str) -> str:
    """The page without its code: a link written inside code is not a link."""
    text = re.sub(r"^(```|~~~).*?^\1", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", prose_keeping_headings(page), flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def prose_keeping_headings(page: Path) -> str:
    return re.sub(r"^(```|~~~).*?^\1", "", page.read_text(), flags=re.S | re.M)


def links(page: Path) -> list[str]:
    text = prose(page.read_text())
    return LINK.findall(text) + IMG.findall(text)


def test_the_pages_hold_links():
    counted = {str(page.relative_to(ROOT)): len(links(page)) for page in PAGES}
    assert counted["README.md"] >= 30, counted  # the finder finds them: this test could fail


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_and_image_exists(page):
    broken = []
    for target in links(page):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        destination = (page.parent / path_part).resolve() if path_part else page
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no heading makes #{anchor}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_the_anchor_rule_matches_githubs():
    # Headings of this project, with the anchors GitHub gives them.
    page = ROOT / "README.md"
    assert {"the-four-equations-five-ways", "one-neuron-through-the-engine"} <= anchors(page)
