"""The conversations' figures summed up per variant, and each variant compared with the
baseline: the rows of ``PromptExperiment.results``."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from fastconverse._experiments import stats
from fastconverse._experiments.records import usage_of
from fastconverse._experiments.stats import Estimate

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any


@dataclass(frozen=True)
class VariantResult:
    """One variant's figures. Latency and time to first token are seconds per model request
    (measured by the client; the first token only in streams); ``error_rate`` is failed
    turns over turns tried; tokens and cost are of committed turns (cost only with prices)."""

    variant: str
    conversations: int
    turns: int
    failed_turns: int
    requests: int
    throttles: int
    error_rate: Estimate
    latency_mean: Estimate
    latency_p50: Estimate
    latency_p95: Estimate
    ttft_mean: Estimate
    ttft_p50: Estimate
    ttft_p95: Estimate
    input_tokens: int
    output_tokens: int
    output_tokens_per_turn: Estimate
    cost: float | None
    cost_per_conversation: Estimate | None
    feedback: Estimate
    stop_reasons: dict[str, int] = field(default_factory=dict)
    error_codes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Comparison:
    """A variant against the baseline on one metric (``"feedback"``: Welch's t-test;
    ``"latency"``: Mann-Whitney U; ``"error_rate"``: Fisher's exact test). ``effect`` is the
    variant's figure minus the baseline's (means, medians, rates); ``p_adjusted`` is Holm's
    over the variants compared on the metric; ``samples_needed`` the samples per variant
    that would tell this effect apart at alpha 0.05 with power 0.8, ``more_samples`` how
    many more than the smaller side has (None: no effect observed, or too few samples)."""

    metric: str
    variant: str
    baseline: str
    test: str
    n: int
    n_baseline: int
    effect: float | None
    statistic: float | None
    p_value: float | None
    p_adjusted: float | None
    significant: bool
    samples_needed: int | None
    more_samples: int | None


class _Pool:
    """A variant's figures, all its conversations together."""

    def __init__(self) -> None:
        self.conversations = 0
        self.counts = dict.fromkeys(("turns", "failed", "requests", "throttles"), 0)
        self.samples: dict[str, list[float]] = {
            k: [] for k in ("latency", "ttft", "input_tokens", "output_tokens", "feedback")
        }
        self.tallies: dict[str, dict[str, int]] = {"stop_reasons": {}, "error_codes": {}}
        self.costs: list[float] = []

    def add(self, figures: Mapping[str, Any], prices: Any) -> None:
        self.conversations += 1
        for name in self.counts:
            self.counts[name] += int(figures.get(name, 0))
        for name, kept in self.samples.items():
            kept.extend(float(x) for x in figures.get(name, ()))
        for name, tally in self.tallies.items():
            for key, n in figures.get(name, {}).items():
                tally[key] = tally.get(key, 0) + int(n)
        if prices is not None:
            from fastconverse._records.cost import cost

            self.costs.append(cost(usage_of(figures), prices))


def _row(name: str, pool: _Pool, priced: bool, intervals: bool) -> VariantResult:
    s, c = pool.samples, pool.counts
    lat, ttft = s["latency"], s["ttft"]
    return VariantResult(
        variant=name,
        conversations=pool.conversations,
        turns=c["turns"],
        failed_turns=c["failed"],
        requests=c["requests"],
        throttles=c["throttles"],
        error_rate=stats.rate_estimate(c["failed"], c["turns"] + c["failed"], intervals),
        latency_mean=stats.mean_estimate(lat, intervals),
        latency_p50=stats.percentile_estimate(lat, 0.5, intervals),
        latency_p95=stats.percentile_estimate(lat, 0.95, intervals),
        ttft_mean=stats.mean_estimate(ttft, intervals),
        ttft_p50=stats.percentile_estimate(ttft, 0.5, intervals),
        ttft_p95=stats.percentile_estimate(ttft, 0.95, intervals),
        input_tokens=int(sum(s["input_tokens"])),
        output_tokens=int(sum(s["output_tokens"])),
        output_tokens_per_turn=stats.mean_estimate(s["output_tokens"], intervals),
        cost=sum(pool.costs) if priced else None,
        cost_per_conversation=stats.mean_estimate(pool.costs, intervals) if priced else None,
        feedback=stats.mean_estimate(s["feedback"], intervals),
        stop_reasons=dict(sorted(pool.tallies["stop_reasons"].items())),
        error_codes=dict(sorted(pool.tallies["error_codes"].items())),
    )


def _more(needed: int | None, n: int, n_base: int) -> int | None:
    return None if needed is None else max(0, needed - min(n, n_base))


def _compare(metric: str, name: str, base: str, a: _Pool, b: _Pool) -> Comparison:
    """One comparison, before Holm's adjustment."""
    effect: float | None = None
    needed: int | None = None
    if metric == "feedback":
        x, y = a.samples["feedback"], b.samples["feedback"]
        test, result, n, nb = "Welch's t", stats.welch(x, y), len(x), len(y)
        if x and y:
            effect = sum(x) / len(x) - sum(y) / len(y)
        needed = stats.n_for_means(x, y)
    elif metric == "latency":
        x, y = a.samples["latency"], b.samples["latency"]
        test, result, n, nb = "Mann-Whitney U", stats.mann_whitney(x, y), len(x), len(y)
        if result is not None:
            effect = float(stats.percentile(x, 0.5) or 0) - float(stats.percentile(y, 0.5) or 0)
            needed = stats.n_for_mann_whitney(result[0] / (n * nb))
    else:
        k, n = a.counts["failed"], a.counts["failed"] + a.counts["turns"]
        kb, nb = b.counts["failed"], b.counts["failed"] + b.counts["turns"]
        test, result = "Fisher's exact", stats.fisher(k, n, kb, nb)
        if n and nb:
            effect = k / n - kb / nb
            needed = stats.n_for_proportions(k / n, kb / nb)
    return Comparison(
        metric=metric,
        variant=name,
        baseline=base,
        test=test,
        n=n,
        n_baseline=nb,
        effect=effect,
        statistic=result[0] if result is not None else None,
        p_value=result[1] if result is not None else None,
        p_adjusted=None,
        significant=False,
        samples_needed=needed,
        more_samples=_more(needed, n, nb),
    )


METRICS = ("feedback", "latency", "error_rate")


def summarize(
    records: Sequence[tuple[str, Mapping[str, Any]]],
    variants: Sequence[str],
    baseline: str,
    prices: Mapping[str, Mapping[str, float]] | None,
    with_stats: bool,
) -> tuple[list[VariantResult], list[Comparison]]:
    """``records``: (variant, figures) of each conversation. Variants no longer in the
    experiment are left out. ``with_stats``: intervals and comparisons (scipy)."""
    pools = {name: _Pool() for name in variants}
    for variant, figures in records:
        pool = pools.get(variant)
        if pool is not None:
            pool.add(figures, prices)
    rows = [_row(name, pools[name], prices is not None, with_stats) for name in variants]
    if not with_stats:
        return rows, []
    comparisons: list[Comparison] = []
    others = [name for name in variants if name != baseline]
    for metric in METRICS:
        family = [_compare(metric, n, baseline, pools[n], pools[baseline]) for n in others]
        adjusted = stats.holm([c.p_value for c in family])
        for c, p in zip(family, adjusted):
            significant = p is not None and p < stats.ALPHA
            comparisons.append(replace(c, p_adjusted=p, significant=significant))
    return rows, comparisons
