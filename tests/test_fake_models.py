"""FakeBedrock's default model behaves as Bedrock's models do where clients depend on it:
a forced toolChoice always gets a tool use, and reasoning is signed and must come back
unchanged. Checked with boto3 (a client we did not write) and through our own API."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import boto3_client, fc_client, user
from fastconverse import tool
from fastconverse.errors import ValidationError
from fastconverse.testing import FakeBedrock

MODEL = "m"
SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "days": {"type": "integer", "minimum": 3},
        "units": {"enum": ["celsius", "fahrenheit"]},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        "detail": {"type": "object", "properties": {"hourly": {"type": "boolean"}}},
    },
    "required": ["city", "days"],
}
TOOLS = [
    {"toolSpec": {"name": "lookup", "inputSchema": {"json": {"type": "object"}}}},
    {"toolSpec": {"name": "forecast", "inputSchema": {"json": SCHEMA}}},
]
THINKING = {"thinking": {"type": "enabled", "budget_tokens": 1024}}


def forced(bedrock: Any, choice: dict[str, Any]) -> dict[str, Any]:
    out = bedrock.converse(
        modelId=MODEL,
        messages=[user("weather in Paris?")],
        toolConfig={"tools": TOOLS, "toolChoice": choice},
    )
    assert out["stopReason"] == "tool_use"
    (block,) = out["output"]["message"]["content"]
    return dict(block["toolUse"])


def test_a_named_tool_choice_gets_that_tool_with_an_input_that_fits_its_schema(
    bedrock: Any,
) -> None:
    use = forced(bedrock, {"tool": {"name": "forecast"}})
    assert use["name"] == "forecast"
    inp = use["input"]
    assert isinstance(inp["city"], str) and inp["city"]
    assert isinstance(inp["days"], int) and inp["days"] >= 3
    assert inp["units"] in ("celsius", "fahrenheit")
    assert len(inp["tags"]) == 2 and all(isinstance(t, str) for t in inp["tags"])
    assert isinstance(inp["detail"]["hourly"], bool)
    assert use["toolUseId"].startswith("tooluse_")


def test_any_gets_a_tool_use_and_auto_gets_text(bedrock: Any) -> None:
    assert forced(bedrock, {"any": {}})["name"] == "lookup"
    out = bedrock.converse(
        modelId=MODEL,
        messages=[user("hi")],
        toolConfig={"tools": TOOLS, "toolChoice": {"auto": {}}},
    )
    assert out["stopReason"] == "end_turn"
    assert out["output"]["message"]["content"] == [{"text": "You said: hi"}]


def test_a_conversation_forcing_a_tool_runs_it_once_then_gets_the_answer(
    fake_bedrock: FakeBedrock,
) -> None:
    calls: list[str] = []

    @tool
    def city_time(city: str) -> str:
        """The local time in a city."""
        calls.append(city)
        return "12:00"

    conv = fc_client(fake_bedrock).create_conversation(tools=[city_time])
    reply = conv.send("time in Oslo?", tool_choice="city_time")
    assert len(calls) == 1
    assert reply.stop_reason == "end_turn"
    assert reply.text.startswith("Tool results:") and "12:00" in reply.text
    bodies = [r.body for r in fake_bedrock.requests]
    assert bodies[0]["toolConfig"]["toolChoice"] == {"tool": {"name": "city_time"}}
    assert "toolChoice" not in bodies[1]["toolConfig"]


def test_thinking_comes_signed_and_must_come_back_unchanged(bedrock: Any) -> None:
    out = bedrock.converse(
        modelId=MODEL, messages=[user("hi")], additionalModelRequestFields=THINKING
    )
    content = out["output"]["message"]["content"]
    reasoning = content[0]["reasoningContent"]["reasoningText"]
    assert reasoning["text"] and reasoning["signature"]
    assert content[1] == {"text": "You said: hi"}

    def follow_up(message: dict[str, Any]) -> dict[str, Any]:
        return dict(
            bedrock.converse(
                modelId=MODEL,
                messages=[user("hi"), message, user("more")],
                additionalModelRequestFields=THINKING,
            )
        )

    follow_up(out["output"]["message"])  # unchanged: accepted
    tampered = {"text": reasoning["text"] + " (edited)", "signature": reasoning["signature"]}
    message = {
        "role": "assistant",
        "content": [{"reasoningContent": {"reasoningText": tampered}}, content[1]],
    }
    with pytest.raises(ClientError) as e:
        follow_up(message)
    assert e.value.response["Error"]["Message"] == (
        "messages.1.content.0: Invalid `signature` in `thinking` block"
    )


def test_with_thinking_a_tool_loop_that_drops_reasoning_is_refused(bedrock: Any) -> None:
    uses = {
        "role": "assistant",
        "content": [{"toolUse": {"toolUseId": "a", "name": "lookup", "input": {}}}],
    }
    results = {
        "role": "user",
        "content": [{"toolResult": {"toolUseId": "a", "content": [{"text": "ok"}]}}],
    }
    with pytest.raises(ClientError) as e:
        bedrock.converse(
            modelId=MODEL,
            messages=[user("go"), uses, results],
            toolConfig={"tools": TOOLS},
            additionalModelRequestFields=THINKING,
        )
    assert e.value.response["Error"]["Message"].startswith(
        "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
        "`tool_use`."
    )


def test_a_thinking_tool_loop_through_our_api_keeps_reasoning_exactly(
    fake_bedrock: FakeBedrock,
) -> None:
    @tool
    def lookup(word: str) -> str:
        """Looks a word up."""
        return "found"

    conv = fc_client(fake_bedrock).create_conversation(
        tools=[lookup], additional_model_request_fields=THINKING
    )
    # (a forced tool choice is refused while thinking, as by Anthropic's models)
    with pytest.raises(ValidationError, match="Thinking may not be enabled when tool_choice"):
        conv.send("define ephemeral", tool_choice="lookup")
    fake_bedrock.enqueue_turn(
        [
            {"reasoningContent": {"reasoningText": {"text": "Look it up.", "signature": "s1"}}},
            {"toolUse": {"name": "lookup", "input": {"word": "ephemeral"}}},
        ]
    )
    reply = conv.send("define ephemeral")
    assert reply.reasoning == "Let me think about what the user asked."  # (its answer)
    again = conv.send("and transient?")  # the history's signed blocks are accepted
    assert again.text == "You said: and transient?"
    first_answer = conv.messages[1]["content"]
    assert "reasoningContent" in first_answer[0] and "toolUse" in first_answer[1]


def test_redacted_reasoning_is_kept_as_bytes_and_checked(
    fake_bedrock: FakeBedrock, bedrock: Any
) -> None:
    secret = b"\x00\x01encrypted\xff"
    fake_bedrock.enqueue_turn(
        [{"reasoningContent": {"redactedContent": secret}}, {"text": "Done."}]
    )
    conv = fc_client(fake_bedrock).create_conversation()
    conv.send("think hard")
    kept = conv.messages[1]["content"][0]["reasoningContent"]["redactedContent"]
    assert kept == secret
    assert conv.send("again").text == "You said: again"
    sent = fake_bedrock.requests[-1].body["messages"][1]["content"][0]
    assert base64.b64decode(sent["reasoningContent"]["redactedContent"]) == secret
    forged = {
        "role": "assistant",
        "content": [{"reasoningContent": {"redactedContent": b"x"}}, {"text": "Done."}],
    }
    with pytest.raises(ClientError) as e:
        bedrock.converse(modelId=MODEL, messages=[user("a"), forged, user("b")])
    assert "Invalid `data` in `redacted_thinking` block" in e.value.response["Error"]["Message"]


def test_a_scripted_trace_is_sent_only_when_the_request_asks_for_it(
    fake_bedrock: FakeBedrock, bedrock: Any
) -> None:
    trace = {"guardrail": {"inputAssessment": {"g1": {"topicPolicy": {"topics": []}}}}}
    for enabled in (True, False):
        fake_bedrock.enqueue_turn([{"text": "ok"}], trace=trace)
        config = {"guardrailIdentifier": "g1", "guardrailVersion": "1"}
        if enabled:
            config["trace"] = "enabled"
        out = bedrock.converse(modelId=MODEL, messages=[user("hi")], guardrailConfig=config)
        assert ("trace" in out) is enabled
        if enabled:
            assert out["trace"] == trace


def test_response_metadata_has_boto3s_headers_and_retry_attempts(
    fake_bedrock: FakeBedrock,
) -> None:
    ours = fc_client(fake_bedrock, max_attempts=3)
    theirs = boto3_client(fake_bedrock, retries={"mode": "standard", "total_max_attempts": 3})
    metadata = []
    for call in (ours.converse, theirs.converse):
        fake_bedrock.enqueue_error("ServiceUnavailableException")
        metadata.append(call(modelId=MODEL, messages=[user("hi")])["ResponseMetadata"])
    mine, boto = metadata
    assert mine["RetryAttempts"] == boto["RetryAttempts"] == 1
    assert set(mine) == set(boto)
    assert mine["HTTPHeaders"]["x-amzn-requestid"] == mine["RequestId"]
    assert set(boto["HTTPHeaders"]) <= set(mine["HTTPHeaders"])
    assert mine["HTTPHeaders"]["content-type"] == boto["HTTPHeaders"]["content-type"]
    stream = ours.converse_stream(messages=[user("hi")])
    assert stream["ResponseMetadata"]["RetryAttempts"] == 0
    assert stream["ResponseMetadata"]["HTTPHeaders"]["content-type"] == (
        "application/vnd.amazon.eventstream"
    )
    list(stream["stream"])


def test_a_str_blob_is_sent_as_its_utf8_bytes_as_boto3_does(
    fake_bedrock: FakeBedrock, bedrock: Any
) -> None:
    block = {"document": {"format": "txt", "name": "notes", "source": {"bytes": "héllo"}}}
    message = {"role": "user", "content": [{"text": "read"}, block]}
    fc_client(fake_bedrock).converse(messages=[message])
    bedrock.converse(modelId=MODEL, messages=[message])
    ours, theirs = (r.body["messages"][0]["content"][1] for r in fake_bedrock.requests)
    assert ours == theirs
    assert base64.b64decode(ours["document"]["source"]["bytes"]) == "héllo".encode()


def test_the_default_model_fills_nested_and_formatted_schemas(bedrock: Any) -> None:
    schema = {
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date"},
            "id": {"type": "string", "format": "uuid"},
            "delta": {"type": "integer", "maximum": -3},
            "code": {"type": "string", "minLength": 40},
            "home": {"$ref": "#/$defs/Address"},
            "maybe": {"anyOf": [{"type": "null"}, {"type": "number", "exclusiveMinimum": 2}]},
        },
        "$defs": {"Address": {"type": "object", "properties": {"zip": {"type": "integer"}}}},
    }
    out = bedrock.converse(
        modelId=MODEL,
        messages=[user("go")],
        toolConfig={
            "tools": [{"toolSpec": {"name": "t", "inputSchema": {"json": schema}}}],
            "toolChoice": {"any": {}},
        },
    )
    inp = out["output"]["message"]["content"][0]["toolUse"]["input"]
    assert inp["when"] == "2024-01-01" and len(inp["id"]) == 36
    assert inp["delta"] <= -3 and len(inp["code"]) >= 40
    assert isinstance(inp["home"]["zip"], int) and inp["maybe"] > 2


def test_a_forced_tool_that_is_not_declared_is_refused(bedrock: Any) -> None:
    with pytest.raises(ClientError, match=r"The tool nope named in toolConfig\.toolChoice"):
        bedrock.converse(
            modelId=MODEL,
            messages=[user("go")],
            toolConfig={"tools": TOOLS, "toolChoice": {"tool": {"name": "nope"}}},
        )
