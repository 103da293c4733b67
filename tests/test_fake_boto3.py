"""Fidelity of FakeBedrock, checked by boto3 (a client we did not write)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError, EventStreamError
from conftest import assistant, boto3_client, user
from fastconverse.testing import FakeBedrock
from urllib3.exceptions import ProtocolError

MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
TOOLS = {
    "tools": [
        {
            "toolSpec": {
                "name": "get_weather",
                "description": "Weather for a city",
                "inputSchema": {
                    "json": {"type": "object", "properties": {"city": {"type": "string"}}}
                },
            }
        }
    ]
}


def stream_events(bedrock: Any, **kwargs: Any) -> list[dict[str, Any]]:
    kwargs.setdefault("modelId", MODEL)
    kwargs.setdefault("messages", [user("hi")])
    return list(bedrock.converse_stream(**kwargs)["stream"])


def test_converse_returns_scripted_text_with_request_id(
    fake_bedrock: FakeBedrock, bedrock: Any
) -> None:
    fake_bedrock.enqueue_text("Hello there!")
    out = bedrock.converse(modelId=MODEL, messages=[user("Hi")])
    assert out["output"]["message"] == {"role": "assistant", "content": [{"text": "Hello there!"}]}
    assert out["stopReason"] == "end_turn"
    assert out["usage"] == {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3}
    assert out["metrics"]["latencyMs"] >= 1
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert len(out["ResponseMetadata"]["RequestId"]) == 36
    assert fake_bedrock.pending == 0


def test_requests_are_recorded_with_decoded_model_ids(
    fake_bedrock: FakeBedrock, bedrock: Any
) -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-micro-v1:0"
    bedrock.converse(modelId=arn, messages=[user("Hi")], system=[{"text": "Be brief."}])
    bedrock.converse(modelId=MODEL, messages=[user("Again")])
    first, second = fake_bedrock.requests
    assert (first.operation, first.model_id, first.method) == ("Converse", arn, "POST")
    assert "%2F" in first.path and "%3A" in first.path
    assert first.body["system"] == [{"text": "Be brief."}]
    assert first.headers["content-type"] == "application/json"
    assert first.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert second.model_id == MODEL
    assert repr(second) == f'RecordedRequest(operation="Converse", model_id="{MODEL}")'


def test_stream_text_arrives_in_the_requested_chunks(
    fake_bedrock: FakeBedrock, bedrock: Any
) -> None:
    fake_bedrock.enqueue_text("Hello there!", chunks=3)
    events = stream_events(bedrock)
    kinds = [next(iter(e)) for e in events]
    assert kinds == [
        "messageStart",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    assert events[0] == {"messageStart": {"role": "assistant"}}
    deltas = [e["contentBlockDelta"]["delta"]["text"] for e in events[1:4]]
    assert deltas == ["Hell", "o th", "ere!"]
    assert events[4] == {"contentBlockStop": {"contentBlockIndex": 0}}
    assert events[5] == {"messageStop": {"stopReason": "end_turn"}}
    assert events[6]["metadata"]["usage"] == {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3}
    # the "p" padding field of real streams is dropped by botocore like any unknown member
    assert all("p" not in next(iter(e.values())) for e in events)


def test_stream_carries_reasoning_text_tool_use_and_stop(
    fake_bedrock: FakeBedrock, bedrock: Any
) -> None:
    fake_bedrock.enqueue_turn(
        [
            {
                "reasoningContent": {
                    "reasoningText": {"text": "The user wants weather.", "signature": "sig=="}
                }
            },
            {"text": "Let me check."},
            {
                "toolUse": {
                    "toolUseId": "tooluse_a",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                }
            },
            {
                "toolUse": {
                    "toolUseId": "tooluse_b",
                    "name": "get_weather",
                    "input": {"city": "Rome"},
                }
            },
        ],
        chunks=2,
    )
    events = stream_events(bedrock, toolConfig=TOOLS)
    reasoning = "".join(
        e["contentBlockDelta"]["delta"]["reasoningContent"].get("text", "")
        for e in events
        if "reasoningContent" in e.get("contentBlockDelta", {}).get("delta", {})
    )
    signatures = [
        e["contentBlockDelta"]["delta"]["reasoningContent"]["signature"]
        for e in events
        if "signature"
        in e.get("contentBlockDelta", {}).get("delta", {}).get("reasoningContent", {})
    ]
    starts = [e["contentBlockStart"] for e in events if "contentBlockStart" in e]
    inputs: dict[int, str] = {}
    for e in events:
        delta = e.get("contentBlockDelta", {})
        if "toolUse" in delta.get("delta", {}):
            index = delta["contentBlockIndex"]
            inputs[index] = inputs.get(index, "") + delta["delta"]["toolUse"]["input"]
    assert reasoning == "The user wants weather."
    assert signatures == ["sig=="]
    assert starts == [
        {
            "contentBlockIndex": 2,
            "start": {"toolUse": {"toolUseId": "tooluse_a", "name": "get_weather"}},
        },
        {
            "contentBlockIndex": 3,
            "start": {"toolUse": {"toolUseId": "tooluse_b", "name": "get_weather"}},
        },
    ]
    assert {i: json.loads(s) for i, s in inputs.items()} == {
        2: {"city": "Paris"},
        3: {"city": "Rome"},
    }
    assert [e for e in events if "messageStop" in e] == [
        {"messageStop": {"stopReason": "tool_use"}}
    ]
    assert "metadata" in events[-1]


def test_converse_returns_tool_use_and_reasoning_blocks(
    fake_bedrock: FakeBedrock, bedrock: Any
) -> None:
    fake_bedrock.enqueue_text("Sunny.", reasoning="Think first.", reasoning_signature="abc")
    fake_bedrock.enqueue_tool_use(
        "get_weather", {"city": "Paris"}, tool_use_id="tooluse_x", text="Checking."
    )
    first = bedrock.converse(modelId=MODEL, messages=[user("weather?")], toolConfig=TOOLS)
    assert first["output"]["message"]["content"] == [
        {"reasoningContent": {"reasoningText": {"text": "Think first.", "signature": "abc"}}},
        {"text": "Sunny."},
    ]
    second = bedrock.converse(modelId=MODEL, messages=[user("weather?")], toolConfig=TOOLS)
    assert second["stopReason"] == "tool_use"
    assert second["output"]["message"]["content"] == [
        {"text": "Checking."},
        {"toolUse": {"toolUseId": "tooluse_x", "name": "get_weather", "input": {"city": "Paris"}}},
    ]


def test_generated_tool_use_ids_match_the_service_pattern(
    fake_bedrock: FakeBedrock, bedrock: Any
) -> None:
    fake_bedrock.enqueue_tool_uses([("get_weather", {"city": "A"}), ("get_weather", {"city": "B"})])
    out = bedrock.converse(modelId=MODEL, messages=[user("weather?")], toolConfig=TOOLS)
    ids = [b["toolUse"]["toolUseId"] for b in out["output"]["message"]["content"]]
    assert len(set(ids)) == 2
    assert all(i.startswith("tooluse_") and len(i) == 30 and i[8:].isalnum() for i in ids)


def test_custom_stop_reason_usage_and_latency(fake_bedrock: FakeBedrock, bedrock: Any) -> None:
    fake_bedrock.enqueue_text(
        "cut", stop_reason="max_tokens", usage={"inputTokens": 7, "outputTokens": 1}, latency_ms=42
    )
    out = bedrock.converse(modelId=MODEL, messages=[user("hi")])
    assert out["stopReason"] == "max_tokens"
    assert out["usage"] == {"inputTokens": 7, "outputTokens": 1, "totalTokens": 8}
    assert out["metrics"] == {"latencyMs": 42}


def test_queues_per_model_go_before_the_shared_queue(
    fake_bedrock: FakeBedrock, bedrock: Any
) -> None:
    fake_bedrock.enqueue_text("shared one")
    fake_bedrock.enqueue_text("for nova", model_id="amazon.nova-micro-v1:0")
    fake_bedrock.enqueue_text("shared two")

    def say(model: str) -> str:
        out = bedrock.converse(modelId=model, messages=[user("hi")])
        return str(out["output"]["message"]["content"][0]["text"])

    assert say(MODEL) == "shared one"
    assert say("amazon.nova-micro-v1:0") == "for nova"
    assert say("amazon.nova-micro-v1:0") == "shared two"
    assert say(MODEL) == "You said: hi"


def test_default_model_echoes_and_honours_max_tokens_and_stop_sequences(bedrock: Any) -> None:
    msgs = [user("the quick brown fox jumps")]
    out = bedrock.converse(modelId=MODEL, messages=msgs)
    assert out["output"]["message"]["content"] == [{"text": "You said: the quick brown fox jumps"}]
    assert out["stopReason"] == "end_turn"
    assert out["usage"] == {"inputTokens": 5, "outputTokens": 7, "totalTokens": 12}

    out = bedrock.converse(modelId=MODEL, messages=msgs, inferenceConfig={"maxTokens": 4})
    assert out["output"]["message"]["content"] == [{"text": "You said: the quick"}]
    assert (out["stopReason"], out["usage"]["outputTokens"]) == ("max_tokens", 4)

    out = bedrock.converse(modelId=MODEL, messages=msgs, inferenceConfig={"stopSequences": ["fox"]})
    assert out["output"]["message"]["content"] == [{"text": "You said: the quick brown "}]
    assert out["stopReason"] == "stop_sequence"

    events = stream_events(bedrock, messages=msgs, inferenceConfig={"maxTokens": 3})
    text = "".join(
        e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e
    )
    assert text == "You said: the"
    assert {"messageStop": {"stopReason": "max_tokens"}} in events
    assert sum("contentBlockDelta" in e for e in events) == 3  # one delta per word


def test_default_model_answers_tool_results(bedrock: Any) -> None:
    messages = [
        user("weather?"),
        {
            "role": "assistant",
            "content": [{"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {}}}],
        },
        {
            "role": "user",
            "content": [{"toolResult": {"toolUseId": "t1", "content": [{"json": {"temp": 21}}]}}],
        },
    ]
    out = bedrock.converse(modelId=MODEL, messages=messages, toolConfig=TOOLS)
    assert out["output"]["message"]["content"] == [
        {"text": 'Tool results: t1 returned {"temp":21}'}
    ]


def test_usage_follows_the_documented_token_rule(bedrock: Any) -> None:
    spec_tokens = -(-len(json.dumps(TOOLS["tools"][0]["toolSpec"], separators=(",", ":"))) // 4)
    out = bedrock.converse(
        modelId=MODEL,
        system=[{"text": "You are a weather bot."}],
        messages=[
            {
                "role": "user",
                "content": [
                    {"text": "Paris please"},
                    {"image": {"format": "png", "source": {"bytes": b"png"}}},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {
                        "toolUse": {
                            "toolUseId": "t1",
                            "name": "get_weather",
                            "input": {"city": "Paris"},
                        }
                    }
                ],
            },
            {
                "role": "user",
                "content": [
                    {"toolResult": {"toolUseId": "t1", "content": [{"text": "21 degrees"}]}}
                ],
            },
        ],
        toolConfig=TOOLS,
    )
    # system 5 + text 2 + image 100 + toolUse (1 + ceil(15/4)=4) + toolResult (1 + 2) + tool spec
    assert out["usage"]["inputTokens"] == 5 + 2 + 100 + 5 + 3 + spec_tokens
    # default reply "Tool results: t1 returned 21 degrees" = 6 words
    assert out["usage"]["outputTokens"] == 6


def test_cache_points_write_then_read_the_prefix(bedrock: Any) -> None:
    system = [
        {"text": "A long and stable system prompt of ten words here."},
        {"cachePoint": {"type": "default"}},
    ]
    first = bedrock.converse(modelId=MODEL, system=system, messages=[user("one two")])
    second = bedrock.converse(modelId=MODEL, system=system, messages=[user("three four five")])
    assert first["usage"] == {
        "inputTokens": 2,
        "outputTokens": 4,
        "totalTokens": 16,
        "cacheReadInputTokens": 0,
        "cacheWriteInputTokens": 10,
    }
    assert second["usage"] == {
        "inputTokens": 3,
        "outputTokens": 5,
        "totalTokens": 18,
        "cacheReadInputTokens": 10,
        "cacheWriteInputTokens": 0,
    }
    other_model = bedrock.converse(modelId="other", system=system, messages=[user("one two")])
    assert other_model["usage"]["cacheWriteInputTokens"] == 10


def test_count_tokens_uses_the_same_rule(bedrock: Any) -> None:
    out = bedrock.count_tokens(
        modelId=MODEL,
        input={
            "converse": {"system": [{"text": "Be brief."}], "messages": [user("how are you today")]}
        },
    )
    assert out["inputTokens"] == 2 + 4
    out = bedrock.count_tokens(
        modelId=MODEL, input={"invokeModel": {"body": b'{"prompt": "a b c"}'}}
    )
    assert out["inputTokens"] == 4


def test_cache_points_are_not_part_of_the_prefix_they_mark(bedrock: Any) -> None:
    point = {"cachePoint": {"type": "default"}}

    def marked(text: str) -> dict[str, Any]:
        return {"role": "user", "content": [{"text": text}, point]}

    bedrock.converse(
        modelId="moved", messages=[user("one two"), assistant("three"), marked("four")]
    )
    # Points at the previous request's end (read) and at this one's (written).
    two = [user("one two"), assistant("three"), marked("four"), assistant("five"), marked("six")]
    out = bedrock.converse(modelId="moved", messages=two)
    assert (out["usage"]["cacheReadInputTokens"], out["usage"]["cacheWriteInputTokens"]) == (4, 2)
    # Without the earlier point the prefix up to "six" is the same content: it is read.
    three = [user("one two"), assistant("three"), user("four"), assistant("five"), marked("six")]
    out = bedrock.converse(modelId="moved", messages=three)
    assert (out["usage"]["cacheReadInputTokens"], out["usage"]["cacheWriteInputTokens"]) == (6, 0)


def test_count_tokens_refused_for_models_that_cannot_count(make_fake: Any) -> None:
    fake = make_fake(count_tokens_models=["counts"])
    client = boto3_client(fake)
    body = {"converse": {"messages": [user("hi")]}}
    assert client.count_tokens(modelId="counts", input=body)["inputTokens"] == 1
    with pytest.raises(ClientError) as info:
        client.count_tokens(modelId="us.other", input=body)
    error = info.value.response["Error"]
    assert error == {
        "Code": "ValidationException",
        "Message": "The provided model doesn't support counting tokens.",
    }
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


ERRORS = [
    ("ValidationException", 400),
    ("ServiceQuotaExceededException", 400),
    ("AccessDeniedException", 403),
    ("ResourceNotFoundException", 404),
    ("ModelTimeoutException", 408),
    ("ModelErrorException", 424),
    ("ModelStreamErrorException", 424),
    ("ThrottlingException", 429),
    ("ModelNotReadyException", 429),
    ("InternalServerException", 500),
    ("ServiceUnavailableException", 503),
]


@pytest.mark.parametrize(("code", "status"), ERRORS)
@pytest.mark.parametrize("operation", ["converse", "converse_stream"])
def test_every_error_code_arrives_as_its_client_error(
    fake_bedrock: FakeBedrock, bedrock: Any, code: str, status: int, operation: str
) -> None:
    fake_bedrock.enqueue_error(code, f"scripted {code}")
    with pytest.raises(ClientError) as info:
        getattr(bedrock, operation)(modelId=MODEL, messages=[user("hi")])
    err = info.value.response
    assert err["Error"]["Code"] == code
    assert err["Error"]["Message"] == f"scripted {code}"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == status
    assert len(err["ResponseMetadata"]["RequestId"]) == 36


def test_model_error_carries_its_extra_members(fake_bedrock: FakeBedrock, bedrock: Any) -> None:
    fake_bedrock.enqueue_error(
        "ModelErrorException", original_status_code=500, resource_name="claude"
    )
    with pytest.raises(bedrock.exceptions.ModelErrorException) as info:
        bedrock.converse(modelId=MODEL, messages=[user("hi")])
    assert info.value.response["originalStatusCode"] == 500
    assert info.value.response["resourceName"] == "claude"
    assert (
        info.value.response["Error"]["Message"]
        == "The model encountered an error while processing the request."
    )


@pytest.mark.parametrize(
    "member",
    [
        "throttlingException",
        "validationException",
        "modelStreamErrorException",
        "internalServerException",
        "serviceUnavailableException",
    ],
)
def test_in_stream_exceptions_raise_event_stream_error(
    fake_bedrock: FakeBedrock, bedrock: Any, member: str
) -> None:
    fake_bedrock.enqueue_text("one two three four five", stream_error=member, after_events=3)
    seen = []
    with pytest.raises(EventStreamError) as info:
        for event in bedrock.converse_stream(modelId=MODEL, messages=[user("hi")])["stream"]:
            seen.append(event)
    # botocore reports the event-stream member name as the code
    assert info.value.response["Error"]["Code"] == member
    assert info.value.response["Error"]["Message"]
    assert [next(iter(e)) for e in seen] == [
        "messageStart",
        "contentBlockDelta",
        "contentBlockDelta",
    ]


def test_stream_error_turn_fails_converse_with_the_same_code(
    fake_bedrock: FakeBedrock, bedrock: Any
) -> None:
    fake_bedrock.enqueue_text(
        "x", stream_error="throttlingException", stream_error_message="slow down"
    )
    with pytest.raises(bedrock.exceptions.ThrottlingException, match="slow down"):
        bedrock.converse(modelId=MODEL, messages=[user("hi")])


def test_dropped_connection_cuts_the_stream(fake_bedrock: FakeBedrock, bedrock: Any) -> None:
    fake_bedrock.enqueue_text("a b c d e f g", disconnect_after_events=2)
    seen = []
    # botocore lets urllib3's error through when a stream is cut mid-body
    with pytest.raises((BotoCoreError, ProtocolError)) as info:
        for event in bedrock.converse_stream(modelId=MODEL, messages=[user("hi")])["stream"]:
            seen.append(event)
    assert not isinstance(info.value, (ClientError, EventStreamError))
    assert len(seen) == 2
    fake_bedrock.enqueue_text("never sent", disconnect_after_events=0)
    with pytest.raises(BotoCoreError):  # the connection closed without an answer
        bedrock.converse(modelId=MODEL, messages=[user("hi")])
    # the server goes on serving new connections
    assert bedrock.converse(modelId=MODEL, messages=[user("ok")])["stopReason"] == "end_turn"


@pytest.mark.parametrize(
    ("code", "retried"),
    [
        ("ThrottlingException", True),
        ("ServiceUnavailableException", True),
        ("InternalServerException", True),
        ("ModelNotReadyException", True),
        ("ValidationException", False),
        ("AccessDeniedException", False),
        ("ModelTimeoutException", False),
    ],
)
def test_boto3_standard_retry_counts(fake_bedrock: FakeBedrock, code: str, retried: bool) -> None:
    # standard mode, default attempts: 3 in all (botocore's documented default)
    client = boto3_client(fake_bedrock, retries={"mode": "standard"})
    for _ in range(3):
        fake_bedrock.enqueue_error(code)
    with pytest.raises(ClientError) as info:
        client.converse(modelId=MODEL, messages=[user("hi")])
    attempts = 3 if retried else 1
    assert len(fake_bedrock.requests) == attempts
    assert info.value.response["ResponseMetadata"]["RetryAttempts"] == attempts - 1


def test_boto3_retry_then_success(fake_bedrock: FakeBedrock) -> None:
    client = boto3_client(fake_bedrock, retries={"mode": "standard", "total_max_attempts": 3})
    fake_bedrock.enqueue_error("ThrottlingException")
    fake_bedrock.enqueue_text("finally")
    out = client.converse(modelId=MODEL, messages=[user("hi")])
    assert out["output"]["message"]["content"] == [{"text": "finally"}]
    assert out["ResponseMetadata"]["RetryAttempts"] == 1


def test_validation_failure_keeps_the_scripted_turn(
    fake_bedrock: FakeBedrock, bedrock: Any
) -> None:
    fake_bedrock.enqueue_text("kept")
    with pytest.raises(ClientError, match="must start with a user message"):
        bedrock.converse(modelId=MODEL, messages=[assistant("hi")])
    assert fake_bedrock.pending == 1
    out = bedrock.converse(modelId=MODEL, messages=[user("hi")])
    assert out["output"]["message"]["content"] == [{"text": "kept"}]
