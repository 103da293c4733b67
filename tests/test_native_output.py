"""Native structured output (``outputConfig.textFormat``): ``send``/``stream(...,
output=Model, output_mode=...)``, how ``auto`` decides, the retry, the boto3-shaped layer
and FakeBedrock's answer, through the public API against FakeBedrock."""

from __future__ import annotations

import asyncio
import json
import types
from pathlib import Path
from typing import Any

import botocore.exceptions
import fastconverse
import pytest
from conftest import boto3_client, fc_boto3, fc_client, user
from fastconverse import SQLiteStore, errors, tool
from fastconverse.testing import FakeBedrock
from pydantic import BaseModel, Field

SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


class Address(BaseModel):
    street: str
    city: str


class Customer(BaseModel):
    """A customer record."""

    name: str
    age: int = Field(ge=0, le=150)
    address: Address
    tags: list[str]


def output_config(fake: FakeBedrock, at: int = -1) -> dict[str, Any]:
    config: dict[str, Any] = fake.requests[at].body["outputConfig"]
    return config


def test_auto_asks_a_documented_model_natively_and_the_fake_answers_json(
    fake_bedrock: FakeBedrock,
) -> None:
    conv = fc_client(fake_bedrock).create_conversation(model_id=SONNET)
    reply = conv.send("Ada Lovelace, 36, 12 St James's Square, London", output=Customer)
    assert isinstance(reply.output, Customer)
    assert reply.output == Customer.model_validate_json(reply.text)
    body = fake_bedrock.requests[0].body
    assert "toolConfig" not in body
    fmt = body["outputConfig"]["textFormat"]
    assert fmt["type"] == "json_schema"
    definition = fmt["structure"]["jsonSchema"]
    assert definition["name"] == "Customer"
    schema = json.loads(definition["schema"])  # (a JSON text on the wire, as Bedrock wants)
    assert schema["required"] == ["name", "age", "address", "tags"]
    # every object is closed, nested ones too, as Bedrock's structured output wants
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["Address"]["additionalProperties"] is False
    assert definition["description"] == "A customer record."
    # The history keeps the question and the JSON answer, as the model wrote it.
    assert conv.messages == [
        user("Ada Lovelace, 36, 12 St James's Square, London"),
        {"role": "assistant", "content": [{"text": reply.text}]},
    ]
    assert conv.send("thanks").output is None
    assert "outputConfig" not in fake_bedrock.requests[1].body


def test_auto_uses_the_tool_for_other_models_and_the_user_can_choose(
    fake_bedrock: FakeBedrock,
) -> None:
    conv = fc_client(fake_bedrock).create_conversation()  # model "m": not documented
    assert isinstance(conv.send("x", output=Customer).output, Customer)
    body = fake_bedrock.requests[-1].body
    assert "outputConfig" not in body
    assert body["toolConfig"]["toolChoice"] == {"tool": {"name": "Customer"}}

    assert isinstance(conv.send("x", output=Customer, output_mode="native").output, Customer)
    assert "toolConfig" not in fake_bedrock.requests[-1].body
    assert output_config(fake_bedrock)["textFormat"]["type"] == "json_schema"

    native = fc_client(fake_bedrock).create_conversation(model_id=SONNET)
    native.send("x", output=Customer, output_mode="tool")
    assert "outputConfig" not in fake_bedrock.requests[-1].body
    # a turn's own model decides too
    conv.send("x", output=Customer, model_id="anthropic.claude-haiku-4-5-20251001-v1:0")
    assert "outputConfig" in fake_bedrock.requests[-1].body
    with pytest.raises(ValueError, match="output_mode: expected one of"):
        conv.send("x", output=Customer, output_mode="json")
    assert len(fake_bedrock.requests) == 4


def test_an_invalid_answer_is_fed_back_once_and_only_the_valid_one_is_kept(
    fake_bedrock: FakeBedrock,
) -> None:
    fake_bedrock.enqueue_text('{"name": "Ada", "age": 500}')
    conv = fc_client(fake_bedrock).create_conversation(model_id=SONNET)
    reply = conv.send("Ada?", output=Customer)
    assert isinstance(reply.output, Customer)  # (the default model's valid JSON, second)
    second = fake_bedrock.requests[1].body
    assert second["messages"][1] == {
        "role": "assistant",
        "content": [{"text": '{"name": "Ada", "age": 500}'}],
    }
    feedback = second["messages"][2]["content"][0]["text"]
    assert feedback.startswith("That answer is not a valid Customer: age: Input should be")
    assert "address: Field required" in feedback and "http" not in feedback
    assert "outputConfig" in second
    assert conv.messages == [user("Ada?"), {"role": "assistant", "content": [{"text": reply.text}]}]


def test_a_second_invalid_answer_raises_and_keeps_nothing(fake_bedrock: FakeBedrock) -> None:
    conv = fc_client(fake_bedrock).create_conversation(model_id=SONNET)
    conv.send("hello")
    before = conv.messages
    fake_bedrock.enqueue_text("not json")
    fake_bedrock.enqueue_text('{"name": "Ada"}')
    with pytest.raises(errors.StructuredOutputError) as caught:
        conv.send("Ada?", output=Customer)
    assert caught.value.raw == '{"name": "Ada"}'
    assert {e["loc"][0] for e in caught.value.errors} == {"age", "address", "tags"}
    assert "after 2 attempt(s)" in str(caught.value)
    assert conv.messages == before
    assert len(fake_bedrock.requests) == 3


def test_a_guardrail_or_a_blank_answer_fails_at_once(fake_bedrock: FakeBedrock) -> None:
    conv = fc_client(fake_bedrock).create_conversation(model_id=SONNET)
    fake_bedrock.enqueue_guardrail_intervention()
    with pytest.raises(errors.StructuredOutputError, match="guardrail_intervened"):
        conv.send("Ada?", output=Customer)
    fake_bedrock.enqueue_turn([], stop_reason="end_turn")
    with pytest.raises(errors.StructuredOutputError, match="a blank answer"):
        conv.send("Ada?", output=Customer)
    assert conv.messages == [] and len(fake_bedrock.requests) == 2


def test_natively_the_model_may_use_the_conversations_tools_first(
    fake_bedrock: FakeBedrock,
) -> None:
    @tool
    def lookup(name: str) -> str:
        """Finds a customer's address."""
        return f"{name} lives at 1 Main Street, Springfield"

    fake_bedrock.enqueue_tool_use("lookup", {"name": "Ada"}, tool_use_id="t1")
    conv = fc_client(fake_bedrock).create_conversation(model_id=SONNET, tools=[lookup])
    reply = conv.send("Ada's record?", output=Customer)
    assert isinstance(reply.output, Customer)
    first, second = (r.body for r in fake_bedrock.requests)
    assert "toolChoice" not in first["toolConfig"] and "outputConfig" in first
    assert second["messages"][-1]["content"][0]["toolResult"]["toolUseId"] == "t1"
    assert [m["role"] for m in conv.messages] == ["user", "assistant", "user", "assistant"]
    assert conv.messages[-1]["content"] == [{"text": reply.text}]


def test_natively_the_model_may_think(fake_bedrock: FakeBedrock) -> None:
    thinking = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    conv = fc_client(fake_bedrock).create_conversation(
        model_id=SONNET, additional_model_request_fields=thinking
    )
    reply = conv.send("Ada?", output=Customer)
    assert isinstance(reply.output, Customer)
    assert reply.reasoning  # (the fake reasons first when thinking is enabled)
    body = fake_bedrock.requests[0].body
    assert body["additionalModelRequestFields"] == thinking and "outputConfig" in body
    with pytest.raises(ValueError, match="output_mode='native'"):
        conv.send("Ada?", output=Customer, output_mode="tool")


def test_streamed_natively_the_json_arrives_as_text(fake_bedrock: FakeBedrock) -> None:
    conv = fc_client(fake_bedrock).create_conversation(model_id=SONNET)
    stream = conv.stream("Ada?", output=Customer)
    text = "".join(e.text for e in stream if isinstance(e, fastconverse.events.TextDelta))
    assert isinstance(stream.reply.output, Customer)
    assert stream.reply.output == Customer.model_validate_json(text)
    assert "outputConfig" in fake_bedrock.requests[0].body


def test_streamed_by_a_tool_the_json_arrives_as_text_too(fake_bedrock: FakeBedrock) -> None:
    @tool
    def lookup(name: str) -> str:
        """Finds a customer."""
        return "found"

    conv = fc_client(fake_bedrock).create_conversation(tools=[lookup])
    # (a call of another tool beside the output's keeps its own events)
    fake_bedrock.enqueue_tool_uses([("lookup", {"name": "Ada"}), ("Customer", {"name": "x"})])
    stream = conv.stream("Ada?", output=Customer)
    events = list(stream)
    kinds = [type(e).__name__ for e in events]
    assert kinds.count("ToolUseStart") == 1 and kinds.count("ToolUseDelta") >= 1
    starts = [i for i, e in enumerate(events) if isinstance(e, fastconverse.events.MessageStart)]
    assert len(starts) == 2  # (the first attempt, and the one after its errors)
    (retry,) = [e for e in events if isinstance(e, fastconverse.events.OutputRetry)]
    assert starts[0] < events.index(retry) < starts[1]
    assert retry.message.startswith("Invalid input for Customer")
    attempts = [events[a:b] for a, b in zip(starts, [*starts[1:], len(events)])]
    texts = [
        "".join(e.text for e in part if isinstance(e, fastconverse.events.TextDelta))
        for part in attempts
    ]
    assert json.loads(texts[0]) == {"name": "x"}
    assert isinstance(stream.reply.output, Customer)
    assert Customer.model_validate_json(texts[1]) == stream.reply.output
    assert conv.messages[-1]["content"] == [{"text": stream.reply.text}]

    async def read() -> tuple[str, Any]:
        stream = conv.stream("Ada?", output=Customer)
        text = "".join(
            [e.text async for e in stream if isinstance(e, fastconverse.events.TextDelta)]
        )
        return text, stream.reply.output

    text, value = asyncio.run(read())
    assert Customer.model_validate_json(text) == value


def test_a_streamed_retry_then_success(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_text("{broken")
    conv = fc_client(fake_bedrock).create_conversation(model_id=SONNET)
    stream = conv.stream("Ada?", output=Customer)
    events = list(stream)
    (retry,) = [e for e in events if isinstance(e, fastconverse.events.OutputRetry)]
    at = events.index(retry)
    texts = [
        "".join(e.text for e in part if isinstance(e, fastconverse.events.TextDelta))
        for part in (events[:at], events[at:])
    ]
    assert texts[0] == "{broken"  # (the failed answer, then the retry's, from its start)
    assert retry.attempt == 1 and retry.message.startswith("That answer is not a valid")
    assert retry.to_dict() == {"outputRetry": {"attempt": 1, "message": retry.message}}
    assert Customer.model_validate_json(texts[1]) == stream.reply.output
    assert len(conv.messages) == 2 and len(fake_bedrock.requests) == 2


def test_async_native_output(fake_bedrock: FakeBedrock) -> None:
    async def main() -> Any:
        conv = fc_client(fake_bedrock).create_conversation(model_id=SONNET)
        return await conv.send_async("Ada?", output=Customer)

    reply = asyncio.run(main())
    assert isinstance(reply.output, Customer)


def test_a_native_output_turn_round_trips_through_a_store(
    fake_bedrock: FakeBedrock, tmp_path: Path
) -> None:
    store = SQLiteStore(str(tmp_path / "c.db"))
    client = fc_client(fake_bedrock, store=store)
    conv = client.create_conversation(model_id=SONNET)
    fake_bedrock.enqueue_text("not json")
    reply = conv.send("Ada?", output=Customer)
    again = fc_client(fake_bedrock, store=SQLiteStore(str(tmp_path / "c.db")))
    loaded = again.get_conversation(conv.id)
    assert loaded.messages == conv.messages
    assert Customer.model_validate_json(loaded.messages[-1]["content"][0]["text"]) == reply.output


REQUEST: dict[str, Any] = {
    "modelId": SONNET,
    "messages": [user("Ada?")],
    "outputConfig": {
        "textFormat": {
            "type": "json_schema",
            "structure": {
                "jsonSchema": {
                    "schema": json.dumps(
                        {
                            "type": "object",
                            "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                            "required": ["name", "age"],
                            "additionalProperties": False,
                        }
                    ),
                    "name": "person",
                    "description": "A person",
                }
            },
        }
    },
}


def test_the_boto3_layer_sends_output_config_as_boto3_does(fake_bedrock: FakeBedrock) -> None:
    theirs = boto3_client(fake_bedrock).converse(**REQUEST)
    theirs_body = fake_bedrock.requests[-1].body
    mine = fc_boto3(fake_bedrock).converse(**REQUEST)
    assert fake_bedrock.requests[-1].body == theirs_body
    answer = json.loads(mine["output"]["message"]["content"][0]["text"])
    assert set(answer) == {"name", "age"} and isinstance(answer["age"], int)
    assert mine["output"] == theirs["output"]

    stream = boto3_client(fake_bedrock).converse_stream(**REQUEST)["stream"]
    theirs_text = "".join(
        e["contentBlockDelta"]["delta"]["text"] for e in stream if "contentBlockDelta" in e
    )
    mine_events = list(fc_boto3(fake_bedrock).converse_stream(**REQUEST)["stream"])
    mine_text = "".join(
        e["contentBlockDelta"]["delta"]["text"] for e in mine_events if "contentBlockDelta" in e
    )
    assert mine_text == theirs_text and json.loads(mine_text) == answer


@pytest.mark.parametrize(
    ("change", "wording"),
    [
        ({"type": "xml"}, "Member must satisfy enum value set: [json_schema]"),
        (
            {"structure": {"jsonSchema": {"schema": "{not json"}}},
            "must be a JSON object serialized as a string",
        ),
    ],
    ids=["type", "schema"],
)
def test_fake_bedrock_refuses_a_bad_output_config_for_both_clients(
    fake_bedrock: FakeBedrock, change: dict[str, Any], wording: str
) -> None:
    request = json.loads(json.dumps(REQUEST))
    request["outputConfig"]["textFormat"].update(change)
    with pytest.raises(botocore.exceptions.ClientError) as theirs:
        boto3_client(fake_bedrock).converse(**request)
    with pytest.raises(botocore.exceptions.ClientError) as mine:
        fc_boto3(fake_bedrock).converse(**request)
    assert theirs.value.response["Error"] == mine.value.response["Error"]
    assert mine.value.response["Error"]["Code"] == "ValidationException"
    assert wording in str(mine.value)


def test_the_boto3_layer_names_a_malformed_output_config(fake_bedrock: FakeBedrock) -> None:
    bad = {**REQUEST, "outputConfig": {"textFormat": {"type": "json_schema"}}}
    with pytest.raises(botocore.exceptions.ParamValidationError) as theirs:
        boto3_client(fake_bedrock).converse(**bad)
    assert "structure" in str(theirs.value)
    with pytest.raises(ValueError, match=r"outputConfig\.textFormat.*structure"):
        fc_boto3(fake_bedrock).converse(**bad)
    assert fake_bedrock.requests == []


def test_cancelling_while_the_second_attempt_streams_keeps_nothing(
    fake_bedrock: FakeBedrock,
) -> None:
    fake_bedrock.enqueue_text("not json")
    fake_bedrock.enqueue_text('{"name": "Ada"', first_byte_delay=30)
    conv = fc_client(fake_bedrock).create_conversation(model_id=SONNET)

    async def main() -> None:
        task = asyncio.ensure_future(conv.send_async("Ada?", output=Customer))
        while len(fake_bedrock.requests) < 2:  # the retry went out
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert conv.messages == [] and not conv.busy
    # and closing a stream between the two attempts keeps nothing either
    fake_bedrock.enqueue_text("not json")
    stream = conv.stream("Ada?", output=Customer)
    for event in stream:
        if isinstance(event, fastconverse.events.MessageStop):
            break  # (the first attempt's end: the retry has not been asked yet)
    stream.close()
    assert conv.messages == [] and not conv.busy and len(fake_bedrock.requests) == 3
    assert isinstance(conv.send("Ada?", output=Customer).output, Customer)


def test_an_answer_after_a_system_tool_is_validated_too(fake_bedrock: FakeBedrock) -> None:
    from fastconverse import system_tool

    conv = fc_client(fake_bedrock).create_conversation(
        model_id=SONNET, tools=[system_tool("nova_grounding")]
    )
    fake_bedrock.enqueue_system_tool_use(
        "nova_grounding", {"query": "Ada"}, "found her", text="not json at all"
    )
    reply = conv.send("Ada?", output=Customer)
    assert isinstance(reply.output, Customer) and len(fake_bedrock.requests) == 2
    assert conv.messages == [user("Ada?"), {"role": "assistant", "content": [{"text": reply.text}]}]
    assert conv.metrics.tool_calls == 0  # (the service's call is not the conversation's)

    fake_bedrock.enqueue_system_tool_use("nova_grounding", {}, "x", text="no")
    fake_bedrock.enqueue_system_tool_use("nova_grounding", {}, "x", text="still no")
    with pytest.raises(errors.StructuredOutputError):
        conv.stream("Ada?", output=Customer).until_done()
    assert len(conv.messages) == 2


def test_a_call_the_caller_answers_fails_an_output_turn_and_keeps_nothing(
    fake_bedrock: FakeBedrock,
) -> None:
    ask = {
        "toolSpec": {
            "name": "ask_user",
            "description": "Asks the user.",
            "inputSchema": {"json": {"type": "object", "properties": {}}},
        }
    }
    conv = fc_client(fake_bedrock).create_conversation(model_id=SONNET, tools=[ask])
    fake_bedrock.enqueue_text("nope")
    fake_bedrock.enqueue_tool_use("ask_user", {})
    with pytest.raises(errors.StructuredOutputError, match="ask_user, which this conversation"):
        conv.send("Ada?", output=Customer)
    assert conv.messages == [] and not conv.busy and len(fake_bedrock.requests) == 2
    assert isinstance(conv.send("Ada?", output=Customer).output, Customer)


def test_a_before_request_hook_sees_and_may_change_the_whole_request(
    fake_bedrock: FakeBedrock,
) -> None:
    from fastconverse.hooks import Request

    seen: list[dict[str, Any]] = []

    def look(request: Request) -> None:
        seen.append(request.to_dict())
        if request.output_config is not None:
            request.output_config["textFormat"]["structure"]["jsonSchema"]["name"] = "renamed"
        request.service_tier = {"type": "flex"}
        request.request_metadata = {**(request.request_metadata or {}), "hook": "yes"}

    conv = fc_client(fake_bedrock).create_conversation(
        model_id=SONNET,
        hooks=[types.SimpleNamespace(before_request=look)],
        request_metadata={"team": "a"},
    )
    reply = conv.send("Ada?", output=Customer, performance_config={"latency": "optimized"})
    assert isinstance(reply.output, Customer)
    view = seen[0]
    assert view["outputConfig"]["textFormat"]["type"] == "json_schema"
    assert json.loads(view["outputConfig"]["textFormat"]["structure"]["jsonSchema"]["schema"])
    assert view["serviceTier"] is None and view["requestMetadata"] == {"team": "a"}
    assert view["performanceConfig"] == {"latency": "optimized"}
    body = fake_bedrock.requests[0].body
    assert body["outputConfig"]["textFormat"]["structure"]["jsonSchema"]["name"] == "renamed"
    assert body["serviceTier"] == {"type": "flex"}
    assert body["requestMetadata"] == {"team": "a", "hook": "yes"}
    assert body["performanceConfig"] == {"latency": "optimized"}
    # a plain turn's view says so too
    conv.send("plain")
    assert seen[-1]["outputConfig"] is None
    assert "outputConfig" not in fake_bedrock.requests[-1].body


def test_closing_or_cancelling_a_stream_on_its_output_retry_keeps_nothing(
    fake_bedrock: FakeBedrock,
) -> None:
    conv = fc_client(fake_bedrock).create_conversation(model_id=SONNET)
    fake_bedrock.enqueue_text("not json")
    stream = conv.stream("Ada?", output=Customer)
    for event in stream:
        if isinstance(event, fastconverse.events.OutputRetry):
            break  # (the retry is due, not yet asked)
    stream.close()
    assert conv.messages == [] and not conv.busy and len(fake_bedrock.requests) == 1

    fake_bedrock.enqueue_text("still not json")

    async def cancel_on_retry() -> None:
        seen = asyncio.Event()

        async def read() -> None:
            async for event in conv.stream("Ada?", output=Customer):
                if isinstance(event, fastconverse.events.OutputRetry):
                    seen.set()
                    await asyncio.sleep(30)  # (cancelled here, while the retry is delivered)

        task = asyncio.ensure_future(read())
        await seen.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_on_retry())
    assert conv.messages == [] and not conv.busy and len(fake_bedrock.requests) == 2
    assert isinstance(conv.send("Ada?", output=Customer).output, Customer)
