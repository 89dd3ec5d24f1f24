"""The exercise's reference solutions and deliberately broken variants (kept here, not shipped).

A solution is the template with each `# TODO (BPn)` block replaced by its code; a variant is
a solution with a few lines changed, each change a mistake learners make, and what the check
must say of it: the kind of finding (the equation) and the mistake's name.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field

from compare.check.exercise import template

SOLUTIONS = {
    "scratch": {
        "BP1": """
            if self.softmax_output:
                return [aj - yj for aj, yj in zip(a, y)]
            return [(aj - yj) * sigmoid_prime(zj) for aj, yj, zj in zip(a, y, z)]
        """,
        "BP2": """
            return [sum(W_next[j][k] * delta_next[j] for j in range(len(delta_next))) * self.sigma_prime(zk)
                    for k, zk in enumerate(z)]
        """,
        "BP3": """
            return list(delta)
        """,
        "BP4": """
            return [[dj * ak for ak in a_prev] for dj in delta]
        """,
    },
    "numpy": {
        "BP1": """
            if self.softmax_output:
                return A - Y
            return (A - Y) * sigmoid_prime(Z)
        """,
        "BP2": """
            return (delta_next @ W_next) * self.sigma_prime(Z)
        """,
        "BP3": """
            return delta.mean(axis=0)
        """,
        "BP4": """
            return delta.T @ A_prev / len(delta)
        """,
    },
}


def fill(text: str, fills: dict[str, str]) -> str:
    """Replace each `# TODO (BPn) ...` comment and the `raise NotImplementedError(...)` under it."""
    for equation, code in fills.items():
        pattern = re.compile(rf"^( *)# TODO \({equation}\).*\n\1raise NotImplementedError\(.*\)\n", re.MULTILINE)
        match = pattern.search(text)
        assert match, f"no TODO for {equation} in the template"
        indent = match.group(1)
        body = textwrap.indent(textwrap.dedent(code).strip("\n") + "\n", indent)
        text = text[: match.start()] + body + text[match.end():]
    return text


def solution(style: str) -> str:
    return fill(template(style), SOLUTIONS[style])


@dataclass(frozen=True)
class Variant:
    name: str
    style: str
    changes: tuple[tuple[str, str], ...]  # (text in the solution, what it becomes); each must occur once
    kind: str  # the finding the check must make
    mistake: str | None  # its mistake's name (None: wrong, but no classic mistake to name)
    says: str  # words its summary must contain (where)
    also: frozenset[str] = field(default_factory=frozenset)  # other kinds of finding that may come with it

    def source(self) -> str:
        text = solution(self.style)
        for old, new in self.changes:
            assert text.count(old) == 1, f"{self.name}: {old!r} occurs {text.count(old)} times in the solution"
            text = text.replace(old, new)
        return text


SCRATCH_BACK = "sum(W_next[j][k] * delta_next[j] for j in range(len(delta_next)))"

VARIANTS = [
    Variant("BP1: sigma' left out (quadratic cost)", "scratch",
            (("return [(aj - yj) * sigmoid_prime(zj) for aj, yj, zj in zip(a, y, z)]",
              "return [aj - yj for aj, yj in zip(a, y)]"),),
            "BP1", "σ′ left out", "output error"),
    Variant("BP1: sign error", "scratch",
            (("return [aj - yj for aj, yj in zip(a, y)]", "return [yj - aj for aj, yj in zip(a, y)]"),
             ("return [(aj - yj) * sigmoid_prime(zj)", "return [(yj - aj) * sigmoid_prime(zj)")),
            "BP1", "sign error", "output error"),
    Variant("BP1: an extra sigma' under softmax and cross-entropy", "numpy",
            (("            return A - Y\n", "            return (A - Y) * A * (1 - A)\n"),),
            "BP1", "extra σ′", "output error"),
    Variant("BP2 at the output layer: sigma' left out", "scratch",
            ((f"return [{SCRATCH_BACK} * self.sigma_prime(zk)\n                for k, zk in enumerate(z)]",
              f"back = [{SCRATCH_BACK} for k in range(len(z))]\n"
              "        if W_next is self.W[-1]:  # out of the output layer: sigma' forgotten\n"
              "            return back\n"
              "        return [bk * self.sigma_prime(zk) for bk, zk in zip(back, z)]"),),
            "BP2", "σ′ left out", "between the last hidden layer and the output layer"),
    Variant("BP2 between hidden layers: a transposed weight matrix", "numpy",
            (("return (delta_next @ W_next) * self.sigma_prime(Z)",
              "if W_next is self.W[-1]:\n"
              "            return (delta_next @ W_next) * self.sigma_prime(Z)\n"
              "        return (delta_next @ W_next.T) * self.sigma_prime(Z)  # W^(l+1), not transposed"),),
            "BP2", "transposed weights", "between hidden layer 1 and hidden layer 2", frozenset({"crashed"})),
    Variant("BP2 everywhere: a transposed weight matrix (W[k][j] for W[j][k])", "scratch",
            ((SCRATCH_BACK, "sum(W_next[k][j] * delta_next[j] for j in range(len(delta_next)))"),),
            "BP2", "transposed weights", "BP2 is wrong", frozenset({"crashed", "BP2"})),
    Variant("BP2 everywhere: sigma' of a instead of z", "numpy",
            (("return (delta_next @ W_next) * self.sigma_prime(Z)",
              "return (delta_next @ W_next) * self.sigma_prime(self.sigma(Z))"),),
            "BP2", "σ′ of a, not z", "BP2 is wrong", frozenset({"BP2"})),
    Variant("BP3 at the output layer: twice delta", "scratch",
            (("grad_b = [self.bias_gradient(deltas[l]) for l in range(L)]",
              "grad_b = [self.bias_gradient(deltas[l]) for l in range(L - 1)] + [[2 * d for d in deltas[L - 1]]]"),),
            "BP3", None, "at the output layer"),
    Variant("BP3 at the hidden layers: sign error", "numpy",
            (("grad_b = [self.bias_gradient(deltas[l]) for l in range(L)]",
              "grad_b = [self.bias_gradient(deltas[l]) if l == L - 1 else -self.bias_gradient(deltas[l]) for l in range(L)]"),),
            "BP3", "sign error", "hidden layer"),
    Variant("BP4 at the output layer: z instead of a", "scratch",
            (("grad_W = [self.weight_gradient(deltas[l], activations[l]) for l in range(L)]",
              "grad_W = [self.weight_gradient(deltas[l], zs[l - 1] if l == L - 1 and L > 1 else activations[l])\n"
              "                  for l in range(L)]"),),
            "BP4", "z instead of a", "at the output layer"),
    Variant("BP4 at the hidden layers: sign error", "numpy",
            (("grad_W = [self.weight_gradient(deltas[l], As[l]) for l in range(L)]",
              "grad_W = [self.weight_gradient(deltas[l], As[l]) * (1 if l == L - 1 else -1) for l in range(L)]"),),
            "BP4", "sign error", "hidden layer"),
    Variant("sum instead of mean over the batch", "scratch",
            (("mean_W = [[[s / n for s in row] for row in W] for W in sum_W]",
              "mean_W = [[[s for s in row] for row in W] for W in sum_W]"),
             ("mean_b = [[s / n for s in b] for b in sum_b]", "mean_b = [[s for s in b] for b in sum_b]")),
            "batch", "sum instead of mean", "gradients of a batch"),
    Variant("BP3 sums delta over the batch", "numpy",
            (("return delta.mean(axis=0)", "return delta.sum(axis=0)"),),
            "batch", "sum instead of mean", "∂C/∂b of a batch is not the mean"),
    Variant("each sample's gradient replaces the last (= for +=)", "scratch",
            (("sum_b[l] = [s + g for s, g in zip(sum_b[l], grad_b[l])]", "sum_b[l] = list(grad_b[l])"),
             ("sum_W[l] = [[s + g for s, g in zip(s_row, g_row)] for s_row, g_row in zip(sum_W[l], grad_W[l])]",
              "sum_W[l] = [list(g_row) for g_row in grad_W[l]]")),
            "batch", "one sample", "gradients of a batch"),
    Variant("the update: a step up the cost (sign error)", "scratch",
            (("[[w - lr * g for w, g in zip(row, g_row)]", "[[w + lr * g for w, g in zip(row, g_row)]"),
             ("[bj - lr * g for bj, g in zip(self.b[l], grad_b.tolist())]", "[bj + lr * g for bj, g in zip(self.b[l], grad_b.tolist())]")),
            "update", "sign error", "the update"),
    Variant("the update: learning rate left out", "numpy",
            (("self.W[l] = self.W[l] - lr * grad_W", "self.W[l] = self.W[l] - grad_W"),
             ("self.b[l] = self.b[l] - lr * grad_b", "self.b[l] = self.b[l] - grad_b")),
            "update", "learning rate left out", "the update"),
    Variant("forward: sigma left out in the hidden layers", "scratch",
            (("activations.append([self.sigma(zj) for zj in z])", "activations.append(list(z))"),),
            "forward", "σ left out", "hidden layer 1"),
    Variant("the cost: the 1/2 of the quadratic cost left out", "numpy",
            (("return float(0.5 * np.sum((A - Y) ** 2) / len(Y))", "return float(np.sum((A - Y) ** 2) / len(Y))"),),
            "cost", "½ left out", "the cost is wrong"),
]
