"""The statistics of ``PromptExperiment.results``: intervals, tests, Holm's correction and
sample sizes. Pure functions of plain lists; scipy is imported by the functions that need it
(it is the optional extra ``experiments``), never at import.

Choices, and why:
- a mean's interval is Student's t (small samples are the rule in prompt tests);
- a percentile's interval is distribution-free, from the order statistics and the binomial
  distribution (latencies are skewed: no normal assumption);
- a rate's interval is Wilson's score interval (it stays inside [0, 1] and behaves with zero
  events, unlike the normal one);
- feedback is compared by Welch's t-test (means; unequal variances), latency by the
  Mann-Whitney U test (skewed, heavy-tailed), a rate by Fisher's exact test (errors are rare
  and counts small, where the z-test's approximation fails);
- the samples needed are the classic normal-approximation sizes at the observed effect
  (two-sided alpha 0.05, power 0.8): for means, for proportions, and Noether's formula for
  the Mann-Whitney test. They are planning figures, not guarantees: an observed effect is
  itself uncertain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

ALPHA = 0.05
POWER = 0.8


@dataclass(frozen=True)
class Estimate:
    """A figure with its 95% interval (``low``, ``high``: None when the samples are too few,
    or scipy is not installed) over ``n`` samples."""

    value: float | None
    low: float | None
    high: float | None
    n: int

    def __str__(self) -> str:
        if self.value is None:
            return "-"
        text = _num(self.value)
        if self.low is not None and self.high is not None:
            text += f" [{_num(self.low)}, {_num(self.high)}]"
        return text


def _num(x: float) -> str:
    return f"{x:.4g}"


def have_scipy() -> bool:
    try:
        import scipy.stats  # noqa: F401
    except ImportError:
        return False
    return True


def mean(xs: Sequence[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def percentile(xs: Sequence[float], q: float) -> float | None:
    """Linear interpolation between the closest ranks (numpy's default)."""
    if not xs:
        return None
    s = sorted(xs)
    pos = (len(s) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def stdev(xs: Sequence[float]) -> float:
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def mean_estimate(xs: Sequence[float], intervals: bool) -> Estimate:
    n = len(xs)
    m = mean(xs)
    if m is None or n < 2 or not intervals:
        return Estimate(m, None, None, n)
    from scipy import stats

    half = float(stats.t.ppf(1 - ALPHA / 2, n - 1)) * stdev(xs) / math.sqrt(n)
    return Estimate(m, m - half, m + half, n)


def percentile_estimate(xs: Sequence[float], q: float, intervals: bool) -> Estimate:
    """The q-th quantile; its interval is [x_(l), x_(u)] with l and u the binomial
    quantiles of Bin(n, q): at least 95% coverage whatever the distribution. A bound that
    n samples cannot reach (e.g. the p95 of 10 samples has no upper one) is None."""
    n = len(xs)
    value = percentile(xs, q)
    if value is None or not intervals:
        return Estimate(value, None, None, n)
    from scipy import stats

    s = sorted(xs)
    lo = int(stats.binom.ppf(ALPHA / 2, n, q))  # (1-based rank of the lower bound)
    hi = int(stats.binom.ppf(1 - ALPHA / 2, n, q)) + 1
    low = s[lo - 1] if lo >= 1 else None
    high = s[hi - 1] if hi <= n else None
    return Estimate(value, low, high, n)


def rate_estimate(events: int, n: int, intervals: bool) -> Estimate:
    """``events / n`` with Wilson's score interval."""
    if n == 0:
        return Estimate(None, None, None, 0)
    p = events / n
    if not intervals:
        return Estimate(p, None, None, n)
    from scipy import stats

    z = float(stats.norm.ppf(1 - ALPHA / 2))
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # (at 0 or n events the bound is exactly 0 or 1: no rounding residue like 2.8e-17)
    low = 0.0 if events == 0 else max(0.0, centre - half)
    high = 1.0 if events == n else min(1.0, centre + half)
    return Estimate(p, low, high, n)


def welch(a: Sequence[float], b: Sequence[float]) -> tuple[float, float] | None:
    """Welch's t statistic and two-sided p-value of ``a`` against ``b`` (None: fewer than
    two samples on a side, or both without any spread)."""
    if len(a) < 2 or len(b) < 2 or (stdev(a) == 0 and stdev(b) == 0):
        return None
    from scipy import stats

    t, p = stats.ttest_ind(a, b, equal_var=False)
    return float(t), float(p)


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> tuple[float, float] | None:
    """The U statistic of ``a`` and the two-sided p-value (None: a side without samples)."""
    if not a or not b:
        return None
    from scipy import stats

    u, p = stats.mannwhitneyu(a, b, alternative="two-sided")
    return float(u), float(p)


def fisher(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float] | None:
    """Fisher's exact test of k1/n1 against k2/n2: the odds ratio and two-sided p-value."""
    if n1 == 0 or n2 == 0:
        return None
    from scipy import stats

    odds, p = stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]])
    return float(odds), float(p)


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment of a family of p-values (None: no test, not counted):
    the i-th smallest of m is multiplied by m - i + 1, then made non-decreasing."""
    present = sorted((p, i) for i, p in enumerate(pvalues) if p is not None)
    m = len(present)
    adjusted: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, (p, i) in enumerate(present):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def _z_sum() -> float:
    from scipy import stats

    return float(stats.norm.ppf(1 - ALPHA / 2) + stats.norm.ppf(POWER))


def n_for_means(a: Sequence[float], b: Sequence[float]) -> int | None:
    """Samples per group for a two-sided test of the observed difference in means:
    (z_a + z_b)^2 (s_a^2 + s_b^2) / d^2. None when the difference is zero."""
    if len(a) < 2 or len(b) < 2:
        return None
    d = sum(a) / len(a) - sum(b) / len(b)
    if d == 0:
        return None
    return math.ceil(_z_sum() ** 2 * (stdev(a) ** 2 + stdev(b) ** 2) / d**2)


def n_for_proportions(p1: float, p2: float) -> int | None:
    """Samples per group to tell proportions p1 and p2 apart (pooled variance under the
    null, separate under the alternative). None when they are equal."""
    if p1 == p2:
        return None
    from scipy import stats

    za = float(stats.norm.ppf(1 - ALPHA / 2))
    zb = float(stats.norm.ppf(POWER))
    pbar = (p1 + p2) / 2
    root = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(root**2 / (p1 - p2) ** 2)


def n_for_mann_whitney(superiority: float) -> int | None:
    """Samples per group for the Mann-Whitney test (Noether, 1987, equal groups): the total
    N = (z_a + z_b)^2 / (3 (p - 1/2)^2), p = P(X > Y) observed (U / (n1 n2))."""
    if superiority == 0.5:
        return None
    return math.ceil(_z_sum() ** 2 / (3 * (superiority - 0.5) ** 2) / 2)
