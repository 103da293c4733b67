"""``PromptExperiment.results()``'s statistics against hand-computed cases (and scipy's own
functions, called directly on the same samples): intervals, Welch's t-test, Mann-Whitney U,
Fisher's exact test, Holm's correction, the samples needed; results without scipy; the
table as text, HTML and pandas."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from typing import Any

import pytest
from conftest import fc_client
from fastconverse import PromptExperiment, errors
from fastconverse.testing import FakeBedrock
from scipy import stats

Z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)  # (alpha 0.05 two-sided, power 0.8)


def with_feedback(fake: FakeBedrock, scores: dict[str, list[float]], **kwargs: Any) -> Any:
    """An experiment whose variants have these feedback scores (one conversation each)."""
    exp = PromptExperiment(
        fc_client(fake), dict.fromkeys(scores, "Be helpful."), assignment="round_robin", **kwargs
    )
    for name in scores:
        conv = exp.start_conversation()
        assert conv.metadata["variant"] == name
        for score in scores[name]:
            exp.record_feedback(conv, score)
    return exp


def test_feedback_interval_welch_and_samples_by_hand(fake_bedrock: FakeBedrock) -> None:
    a = [3.0, 4.0, 5.0, 4.0, 3.0, 5.0, 4.0]
    b = [4.0, 5.0, 5.0, 6.0, 5.0, 4.0, 6.0, 5.0]
    res = with_feedback(fake_bedrock, {"a": a, "b": b}).results()

    def mean_var(xs: list[float]) -> tuple[float, float]:
        m = sum(xs) / len(xs)
        return m, sum((x - m) ** 2 for x in xs) / (len(xs) - 1)

    (ma, va), (mb, vb) = mean_var(a), mean_var(b)
    half = stats.t.ppf(0.975, len(b) - 1) * math.sqrt(vb / len(b))
    fb = res["b"].feedback
    assert (fb.value, fb.n) == (mb, 8)
    assert (fb.low, fb.high) == pytest.approx((mb - half, mb + half))

    se2 = va / len(a) + vb / len(b)
    t = (mb - ma) / math.sqrt(se2)
    df = se2**2 / ((va / len(a)) ** 2 / (len(a) - 1) + (vb / len(b)) ** 2 / (len(b) - 1))
    c = res.comparison("b", "feedback")
    assert (c.test, c.baseline, c.n, c.n_baseline) == ("Welch's t", "a", 8, 7)
    assert c.effect == pytest.approx(mb - ma)
    assert c.statistic == pytest.approx(t)
    assert c.p_value == pytest.approx(2 * stats.t.sf(abs(t), df))
    assert c.p_value == pytest.approx(stats.ttest_ind(b, a, equal_var=False).pvalue)
    assert c.p_adjusted == c.p_value  # (one comparison: Holm changes nothing)
    assert c.significant == (c.p_value < 0.05)
    needed = math.ceil(Z**2 * (va + vb) / (mb - ma) ** 2)
    assert c.samples_needed == needed and c.more_samples == max(0, needed - 7)


def test_holm_over_several_variants(fake_bedrock: FakeBedrock) -> None:
    base = [3.0, 3.0, 4.0, 3.0, 2.0, 3.0]
    scores = {
        "base": base,
        "far": [5.0, 5.0, 4.0, 5.0, 5.0, 4.0],
        "near": [3.0, 4.0, 4.0, 3.0, 3.0, 4.0],
        "same": [3.0, 2.0, 4.0, 3.0, 3.0, 3.0],
    }
    res = with_feedback(fake_bedrock, scores).results()
    rows = [res.comparison(name, "feedback") for name in ("far", "near", "same")]
    for row, name in zip(rows, ("far", "near", "same")):
        assert row.p_value == pytest.approx(
            stats.ttest_ind(scores[name], base, equal_var=False).pvalue
        )
    # Holm by hand: the i-th smallest of m p-values times (m - i), kept non-decreasing.
    ps = sorted((r.p_value, r.variant) for r in rows if r.p_value is not None)
    expected, running = {}, 0.0
    for i, (p, name) in enumerate(ps):
        running = max(running, min(1.0, (len(ps) - i) * p))
        expected[name] = running
    assert {r.variant: r.p_adjusted for r in rows} == pytest.approx(expected)
    assert res.comparison("far", "feedback").significant
    assert not res.comparison("same", "feedback").significant


def test_holm_on_a_textbook_case() -> None:
    from fastconverse._experiments.stats import holm

    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, None, 0.01]) == pytest.approx([0.5, None, 0.02])
    assert holm([0.6, 0.9]) == [1.0, 1.0]


def test_error_rate_interval_and_fishers_test(fake_bedrock: FakeBedrock) -> None:
    exp = PromptExperiment(
        fc_client(fake_bedrock, max_attempts=1), {"a": "A.", "b": "B."}, assignment="round_robin"
    )
    conv_a, conv_b = exp.start_conversation(), exp.start_conversation()
    for conv, failures, oks in ((conv_a, 1, 9), (conv_b, 5, 5)):
        for _ in range(failures):
            fake_bedrock.enqueue_error("InternalServerException")
            with pytest.raises(errors.InternalServerError):
                conv.send("q")
        for _ in range(oks):
            conv.send("q")
    res = exp.results()
    rate = res["b"].error_rate
    z = stats.norm.ppf(0.975)
    p, n = 0.5, 10
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert (rate.value, rate.n) == (0.5, 10)
    assert (rate.low, rate.high) == pytest.approx((centre - half, centre + half))
    assert res["a"].error_rate.value == 0.1

    c = res.comparison("b", "error_rate")
    assert c.test == "Fisher's exact" and c.effect == pytest.approx(0.4)
    assert c.p_value == pytest.approx(stats.fisher_exact([[5, 5], [1, 9]])[1])
    pbar = 0.3
    root = stats.norm.ppf(0.975) * math.sqrt(2 * pbar * (1 - pbar)) + stats.norm.ppf(0.8) * (
        math.sqrt(0.5 * 0.5 + 0.1 * 0.9)
    )
    assert c.samples_needed == math.ceil(root**2 / 0.4**2)


def test_latency_percentiles_and_mann_whitney(fake_bedrock: FakeBedrock) -> None:
    exp = PromptExperiment(
        fc_client(fake_bedrock), {"fast": "F.", "slow": "S."}, assignment="round_robin"
    )
    fast, slow = exp.start_conversation(), exp.start_conversation()
    for i in range(12):
        fake_bedrock.enqueue_text("ok", first_byte_delay=0.001 * (i % 3))
        fast.send("q")
        fake_bedrock.enqueue_text("ok", first_byte_delay=0.02 + 0.001 * (i % 3))
        slow.send("q")
    x = fast.metadata["experiment_figures"]["latency"]
    y = slow.metadata["experiment_figures"]["latency"]
    res = exp.results()

    row = res["slow"]
    ys = sorted(y)
    assert row.latency_mean.value == pytest.approx(sum(y) / 12)
    # p50: linear interpolation between ranks; its interval the order statistics that the
    # binomial Bin(12, 0.5) puts around it.
    assert row.latency_p50.value == pytest.approx((ys[5] + ys[6]) / 2)
    lo = int(stats.binom.ppf(0.025, 12, 0.5))
    hi = int(stats.binom.ppf(0.975, 12, 0.5)) + 1
    assert (row.latency_p50.low, row.latency_p50.high) == (ys[lo - 1], ys[hi - 1])
    assert row.latency_p95.high is None  # (12 samples cannot bound a p95 from above)
    assert row.latency_p95.value == pytest.approx(ys[10] + (ys[11] - ys[10]) * 0.45)

    c = res.comparison("slow", "latency")
    u, p = stats.mannwhitneyu(y, x, alternative="two-sided")
    assert (c.test, c.statistic, c.p_value) == (
        "Mann-Whitney U",
        pytest.approx(u),
        pytest.approx(p),
    )
    assert c.significant and c.effect is not None and c.effect > 0.015
    superiority = u / (12 * 12)
    assert c.samples_needed == math.ceil(Z**2 / (3 * (superiority - 0.5) ** 2) / 2)


def test_no_effect_needs_no_sample_size(fake_bedrock: FakeBedrock) -> None:
    res = with_feedback(fake_bedrock, {"a": [3.0, 4.0], "b": [4.0, 3.0]}).results()
    c = res.comparison("b", "feedback")
    assert (c.effect, c.samples_needed, c.more_samples) == (0.0, None, None)
    few = with_feedback(fake_bedrock, {"a": [3.0], "b": []}).results()
    c = few.comparison("b", "feedback")
    assert (c.p_value, c.p_adjusted, c.significant) == (None, None, False)
    assert few["b"].feedback.value is None and few["a"].feedback.low is None


WITHOUT_SCIPY = """
import sys
sys.modules["scipy"] = None   # (as if it were not installed: `import scipy` fails)
sys.path.insert(0, {path!r})
from fastconverse import ConverseClient, PromptExperiment
from fastconverse.testing import FakeBedrock
with FakeBedrock() as fake:
    client = ConverseClient("m", endpoint_url=fake.url, region_name="us-east-1",
                            aws_access_key_id="a", aws_secret_access_key="b")
    exp = PromptExperiment(client, {{"a": "A.", "b": "B."}}, assignment="round_robin")
    for _ in range(4):
        conv = exp.start_conversation()
        conv.send("hi")
        exp.record_feedback(conv, 3)
    res = exp.results()
    assert res.comparisons == [] and res["a"].feedback.value == 3.0
    assert res["a"].latency_mean.n == 2 and res["a"].latency_mean.low is None
    print(res)
"""


def test_without_scipy_results_give_the_figures_and_say_why_no_more() -> None:
    import fastconverse

    path = os.path.dirname(os.path.dirname(fastconverse.__file__))
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_SCIPY.format(path=path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Intervals and comparisons need scipy: pip install" in done.stdout
    assert "fastconverse[experiments]" in done.stdout


def test_results_as_text_html_and_pandas(fake_bedrock: FakeBedrock) -> None:
    scores = {"<b>plain</b>": [3.0, 4.0, 3.0], "warm & kind": [5.0, 4.0, 5.0]}
    res = with_feedback(fake_bedrock, scores, name="tone <test>").results()
    html = res._repr_html_()
    assert "&lt;b&gt;plain&lt;/b&gt;" in html and "warm &amp; kind" in html
    assert "tone &lt;test&gt;" in html and "<b>plain</b>" not in html
    text = str(res)
    assert "experiment 'tone <test>'" in text and "Welch's t" in text
    assert len(res) == 2 and [r.variant for r in res] == list(scores)

    frame = res.to_pandas()
    assert list(frame.index) == list(scores)
    assert frame.loc["warm & kind", "feedback"] == pytest.approx(14 / 3)
    assert frame.loc["warm & kind", "feedback_low"] == res["warm & kind"].feedback.low
    comparisons = res.to_pandas("comparisons")
    assert list(comparisons["metric"]) == ["feedback", "latency", "error_rate"]
    with pytest.raises(KeyError, match="no variant 'x'"):
        res["x"]
