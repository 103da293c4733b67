"""Conversation: turns (sync, async, streamed), the history rules, and the registry."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from conftest import AKID, SECRET, boto3_client, fc_client, user
from fastconverse import (
    ContentBlockStop,
    ConverseClient,
    MessageStart,
    MessageStop,
    Metadata,
    ReasoningDelta,
    Reply,
    TextDelta,
    ToolUseDelta,
    ToolUseStart,
    Usage,
    errors,
)
from fastconverse.testing import FakeBedrock


def make_client(fake: FakeBedrock, **kwargs: Any) -> ConverseClient:
    kwargs.setdefault("max_attempts", 1)
    return fc_client(fake, **kwargs)


@pytest.fixture
def client(fake_bedrock: FakeBedrock) -> ConverseClient:
    return make_client(fake_bedrock)


def texts(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(m["role"], m["content"][0]["text"]) for m in messages]


# --- send ------------------------------------------------------------------------------------


def test_send_returns_a_reply_and_keeps_the_history(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    conv = client.create_conversation("Be brief.", inference_config={"maxTokens": 50})
    first = conv.send("Hello there")
    assert isinstance(first, Reply)
    assert first.text == str(first) == "You said: Hello there"
    assert first.stop_reason == "end_turn"
    assert first.message == {"role": "assistant", "content": [{"text": "You said: Hello there"}]}
    assert first.content == first.message["content"]
    # token rule: words of system + messages in, words of the reply out
    assert first.usage == Usage(input_tokens=4, output_tokens=4, total_tokens=8)
    assert first.metrics == {"latencyMs": first.latency_ms} and first.latency_ms is not None
    assert first.request_id and first.model_id == "m"
    assert conv.last_reply is first

    second = conv.send("Again")
    assert texts(conv.messages) == [
        ("user", "Hello there"),
        ("assistant", "You said: Hello there"),
        ("user", "Again"),
        ("assistant", "You said: Again"),
    ]
    assert len(conv) == 4
    assert conv.usage == first.usage + second.usage
    assert conv.usage.total_tokens == first.usage.total_tokens + second.usage.total_tokens

    body = fake_bedrock.requests[-1].body
    assert body["system"] == [{"text": "Be brief."}]
    assert body["inferenceConfig"] == {"maxTokens": 50}
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]


def test_send_takes_text_content_blocks_or_a_user_message(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    conv = client.create_conversation()
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(40))
    conv.send([{"text": "What is this?"}, {"image": {"format": "png", "source": {"bytes": png}}}])
    conv.send({"role": "user", "content": [{"text": "And now?"}]})
    sent = fake_bedrock.requests[-1].body["messages"]
    assert sent[0]["content"][1]["image"]["source"]["bytes"] == base64.b64encode(png).decode()
    assert sent[2] == user("And now?")
    # the history hands bytes back as bytes, like boto3
    assert conv.messages[0]["content"][1]["image"]["source"]["bytes"] == png


def test_settings_of_the_conversation_are_sent_and_readable(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    conv = client.create_conversation(
        "You are a weather bot.",
        conversation_id="weather-1",
        model_id="amazon.nova-micro-v1:0",
        inference_config={"maxTokens": 100, "temperature": 0.7, "stopSequences": ["END"]},
        additional_model_request_fields={"top_k": 5},
    )
    assert conv.id == "weather-1"
    assert conv.system_prompt == "You are a weather bot."
    assert conv.model_id == "amazon.nova-micro-v1:0"
    assert conv.inference_config == {"maxTokens": 100, "temperature": 0.7, "stopSequences": ["END"]}
    assert conv.additional_model_request_fields == {"top_k": 5}
    reply = conv.send("Hi")
    assert reply.model_id == "amazon.nova-micro-v1:0"
    request = fake_bedrock.requests[-1]
    assert request.model_id == "amazon.nova-micro-v1:0"
    assert request.body["additionalModelRequestFields"] == {"top_k": 5}
    assert request.body["inferenceConfig"]["stopSequences"] == ["END"]
    assert "conversation_id" not in repr(conv) and "weather-1" in repr(conv)


def test_model_switch_mid_conversation(fake_bedrock: FakeBedrock, client: ConverseClient) -> None:
    fake_bedrock.enqueue_text("from nova", model_id="amazon.nova-micro-v1:0")
    conv = client.create_conversation()
    assert conv.send("one").model_id == "m"
    conv.model_id = "amazon.nova-micro-v1:0"
    reply = conv.send("two")
    assert (reply.text, reply.model_id) == ("from nova", "amazon.nova-micro-v1:0")
    assert [r.model_id for r in fake_bedrock.requests] == ["m", "amazon.nova-micro-v1:0"]
    # the whole history goes to the new model
    assert len(fake_bedrock.requests[-1].body["messages"]) == 3
    with pytest.raises(ValueError, match="model_id"):
        conv.model_id = " "


def test_prompt_cache_usage_is_tracked(fake_bedrock: FakeBedrock, client: ConverseClient) -> None:
    system = [{"text": "A long and stable system prompt"}, {"cachePoint": {"type": "default"}}]
    conv = client.create_conversation(system)
    assert conv.system_prompt == "A long and stable system prompt"
    first = conv.send("one")
    second = conv.send("two")
    assert first.usage.cache_write_input_tokens == 6
    assert second.usage.cache_read_input_tokens == 6
    assert conv.usage.cache_read_input_tokens == 6 and conv.usage.cache_write_input_tokens == 6
    assert second.to_dict()["usage"]["cacheReadInputTokens"] == 6


def test_reply_to_dict_is_boto3s_converse_result(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    fake_bedrock.enqueue_text("Sunny.")
    fake_bedrock.enqueue_text("Sunny.")
    conv = client.create_conversation()
    mine = conv.send("Weather?").to_dict()
    theirs = boto3_client(fake_bedrock).converse(modelId="m", messages=[user("Weather?")])
    del theirs["ResponseMetadata"]
    theirs["metrics"] = mine["metrics"]
    assert mine == theirs


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "error", "text"),
    [
        ("", ValueError, "message: must not be blank"),
        ("   \n", ValueError, "message: must not be blank"),
        ([{"text": " "}], ValueError, r"message\.content\[0\]\.text: must not be blank"),
        ([], ValueError, "at least one content block"),
        ({"role": "assistant", "content": [{"text": "hi"}]}, ValueError, "message.role"),
        ({"role": "user", "content": [{"text": "a", "image": {}}]}, ValueError, "exactly one"),
        ([{"text": "ok"}, {"txt": "typo"}], ValueError, r"message\[1\]"),
        (42, TypeError, "message: expected a str"),
    ],
)
def test_bad_input_is_refused_before_any_request(
    fake_bedrock: FakeBedrock, client: ConverseClient, message: Any, error: type, text: str
) -> None:
    conv = client.create_conversation()
    conv.send("first")
    before = conv.messages
    for call in (conv.send, conv.stream, conv.send_async):
        with pytest.raises(error, match=text):
            call(message)
    assert conv.messages == before
    assert len(fake_bedrock.requests) == 1
    assert not conv.busy


def test_create_conversation_checks_its_arguments(client: ConverseClient) -> None:
    with pytest.raises(ValueError, match="system_prompt: must not be blank"):
        client.create_conversation("  ")
    with pytest.raises(ValueError, match=r"inference_config\.maxTokens"):
        client.create_conversation(inference_config={"maxTokens": "many"})
    with pytest.raises(ValueError, match=r"inference_config\.max_tokens: unknown parameter; .*"):
        client.create_conversation(inference_config={"max_tokens": 5})
    with pytest.raises(ValueError, match=r"messages\[0\]\.role"):
        client.create_conversation(messages=[{"role": "assistant", "content": [{"text": "x"}]}])
    with pytest.raises(ValueError, match="must end with an assistant message"):
        client.create_conversation(messages=[user("x")])
    with pytest.raises(ValueError, match=r"messages\[1\]\.content\[0\]\.text: must not be blank"):
        client.create_conversation(
            messages=[user("x"), {"role": "assistant", "content": [{"text": ""}]}]
        )
    no_default = ConverseClient(
        endpoint_url=client.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
    )
    with pytest.raises(ValueError, match="model_id: no model given"):
        no_default.create_conversation()


def test_a_given_history_is_continued(fake_bedrock: FakeBedrock, client: ConverseClient) -> None:
    history = [user("My name is Ada."), {"role": "assistant", "content": [{"text": "Hi Ada!"}]}]
    conv = client.create_conversation(messages=history)
    conv.send("What is my name?")
    assert fake_bedrock.requests[-1].body["messages"][:2] == history
    assert len(conv) == 4


# --- failed turns leave the history alone ---------------------------------------------------------


def test_service_errors_leave_the_history_unchanged(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    conv = client.create_conversation()
    conv.send("kept")
    before = conv.messages
    usage = conv.usage
    fake_bedrock.enqueue_error("ThrottlingException")
    with pytest.raises(errors.ThrottlingError) as caught:
        conv.send("lost")
    assert caught.value.model_id == "m" and caught.value.request_id
    fake_bedrock.enqueue_error("ModelErrorException", "The model failed")
    with pytest.raises(errors.ModelError):
        conv.stream("lost too").until_done()
    assert conv.messages == before and conv.usage == usage and not conv.busy
    conv.send("next")
    sent = fake_bedrock.requests[-1].body["messages"]
    assert texts(sent) == [("user", "kept"), ("assistant", "You said: kept"), ("user", "next")]


def test_context_overflow_is_typed_and_changes_nothing(make_fake: Any) -> None:
    fake = make_fake(context_windows={"m": 12})
    conv = make_client(fake).create_conversation()
    conv.send("one two three")
    with pytest.raises(errors.ContextWindowExceededError, match="too long"):
        conv.send("four five six seven eight nine ten")
    assert len(conv) == 2


@pytest.mark.parametrize(
    "script",
    [
        {"stream_error": "modelStreamErrorException", "after_events": 3},
        {"stream_error": "throttlingException", "after_events": 3},
        {"disconnect_after_events": 3},
    ],
)
def test_a_stream_failing_midway_leaves_the_history_unchanged(
    fake_bedrock: FakeBedrock, client: ConverseClient, script: dict[str, Any]
) -> None:
    conv = client.create_conversation()
    conv.send("kept")
    before = conv.messages
    fake_bedrock.enqueue_text("one two three four", **script)
    seen: list[Any] = []
    stream = conv.stream("lost", resume=0)  # (resumed, it would not fail: test_stream_resume)
    with pytest.raises(errors.ConverseError):
        for event in stream:
            seen.append(event)
    assert [type(e) for e in seen] == [MessageStart, TextDelta, TextDelta]
    assert conv.messages == before and not conv.busy
    with pytest.raises(RuntimeError, match="ended without a reply: it failed"):
        _ = stream.reply
    # content was already read, so nothing was retried
    assert [r.operation for r in fake_bedrock.requests] == ["Converse", "ConverseStream"]


def test_an_abandoned_stream_changes_nothing(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    conv = client.create_conversation()
    fake_bedrock.enqueue_text("a b c d e f")
    for event in conv.stream("half"):
        if isinstance(event, TextDelta):
            break
    assert conv.messages == [] and not conv.busy

    stream = conv.stream("closed")
    next(stream)
    assert conv.busy
    stream.close()
    assert conv.messages == [] and not conv.busy and stream.done
    with pytest.raises(RuntimeError, match="ended without a reply"):
        _ = stream.reply
    assert list(stream) == []

    with conv.stream("with") as s:
        next(s)
    assert conv.messages == [] and not conv.busy
    assert conv.send("whole").text == "You said: whole"
    assert len(conv) == 2


def test_overlapping_turns_get_a_clear_error(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    conv = client.create_conversation()
    stream = conv.stream("first")
    next(stream)
    for call in (conv.send, conv.stream):
        with pytest.raises(errors.ConversationBusyError, match="already in a turn"):
            call("second")

    async def overlapping() -> Any:
        return await conv.send_async("second")

    with pytest.raises(errors.ConversationBusyError, match="already in a turn"):
        asyncio.run(overlapping())
    with pytest.raises(errors.ConversationBusyError):
        conv.reset()
    assert stream.until_done().text == "You said: first"
    assert not conv.busy
    conv.send("third")
    assert texts(conv.messages)[2] == ("user", "third")

    async def gathered() -> list[Any]:
        return await asyncio.gather(
            conv.send_async("a"), conv.send_async("b"), return_exceptions=True
        )

    fake_bedrock.enqueue_text("slow", first_byte_delay=0.2)
    first, second = asyncio.run(gathered())
    # an async turn starts when awaited: the first one runs, the overlapping one is refused
    assert isinstance(first, Reply) and first.text == "slow"
    assert isinstance(second, errors.ConversationBusyError)
    assert not conv.busy and len(conv) == 6
    # a coroutine never awaited holds nothing
    unawaited = conv.send_async("never awaited")
    assert not conv.busy
    unawaited.close()


def test_cancelling_an_await_aborts_and_changes_nothing(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    conv = client.create_conversation()
    fake_bedrock.enqueue_text("never", first_byte_delay=5)

    async def main() -> None:
        task = asyncio.ensure_future(conv.send_async("hi"))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert conv.messages == [] and not conv.busy
    fake_bedrock.reset()
    assert conv.send("again").text == "You said: again"


# --- streaming ---------------------------------------------------------------------------------


def test_stream_yields_typed_events_and_commits_at_the_end(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    conv = client.create_conversation()
    fake_bedrock.enqueue_text("Hello big world", chunks=3, latency_ms=42)
    stream = conv.stream("Hi")
    events = []
    for event in stream:
        events.append(event)
        if not isinstance(event, Metadata):
            assert conv.messages == []  # nothing is committed before the end
    assert [type(e) for e in events] == [
        MessageStart,
        TextDelta,
        TextDelta,
        TextDelta,
        ContentBlockStop,
        MessageStop,
        Metadata,
    ]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello big world"
    assert repr(events[1]) == f"TextDelta(text={events[1].text!r}, index=0)"
    assert events[-2].stop_reason == "end_turn"
    assert events[-1].latency_ms == 42 and events[-1].metrics == {"latencyMs": 42}
    reply = stream.reply
    assert reply.text == "Hello big world" and reply.usage == events[-1].usage
    assert conv.last_reply is reply
    assert texts(conv.messages) == [("user", "Hi"), ("assistant", "Hello big world")]


def test_stream_events_to_dict_match_boto3(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    for _ in range(2):
        fake_bedrock.enqueue_tool_use(
            "get_weather",
            {"city": "Paris", "days": [1, 2]},
            tool_use_id="t-9",
            text="Let me check.",
            chunks=2,
        )
    theirs = [
        event
        for event in boto3_client(fake_bedrock).converse_stream(
            modelId="m", messages=[user("Weather?")]
        )["stream"]
    ]
    mine = [event.to_dict() for event in client.create_conversation().stream("Weather?")]
    theirs[-1]["metadata"]["metrics"] = mine[-1]["metadata"]["metrics"]
    assert mine == theirs


def test_streamed_tool_use_and_reasoning_assemble_into_the_reply(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    fake_bedrock.enqueue_tool_use("get_weather", {"city": "Paris"}, tool_use_id="t-1", chunks=3)
    stream = client.create_conversation().stream("Weather in Paris?")
    events = list(stream)
    start = next(e for e in events if isinstance(e, ToolUseStart))
    assert (start.name, start.tool_use_id) == ("get_weather", "t-1")
    pieces = [e.input for e in events if isinstance(e, ToolUseDelta)]
    assert len(pieces) == 3 and "".join(pieces) == '{"city":"Paris"}'
    assert stream.reply.tool_uses == [
        {"toolUseId": "t-1", "name": "get_weather", "input": {"city": "Paris"}}
    ]
    assert stream.reply.stop_reason == "tool_use"

    fake_bedrock.enqueue_text("42.", reasoning="Think it through", reasoning_signature="sig==")
    conv = client.create_conversation()
    stream = conv.stream("Meaning of life?")
    deltas = [e for e in stream if isinstance(e, ReasoningDelta)]
    assert "".join(d.text for d in deltas) == "Think it through"
    assert deltas[-1].signature == "sig=="
    assert stream.reply.reasoning == "Think it through" and stream.reply.text == "42."
    # the signed reasoning stays in the history, as models that reason require
    assert conv.messages[1]["content"][0] == {
        "reasoningContent": {"reasoningText": {"text": "Think it through", "signature": "sig=="}}
    }


def test_stream_and_send_give_the_same_reply(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    fake_bedrock.enqueue_text("Same answer here.", reasoning="hmm", reasoning_signature="s")
    fake_bedrock.enqueue_text("Same answer here.", reasoning="hmm", reasoning_signature="s")
    sent = client.create_conversation().send("Q")
    streamed = client.create_conversation().stream("Q").until_done()
    for attr in ("text", "message", "stop_reason", "usage", "reasoning"):
        assert getattr(sent, attr) == getattr(streamed, attr), attr


def test_async_stream_and_send(fake_bedrock: FakeBedrock, client: ConverseClient) -> None:
    conv = client.create_conversation()

    async def main() -> list[Any]:
        reply = await conv.send_async("one")
        assert reply.text == "You said: one"
        stream = conv.stream("two three")
        events = [event async for event in stream]
        assert stream.reply.text == "You said: two three"
        return events

    events = asyncio.run(main())
    assert [e.text for e in events if isinstance(e, TextDelta)] == [
        "You ",
        "said: ",
        "two ",
        "three",
    ]
    assert texts(conv.messages)[1:] == [
        ("assistant", "You said: one"),
        ("user", "two three"),
        ("assistant", "You said: two three"),
    ]


def test_many_conversations_stream_concurrently(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    convs = [client.create_conversation(conversation_id=f"c{i}") for i in range(20)]
    for i in range(20):
        fake_bedrock.enqueue_text(f"reply {i} " * 5, model_id=f"model-{i}", delta_delay=0.01)
        convs[i].model_id = f"model-{i}"

    async def run(i: int) -> str:
        return "".join([e.text async for e in convs[i].stream("go") if isinstance(e, TextDelta)])

    async def main() -> list[str]:
        return await asyncio.gather(*(run(i) for i in range(20)))

    assert asyncio.run(main()) == [f"reply {i} " * 5 for i in range(20)]
    assert all(len(c) == 2 for c in convs)


# --- retries of streams ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        {"stream_error": "throttlingException", "after_events": 1},
        {"stream_error": "internalServerException", "after_events": 0},
        {"stream_error": "serviceUnavailableException", "after_events": 1},
        {"disconnect_after_events": 1},
    ],
)
def test_a_stream_failing_before_content_is_retried(
    fake_bedrock: FakeBedrock, failure: dict[str, Any]
) -> None:
    conv = make_client(fake_bedrock, max_attempts=3).create_conversation()
    fake_bedrock.enqueue_text("never seen", **failure)
    fake_bedrock.enqueue_text("second try", chunks=2)
    events = list(conv.stream("hi"))
    assert [type(e) for e in events].count(MessageStart) == 1
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "second try"
    assert [r.operation for r in fake_bedrock.requests] == ["ConverseStream"] * 2
    assert texts(conv.messages) == [("user", "hi"), ("assistant", "second try")]


def test_stream_retries_stop_at_max_attempts(fake_bedrock: FakeBedrock) -> None:
    conv = make_client(fake_bedrock, max_attempts=2).create_conversation()
    for _ in range(3):
        fake_bedrock.enqueue_text("x", stream_error="throttlingException", after_events=1)
    with pytest.raises(errors.ThrottlingError):
        list(conv.stream("hi"))
    assert len(fake_bedrock.requests) == 2 and fake_bedrock.pending == 1
    assert conv.messages == []


def test_a_non_transient_stream_error_is_not_retried(fake_bedrock: FakeBedrock) -> None:
    conv = make_client(fake_bedrock, max_attempts=3).create_conversation()
    fake_bedrock.enqueue_text("x", stream_error="validationException", after_events=1)
    with pytest.raises(errors.ValidationError):
        list(conv.stream("hi"))
    assert len(fake_bedrock.requests) == 1


# --- the registry ------------------------------------------------------------------------------


def test_conversations_are_found_listed_and_deleted(client: ConverseClient) -> None:
    a = client.create_conversation(conversation_id="a")
    b = client.create_conversation(conversation_id="b")
    c = client.create_conversation()
    assert len(c.id) == 36  # a uuid4
    assert client.get_conversation("a") is a
    a.send("latest activity")
    assert [x.id for x in client.list_conversations()] == ["a", c.id, "b"]
    assert [x.id for x in client.list_conversations(max_results=1)] == ["a"]
    # As in the reference tutorial, an existing id retrieves that conversation.
    assert client.create_conversation(conversation_id="b") is b
    assert client.delete_conversation("b") is True
    with pytest.raises(KeyError, match="no conversation with id 'b'"):
        client.get_conversation("b")
    with pytest.raises(KeyError):
        client.delete_conversation("b")
    assert {x.id for x in client.list_conversations()} == {"a", c.id}
    # a deleted conversation object still works on its own
    assert b.send("still here").text == "You said: still here"


def test_reset_forgets_the_history_but_keeps_usage(client: ConverseClient) -> None:
    conv = client.create_conversation()
    conv.send("one")
    usage = conv.usage
    conv.reset()
    assert conv.messages == [] and conv.last_reply is None and conv.usage == usage


def test_a_blank_reply_is_not_kept_in_the_history(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    # e.g. a stop sequence hit at once; a blank text block in the history would make every
    # later request fail, so the turn is returned but not kept
    conv = client.create_conversation(inference_config={"stopSequences": ["You"]})
    reply = conv.send("hello")
    assert (reply.text, reply.stop_reason) == ("", "stop_sequence")
    assert conv.messages == [] and conv.usage == reply.usage
    conv.send("and now")
    assert len(fake_bedrock.requests[-1].body["messages"]) == 1


def test_events_arrive_while_the_reply_is_still_being_written(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    # the second delta is held back by the server; the first must be in our hands before it
    fake_bedrock.enqueue_text("first second", delta_delay=30)
    conv = client.create_conversation()
    stream = conv.stream("go")
    assert isinstance(next(stream), MessageStart)
    first = next(stream)
    assert isinstance(first, TextDelta) and first.text == "first "
    assert not stream.done and conv.busy
    stream.close()
    assert conv.messages == []


def test_send_async_is_a_coroutine_for_create_task(client: ConverseClient) -> None:
    conv = client.create_conversation()

    async def main() -> str:
        task = asyncio.create_task(conv.send_async("task"))
        return (await task).text

    assert asyncio.run(main()) == "You said: task"
