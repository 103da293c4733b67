"""Token accounting, prompt caching, usage by model, cost and conversation metrics."""

from __future__ import annotations

import asyncio
from typing import Any

import fastconverse as fc
import pytest
from conftest import fc_client
from fastconverse import errors, tool


@tool
def add(a: int, b: int) -> int:
    """Adds two numbers."""
    return a + b


@tool
def broken(x: int) -> int:
    """Always fails."""
    raise RuntimeError("out of order")


def points(body: dict[str, Any]) -> dict[str, Any]:
    """Where the request's cache points are."""
    messages = [
        i for i, m in enumerate(body["messages"]) if any("cachePoint" in b for b in m["content"])
    ]
    return {
        "system": [i for i, b in enumerate(body.get("system", [])) if "cachePoint" in b],
        "tools": [
            i
            for i, t in enumerate(body.get("toolConfig", {}).get("tools", []))
            if "cachePoint" in t
        ],
        "messages": messages,
    }


def test_cache_points_go_after_system_tools_and_the_last_two_requests(make_fake: Any) -> None:
    fake = make_fake()
    conv = fc_client(fake).create_conversation("You are terse.", tools=[add], cache="all")
    first = conv.send("hello")
    assert points(fake.requests[-1].body) == {"system": [1], "tools": [1], "messages": [0]}
    assert first.usage.cache_read_input_tokens == 0
    written = first.usage.cache_write_input_tokens
    assert written > 0 and first.usage.input_tokens == 0
    second = conv.send("again")
    body = fake.requests[-1].body
    assert points(body) == {"system": [1], "tools": [1], "messages": [0, 2]}
    for message in body["messages"]:
        assert message["content"][-1] in (
            {"cachePoint": {"type": "default"}},
            message["content"][0],
        )
    # The whole first prompt is read back; only the new part is written.
    assert second.usage.cache_read_input_tokens == written
    assert conv.usage.cache_read_input_tokens == written
    # The history itself has no cache points: they exist on the wire only.
    assert all("cachePoint" not in b for m in conv.transcript for b in m["content"])
    assert conv.metrics.cache_read_tokens == written


def test_only_the_chosen_places_get_points_and_never_more_than_four(make_fake: Any) -> None:
    fake = make_fake()
    conv = fc_client(fake).create_conversation("sys", tools=[add], cache="history")
    conv.send("one")
    conv.send("two")
    assert points(fake.requests[-1].body) == {"system": [], "tools": [], "messages": [0, 2]}
    mine = fc_client(fake).create_conversation(
        [
            {"text": "a"},
            {"cachePoint": {"type": "default"}},
            {"text": "b"},
            {"cachePoint": {"type": "default"}},
        ],
        tools=[add],
        cache="all",
    )
    mine.send([{"text": "x"}, {"cachePoint": {"type": "default"}}])
    mine.send("y")
    body = fake.requests[-1].body
    found = points(body)
    total = (
        len(found["system"])
        + len(found["tools"])
        + sum(1 for m in body["messages"] for b in m["content"] if "cachePoint" in b)
    )
    assert total == 4
    # The system prompt ends with the user's point: the one point left goes to the tools.
    assert found["system"] == [1, 3] and found["tools"] == [1]


def test_no_cache_option_sends_no_points(make_fake: Any) -> None:
    fake = make_fake()
    conv = fc_client(fake).create_conversation("sys", tools=[add])
    conv.send("one")
    conv.send("two")
    assert points(fake.requests[-1].body) == {"system": [], "tools": [], "messages": []}
    assert conv.last_reply is not None
    assert conv.last_reply.usage.to_dict().get("cacheReadInputTokens") is None


def test_context_tokens_is_exact_from_the_last_reply_plus_the_estimate(make_fake: Any) -> None:
    fake = make_fake()
    conv = fc_client(fake).create_conversation("You are terse.")
    system = fc.estimate_tokens("You are terse.")
    assert conv.context_tokens == system
    reply = conv.send("one two three")
    # The last request's prompt (FakeBedrock counts words) plus the estimate of the answer.
    assert conv.context_tokens == reply.usage.input_tokens + fc.estimate_tokens(conv.messages[-1])
    assert reply.usage.input_tokens == 3 + 3  # system words + message words
    conv.reset()
    assert conv.context_tokens == system


def test_count_tokens_asks_bedrock_for_the_next_request(make_fake: Any) -> None:
    fake = make_fake()
    conv = fc_client(fake).create_conversation("You are terse.", tools=[add])
    empty = conv.count_tokens()
    assert (empty.exact, empty.tokens) == (False, conv.context_tokens)
    assert empty.note is not None and "no messages" in empty.note
    conv.send("one two three")
    count = conv.count_tokens()
    assert count.exact and count.note is None
    body = fake.requests[-1].body
    assert fake.requests[-1].operation == "CountTokens"
    assert body["input"]["converse"]["messages"] == conv.messages
    assert body["input"]["converse"]["system"] == [{"text": "You are terse."}]
    assert body["input"]["converse"]["toolConfig"]["tools"][0]["toolSpec"]["name"] == "add"
    assert int(count) == count.tokens > 0
    again = asyncio.run(conv.count_tokens_async())
    assert (again.tokens, again.exact) == (count.tokens, True)


def test_count_tokens_falls_back_to_the_estimate_and_says_so(make_fake: Any) -> None:
    fake = make_fake(count_tokens_models=["another-model"])
    conv = fc_client(fake).create_conversation()
    conv.send("one two three")
    count = conv.count_tokens()
    assert not count.exact
    assert count.tokens == fc.estimate_tokens(conv.messages)
    assert count.note is not None and "doesn't support counting tokens" in count.note
    assert "exact=False" in repr(count)
    other = asyncio.run(conv.count_tokens_async())
    assert (other.exact, other.tokens) == (False, count.tokens)


def test_count_tokens_raises_other_errors(make_fake: Any) -> None:
    fake = make_fake(models=["m"])
    conv = fc_client(fake).create_conversation()
    conv.send("hi")
    conv.model_id = "unknown"
    with pytest.raises(errors.ValidationError, match="model identifier is invalid"):
        conv.count_tokens()


def test_usage_by_model_counts_a_switch_apart(make_fake: Any) -> None:
    fake = make_fake()
    conv = fc_client(fake).create_conversation()
    conv.send("one")
    conv.model_id = "m2"
    conv.send("two three")
    by_model = conv.usage_by_model
    assert list(by_model) == ["m", "m2"]
    assert by_model["m"].input_tokens == 1
    assert by_model["m2"].input_tokens == 1 + 3 + 2  # the history, then the new words
    assert by_model["m"] + by_model["m2"] == conv.usage


def test_cost_multiplies_tokens_by_the_users_prices(make_fake: Any) -> None:
    fake = make_fake()
    conv = fc_client(fake).create_conversation()
    conv.send("one")
    conv.model_id = "m2"
    conv.send("two three")
    prices = {"m": {"input": 3.0, "output": 15.0}, "m2": {"input": 0.25, "output": 1.25}}
    u, v = conv.usage_by_model["m"], conv.usage_by_model["m2"]
    expected = (
        u.input_tokens * 3.0
        + u.output_tokens * 15.0
        + v.input_tokens * 0.25
        + v.output_tokens * 1.25
    ) / 1000
    assert conv.cost(prices) == pytest.approx(expected)
    with pytest.raises(ValueError, match="no prices for 'm2'"):
        conv.cost({"m": prices["m"]})
    with pytest.raises(ValueError, match=r"unknown keys \['inputs'\]"):
        conv.cost({"m": {"inputs": 1.0}, "m2": prices["m2"]})
    with pytest.raises(ValueError, match="expected a price per 1,000 tokens"):
        conv.cost({"m": {"input": -1, "output": 1}, "m2": prices["m2"]})
    with pytest.raises(TypeError, match="prices: expected a dict"):
        conv.cost([("m", 1)])  # type: ignore[arg-type]


def test_cost_needs_cache_prices_only_when_cache_tokens_were_used(make_fake: Any) -> None:
    fake = make_fake()
    conv = fc_client(fake).create_conversation("sys", cache="system")
    conv.send("one")
    with pytest.raises(ValueError, match="no 'cache_write' price"):
        conv.cost({"m": {"input": 1.0, "output": 1.0}})
    usage = conv.usage
    full = {"m": {"input": 1.0, "output": 2.0, "cache_read": 0.1, "cache_write": 1.25}}
    assert conv.cost(full) == pytest.approx(
        (usage.input_tokens + 2 * usage.output_tokens + 1.25 * usage.cache_write_input_tokens)
        / 1000
    )


def test_metrics_count_turns_tools_errors_and_timings(make_fake: Any) -> None:
    fake = make_fake()
    conv = fc_client(fake).create_conversation(tools=[add, broken])
    fake.enqueue_tool_uses([("add", {"a": 1, "b": 2}), ("broken", {"x": 1})])
    fake.enqueue_text("done")
    conv.send("compute")
    for _ in conv.stream("streamed"):
        pass
    fake.enqueue_error("AccessDeniedException", "no")
    with pytest.raises(errors.AccessDeniedError):
        conv.send("denied")
    m = conv.metrics
    assert (m.turns, m.failed_turns, m.tool_calls, m.tool_errors) == (2, 1, 2, 1)
    assert m.messages == len(conv.transcript) == 6
    assert m.errors == {"AccessDeniedException": 1}
    assert m.latency.count == 2 and m.latency.p50 is not None and m.latency.p95 is not None
    assert 0 < m.latency.p50 <= m.latency.p95 <= m.latency.max  # type: ignore[operator]
    assert m.time_to_first_token.count == 1, "only the streamed turn"
    assert m.time_to_first_token.mean is not None and m.time_to_first_token.mean > 0
    assert (m.input_tokens, m.output_tokens, m.total_tokens) == (
        conv.usage.input_tokens,
        conv.usage.output_tokens,
        conv.usage.total_tokens,
    )
    d = m.to_dict()
    assert d["tool_calls"] == 2 and d["latency"]["count"] == 2 and d["errors"] == m.errors
    assert set(d) >= {"turns", "retries", "summaries", "cache_read_tokens", "time_to_first_token"}
    assert "turns=2" in repr(m)


def test_a_cancelled_turn_is_not_a_failure(make_fake: Any) -> None:
    fake = make_fake()
    conv = fc_client(fake).create_conversation()
    stream = conv.stream("stop me")
    next(iter(stream))
    stream.close()
    assert conv.metrics.to_dict()["failed_turns"] == 0
    assert conv.metrics.turns == 0


def test_points_in_the_history_never_push_a_request_over_four(make_fake: Any) -> None:
    fake = make_fake()
    conv = fc_client(fake).create_conversation(
        [{"text": "sys"}, {"cachePoint": {"type": "default"}}], cache="all"
    )
    for i in range(6):
        conv.send([{"text": f"q{i}"}, {"cachePoint": {"type": "default"}}])
        body = fake.requests[-1].body
        found = points(body)
        assert found["system"] == [1], "no second point after the user's own"
        total = len(found["system"]) + sum(
            1 for m in body["messages"] for b in m["content"] if "cachePoint" in b
        )
        assert total <= 4
        assert body["messages"][-1]["content"][-1] == {"cachePoint": {"type": "default"}}
    # The user's points stay in the history; only the request leaves the oldest out.
    assert sum(1 for m in conv.transcript for b in m["content"] if "cachePoint" in b) == 6


def test_bad_prices_are_refused(make_fake: Any) -> None:
    conv = fc_client(make_fake()).create_conversation()
    conv.send("one")
    for bad in (float("nan"), float("inf"), "1", True):
        with pytest.raises(ValueError, match="expected a price per 1,000 tokens"):
            conv.cost({"m": {"input": bad, "output": 1.0}})
    with pytest.raises(ValueError, match="no prices for 'm'"):
        conv.cost({1: {"input": 1.0}, "x": {"input": 1.0}})  # type: ignore[dict-item]


def test_a_tool_exception_raised_to_the_caller_counts_as_a_failure(make_fake: Any) -> None:
    fake = make_fake()
    conv = fc_client(fake).create_conversation(tools=[broken], raise_tool_errors=True)
    for how in ("send", "stream", "async"):
        fake.enqueue_tool_use("broken", {"x": 1})
        with pytest.raises(RuntimeError, match="out of order"):
            if how == "send":
                conv.send("go")
            elif how == "stream":
                list(conv.stream("go"))
            else:
                asyncio.run(conv.send_async("go"))
    assert conv.metrics.errors == {"RuntimeError": 3}
    assert conv.metrics.failed_turns == 3
    # A service error is counted once, by its code, whatever the driver.
    fake.enqueue_error("ModelTimeoutException", "slow")
    with pytest.raises(errors.ModelTimeoutError):
        list(conv.stream("again"))
    assert conv.metrics.errors == {"RuntimeError": 3, "ModelTimeoutException": 1}


def test_a_budget_that_trims_deeper_keeps_the_history_cache_warm(make_fake: Any) -> None:
    fake = make_fake()
    policy = fc.TokenBudget(max_tokens=300, trim_to=150)
    assert (policy.max_tokens, policy.trim_to) == (300, 150)
    assert repr(policy) == "TokenBudget(max_tokens=300, trim_to=150)"
    conv = fc_client(fake).create_conversation(memory=policy, cache="history")
    starts, reads = [], []
    for i in range(40):
        reply = conv.send(f"question {i} " + "word " * 12)
        sent = fake.requests[-1].body["messages"]
        assert fc.estimate_tokens(sent) <= 300, "within the budget"
        starts.append(len(conv.transcript) - len(conv.messages))
        reads.append(reply.usage.cache_read_input_tokens)
    cuts = [i for i in range(1, 40) if starts[i] != starts[i - 1]]
    assert 2 <= len(cuts) <= 12, f"cuts at {cuts}: a cut goes down to 150, then waits"
    for i in range(1, 40):
        if i not in cuts:
            assert reads[i] > 0, f"turn {i} kept the front: it reads the cache"
    with pytest.raises(ValueError, match=r"trim_to: expected at most max_tokens \(100\)"):
        fc.TokenBudget(100, trim_to=200)
    assert repr(fc.TokenBudget(100)) == "TokenBudget(max_tokens=100)"


def test_a_stream_closed_from_another_thread_stops_quietly_and_is_no_failure(
    make_fake: Any,
) -> None:
    import threading

    fake = make_fake()
    conv = fc_client(fake).create_conversation(tools=[add])
    for _ in range(20):
        fake.enqueue_tool_use("add", {"a": 1, "b": 2})
        fake.enqueue_text("three", delta_delay=0.002)
        stream = conv.stream("go")
        closer = threading.Timer(0.001, stream.close)
        closer.start()
        for _event in stream:
            pass
        closer.join()
        fake.reset()
    assert conv.metrics.failed_turns == 0, conv.metrics.errors
    assert not conv.busy
