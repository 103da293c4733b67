"""Memory policies end to end against FakeBedrock (which refuses any request Bedrock would):
long conversations with tools under each policy, and random histories (text, tool rounds,
images) under random policies and budgets, checked request by request."""

from __future__ import annotations

import base64
import bisect
import itertools
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import fc_client
from fastconverse import (
    ConverseClient,
    HistoryView,
    MemoryPolicy,
    SlidingWindow,
    Summarizing,
    TokenBudget,
    estimate_tokens,
    tool,
)
from fastconverse.testing import FakeBedrock
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

MODEL = "m"  # fc_client's model
SUMMARIZER = "summarizer"  # Summarizing's model here: nothing is scripted for it


@tool
def add(a: int, b: int) -> int:
    """Adds two integers."""
    return a + b


@tool
def lookup(key: str) -> str:
    """Looks a key up."""
    return f"the value of {key}"


def tiny_png() -> bytes:
    """A real 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PNG = tiny_png()


# --- helpers ---------------------------------------------------------------------------------


def normalized(value: Any) -> Any:
    """A message dict as it travels in a request body (bytes as base64 text)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalized(v) for v in value]
    return value


def is_turn_start(message: dict[str, Any]) -> bool:
    return message["role"] == "user" and not any("toolResult" in b for b in message["content"])


def tool_use_ids(message: dict[str, Any]) -> list[str]:
    return [b["toolUse"]["toolUseId"] for b in message["content"] if "toolUse" in b]


def tool_result_ids(message: dict[str, Any]) -> list[str]:
    return [b["toolResult"]["toolUseId"] for b in message["content"] if "toolResult" in b]


def assert_valid_request(body: dict[str, Any]) -> None:
    """What every request must be, whatever the policy cut: starts with the user's own
    message, alternates, pairs every toolUse with its toolResult, and has no blank text."""
    messages = body["messages"]
    assert messages, "a request without messages"
    assert is_turn_start(messages[0]), f"the request starts with {messages[0]}"
    assert messages[-1]["role"] == "user"
    for a, b in zip(messages, messages[1:]):
        assert a["role"] != b["role"], f"two {a['role']} messages in a row"
    for i, message in enumerate(messages):
        assert message["content"], f"messages[{i}] is empty"
        uses = tool_use_ids(messages[i - 1]) if i > 0 else []
        results = tool_result_ids(message)
        if message["role"] == "user":
            # every toolResult answers a toolUse of the previous message, and vice versa
            assert sorted(results) == sorted(uses), f"messages[{i}]: {results} answer {uses}"
            assert len(set(results)) == len(results)
        else:
            assert results == []
        for block in message["content"]:
            if "text" in block:
                assert block["text"].strip(), f"blank text in messages[{i}]"
            if "toolResult" in block:
                for item in block["toolResult"]["content"]:
                    if "text" in item:
                        assert item["text"].strip(), f"blank tool result text in messages[{i}]"
    for block in body.get("system", []):
        if "text" in block:
            assert block["text"].strip(), "blank system text"


def converse_requests(fake: FakeBedrock) -> list[Any]:
    return [r for r in fake.requests if r.operation in ("Converse", "ConverseStream")]


def echo(body: dict[str, Any]) -> str:
    """What FakeBedrock's default model answers a one-message request: the message repeated,
    cut after ``maxTokens`` words (and trimmed, as a summary is kept)."""
    said = "You said: " + body["messages"][-1]["content"][0]["text"]
    words = list(re.finditer(r"\S+", said))
    limit = body["inferenceConfig"]["maxTokens"]
    return (said[: words[limit].start()] if len(words) > limit else said).strip()


def tokens(messages: list[dict[str, Any]]) -> int:
    return estimate_tokens(messages) if messages else 0


# --- long conversations ----------------------------------------------------------------------


class KeepLastTurns(MemoryPolicy):
    """Keeps the newest ``turns`` turns (the new one included). It answers one message before
    the turn start it means (the previous turn's answer), which must move forward to it."""

    def __init__(self, turns: int) -> None:
        self.turns = turns
        self.views: list[tuple[int, list[int], int]] = []

    def select(self, view: HistoryView) -> int:
        starts = view.starts
        self.views.append((len(view), starts, view.pending_tokens))
        if len(starts) <= self.turns:
            return 0
        return starts[-self.turns] - 1


@dataclass
class Turn:
    before: int  # transcript length before the turn
    user: dict[str, Any]  # the user's message
    requests: int  # Converse requests of the conversation's model


def drive(fake: FakeBedrock, conv: Any, turns: int) -> tuple[list[Turn], int]:
    """``turns`` turns; about every third makes a tool round (some with two calls), the
    others are answered by FakeBedrock's default model."""
    plan: list[Turn] = []
    committed = 0
    for i in range(turns):
        text = f"Turn {i}: add {i} and 2." + " Please be quick." * (i % 7)
        if i % 3 == 1:
            calls: list[Any] = [("add", {"a": i, "b": 2}, f"t{i}a")]
            if i % 9 == 4:
                calls.append(("add", {"a": i, "b": 3}, f"t{i}b"))
            fake.enqueue_tool_uses(calls, model_id=MODEL)
            fake.enqueue_text(f"The sum is {i + 2}.", model_id=MODEL)
            expected, added, requests = f"The sum is {i + 2}.", 4, 2
        else:
            expected, added, requests = f"You said: {text}", 2, 1
        reply = conv.send(text)
        assert reply.text == expected
        plan.append(Turn(committed, {"role": "user", "content": [{"text": text}]}, requests))
        committed += added
    return plan, committed


@dataclass
class Sent:
    turn: int
    k: int  # the request's number in its turn
    start: int  # transcript index of its first message
    end: int  # transcript index after its last message
    body: dict[str, Any]
    summaries: list[dict[str, Any]]  # the summary requests made before it


def map_requests(
    fake: FakeBedrock, plan: list[Turn], transcript: list[dict[str, Any]]
) -> list[Sent]:
    """Places every Converse request on the transcript: each sends a slice of it."""
    wire = normalized(transcript)
    queue: Iterator[Any] = iter(converse_requests(fake))
    sent: list[Sent] = []
    for j, turn in enumerate(plan):
        for k in range(turn.requests):
            summaries = []
            request = next(queue, None)
            while request is not None and request.model_id == SUMMARIZER:
                summaries.append(request.body)
                request = next(queue, None)
            assert request is not None, f"turn {j} made too few requests"
            assert request.model_id == MODEL
            body = request.body
            assert_valid_request(body)
            messages = body["messages"]
            end = turn.before + 1 + 2 * k  # the user's message, then the tool rounds
            start = end - len(messages)
            assert 0 <= start <= turn.before, f"turn {j}: {len(messages)} messages of {end}"
            assert wire[start:end] == messages, f"turn {j}: not a slice of the transcript"
            assert messages[turn.before - start] == turn.user
            sent.append(Sent(j, k, start, end, body, summaries))
    assert next(queue, None) is None, "more requests than turns"
    return sent


def check_transcript(conv: Any, committed: int, transcript: list[dict[str, Any]]) -> None:
    messages = conv.messages
    assert len(transcript) == committed
    assert conv.metrics.messages == committed
    assert transcript[-len(messages) :] == messages
    assert conv.metrics.failed_turns == 0


def check_cuts(
    sent: list[Sent], transcript: list[dict[str, Any]], sizes: list[int], limit: int
) -> None:
    """At each turn's first request, the newest whole turns that fit in ``limit`` (``sizes``:
    of each transcript message) are sent, and no more turns would fit; the turn's other
    requests build on the same messages. The request never starts before the previous turn's."""
    starts = [i for i, m in enumerate(transcript) if is_turn_start(m)]
    sums = [0, *itertools.accumulate(sizes)]

    def size(a: int, b: int) -> int:
        return sums[b] - sums[a]

    previous = kept = 0
    for s in sent:
        first = s.end - 1 - 2 * s.k  # the turn's user message
        if s.k > 0:
            # The budget holds when the turn begins: a tool loop's later requests add the
            # turn's own tool messages on top and never cut (README, "Memory policies").
            assert s.start == kept, f"turn {s.turn}: the tool loop cut again"
            continue
        kept = s.start
        assert s.start >= previous, f"turn {s.turn}: starts before the previous turn"
        assert is_turn_start(transcript[s.start])
        assert size(s.start, first + 1) <= limit, f"turn {s.turn}: over budget"
        before = bisect.bisect_left(starts, s.start) - 1  # the turn start before s.start
        if before >= 0 and starts[before] >= previous:  # one more turn would not have fitted
            assert size(starts[before], first + 1) > limit, f"turn {s.turn}: cut too much"
        previous = s.start


@pytest.mark.parametrize("policy", ["window", "budget", "custom"])
def test_a_long_conversation_with_tools_stays_valid_and_in_budget(
    fake_bedrock: FakeBedrock, policy: str
) -> None:
    turns = 1000
    memory: Any = {
        "window": SlidingWindow(max_messages=12),
        "budget": TokenBudget(max_tokens=300),
        "custom": KeepLastTurns(3),
    }[policy]
    client = fc_client(fake_bedrock, max_attempts=1)
    conv = client.create_conversation("You add numbers.", tools=[add], memory=memory)

    plan, committed = drive(fake_bedrock, conv, turns)

    transcript = conv.transcript
    check_transcript(conv, committed, transcript)
    sent = map_requests(fake_bedrock, plan, transcript)
    # the last request carries the newest turn
    assert sent[-1].body["messages"][-1] == plan[-1].user
    assert conv.messages[-1] == {
        "role": "assistant",
        "content": [{"text": f"You said: {plan[-1].user['content'][0]['text']}"}],
    }
    # the last turn made one request: the context is what it counted, plus the reply
    assert plan[-1].requests == 1
    assert conv.context_tokens == (
        conv.last_reply.usage.input_tokens + estimate_tokens(conv.messages[-1])
    )
    assert conv.metrics.tool_calls == sum(1 + (i % 9 == 4) for i in range(turns) if i % 3 == 1)

    if policy == "window":
        check_cuts(sent, transcript, [1] * len(transcript), 12)
        assert len(conv.messages) <= 12 + 1  # what the last request sent, and the reply
    elif policy == "budget":
        sizes = [estimate_tokens(m) for m in transcript]
        # the estimate of messages is the sum of theirs
        assert tokens(sent[-1].body["messages"]) == sum(sizes[sent[-1].start : sent[-1].end])
        check_cuts(sent, transcript, sizes, 300)
    else:
        # select ran once a turn (never inside a tool loop), on what the last request built
        assert len(memory.views) == turns
        previous = 0
        for s, view in zip([s for s in sent if s.k == 0], memory.views):
            length, starts, pending = view
            first = s.end - 1
            assert length == first - previous
            assert starts == [
                i - previous for i in range(previous, first + 1) if is_turn_start(transcript[i])
            ]
            assert pending == estimate_tokens(plan[s.turn].user)
            kept = [m for m in transcript[s.start : first + 1] if is_turn_start(m)]
            assert len(kept) == min(3, s.turn + 1), f"turn {s.turn} keeps {len(kept)} turns"
            previous = s.start
        for a, b in zip(sent, sent[1:]):
            if b.k:
                assert b.start == a.start, f"turn {b.turn}: the tool loop cut again"


def test_summarizing_a_long_conversation(fake_bedrock: FakeBedrock) -> None:
    turns, budget, keep_recent = 1000, 300, 4
    client = fc_client(fake_bedrock, max_attempts=1)
    memory = Summarizing(max_tokens=budget, keep_recent=keep_recent, model_id=SUMMARIZER)
    conv = client.create_conversation("You add numbers.", tools=[add], memory=memory)

    plan, committed = drive(fake_bedrock, conv, turns)

    transcript = conv.transcript
    check_transcript(conv, committed, transcript)
    sent = map_requests(fake_bedrock, plan, transcript)
    summary_requests = [b for s in sent for b in s.summaries]
    assert conv.metrics.summaries == len(summary_requests) > 0
    assert conv.summary is not None and conv.summary.strip()
    assert SUMMARIZER in conv.usage_by_model
    # the summary rides in the system prompt of the requests after it
    last = sent[-1].body
    assert last["system"][0] == {"text": "You add numbers."}
    assert any(conv.summary in b.get("text", "") for b in last["system"][1:])
    start, summary = 0, None  # where requests start, and the summary they carry
    for s in sent:
        if s.k > 0:
            assert not s.summaries and s.start == start
            continue
        first = s.end - 1
        if not s.summaries:
            # under budget: nothing was cut
            assert s.start == start
            assert tokens(transcript[start : first + 1]) <= budget
        else:
            # over budget: the turns before the newest keep_recent messages were summarised,
            # once each, with the summary so far
            (request,) = s.summaries
            assert_valid_request(request)
            assert "toolConfig" not in request
            assert tokens(transcript[start : first + 1]) > budget
            cuts = [
                c for c in range(start + 1, first - keep_recent + 1) if is_turn_start(transcript[c])
            ]
            assert s.start == cuts[-1]
            text = request["messages"][0]["content"][0]["text"]
            if summary is not None:
                assert f"The summary so far:\n{summary}" in text
            folded = text.rsplit("The conversation to summarise:", 1)[1]
            assert folded.count("\nUser: ") + folded.count("\nAssistant: ") == s.start - start
            for message in transcript[start : s.start]:
                for block in message["content"]:
                    if "text" in block:
                        assert block["text"] in folded
            # the summary is what the summariser (FakeBedrock's default model) answered
            summary = echo(request)
            assert any(summary in b.get("text", "") for b in s.body["system"][1:])
        start = s.start
    assert conv.summary == summary


# --- random histories ------------------------------------------------------------------------

# Non-blank texts, with spaces, tabs and newlines around and inside, and non-ASCII.
_spaced = st.text(alphabet=st.sampled_from(list("abcXYZ09.,!? é中😀\n\t")), max_size=20)
words = st.tuples(
    _spaced,
    st.text(alphabet=st.sampled_from(list("defghij123é中😀")), min_size=1, max_size=8),
    _spaced,
).map("".join)


@st.composite
def user_blocks(draw: Any, images: list[int]) -> list[dict[str, Any]]:
    """1-3 blocks of text and images (at most 8 images in all: Bedrock allows 20 a request)."""
    blocks: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 3))):
        if images[0] < 8 and draw(st.integers(0, 3)) == 0:
            images[0] += 1
            blocks.append({"image": {"format": "png", "source": {"bytes": PNG}}})
        else:
            blocks.append({"text": draw(words)})
    return blocks


@st.composite
def tool_round(draw: Any, ids: Iterator[int]) -> list[dict[str, Any]]:
    """An assistant message with 1-3 toolUse blocks (maybe after text), and the user's
    message with their results (in any order, maybe with text after them)."""
    uses = [
        {"toolUse": {"toolUseId": f"h{next(ids)}", "name": "lookup", "input": {"key": draw(words)}}}
        for _ in range(draw(st.integers(1, 3)))
    ]
    if draw(st.booleans()):
        uses.insert(0, {"text": draw(words)})
    results: list[dict[str, Any]] = []
    for use in uses:
        if "toolUse" not in use:
            continue
        if draw(st.booleans()):
            content = [{"text": draw(words)}]
        else:
            content = [{"json": {"n": draw(st.integers(-(10**9), 10**9))}}]
        result: dict[str, Any] = {"toolUseId": use["toolUse"]["toolUseId"], "content": content}
        status = draw(st.sampled_from([None, "success", "error"]))
        if status:
            result["status"] = status
        results.append({"toolResult": result})
    results = draw(st.permutations(results))
    if draw(st.integers(0, 3)) == 0:
        results.append({"text": draw(words)})
    return [{"role": "assistant", "content": uses}, {"role": "user", "content": results}]


@st.composite
def scenarios(draw: Any) -> dict[str, Any]:
    counter = iter(range(10**6))
    images = [0]
    mode = draw(st.sampled_from(["text", "tool", "results"]))
    history: list[dict[str, Any]] = []
    n_turns = draw(st.integers(0 if mode != "results" else 1, 6))
    for t in range(n_turns):
        history.append({"role": "user", "content": draw(user_blocks(images))})
        for _ in range(draw(st.integers(0, 2))):
            history.extend(draw(tool_round(counter)))
        if mode == "results" and t == n_turns - 1:
            history.append(draw(tool_round(counter))[0])  # the model's calls, still open
        else:
            history.append({"role": "assistant", "content": [{"text": draw(words)}]})
    kind = draw(st.sampled_from(["window", "budget", "summarizing", "custom"]))
    if kind == "window":
        memory: Any = SlidingWindow(max_messages=draw(st.integers(1, 14)))
    elif kind == "budget":
        memory = TokenBudget(max_tokens=draw(st.integers(1, 4000)))
    elif kind == "summarizing":
        memory = Summarizing(
            max_tokens=draw(st.integers(1, 3000)),
            keep_recent=draw(st.integers(0, 6)),
            model_id=SUMMARIZER,
        )
    else:
        memory = Choose(draw(st.integers(0, 100)))
    return {
        "history": history,
        "mode": mode,
        "kind": kind,
        "memory": memory,
        "message": draw(user_blocks(images)),
        "calls": draw(st.integers(1, 3)),
    }


class Choose(MemoryPolicy):
    """Chooses the index at ``percent`` of the history: a turn start or not."""

    def __init__(self, percent: int) -> None:
        self.percent = percent
        self.seen: list[tuple[int, list[int], int, list[int]]] = []

    def select(self, view: HistoryView) -> int:
        n = len(view)
        self.seen.append((n, view.starts, view.pending_tokens, [view.tokens(i) for i in range(n)]))
        return n * self.percent // 100


@pytest.fixture(scope="module")
def module_fake() -> Iterator[FakeBedrock]:
    with FakeBedrock() as fake:
        yield fake


@pytest.fixture(scope="module")
def module_client(module_fake: FakeBedrock) -> ConverseClient:
    return fc_client(module_fake, max_attempts=1)


def snap(cuts: list[int], k: int) -> int:
    """The first cut at or after ``k``, else the last one before it, else 0."""
    after = [c for c in cuts if c >= k]
    if after:
        return after[0]
    before = [c for c in cuts if c < k]
    return before[-1] if before else 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios())
def test_random_histories_make_valid_requests_under_any_policy(
    module_fake: FakeBedrock, module_client: ConverseClient, scenario: dict[str, Any]
) -> None:
    fake = module_fake
    fake.reset()
    history, mode, memory = scenario["history"], scenario["mode"], scenario["memory"]
    conv = module_client.create_conversation(
        "You look things up.", messages=history, tools=[lookup], memory=memory
    )

    if mode == "results":
        reply = conv.send_tool_results({})  # lookup answers them
        turn_first = conv.transcript[len(history)]
        assert turn_first["role"] == "user"
        assert tool_result_ids(turn_first) == tool_use_ids(history[-1])
    else:
        if mode == "tool":
            calls = [("lookup", {"key": f"k{i}"}, f"s{i}") for i in range(scenario["calls"])]
            fake.enqueue_tool_uses(calls, model_id=MODEL)
            fake.enqueue_text("Found them.", model_id=MODEL)
        reply = conv.send(scenario["message"])
        turn_first = {"role": "user", "content": scenario["message"]}
    assert reply.text.strip()

    requests = converse_requests(fake)
    for request in requests:
        assert_valid_request(request.body)
    ours = [r.body for r in requests if r.model_id == MODEL]
    summaries = [r.body for r in requests if r.model_id == SUMMARIZER]
    assert len(ours) == (2 if mode == "tool" else 1)

    # the transcript: the history, then the turn; what is sent is a slice of it
    transcript = conv.transcript
    n = len(history)
    assert transcript[:n] == history
    assert transcript[n] == turn_first
    assert len(transcript) == n + (4 if mode == "tool" else 2)
    assert transcript[-len(conv.messages) :] == conv.messages
    wire = normalized(transcript)
    first = ours[0]["messages"]
    start = n + 1 - len(first)
    assert start >= 0 and wire[start : n + 1] == first
    assert ours[-1]["messages"] == wire[start : len(transcript) - 1]
    assert normalized(conv.messages) == ours[-1]["messages"] + [wire[-1]]

    # where the first request starts: the policy's rule, at a turn start
    cuts = [c for c in range(n) if is_turn_start(history[c])]
    if is_turn_start(turn_first):
        cuts.append(n)
    own = estimate_tokens(turn_first)
    kind = scenario["kind"]
    if kind == "window":
        expected = snap(cuts, max(0, n + 1 - memory.max_messages))
    elif kind == "budget":
        fits = [c for c in cuts if tokens(history[c:]) + own <= memory.max_tokens]
        expected = fits[0] if fits else snap(cuts, n)
    elif kind == "custom":
        ((length, starts, pending, sizes),) = memory.seen
        assert (length, starts, pending) == (n, cuts, own)
        assert sizes == [estimate_tokens(m) for m in history]
        expected = snap(cuts, n * memory.percent // 100)
    else:
        over = tokens(history) + own > memory.max_tokens
        candidates = [c for c in cuts if 1 <= c <= max(n - memory.keep_recent, 0)]
        expected = candidates[-1] if over and candidates else 0
        # Each summary request folds in at most a budget's worth of turns (one turn at
        # least), so a long history may take several; together they fold in all it cuts.
        assert len(summaries) == conv.metrics.summaries
        assert (len(summaries) > 0) == (expected > 0)
        if expected:
            folded_counts = []
            for i, request in enumerate(summaries):
                text = request["messages"][0]["content"][0]["text"]
                assert ("The summary so far:" in text) == (i > 0)
                folded = text.rsplit("The conversation to summarise:", 1)[1]
                folded_counts.append(folded.count("\nUser: ") + folded.count("\nAssistant: "))
            assert sum(folded_counts) == expected
            assert conv.summary is not None
            assert any(conv.summary in b.get("text", "") for b in ours[0]["system"])
        else:
            assert conv.summary is None
    if kind != "summarizing":
        assert summaries == []
    assert start == expected, f"{kind}: starts at {start}, expected {expected} of {cuts}"
    event(f"{kind}, {mode}, " + ("cut" if start else "whole history"))
