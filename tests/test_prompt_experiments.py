"""Prompt experiments (issue 25): ``PromptExperiment`` through the public API against
FakeBedrock over real HTTP: assignment, what each variant sends, the figures its hook
gathers, feedback, store-backed aggregation across clients, ``run`` with judges, and bad
input. The statistics against hand-computed cases: test_prompt_experiment_stats.py."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from conftest import fc_client
from fastconverse import PromptExperiment, Store, Template, Variant, errors
from fastconverse.testing import FakeBedrock
from scipy import stats

PYTHON_DIR = os.path.dirname(os.path.dirname(__import__("fastconverse").__file__))


def figures(conv: Any) -> dict[str, Any]:
    return dict(conv.metadata["experiment_figures"])


# --- assignment --------------------------------------------------------------------------


def test_seeded_random_assignment_is_balanced_and_reproducible(fake_bedrock: FakeBedrock) -> None:
    client = fc_client(fake_bedrock)
    variants = {"a": "A.", "b": "B.", "c": "C."}
    exp = PromptExperiment(client, variants, seed=7)
    convs = [exp.start_conversation() for _ in range(300)]
    names = [c.metadata["variant"] for c in convs]
    counts = Counter(names)
    assert set(counts) == {"a", "b", "c"}
    # (a chi-square test of uniformity: a fair assigner fails it once in a thousand runs;
    # the seed makes this run the same every time)
    assert stats.chisquare([counts[n] for n in "abc"]).pvalue > 0.001
    assert all(c.metadata["experiment"] == "experiment" for c in convs)

    again = PromptExperiment(client, variants, seed=7)
    assert [again.assign() for _ in range(300)] == names
    other = PromptExperiment(client, variants, seed=8)
    assert [other.assign() for _ in range(300)] != names


def test_round_robin_takes_each_variant_in_turn(fake_bedrock: FakeBedrock) -> None:
    exp = PromptExperiment(
        fc_client(fake_bedrock), {"x": "X.", "y": "Y.", "z": "Z."}, assignment="round_robin"
    )
    names = [exp.start_conversation().metadata["variant"] for _ in range(9)]
    assert names == ["x", "y", "z"] * 3


STICKY = """
import sys
sys.path.insert(0, {path!r})
from fastconverse import ConverseClient, PromptExperiment
exp = PromptExperiment(ConverseClient("m", region_name="us-east-1"),
                       {{"a": "A.", "b": "B.", "c": "C."}}, assignment="sticky", name="onboarding")
print(" ".join(exp.assign(user=f"user-{{i}}") for i in range(200)))
"""


def test_sticky_assignment_is_the_same_for_a_user_in_every_process(
    fake_bedrock: FakeBedrock,
) -> None:
    exp = PromptExperiment(
        fc_client(fake_bedrock),
        {"a": "A.", "b": "B.", "c": "C."},
        assignment="sticky",
        name="onboarding",
    )
    here = [exp.assign(user=f"user-{i}") for i in range(200)]
    assert [exp.assign(user=f"user-{i}") for i in range(200)] == here  # (stable)
    conv = exp.start_conversation(user="user-3")
    assert conv.metadata["variant"] == here[3]
    counts = Counter(here)
    assert stats.chisquare([counts[n] for n in "abc"]).pvalue > 0.001

    # Other processes, with other string hash seeds, assign every user the same way.
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", STICKY.format(path=PYTHON_DIR)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == here

    # Another experiment name shuffles users differently.
    other = PromptExperiment(
        fc_client(fake_bedrock), {"a": "A.", "b": "B.", "c": "C."}, assignment="sticky"
    )
    assert [other.assign(user=f"user-{i}") for i in range(200)] != here
    with pytest.raises(ValueError, match=r"user: .*sticky"):
        exp.start_conversation()


# --- what each variant sends ----------------------------------------------------------------


def test_each_variant_sends_its_prompt_model_and_settings(fake_bedrock: FakeBedrock) -> None:
    client = fc_client(fake_bedrock)
    exp = PromptExperiment(
        client,
        {
            "plain": "You are helpful.",
            "persona": Template("You are {name}, for {team}."),
            "bigger": Variant(
                "You are thorough.", model_id="m2", inference_config={"temperature": 0.1}
            ),
            "as_dict": {
                "system_prompt": Template("Speak {lang}."),
                "prompt_variables": {"lang": "Dutch"},
            },
        },
        assignment="round_robin",
    )
    sent = []
    for kwargs in ({}, {"prompt_variables": {"name": "Ada", "team": "support"}}, {}, {}):
        conv = exp.start_conversation(**kwargs)
        conv.send("hello")
        body = fake_bedrock.requests[-1].body
        sent.append(
            (fake_bedrock.requests[-1].model_id, body["system"], body.get("inferenceConfig"))
        )
    assert sent[0] == ("m", [{"text": "You are helpful."}], None)
    assert sent[1] == ("m", [{"text": "You are Ada, for support."}], None)
    assert sent[2][:2] == ("m2", [{"text": "You are thorough."}])
    assert sent[2][2]["temperature"] == pytest.approx(0.1)
    assert sent[3] == ("m", [{"text": "Speak Dutch."}], None)

    # What the variant sets is its own; the experiment's metadata keys too.
    exp2 = PromptExperiment(client, {"a": "A.", "b": Variant("B.", model_id="m2")}, seed=1)
    with pytest.raises(TypeError, match="system_prompt: the experiment's variant"):
        exp2.start_conversation(system_prompt="mine")
    with pytest.raises(ValueError, match="metadata: 'variant' is the experiment's own key"):
        exp2.start_conversation(metadata={"variant": "x"})
    with pytest.raises(
        ValueError, match=r"prompt_variables: the system prompt of variant '.' is not"
    ):
        exp2.start_conversation(prompt_variables={"x": 1})
    conv = exp2.start_conversation(metadata={"user": "u1"})
    assert conv.metadata["user"] == "u1" and conv.metadata["experiment"] == "experiment"


def test_the_tutorials_create_test_conversation(fake_bedrock: FakeBedrock) -> None:
    client = fc_client(fake_bedrock)
    exp = PromptExperiment(client, {"concise": "Be brief.", "detailed": "Be thorough."})
    test = exp.create_test_conversation()
    assert set(test) == {"conversation_id", "variant"}
    assert test["variant"] in ("concise", "detailed")
    assert client.send_message(test["conversation_id"], "hi")  # (the by-id API counts too)
    exp.record_feedback(test["conversation_id"], 4.5)
    metrics = exp.get_metrics()[test["variant"]]
    assert metrics["conversations"] == 1 and metrics["messages"] == 1
    assert metrics["avg_feedback"] == 4.5 and metrics["avg_response_time"] > 0


# --- figures --------------------------------------------------------------------------------


def test_turns_tokens_errors_throttles_and_stop_reasons_are_counted(
    fake_bedrock: FakeBedrock,
) -> None:
    client = fc_client(fake_bedrock, max_attempts=1)
    exp = PromptExperiment(client, {"a": "A.", "b": "B."}, assignment="round_robin")
    conv_a, conv_b = exp.start_conversation(), exp.start_conversation()
    fake_bedrock.enqueue_text("one", usage={"inputTokens": 10, "outputTokens": 4})
    conv_a.send("q1")
    fake_bedrock.enqueue_text(
        "cut", usage={"inputTokens": 12, "outputTokens": 9}, stop_reason="max_tokens"
    )
    for _ in conv_a.stream("q2"):  # (a stream: time to first token too)
        pass
    fake_bedrock.enqueue_error("ThrottlingException")
    with pytest.raises(errors.ThrottlingError):
        conv_a.send("q3")
    fake_bedrock.enqueue_error("ValidationException", "bad input")
    with pytest.raises(errors.ValidationError, match="bad input"):
        asyncio.run(conv_b.send_async("q1"))
    fake_bedrock.enqueue_text("fine", usage={"inputTokens": 3, "outputTokens": 2})
    asyncio.run(conv_b.send_async("q2"))

    fa = figures(conv_a)
    assert (fa["turns"], fa["failed"], fa["requests"], fa["throttles"]) == (2, 1, 3, 1)
    assert fa["input_tokens"] == [10, 12] and fa["output_tokens"] == [4, 9]
    assert fa["stop_reasons"] == {"end_turn": 1, "max_tokens": 1}
    assert fa["error_codes"] == {"ThrottlingException": 1}
    assert len(fa["latency"]) == 2 and len(fa["ttft"]) == 1
    assert fa["usage"] == {"m": [22, 13, 0, 0]}

    res = exp.results()
    a, b = res["a"], res["b"]
    assert (a.conversations, a.turns, a.failed_turns, a.requests) == (1, 2, 1, 3)
    assert a.error_rate.value == pytest.approx(1 / 3)
    assert (a.input_tokens, a.output_tokens, a.throttles) == (22, 13, 1)
    assert a.output_tokens_per_turn.value == 6.5
    assert a.latency_mean.n == 2 and a.ttft_mean.n == 1
    assert a.latency_mean.value == pytest.approx(sum(fa["latency"]) / 2)
    assert (b.turns, b.failed_turns, b.error_codes) == (1, 1, {"ValidationException": 1})
    assert a.cost is None  # (no prices)


def test_cost_comes_from_the_prices(fake_bedrock: FakeBedrock) -> None:
    prices = {"m": {"input": 1.0, "output": 2.0}, "m2": {"input": 10.0, "output": 20.0}}
    exp = PromptExperiment(
        fc_client(fake_bedrock),
        {"small": "S.", "big": Variant("B.", model_id="m2")},
        assignment="round_robin",
        prices=prices,
    )
    for _ in range(2):
        for _ in range(2):
            conv = exp.start_conversation()
            fake_bedrock.enqueue_text("x", usage={"inputTokens": 1000, "outputTokens": 500})
            conv.send("hi")
    res = exp.results()
    assert res["small"].cost == pytest.approx(2 * (1.0 + 1.0))
    assert res["big"].cost == pytest.approx(2 * (10.0 + 10.0))
    assert res["big"].cost_per_conversation is not None
    assert res["big"].cost_per_conversation.value == pytest.approx(20.0)


def test_feedback_is_kept_with_the_conversation(fake_bedrock: FakeBedrock) -> None:
    client = fc_client(fake_bedrock)
    exp = PromptExperiment(client, {"a": "A.", "b": "B."}, assignment="round_robin")
    conv = exp.start_conversation()
    exp.record_feedback(conv, 4)
    exp.record_feedback(conv.id, 2)
    assert figures(conv)["feedback"] == [4.0, 2.0]
    assert exp.results()["a"].feedback.value == 3.0
    assert exp.variant_of(conv.id) == "a"

    with pytest.raises(TypeError, match="score: expected a number, got str"):
        exp.record_feedback(conv, "5")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="score: expected a number, got bool"):
        exp.record_feedback(conv, True)
    with pytest.raises(ValueError, match="score: expected a finite number"):
        exp.record_feedback(conv, float("nan"))
    outsider = client.create_conversation("Not in it.")
    with pytest.raises(ValueError, match=r"conversation: .* is not a conversation of experiment"):
        exp.record_feedback(outsider, 3)
    with pytest.raises(KeyError):
        exp.record_feedback("no-such-id", 3)


# --- stores -------------------------------------------------------------------------------


def test_a_store_aggregates_the_experiment_across_clients(
    fake_bedrock: FakeBedrock, store_at: Callable[..., Store]
) -> None:
    variants = {"a": "A.", "b": "B."}
    one = PromptExperiment(
        fc_client(fake_bedrock, store=store_at()), variants, name="onb", assignment="round_robin"
    )
    two = PromptExperiment(
        fc_client(fake_bedrock, store=store_at()), variants, name="onb", assignment="round_robin"
    )
    elsewhere = PromptExperiment(fc_client(fake_bedrock, store=store_at()), variants, name="other")
    ids = []
    for exp in (one, two, one, two):
        conv = exp.start_conversation()
        conv.send("hello")
        ids.append(conv.id)
    elsewhere.start_conversation().send("hi")
    # Feedback and turns from the other client, on a conversation it loads from the store.
    two.record_feedback(ids[0], 5)
    reopened = two.get_conversation(ids[0])
    reopened.send("more")
    one.record_feedback(ids[1], 3)

    for exp in (one, two):
        res = exp.results()
        assert [r.conversations for r in res] == [2, 2]
        assert [r.turns for r in res] == [3, 2]
        # (each client assigns in turn: the first two conversations are both "a")
        assert res["a"].feedback.value == 4.0 and res["b"].feedback.n == 0
    assert sum(r.conversations for r in elsewhere.results()) == 1


def test_figures_survive_a_reload_and_keep_counting(
    fake_bedrock: FakeBedrock, store_at: Callable[..., Store]
) -> None:
    exp = PromptExperiment(
        fc_client(fake_bedrock, store=store_at()),
        {"a": "A.", "b": "B."},
        assignment="round_robin",
        name="reload",
    )
    conv = exp.start_conversation()
    conv.send("1")
    exp.record_feedback(conv, 2)
    later = PromptExperiment(
        fc_client(fake_bedrock, store=store_at()), {"a": "A.", "b": "B."}, name="reload"
    )
    same = later.get_conversation(conv.id)
    assert same.metadata["experiment_figures"]["feedback"] == [2.0]
    same.send("2")
    later.record_feedback(same, 4)
    row = later.results()["a"]
    assert (row.turns, row.feedback.value, row.latency_mean.n) == (2, 3.0, 2)


# --- run ----------------------------------------------------------------------------------


def test_run_sends_every_case_through_every_variant_and_judges(fake_bedrock: FakeBedrock) -> None:
    exp = PromptExperiment(fc_client(fake_bedrock), {"a": "A.", "b": "B."})
    cases = ["What is 2+2?", "Name a colour.", "Say hi."]
    seen: list[tuple[str, str]] = []

    def judge(case: str, reply: str) -> float:
        seen.append((case, reply))
        return float(len(case) % 7)

    res = exp.run(cases, concurrency=3, judge=judge, progress=False)
    assert [r.conversations for r in res] == [3, 3]
    assert [r.turns for r in res] == [3, 3]
    assert sorted(c for c, _ in seen) == sorted(cases * 2)
    expected = sum(len(c) % 7 for c in cases) / 3
    assert res["a"].feedback.value == pytest.approx(expected)
    assert len(fake_bedrock.requests) == 6

    # A judge of one argument gets the reply's text.
    one = PromptExperiment(fc_client(fake_bedrock), {"a": "A.", "b": "B."}, name="one")
    res = one.run(["x"], judge=lambda reply: 7, progress=False)
    assert [r.feedback.value for r in res] == [7.0, 7.0]


def test_run_with_a_model_as_judge(fake_bedrock: FakeBedrock) -> None:
    exp = PromptExperiment(
        fc_client(fake_bedrock), {"a": "A.", "b": "B."}, assignment="round_robin"
    )
    for answer in ("Score: **8/10**", "I would rate it 6.", "Great!", "9", "No.", "Still no."):
        fake_bedrock.enqueue_text(answer, model_id="judge")
    # (one at a time: variant a's reply is judged first)
    res = exp.run(["only case"], concurrency=1, judge="judge", progress=False)
    assert [r.feedback.value for r in res] == [8.0, 6.0]
    judged = [r for r in fake_bedrock.requests if r.model_id == "judge"]
    assert len(judged) == 2
    prompt = judged[0].body["messages"][0]["content"][0]["text"]
    assert "only case" in prompt and "1 (useless) to 10" in judged[0].body["system"][0]["text"]
    # An answer without a score is asked again once ("9"), then left out.
    res = exp.run(["second"], concurrency=1, judge="judge", progress=False)
    assert (res["a"].feedback.n, res["b"].feedback.n) == (2, 1)
    assert res["a"].feedback.value == pytest.approx(8.5)
    assert fake_bedrock.pending == 0


def test_a_failed_turn_in_a_run_is_counted_and_the_run_goes_on(
    fake_bedrock: FakeBedrock,
) -> None:
    exp = PromptExperiment(fc_client(fake_bedrock, max_attempts=1), {"a": "A.", "b": "B."})
    fake_bedrock.enqueue_error("ModelErrorException", "boom")
    res = exp.run(["one", "two"], concurrency=1, progress=False)
    assert sum(r.failed_turns for r in res) == 1 and sum(r.turns for r in res) == 3


# --- bad input ------------------------------------------------------------------------------


def test_bad_arguments_are_named(fake_bedrock: FakeBedrock) -> None:
    client = fc_client(fake_bedrock)
    two = {"a": "A.", "b": "B."}
    with pytest.raises(TypeError, match="client: expected a ConverseClient"):
        PromptExperiment("client", two)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="variants: expected a dict of at least two"):
        PromptExperiment(client, {"a": "A."})
    with pytest.raises(TypeError, match=r"variants\['b'\]: expected a system prompt"):
        PromptExperiment(client, {"a": "A.", "b": 3})
    with pytest.raises(ValueError, match=r"variants\['b'\]: unknown keys \['prompt'\]"):
        PromptExperiment(client, {"a": "A.", "b": {"prompt": "B."}})
    with pytest.raises(ValueError, match="assignment: expected one of"):
        PromptExperiment(client, two, assignment="alternate")
    with pytest.raises(TypeError, match="seed: expected an int"):
        PromptExperiment(client, two, seed="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="baseline: 'c' is not a variant"):
        PromptExperiment(client, two, baseline="c")
    with pytest.raises(TypeError, match="prices: expected a dict"):
        PromptExperiment(client, two, prices=[1])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="name: expected a non-empty str"):
        PromptExperiment(client, two, name="")
    exp = PromptExperiment(client, two)
    with pytest.raises(TypeError, match="user: expected a str"):
        exp.start_conversation(user=42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cases: expected a list of messages, got str"):
        exp.run("hello")
    with pytest.raises(ValueError, match="concurrency: expected an int >= 1, got 0"):
        exp.run(["hello"], concurrency=0)
    with pytest.raises(TypeError, match="judge: expected a callable"):
        exp.run(["hello"], judge=5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="which: expected 'variants' or 'comparisons'"):
        exp.results().to_pandas("rows")
    assert not fake_bedrock.requests  # (all refused before any request)
