"""Context overflow: recovered once, automatically, by a conversation with a memory policy
(sync, async and streamed, including an overflow inside a stream before any content);
without a policy the error names the policies that would help. Custom policies' failures
leave the conversation as it was."""

from __future__ import annotations

import asyncio
from typing import Any

import fastconverse as fc
import pytest
from conftest import fc_client
from fastconverse import errors
from fastconverse.testing import FakeBedrock

OVERFLOW = "Input is too long for requested model."


def converse_requests(fake: FakeBedrock) -> list[dict[str, Any]]:
    return [r.body for r in fake.requests if r.operation in ("Converse", "ConverseStream")]


def grow(conv: fc.Conversation, turns: int, words: int = 30) -> None:
    for i in range(turns):
        conv.send(f"turn {i} " + "word " * words)


@pytest.mark.parametrize("policy", [fc.SlidingWindow(1000), fc.TokenBudget(10**6)])
def test_an_overflow_is_recovered_once_with_a_deeper_cut(make_fake: Any, policy: Any) -> None:
    fake = make_fake(default_context_window=400)
    conv = fc_client(fake).create_conversation(memory=policy)
    grow(conv, 6)  # each turn ~ 64 fake tokens: 6 turns fit, the 7th does not
    before = converse_requests(fake)
    reply = conv.send("one more " + "word " * 30)
    assert reply.text.startswith("You said: one more")
    after = converse_requests(fake)[len(before) :]
    # The request that overflowed was answered with an error, so the fake logged one
    # request only if it was the retry: both are logged.
    assert len(after) == 2
    assert len(after[1]["messages"]) < len(after[0]["messages"])
    assert after[1]["messages"][-1] == after[0]["messages"][-1]
    assert conv.metrics.retries == 1
    assert conv.messages == after[1]["messages"] + [conv.messages[-1]]
    assert len(conv.transcript) == 2 * 7


def test_a_second_overflow_in_the_same_turn_is_raised_and_changes_nothing(make_fake: Any) -> None:
    fake = make_fake()
    conv = fc_client(fake).create_conversation(memory=fc.TokenBudget(10**6))
    grow(conv, 4)
    before = conv.messages
    fake.enqueue_error("ValidationException", OVERFLOW)
    fake.enqueue_error("ValidationException", OVERFLOW)
    with pytest.raises(errors.ContextWindowExceededError):
        conv.send("q")
    assert conv.messages == before
    assert conv.metrics.errors == {"ValidationException": 1}
    assert conv.metrics.failed_turns == 1


def test_without_a_policy_the_error_names_the_policies(make_fake: Any) -> None:
    fake = make_fake(default_context_window=100)
    conv = fc_client(fake).create_conversation()
    with pytest.raises(errors.ContextWindowExceededError) as info:
        grow(conv, 10)
    text = str(info.value)
    for name in ("TokenBudget", "SlidingWindow", "Summarizing"):
        assert name in text
    assert len(converse_requests(fake)) == len(conv.messages) // 2 + 1, "no retry"


def test_send_async_recovers_too(make_fake: Any) -> None:
    fake = make_fake()
    conv = fc_client(fake).create_conversation(memory=fc.SlidingWindow(100))
    grow(conv, 4)
    fake.enqueue_error("ValidationException", "prompt is too long: 200049 tokens > 200000 maximum")
    reply = asyncio.run(conv.send_async("after"))
    assert reply.text == "You said: after"
    sent = converse_requests(fake)[-1]["messages"]
    assert len(sent) == 5, "the older half went: two exchanges and the question"


@pytest.mark.parametrize("after_events", [0, 1])
def test_a_stream_that_overflows_before_content_is_retried(
    make_fake: Any, after_events: int
) -> None:
    fake = make_fake()
    conv = fc_client(fake).create_conversation(memory=fc.SlidingWindow(100))
    grow(conv, 4)
    fake.enqueue_turn(
        [{"text": "never shown"}],
        stream_error="validationException",
        stream_error_message=OVERFLOW,
        after_events=after_events,
    )
    fake.enqueue_text("the retry")
    with conv.stream("streamed") as stream:
        text = "".join(e.text for e in stream if isinstance(e, fc.TextDelta))
    assert text == "the retry"
    assert stream.reply.text == "the retry"
    assert conv.metrics.retries == 1
    assert conv.messages[-1] == {"role": "assistant", "content": [{"text": "the retry"}]}


def test_a_stream_that_overflows_after_content_is_not_retried(make_fake: Any) -> None:
    fake = make_fake()
    conv = fc_client(fake).create_conversation(memory=fc.SlidingWindow(100))
    grow(conv, 2)
    before = conv.messages
    fake.enqueue_turn(
        [{"text": "partial words here"}],
        stream_error="validationException",
        stream_error_message=OVERFLOW,
        after_events=3,
    )
    seen = []
    with pytest.raises(errors.ContextWindowExceededError):
        for event in conv.stream("q"):
            seen.append(event)
    assert any(isinstance(e, fc.TextDelta) for e in seen)
    assert conv.messages == before
    assert conv.metrics.retries == 0


def test_an_overflow_that_nothing_can_shrink_is_raised(make_fake: Any) -> None:
    fake = make_fake(default_context_window=10)
    conv = fc_client(fake).create_conversation(memory=fc.TokenBudget(10**6))
    with pytest.raises(errors.ContextWindowExceededError):
        conv.send("far " * 50)
    assert conv.messages == []
    assert conv.metrics.retries == 0


class Raising(fc.MemoryPolicy):
    def select(self, view: fc.HistoryView) -> int:
        raise KeyError("policy bug")


class Returning(fc.MemoryPolicy):
    def __init__(self, value: Any) -> None:
        self.value = value

    def select(self, view: fc.HistoryView) -> int:
        return self.value  # type: ignore[no-any-return]


def test_a_policy_that_raises_fails_the_turn_with_its_own_exception(make_fake: Any) -> None:
    fake = make_fake()
    conv = fc_client(fake).create_conversation(memory=Raising())
    with pytest.raises(KeyError, match="policy bug"):
        conv.send("q")
    assert conv.messages == [] and not conv.busy
    assert converse_requests(fake) == []


@pytest.mark.parametrize("value", ["3", 1.5, None, True])
def test_a_policy_returning_a_non_int_is_a_type_error(make_fake: Any, value: Any) -> None:
    conv = fc_client(make_fake()).create_conversation(memory=Returning(value))
    with pytest.raises(TypeError, match=r"select\(view\) must return the index"):
        conv.send("q")
    assert not conv.busy


def test_a_policy_index_snaps_to_the_next_turn_start(make_fake: Any) -> None:
    fake = make_fake()
    # Keep from message 1 (an answer): the request starts at the next user message, here
    # the new question (the view is relative to what the conversation still sends).
    conv = fc_client(fake).create_conversation(memory=Returning(1))
    grow(conv, 3)
    sent = converse_requests(fake)[-1]["messages"]
    assert sent == [conv.transcript[4]]
    assert conv.messages == conv.transcript[4:]
    # Negative indexes count from the end.
    conv2 = fc_client(fake).create_conversation(memory=Returning(-2))
    grow(conv2, 5)
    assert len(converse_requests(fake)[-1]["messages"]) == 3


def test_the_view_shows_the_history_the_request_builds_on(make_fake: Any) -> None:
    seen: list[dict[str, Any]] = []

    class Recording(fc.MemoryPolicy):
        def select(self, view: fc.HistoryView) -> int:
            seen.append(
                {
                    "len": len(view),
                    "starts": view.starts,
                    "roles": [view.role(i) for i in range(len(view))],
                    "tokens": [view.tokens(i) for i in range(len(view))],
                    "last": view.message(-1) if len(view) else None,
                    "pending": view.pending_tokens,
                    "total": view.tokens_from(0),
                }
            )
            with pytest.raises(IndexError, match="out of range"):
                view.tokens(len(view))
            return 0

    conv = fc_client(make_fake()).create_conversation(memory=Recording())
    conv.send("first question")
    conv.send("second")
    last = seen[-1]
    assert last["len"] == 2
    assert last["roles"] == ["user", "assistant"]
    assert last["starts"] == [0, 2]
    assert last["last"] == conv.messages[1]
    assert last["tokens"] == [fc.estimate_tokens(m) for m in conv.messages[:2]]
    assert last["pending"] == fc.estimate_tokens({"role": "user", "content": [{"text": "second"}]})
    assert last["total"] == sum(last["tokens"]) + last["pending"]


@pytest.mark.parametrize(
    ("make", "error", "text"),
    [
        (lambda: fc.SlidingWindow(0), ValueError, "max_messages: expected an int >= 1"),
        (lambda: fc.SlidingWindow(True), TypeError, "max_messages: expected an int"),
        (lambda: fc.TokenBudget("8000"), TypeError, "max_tokens: expected an int"),
        (lambda: fc.TokenBudget(-1), ValueError, "max_tokens"),
        (lambda: fc.Summarizing(keep_recent=-1), ValueError, "keep_recent"),
        (lambda: fc.Summarizing(model_id=" "), ValueError, "model_id: must not be blank"),
        (lambda: fc.Summarizing(prompt=3), TypeError, "prompt: expected a str"),
    ],
)
def test_bad_policy_arguments_are_named(make: Any, error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=text):
        make()


def test_bad_memory_and_cache_arguments_are_named(make_fake: Any) -> None:
    client = fc_client(make_fake())
    with pytest.raises(TypeError, match="memory: expected SlidingWindow"):
        client.create_conversation(memory=40)
    with pytest.raises(ValueError, match="cache: expected"):
        client.create_conversation(cache="everything")
    with pytest.raises(ValueError, match="cache"):
        client.create_conversation(cache=["system", 3])
    assert client.create_conversation(cache=["tools", "system"]).cache == ["system", "tools"]
    assert client.create_conversation(cache="all").cache == ["system", "tools", "history"]


def test_a_failing_policy_is_counted_in_the_metrics(make_fake: Any) -> None:
    conv = fc_client(make_fake()).create_conversation(memory=Raising())
    with pytest.raises(KeyError):
        conv.send("q")
    assert conv.metrics.errors == {"KeyError": 1}
    assert conv.metrics.failed_turns == 1


def test_view_indexes_never_panic(make_fake: Any) -> None:
    checked: list[int] = []

    class Probing(fc.MemoryPolicy):
        def select(self, view: fc.HistoryView) -> int:
            checked.append(view.tokens_from(2**64 - 1))
            with pytest.raises(OverflowError):
                view.tokens_from(2**64)
            with pytest.raises(IndexError):
                view.message(-(len(view) + 1))
            return 1

    conv = fc_client(make_fake()).create_conversation(memory=Probing())
    conv.send("a")
    conv.send("b")
    assert checked == [view_pending for view_pending in checked]
    assert checked[-1] == fc.estimate_tokens({"role": "user", "content": [{"text": "b"}]})


@pytest.mark.parametrize(
    "wording",
    [
        "Input is too long for requested model.",
        "input length and `max_tokens` exceed context limit: 190000 + 20000 > 200000, "
        "decrease input length or `max_tokens` and try again",
        "The model returned the following errors: prompt is too long: 200049 tokens > 200000 "
        "maximum",
        "too many total text bytes: 1048577 > 1048576",
        "This model's maximum context length is 128000 tokens. However, your messages resulted "
        "in 130000 tokens.",
    ],
)
def test_every_overflow_wording_is_recovered_from(make_fake: Any, wording: str) -> None:
    fake = make_fake()
    conv = fc_client(fake).create_conversation(memory=fc.SlidingWindow(100))
    grow(conv, 2)
    fake.enqueue_error("ValidationException", wording)
    assert conv.send("q").text == "You said: q"
    assert conv.metrics.retries == 1
    plain = fc_client(fake).create_conversation()
    fake.enqueue_error("ValidationException", wording)
    with pytest.raises(errors.ContextWindowExceededError, match="TokenBudget"):
        plain.send("q")
