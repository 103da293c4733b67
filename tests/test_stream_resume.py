"""Streams that resume: a conversation's stream cut after some of the answer asks again with
the answer so far (an assistant prefill, or an instruction to continue for models without
one) and goes on with the new text only. Through the public API, against FakeBedrock over
HTTP: FakeBedrock remembers a scripted turn its fault cut and answers a request that
continues it with the rest.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from conftest import boto3_client, fc_client
from fastconverse import (
    ConverseClient,
    MessageStart,
    Metadata,
    Resumed,
    TextDelta,
    ToolResult,
    ToolUseStart,
    errors,
    tool,
)
from fastconverse.testing import FakeBedrock

CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
LLAMA = "meta.llama3-8b-instruct-v1:0"
TEXT = "The quick brown fox jumps over the lazy dog "
WORDS = len(TEXT.split())
# events: messageStart, one delta per word, contentBlockStop, messageStop, metadata
IN_TEXT = range(2, WORDS + 2)  # faults after these many events cut the text, some shown

FAULTS: list[dict[str, Any]] = [
    {"stream_error": "throttlingException"},
    {"stream_error": "internalServerException"},
    {"stream_error": "serviceUnavailableException"},
    {"stream_error": "modelStreamErrorException"},
    {"disconnect": True},
]
REASONS = {
    "throttlingException": "ThrottlingException",
    "internalServerException": "InternalServerException",
    "serviceUnavailableException": "ServiceUnavailableException",
    "modelStreamErrorException": "ModelStreamErrorException",
}


def _enqueue(fake: FakeBedrock, text: str, fault: dict[str, Any], after: int, **kw: Any) -> None:
    if fault.get("disconnect"):
        fake.enqueue_text(text, disconnect_after_events=after, **kw)
    else:
        fake.enqueue_text(text, stream_error=fault["stream_error"], after_events=after, **kw)


def _text(events: list[Any]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def _last_text(conv: Any) -> str:
    return "".join(b["text"] for b in conv.messages[-1]["content"] if "text" in b)


def _check_resumed(fake: FakeBedrock, conv: Any, events: list[Any], text: str) -> Resumed:
    """The invariants of a stream resumed once: the answer whole and once, one assistant
    message, the resume request ending with the answer so far."""
    assert _text(events) == text
    assert [m["role"] for m in conv.messages] == ["user", "assistant"]
    assert _last_text(conv) == text
    [resumed] = [e for e in events if isinstance(e, Resumed)]
    assert [type(e) for e in events].count(MessageStart) == 1
    shown = _text(events[: events.index(resumed)])
    last = fake.requests[-1].body["messages"][-1]
    assert last == {"role": "assistant", "content": [{"text": shown.rstrip()}]}
    assert not last["content"][0]["text"].endswith(" ")
    return resumed


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.get("stream_error", "disconnect"))
@pytest.mark.parametrize("after", [2, 4, WORDS + 1, WORDS + 2])
def test_a_cut_stream_resumes_with_the_rest_of_the_answer(
    fake_bedrock: FakeBedrock, fault: dict[str, Any], after: int
) -> None:
    conv = fc_client(fake_bedrock).create_conversation(model_id=CLAUDE)
    _enqueue(fake_bedrock, TEXT, fault, after)
    events = list(conv.stream("go"))
    resumed = _check_resumed(fake_bedrock, conv, events, TEXT)
    assert resumed.attempt == 1
    if "stream_error" in fault:
        assert resumed.reason == REASONS[fault["stream_error"]]
    else:
        assert resumed.reason == "StreamInterruptedError"
    assert repr(resumed).startswith("Resumed(reason=")
    assert resumed.to_dict()["resumed"]["attempt"] == 1
    assert [r.operation for r in fake_bedrock.requests] == ["ConverseStream"] * 2
    assert fake_bedrock.pending == 0


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.get("stream_error", "disconnect"))
def test_a_cut_after_the_message_stop_keeps_the_whole_answer(
    fake_bedrock: FakeBedrock, fault: dict[str, Any]
) -> None:
    # Only the metadata was lost: the answer is whole, and a model asked to go on could add
    # to a finished answer, so it is kept as it is (its usage estimated, as a cut attempt's).
    conv = fc_client(fake_bedrock).create_conversation(model_id=CLAUDE)
    _enqueue(fake_bedrock, TEXT, fault, WORDS + 3)
    stream = conv.stream("go")
    events = list(stream)
    assert not [e for e in events if isinstance(e, Resumed)]
    assert _text(events) == TEXT and _last_text(conv) == TEXT
    assert [r.operation for r in fake_bedrock.requests] == ["ConverseStream"]
    usage = stream.reply.usage
    assert usage.input_tokens > 0 and usage.output_tokens > 0
    assert stream.reply.stop_reason == "end_turn"
    # (with resume off, the cut fails the turn as before)
    _enqueue(fake_bedrock, TEXT, fault, WORDS + 3)
    with pytest.raises(errors.ConverseError):
        list(conv.stream("again", resume=0))
    assert len(conv.messages) == 2


def test_usage_counts_every_attempt(fake_bedrock: FakeBedrock) -> None:
    conv = fc_client(fake_bedrock).create_conversation(model_id=CLAUDE)
    conv.send("a first turn, so that the prompt is not small")
    _enqueue(fake_bedrock, TEXT, FAULTS[0], 5)
    stream = conv.stream("go")
    events = list(stream)
    [metadata] = [e for e in events if isinstance(e, Metadata)]  # (the resumed attempt's)
    usage = stream.reply.usage
    # the cut attempt sent no metadata: its input and what it showed are estimated
    assert usage.input_tokens > metadata.usage.input_tokens
    assert usage.output_tokens > metadata.usage.output_tokens
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert stream.reply.text == TEXT


def test_the_default_model_continues_its_own_answer(fake_bedrock: FakeBedrock) -> None:
    # (a default-model answer cut by the client's read timeout is not possible to script:
    # the prefill request alone shows the default model continues)
    bedrock = boto3_client(fake_bedrock)
    messages = [
        {"role": "user", "content": [{"text": "one two three"}]},
        {"role": "assistant", "content": [{"text": "You said: one t"}]},
    ]
    out = bedrock.converse(modelId=CLAUDE, messages=messages)
    assert out["output"]["message"]["content"] == [{"text": "wo three"}]


def test_a_read_timeout_resumes(fake_bedrock: FakeBedrock) -> None:
    client = fc_client(fake_bedrock, read_timeout=0.3)
    conv = client.create_conversation(model_id=CLAUDE)
    # the first delta comes at once, the next never in time
    fake_bedrock.enqueue_text("one two three four", delta_delay=3.0)
    fake_bedrock.enqueue_text(" two three four")  # what the model says to the prefill "one"
    events = list(conv.stream("go"))
    resumed = _check_resumed(fake_bedrock, conv, events, "one two three four")
    assert resumed.reason == "StreamInterruptedError" and "read_timeout" in resumed.message


def test_resume_0_keeps_a_cut_stream_failing(fake_bedrock: FakeBedrock) -> None:
    for client, per_stream in (
        (fc_client(fake_bedrock, resume=0), None),
        (fc_client(fake_bedrock), 0),
    ):
        conv = client.create_conversation(model_id=CLAUDE)
        conv.send("kept")
        before = conv.messages
        _enqueue(fake_bedrock, TEXT, FAULTS[0], 4)
        seen: list[Any] = []
        with pytest.raises(errors.ThrottlingError):
            for event in conv.stream("lost", resume=per_stream):
                seen.append(event)
        assert not any(isinstance(e, Resumed) for e in seen)
        assert conv.messages == before and not conv.busy
    assert client.resume == 2


def test_a_stream_that_cannot_resume_fails_after_its_tries(fake_bedrock: FakeBedrock) -> None:
    # the read times out again on the resumed stream: two resumes, then the failure
    for text in ("one two three four", " two three four", " two three four"):
        fake_bedrock.enqueue_text(text, delta_delay=3.0)
    client = fc_client(fake_bedrock, read_timeout=0.3)
    conv = client.create_conversation(model_id=CLAUDE)
    seen: list[Any] = []
    with pytest.raises(errors.StreamInterruptedError):
        for event in conv.stream("go"):
            seen.append(event)
    assert [e.attempt for e in seen if isinstance(e, Resumed)] == [1, 2]
    assert _text(seen) == "one two two "  # (each attempt's first delta; " " not twice)
    assert conv.messages == []


def test_a_non_resumable_error_is_not_resumed(fake_bedrock: FakeBedrock) -> None:
    conv = fc_client(fake_bedrock).create_conversation(model_id=CLAUDE)
    fake_bedrock.enqueue_text(TEXT, stream_error="validationException", after_events=4)
    with pytest.raises(errors.ValidationError):
        list(conv.stream("go"))
    assert len(fake_bedrock.requests) == 1 and conv.messages == []


def test_a_model_without_prefill_is_asked_to_continue(fake_bedrock: FakeBedrock) -> None:
    conv = fc_client(fake_bedrock).create_conversation(model_id=LLAMA)
    _enqueue(fake_bedrock, TEXT, FAULTS[1], 4)
    events = list(conv.stream("go"))
    assert _text(events) == TEXT and _last_text(conv) == TEXT
    assert len(conv.messages) == 2
    sent = fake_bedrock.requests[-1].body["messages"]
    shown = _text(events[: next(i for i, e in enumerate(events) if isinstance(e, Resumed))])
    assert sent[-2] == {"role": "assistant", "content": [{"text": shown.rstrip()}]}
    assert sent[-1]["role"] == "user" and "Continue" in sent[-1]["content"][0]["text"]


@pytest.mark.parametrize("after", [8, 9, 10])  # inside the tool use's input
def test_a_cut_tool_use_starts_again_and_the_loop_completes(
    fake_bedrock: FakeBedrock, after: int
) -> None:
    calls: list[str] = []

    @tool
    def echo(text: str) -> str:
        """Says it back."""
        calls.append(text)
        return text

    conv = fc_client(fake_bedrock).create_conversation(model_id=CLAUDE, tools=[echo])
    # events: start, 4 text deltas, stop, toolStart, 4 input deltas, stop, messageStop, metadata
    fake_bedrock.enqueue_tool_use(
        "echo",
        {"text": "hi there"},
        text="Let me call it.",
        chunks=4,
        disconnect_after_events=after,
        tool_use_id="tooluse_1",
    )
    fake_bedrock.enqueue_text("It said hi there.")
    events = list(conv.stream("go"))
    starts = [e for e in events if isinstance(e, ToolUseStart)]
    assert [(s.tool_use_id, s.index) for s in starts] == [("tooluse_1", 1)] * 2
    # The Resumed event says which block streams again, so a reader drops what it had of it.
    [resumed] = [e for e in events if isinstance(e, Resumed)]
    assert resumed.restarted == [1]
    assert resumed.to_dict()["resumed"]["restarted"] == [1]
    assert calls == ["hi there"]
    assert [type(e) for e in events].count(ToolResult) == 1
    assert _text(events) == "Let me call it.It said hi there."
    roles = [m["role"] for m in conv.messages]
    assert roles == ["user", "assistant", "user", "assistant"]
    assert conv.messages[1]["content"] == [
        {"text": "Let me call it."},
        {"toolUse": {"toolUseId": "tooluse_1", "name": "echo", "input": {"text": "hi there"}}},
    ]
    prefill = fake_bedrock.requests[1].body["messages"][-1]
    assert prefill == {"role": "assistant", "content": [{"text": "Let me call it."}]}


def test_a_cut_reasoning_block_is_dropped_and_streamed_again(fake_bedrock: FakeBedrock) -> None:
    conv = fc_client(fake_bedrock).create_conversation(model_id=CLAUDE)
    fake_bedrock.enqueue_text(
        "Answer here",
        reasoning="think think think",
        reasoning_signature="sig",
        chunks=3,
        stream_error="throttlingException",
        after_events=2,
    )
    # nothing of the answer can be sent back: the request is made again as it was, and
    # the model answers afresh
    fake_bedrock.enqueue_text(
        "Answer here", reasoning="think think think", reasoning_signature="sig"
    )
    events = list(conv.stream("go"))
    assert any(isinstance(e, Resumed) for e in events)
    assert conv.messages[1]["content"][0]["reasoningContent"]["reasoningText"] == {
        "text": "think think think",
        "signature": "sig",
    }
    assert _last_text(conv) == "Answer here"
    # the partial reasoning was not sent back: the resumed request is the first again
    assert fake_bedrock.requests[1].body["messages"] == fake_bedrock.requests[0].body["messages"]


def test_async_for_resumes(fake_bedrock: FakeBedrock) -> None:
    conv = fc_client(fake_bedrock).create_conversation(model_id=CLAUDE)
    _enqueue(fake_bedrock, TEXT, FAULTS[4], 5)

    async def main() -> list[Any]:
        return [e async for e in conv.stream("go")]

    events = asyncio.run(main())
    _check_resumed(fake_bedrock, conv, events, TEXT)


def test_the_boto3_shaped_stream_does_not_resume(fake_bedrock: FakeBedrock) -> None:
    client = fc_client(fake_bedrock)
    _enqueue(fake_bedrock, TEXT, FAULTS[0], 4)
    out = client.converse_stream(
        modelId=CLAUDE, messages=[{"role": "user", "content": [{"text": "go"}]}]
    )
    with pytest.raises(errors.ThrottlingError):
        list(out["stream"])
    assert len(fake_bedrock.requests) == 1


def test_resume_must_be_a_count(fake_bedrock: FakeBedrock) -> None:
    with pytest.raises(ValueError, match="resume"):
        fc_client(fake_bedrock, resume=-1)
    with pytest.raises(TypeError, match="resume"):
        fc_client(fake_bedrock, resume="2")
    conv = fc_client(fake_bedrock).create_conversation()
    with pytest.raises(TypeError, match="resume"):
        conv.stream("x", resume=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="resume"):
        conv.stream("x", resume=-2)
    assert not conv.busy


# --- FakeBedrock ----------------------------------------------------------------------------


def test_fake_refuses_a_claude_prefill_ending_in_whitespace(fake_bedrock: FakeBedrock) -> None:
    bedrock = boto3_client(fake_bedrock)
    messages = [
        {"role": "user", "content": [{"text": "hi"}]},
        {"role": "assistant", "content": [{"text": "Well, "}]},
    ]
    with pytest.raises(bedrock.exceptions.ValidationException, match="trailing whitespace"):
        bedrock.converse(modelId="us.anthropic.claude-3-5-haiku-20241022-v1:0", messages=messages)
    assert bedrock.converse(modelId=LLAMA, messages=messages)["stopReason"] == "end_turn"
    messages[-1]["content"] = [{"text": "Well,"}]
    assert bedrock.converse(modelId=CLAUDE, messages=messages)["stopReason"] == "end_turn"


# --- a seeded campaign ----------------------------------------------------------------------


def _one(fake: FakeBedrock, client: ConverseClient, rng: random.Random, n: int) -> None:
    fake.reset()
    model = rng.choice([CLAUDE, f"us.{CLAUDE}", LLAMA])
    words = "".join(
        f"w{i}-{rng.randint(0, 99)}{rng.choice([' ', '  ', chr(10)])}"
        for i in range(rng.randint(1, 12))
    )
    events_count = len(words.split()) + 4
    fault = rng.choice([*FAULTS, {"stream_error": "validationException"}])
    after = rng.randint(0, events_count - 1)
    budget = rng.choice([0, 1, 2, 3])
    _enqueue(fake, words, fault, after, model_id=model)
    fake.enqueue_text(words, model_id=model)  # (the answer to a retry before any content)
    conv = client.create_conversation(model_id=model)
    seen: list[Any] = []
    use_async = rng.random() < 0.3
    try:
        if use_async:

            async def main() -> None:
                async for e in conv.stream("go", resume=budget):
                    seen.append(e)

            asyncio.run(main())
        else:
            for e in conv.stream("go", resume=budget):
                seen.append(e)
    except errors.ConverseError as exc:
        failed: Exception | None = exc
    else:
        failed = None
    context = f"case {n}: {fault} after {after}, budget {budget}, {model}, {words!r}"
    not_resumable = fault.get("stream_error") == "validationException"
    shown = after >= 2  # (messageStart, then the first delta)
    # before any content the pump retries what is transient (not a model's stream error)
    expected_failure = (
        not_resumable
        or (shown and budget == 0)
        or (not shown and fault.get("stream_error") == "modelStreamErrorException")
    )
    assert (failed is not None) == expected_failure, (context, failed)
    if failed is not None:
        assert conv.messages == [], context
        assert not any(isinstance(e, Resumed) for e in seen), context
        return
    assert _text(seen) == words, context
    assert _last_text(conv) == words and len(conv.messages) == 2, context
    resumes = [e for e in seen if isinstance(e, Resumed)]
    assert len(resumes) <= 1 and (not resumes or budget >= 1), context
    # (a cut after the messageStop keeps the whole answer: nothing to resume)
    stopped = after >= len(words.split()) + 3
    assert bool(resumes) == (shown and not stopped), context
    if resumes:
        sent = fake.requests[-1].body["messages"]
        prefix = sent[-1] if model != LLAMA else sent[-2]
        assert prefix["role"] == "assistant", context
        for block in prefix["content"]:
            assert not block.get("text", "x").endswith((" ", "\n")), context


@pytest.mark.parametrize("seed", range(6))
def test_campaign(fake_bedrock: FakeBedrock, seed: int) -> None:
    rng = random.Random(seed)
    client = fc_client(fake_bedrock)
    for n in range(25):
        _one(fake_bedrock, client, rng, n)


def _tool_case(fake: FakeBedrock, rng: random.Random, n: int) -> None:
    """A tool round cut at a random event: each tool is called once, the loop completes."""
    fake.reset()
    calls: list[str] = []

    @tool
    def echo(text: str) -> str:
        """Says it back."""
        calls.append(text)
        return text

    client = fc_client(fake)
    conv = client.create_conversation(model_id=CLAUDE, tools=[echo])
    k = rng.randint(1, 3)
    chunks = rng.randint(1, 4)
    inputs = [f"t{i}-{rng.randint(0, 99)}" for i in range(k)]
    # events: start, text deltas, stop, then per tool: start, deltas, stop; stop, metadata
    events = 1 + chunks + 1 + k * (chunks + 2) + 2
    after = rng.randint(2, events - 1)
    fault = rng.choice(FAULTS)
    kw: dict[str, Any] = {"text": "Calling.", "chunks": chunks}
    if fault.get("disconnect"):
        kw["disconnect_after_events"] = after
    else:
        kw.update(stream_error=fault["stream_error"], after_events=after)
    fake.enqueue_tool_uses(
        [("echo", {"text": t}, f"tooluse_{i}") for i, t in enumerate(inputs)], **kw
    )
    fake.enqueue_text("All done.")
    seen = list(conv.stream("go"))
    context = f"tools {n}: {fault} after {after}/{events}, {k} calls in {chunks} chunks"
    assert sorted(calls) == sorted(inputs), context
    assert [m["role"] for m in conv.messages] == ["user", "assistant", "user", "assistant"], context
    uses = [b["toolUse"]["toolUseId"] for b in conv.messages[1]["content"] if "toolUse" in b]
    assert uses == [f"tooluse_{i}" for i in range(k)], context
    assert _text(seen) == "Calling.All done.", context
    # (a cut after the messageStop, the last event but the metadata, keeps the answer whole)
    resumes = 0 if after >= events - 1 else 1
    assert sum(isinstance(e, Resumed) for e in seen) == resumes, context


@pytest.mark.parametrize("seed", range(4))
def test_tool_campaign(fake_bedrock: FakeBedrock, seed: int) -> None:
    rng = random.Random(1000 + seed)
    for n in range(10):
        _tool_case(fake_bedrock, rng, n)
