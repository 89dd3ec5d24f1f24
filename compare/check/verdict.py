"""What the check says: a verdict, and the findings behind it, as text and as HTML.

A Verdict's repr is the verdict as text, so that a notebook cell ending in `check(MyMLP)`
shows it; `_repr_html_` is the same in HTML for Jupyter. exit_code maps the outcome to the
command's exit status: 0 passed, 1 diagnosed, 2 could not load.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field

PASSED, DIAGNOSED, NOT_LOADED = "passed", "diagnosed", "could not load"
EXIT_CODES = {PASSED: 0, DIAGNOSED: 1, NOT_LOADED: 2}

# The order findings are told in: what stops everything first, then the forward pass, the cost,
# the equations from the output back, the batch, the update.
# A crash comes after the equations: a named mistake (a W not transposed) often explains it.
KINDS = ("conformance", "not implemented", "timed out", "forward", "cost",
         "BP1", "BP2", "BP3", "BP4", "batch", "update", "crashed", "finite differences")


@dataclass
class Finding:
    kind: str  # one of KINDS
    summary: str  # the one line: "BP2 is wrong between hidden layer 1 and hidden layer 2: σ′(z¹) left out"
    equation: str = ""  # the right equation, written out
    found: str = ""  # what the implementation computes instead, when the mistake is recognized
    mistake: str | None = None  # its short name: "σ′ left out", "sign error", "sum instead of mean", ...
    relative_error: float | None = None
    where: str = ""  # "in 12 of the 12 networks with 2 hidden layers"
    layers: tuple[int, ...] = ()
    traceback: str = ""

    def text_lines(self) -> list[str]:
        lines = [self.summary]
        if self.equation:
            lines.append(f"    expected  {self.equation}")
        if self.found:
            lines.append(f"    found     {self.found}")
        tail = []
        if self.relative_error is not None:
            tail.append(f"relative error {self.relative_error:.1e}")
        if self.where:
            tail.append(self.where)
        if tail:
            lines.append("    " + ", ".join(tail))
        return lines

    def to_dict(self) -> dict:
        data = asdict(self)
        data["layers"] = list(self.layers)
        return data


@dataclass
class Verdict:
    target: str  # what was checked, as the learner named it
    outcome: str  # PASSED, DIAGNOSED or NOT_LOADED
    findings: list[Finding] = field(default_factory=list)
    checked: str = ""  # which networks, in one line
    agreement: str = ""  # the worst relative errors when it passed
    notes: list[str] = field(default_factory=list)  # networks skipped because the class refused them
    load_error: str = ""  # NOT_LOADED: the one line; load_traceback: the learner's traceback, if any
    load_traceback: str = ""

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.outcome]

    @property
    def passed(self) -> bool:
        return self.outcome == PASSED

    def __bool__(self) -> bool:
        return self.passed

    def headline(self) -> str:
        if self.outcome == DIAGNOSED:
            count = len(self.findings)
            return f"{self.target}: diagnosed, {count} problem{'s' if count != 1 else ''}"
        return f"{self.target}: {self.outcome}"

    def text(self) -> str:
        lines = [self.headline()]
        if self.outcome == NOT_LOADED:
            lines.append(f"  {self.load_error}")
            if self.load_traceback:
                lines += ["    " + line for line in self.load_traceback.rstrip("\n").splitlines()]
            return "\n".join(lines)
        for finding in self.findings:
            first, *rest = finding.text_lines()
            lines.append(f"  - {first}")
            lines += [f"  {line}" for line in rest]
        if self.agreement:
            lines.append(f"  {self.agreement}")
        if self.checked:
            lines.append(f"  checked on {self.checked}")
        lines += [f"  {note}" for note in self.notes]
        return "\n".join(lines)

    __str__ = text

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        colour = {PASSED: "#1a7f37", DIAGNOSED: "#b35900", NOT_LOADED: "#cf222e"}[self.outcome]
        e = html.escape
        parts = [f'<div class="mnist-check"><p><strong style="color:{colour}">{e(self.headline())}</strong></p>']
        if self.outcome == NOT_LOADED:
            parts.append(f"<p>{e(self.load_error)}</p>")
            if self.load_traceback:
                parts.append(f"<pre>{e(self.load_traceback)}</pre>")
            return "".join(parts) + "</div>"
        if self.findings:
            parts.append("<ul>")
            for finding in self.findings:
                item = [f"<li><strong>{e(finding.summary)}</strong>"]
                if finding.equation:
                    item.append(f"<br>expected <code>{e(finding.equation)}</code>")
                if finding.found:
                    item.append(f"<br>found <code>{e(finding.found)}</code>")
                extra = ", ".join(part for part in (
                    f"relative error {finding.relative_error:.1e}" if finding.relative_error is not None else "",
                    finding.where) if part)
                if extra:
                    item.append(f"<br>{e(extra)}")
                if finding.traceback:
                    item.append(f"<details><summary>traceback</summary><pre>{e(finding.traceback)}</pre></details>")
                parts.append("".join(item) + "</li>")
            parts.append("</ul>")
        for line in (self.agreement, f"checked on {self.checked}" if self.checked else "", *self.notes):
            if line:
                parts.append(f"<p>{e(line)}</p>")
        return "".join(parts) + "</div>"

    def to_dict(self) -> dict:
        return {
            "target": self.target,
            "outcome": self.outcome,
            "exit_code": self.exit_code,
            "findings": [finding.to_dict() for finding in self.findings],
            "checked": self.checked,
            "agreement": self.agreement,
            "notes": self.notes,
            "load_error": self.load_error,
            "load_traceback": self.load_traceback,
        }
