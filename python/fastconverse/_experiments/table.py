"""``ExperimentResults``: the rows of ``PromptExperiment.results`` as text, HTML (a
notebook's table, every text escaped) and pandas DataFrames."""

from __future__ import annotations

import html
import math
from dataclasses import fields

from fastconverse._experiments.stats import Estimate
from fastconverse._experiments.summary import Comparison, VariantResult

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

# (column title, VariantResult field, scale) of the text and HTML tables: seconds are shown
# as milliseconds; an interval only where it is read most (the rest: results' rows)
_COLUMNS = (
    ("variant", "variant", None),
    ("convs", "conversations", None),
    ("turns", "turns", None),
    ("error rate", "error_rate", 1.0),
    ("throttles", "throttles", None),
    ("latency ms", "latency_mean", 1000.0),
    ("p50 ms", "latency_p50", 1000.0),
    ("p95 ms", "latency_p95", 1000.0),
    ("ttft p50 ms", "ttft_p50", 1000.0),
    ("out tokens/turn", "output_tokens_per_turn", 1.0),
    ("cost", "cost", None),
    ("feedback", "feedback", 1.0),
)
_WITH_INTERVAL = ("error_rate", "latency_p50", "feedback")


def _cell(value: Any, scale: float | None = None, interval: bool = False) -> str:
    if isinstance(value, Estimate):
        if value.value is None:
            return "-"
        k = scale or 1.0
        text = _cell(value.value * k)
        if interval and value.low is not None and value.high is not None:
            text += f" [{_cell(value.low * k)}, {_cell(value.high * k)}]"
        return text
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)


def _effect(c: Comparison) -> str:
    """A comparison's effect, signed, latency in milliseconds as in the variants' table."""
    if c.effect is None:
        return "-"
    if c.metric == "latency":
        return f"{c.effect * 1000:+.4g} ms"
    return f"{c.effect:+.4g}"


def _cells(row: VariantResult) -> list[str]:
    return [_cell(getattr(row, n), k, n in _WITH_INTERVAL) for _, n, k in _COLUMNS]


def _flat(row: Any) -> dict[str, Any]:
    """A row as one flat dict: an ``Estimate`` becomes its value, ``_low``, ``_high``."""
    out: dict[str, Any] = {}
    for f in fields(row):
        value = getattr(row, f.name)
        if isinstance(value, Estimate):
            out[f.name] = value.value
            out[f"{f.name}_low"] = value.low
            out[f"{f.name}_high"] = value.high
        elif f.name == "cost_per_conversation":  # (None without prices: same columns)
            out.update({f.name: None, f"{f.name}_low": None, f"{f.name}_high": None})
        else:
            out[f.name] = value
    return out


class ExperimentResults:
    """``variants`` (a ``VariantResult`` per variant, in the experiment's order) and
    ``comparisons`` (a ``Comparison`` per metric and variant other than the baseline).
    Iterating gives the variant rows; ``results["name"]`` one of them; ``note`` says what
    is missing (scipy, for intervals and comparisons)."""

    def __init__(
        self,
        experiment: str,
        baseline: str,
        variants: list[VariantResult],
        comparisons: list[Comparison],
        note: str | None,
    ) -> None:
        self.experiment = experiment
        self.baseline = baseline
        self.variants = variants
        self.comparisons = comparisons
        self.note = note

    def __iter__(self) -> Iterator[VariantResult]:
        return iter(self.variants)

    def __len__(self) -> int:
        return len(self.variants)

    def __getitem__(self, variant: str) -> VariantResult:
        for row in self.variants:
            if row.variant == variant:
                return row
        raise KeyError(f"no variant {variant!r}; the variants are {self.names()}")

    def names(self) -> list[str]:
        return [row.variant for row in self.variants]

    def comparison(self, variant: str, metric: str) -> Comparison:
        """The comparison of ``variant`` with the baseline on ``metric``."""
        for c in self.comparisons:
            if c.variant == variant and c.metric == metric:
                return c
        raise KeyError(f"no comparison of {variant!r} on {metric!r}")

    def to_pandas(self, which: str = "variants") -> Any:
        """A DataFrame of the variant rows (``which="variants"``; each interval as ``_low``
        and ``_high`` columns) or of the comparisons (``"comparisons"``). Needs pandas."""
        if which not in ("variants", "comparisons"):
            raise ValueError(f"which: expected 'variants' or 'comparisons', got {which!r}")
        try:
            import pandas
        except ImportError:
            raise ImportError(
                "to_pandas() needs pandas, which is not installed: pip install pandas "
                "(the rows are in .variants and .comparisons without it)"
            ) from None
        rows = self.variants if which == "variants" else self.comparisons
        frame = pandas.DataFrame([_flat(row) for row in rows])
        return frame.set_index("variant") if which == "variants" and len(frame) else frame

    def __str__(self) -> str:
        lines = [f"experiment {self.experiment!r} (baseline {self.baseline!r})"]
        table = [[title for title, _, _ in _COLUMNS]]
        table += [_cells(row) for row in self.variants]
        lines += _aligned(table)
        if self.comparisons:
            lines.append("")
            head = ["metric", "variant", "effect", "test", "p", "p (Holm)", "", "more samples"]
            body = [
                [
                    c.metric,
                    c.variant,
                    _effect(c),
                    c.test,
                    _cell(c.p_value),
                    _cell(c.p_adjusted),
                    "*" if c.significant else "",
                    _cell(c.more_samples),
                ]
                for c in self.comparisons
            ]
            lines += _aligned([head, *body])
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"ExperimentResults(experiment={self.experiment!r}, variants={self.names()!r}, "
            f"comparisons={len(self.comparisons)})"
        )

    def _repr_html_(self) -> str:
        esc = html.escape
        top = max((r.feedback.value or 0.0 for r in self.variants), default=0.0)
        out = [f"<div><b>experiment {esc(self.experiment)}</b> (baseline {esc(self.baseline)})"]
        out.append("<table><tr>" + "".join(f"<th>{esc(t)}</th>" for t, _, _ in _COLUMNS))
        out.append("<th></th></tr>")
        for row in self.variants:
            cells = "".join(f"<td>{esc(c)}</td>" for c in _cells(row))
            # (a bar of the mean feedback, as wide as its share of the best variant's)
            width = 0 if not top else round(100 * (row.feedback.value or 0.0) / top)
            bar = f'<div style="background:#4c78a8;height:0.8em;width:{width}px"></div>'
            out.append(f"<tr>{cells}<td>{bar}</td></tr>")
        out.append("</table>")
        if self.comparisons:
            head = ("metric", "variant", "test", "effect", "p", "p (Holm)", "more samples")
            out.append("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr>")
            for c in self.comparisons:
                values = (c.metric, c.variant, c.test, _effect(c), c.p_value, c.p_adjusted)
                cells = "".join(f"<td>{esc(_cell(v))}</td>" for v in values)
                weight = ' style="font-weight:bold"' if c.significant else ""
                out.append(f"<tr{weight}>{cells}<td>{esc(_cell(c.more_samples))}</td></tr>")
            out.append("</table>")
        if self.note:
            out.append(f"<p>{esc(self.note)}</p>")
        out.append("</div>")
        return "".join(out)


def _aligned(table: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table]
