"""ConverseClient's boto3-shaped layer: for each scenario, boto3 and fastconverse against
the same FakeBedrock must return the same dicts (apart from request ids and timings)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import AKID, SECRET, boto3_client, user
from fastconverse import ConverseClient, errors
from fastconverse.testing import FakeBedrock

MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
TOOLS = {
    "tools": [
        {
            "toolSpec": {
                "name": "get_weather",
                "description": "Weather for a city",
                "inputSchema": {
                    "json": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                        "required": ["city"],
                    }
                },
            }
        }
    ],
    "toolChoice": {"auto": {}},
}


def ours(fake: FakeBedrock, **kwargs: Any) -> ConverseClient:
    return ConverseClient(
        MODEL,
        endpoint_url=fake.url,
        region_name="us-east-1",
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
        max_attempts=kwargs.pop("max_attempts", 1),
        **kwargs,
    )


def rounded(value: Any) -> Any:
    """Floats to 6 digits: the Rust SDK sends f32 fields (temperature, topP) widened to f64."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def comparable(result: dict[str, Any]) -> dict[str, Any]:
    out = dict(result)
    meta = out.pop("ResponseMetadata")
    assert meta["HTTPStatusCode"] == 200
    assert re.fullmatch(r"[0-9a-f-]{36}", meta["RequestId"])
    return out


Script = Callable[[FakeBedrock], None]

SCENARIOS: dict[str, tuple[Script, dict[str, Any]]] = {
    "default model": (lambda f: None, {"messages": [user("hello there")]}),
    "scripted text with system and inference config": (
        lambda f: f.enqueue_text("Bonjour!"),
        {
            "messages": [user("Say hi in French")],
            "system": [{"text": "You are a translator."}],
            "inferenceConfig": {
                "maxTokens": 50,
                "temperature": 0.2,
                "topP": 0.9,
                "stopSequences": ["END"],
            },
        },
    ),
    "tool use with reasoning": (
        lambda f: f.enqueue_turn(
            [
                {
                    "reasoningContent": {
                        "reasoningText": {"text": "Need weather.", "signature": "c2ln"}
                    }
                },
                {"text": "Let me look."},
                {
                    "toolUse": {
                        "toolUseId": "tooluse_1",
                        "name": "get_weather",
                        "input": {"city": "Paris", "days": 3},
                    }
                },
            ]
        ),
        {"messages": [user("Weather in Paris?")], "toolConfig": TOOLS},
    ),
    "a full tool round trip": (
        lambda f: f.enqueue_text("It is sunny."),
        {
            "messages": [
                user("Weather in Paris?"),
                {
                    "role": "assistant",
                    "content": [
                        {
                            "toolUse": {
                                "toolUseId": "t1",
                                "name": "get_weather",
                                "input": {"city": "Paris"},
                            }
                        },
                        {
                            "toolUse": {
                                "toolUseId": "t2",
                                "name": "get_weather",
                                "input": {"city": "Lyon"},
                            }
                        },
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "toolResult": {
                                "toolUseId": "t1",
                                "content": [{"json": {"sky": "clear", "temp": 21.5}}],
                            }
                        },
                        {
                            "toolResult": {
                                "toolUseId": "t2",
                                "content": [{"text": "rain"}],
                                "status": "error",
                            }
                        },
                    ],
                },
            ],
            "toolConfig": TOOLS,
        },
    ),
    "images, documents and cache points": (
        lambda f: None,
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"text": "Compare"},
                        {"image": {"format": "png", "source": {"bytes": b"\x89PNG\r\n"}}},
                        {
                            "video": {
                                "format": "mp4",
                                "source": {"s3Location": {"uri": "s3://b/clip.mp4"}},
                            }
                        },
                        {
                            "document": {
                                "format": "txt",
                                "name": "notes",
                                "source": {"bytes": b"a b c"},
                            }
                        },
                        {"cachePoint": {"type": "default"}},
                    ],
                }
            ],
            "system": [{"text": "Be exact."}, {"cachePoint": {"type": "default"}}],
        },
    ),
    "max tokens stop": (
        lambda f: None,
        {"messages": [user("one two three")], "inferenceConfig": {"maxTokens": 2}},
    ),
    "custom usage and stop reason": (
        lambda f: f.enqueue_text(
            "x", stop_reason="content_filtered", usage={"inputTokens": 9, "outputTokens": 1}
        ),
        {
            "messages": [user("hi")],
            "additionalModelRequestFields": {
                "top_k": 5,
                "thinking": {"type": "enabled", "budget_tokens": 1024},
            },
            "additionalModelResponseFieldPaths": ["/stop_sequence"],
            "requestMetadata": {"team": "search"},
            "performanceConfig": {"latency": "standard"},
        },
    ),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_converse_matches_boto3(fake_bedrock: FakeBedrock, name: str) -> None:
    script, kwargs = SCENARIOS[name]
    script(fake_bedrock)
    expected = comparable(boto3_client(fake_bedrock).converse(modelId=MODEL, **kwargs))
    sent_by_boto3 = fake_bedrock.requests[-1].body
    fake_bedrock.reset()  # a fresh prompt cache, too
    script(fake_bedrock)
    got = comparable(ours(fake_bedrock).converse(modelId=MODEL, **kwargs))
    assert got == expected
    # and the request we sent is the request boto3 sent
    assert rounded(fake_bedrock.requests[-1].body) == rounded(sent_by_boto3)


@pytest.mark.parametrize("name", ["default model", "tool use with reasoning"])
def test_converse_async_matches_boto3(fake_bedrock: FakeBedrock, name: str) -> None:
    script, kwargs = SCENARIOS[name]
    script(fake_bedrock)
    expected = comparable(boto3_client(fake_bedrock).converse(modelId=MODEL, **kwargs))
    fake_bedrock.reset()
    script(fake_bedrock)
    got = comparable(asyncio.run(ours(fake_bedrock).converse_async(modelId=MODEL, **kwargs)))
    assert got == expected


def test_async_calls_run_concurrently(fake_bedrock: FakeBedrock) -> None:
    for _ in range(20):
        fake_bedrock.enqueue_text("slow", first_byte_delay=2)
    client = ours(fake_bedrock)

    async def main() -> list[dict[str, Any]]:
        tasks = [
            asyncio.ensure_future(client.converse_async(messages=[user("hi")])) for _ in range(20)
        ]
        # all 20 requests reach the server while none has its answer: they run at once
        while len(fake_bedrock.requests) < 20:
            assert not any(t.done() for t in tasks)
            await asyncio.sleep(0.01)
        return await asyncio.gather(*tasks)

    results = asyncio.run(main())
    assert [r["output"]["message"]["content"] for r in results] == [[{"text": "slow"}]] * 20


def test_count_tokens_matches_boto3(fake_bedrock: FakeBedrock) -> None:
    kwargs = {"input": {"converse": {"messages": [user("a b c")], "system": [{"text": "x y"}]}}}
    expected = comparable(boto3_client(fake_bedrock).count_tokens(modelId=MODEL, **kwargs))
    assert (
        comparable(ours(fake_bedrock).count_tokens(modelId=MODEL, **kwargs))
        == expected
        == {"inputTokens": 5}
    )


ERROR_CLASSES = {
    "ValidationException": errors.ValidationError,
    "ServiceQuotaExceededException": errors.ServiceQuotaExceededError,
    "AccessDeniedException": errors.AccessDeniedError,
    "ResourceNotFoundException": errors.ResourceNotFoundError,
    "ModelTimeoutException": errors.ModelTimeoutError,
    "ModelErrorException": errors.ModelError,
    "ModelStreamErrorException": errors.ModelStreamError,
    "ThrottlingException": errors.ThrottlingError,
    "ModelNotReadyException": errors.ModelNotReadyError,
    "InternalServerException": errors.InternalServerError,
    "ServiceUnavailableException": errors.ServiceUnavailableError,
}


@pytest.mark.parametrize("code", list(ERROR_CLASSES))
def test_service_errors_are_typed_like_boto3_codes(fake_bedrock: FakeBedrock, code: str) -> None:
    fake_bedrock.enqueue_error(code, f"scripted {code}")
    with pytest.raises(ClientError) as boto:
        boto3_client(fake_bedrock).converse(modelId=MODEL, messages=[user("hi")])
    fake_bedrock.enqueue_error(code, f"scripted {code}")
    with pytest.raises(ERROR_CLASSES[code]) as info:
        ours(fake_bedrock).converse(messages=[user("hi")])
    err = info.value
    assert isinstance(err, errors.ConverseError)
    assert err.code == boto.value.response["Error"]["Code"] == code
    assert err.message == boto.value.response["Error"]["Message"]
    assert err.status_code == boto.value.response["ResponseMetadata"]["HTTPStatusCode"]
    # the id the server answered with, as boto3 reads it from its own answer
    assert err.request_id == fake_bedrock.requests[-1].request_id
    assert (
        boto.value.response["ResponseMetadata"]["RequestId"] == fake_bedrock.requests[-2].request_id
    )
    assert err.model_id == MODEL
    assert err.retryable == (err.status_code in (429, 500, 503))
    assert MODEL in str(err) and err.request_id in str(err)


@pytest.mark.parametrize(
    "message",
    [
        "Input is too long for requested model.",
        "input length and `max_tokens` exceed context limit: 199000 + 4096 > 200000",
        "prompt is too long: 200049 tokens > 200000 maximum",
        "too many total text bytes",
        "This model's maximum context length is 8192 tokens.",
    ],
)
def test_every_overflow_wording_is_a_context_window_error(
    fake_bedrock: FakeBedrock, message: str
) -> None:
    fake_bedrock.enqueue_error("ValidationException", message)
    with pytest.raises(errors.ContextWindowExceededError) as info:
        ours(fake_bedrock).converse(messages=[user("hi")])
    assert isinstance(info.value, errors.ValidationError)
    assert "Shorten the conversation" in str(info.value)


def test_real_overflow_from_the_fake_context_window(make_fake: Any) -> None:
    fake = make_fake(context_windows={MODEL: 3})
    with pytest.raises(errors.ContextWindowExceededError, match="Input is too long"):
        ours(fake).converse(messages=[user("one two three four")])


def test_sdk_retries_up_to_max_attempts(fake_bedrock: FakeBedrock) -> None:
    for _ in range(2):
        fake_bedrock.enqueue_error("ThrottlingException")
    out = ours(fake_bedrock, max_attempts=3).converse(messages=[user("hi")])
    assert out["stopReason"] == "end_turn"
    assert len(fake_bedrock.requests) == 3
    fake_bedrock.reset()
    fake_bedrock.enqueue_error("ValidationException", "bad")
    with pytest.raises(errors.ValidationError):
        ours(fake_bedrock, max_attempts=3).converse(messages=[user("hi")])
    assert len(fake_bedrock.requests) == 1


def test_bad_credentials_are_access_denied_with_a_hint(make_fake: Any) -> None:
    fake = make_fake(credentials=[(AKID, SECRET)])
    client = ConverseClient(
        MODEL,
        endpoint_url=fake.url,
        region_name="us-east-1",
        aws_access_key_id=AKID,
        aws_secret_access_key="wrong",
    )
    with pytest.raises(errors.AccessDeniedError) as info:
        client.converse(messages=[user("hi")])
    assert info.value.code == "InvalidSignatureException"
    assert "Check the AWS credentials" in str(info.value)
    assert "wrong" not in str(info.value) and "wrong" not in repr(client)


def test_unreachable_endpoint_is_an_endpoint_error() -> None:
    with FakeBedrock() as fake:
        url = fake.url
    client = ConverseClient(
        MODEL,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="a",
        aws_secret_access_key="b",
        max_attempts=1,
    )
    with pytest.raises(errors.EndpointError, match="Check endpoint_url") as caught:
        client.converse(messages=[user("hi")])
    # the SDK's chain of messages, without its debug dump of the same facts
    assert "DispatchFailure(" not in str(caught.value) and len(str(caught.value)) < 400


def test_repr_and_properties_never_show_secrets(fake_bedrock: FakeBedrock) -> None:
    client = ConverseClient(
        MODEL,
        endpoint_url=fake_bedrock.url,
        region_name="eu-west-3",
        aws_access_key_id="AKIDVISIBLE",
        aws_secret_access_key="very-secret",
        aws_session_token="session-secret",
    )
    expected = f"model_id='{MODEL}', region_name='eu-west-3', endpoint_url='{fake_bedrock.url}'"
    assert repr(client) == f"ConverseClient({expected})"
    assert (client.model_id, client.region_name, client.endpoint_url) == (
        MODEL,
        "eu-west-3",
        fake_bedrock.url,
    )
    assert "secret" not in repr(client)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"messages": [{"role": "user", "content": [{"text": "a", "image": {}}]}]},
            ValueError,
            "messages[0].content[0]: must set exactly one of",
        ),
        (
            {"messages": [{"role": "system", "content": [{"text": "a"}]}]},
            ValueError,
            "messages[0].role: expected 'user' or 'assistant', got \"system\"",
        ),
        ({"messages": [{"role": "user"}]}, ValueError, "messages[0].content: is required"),
        ({"messages": "hello"}, ValueError, "messages: expected a list, got str"),
        (
            {"messages": [user("a")], "inferenceConfig": {"maxTokens": "10"}},
            ValueError,
            "inferenceConfig.maxTokens: expected an int, got str",
        ),
        (
            {"messages": [user("a")], "inferenceConfig": {"max_tokens": 10}},
            ValueError,
            "inferenceConfig.max_tokens: unknown parameter",
        ),
        (
            {"messages": [user("a")], "temperature": 0.5},
            ValueError,
            "temperature: unknown parameter",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"toolUse": {"toolUseId": "a", "name": "t", "input": {1: 2}}}],
                    }
                ]
            },
            ValueError,
            "messages[0].content[0].toolUse.input: JSON object keys must be str",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"image": {"format": "png", "source": {"bytes": 5}}}],
                    }
                ]
            },
            ValueError,
            "messages[0].content[0].image.source.bytes: expected bytes, got int",
        ),
        (
            {"messages": [user("a")], "toolConfig": {"tools": [{"toolSpec": {"name": "t"}}]}},
            ValueError,
            "toolConfig.tools[0].toolSpec.inputSchema: is required",
        ),
    ],
)
def test_bad_input_is_refused_before_any_request(
    fake_bedrock: FakeBedrock, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        ours(fake_bedrock).converse(**kwargs)
    assert str(info.value).startswith(message), str(info.value)
    assert fake_bedrock.requests == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"aws_access_key_id": "a"}, "aws_access_key_id and aws_secret_access_key go together"),
        ({"max_attempts": 0}, "max_attempts must be >= 1"),
        ({"endpoint_url": "localhost:1234"}, "endpoint_url must start with http:// or https://"),
        ({"read_timeout": 0.0}, "read_timeout: expected a number of seconds > 0"),
    ],
)
def test_bad_client_settings_are_refused_clearly(kwargs: dict[str, Any], message: str) -> None:
    settings: dict[str, Any] = {"region_name": "us-east-1", **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        ConverseClient(MODEL, **settings)


def test_no_model_anywhere_is_a_clear_error(fake_bedrock: FakeBedrock) -> None:
    client = ConverseClient(
        endpoint_url=fake_bedrock.url,
        region_name="us-east-1",
        aws_access_key_id="a",
        aws_secret_access_key="b",
    )
    with pytest.raises(ValueError, match="no model given"):
        client.converse(messages=[user("hi")])
    out = client.converse(modelId="explicit", messages=[user("hi")])
    assert out["stopReason"] == "end_turn"
    assert fake_bedrock.requests[-1].model_id == "explicit"


STREAM_SCENARIOS = [
    "default model",
    "scripted text with system and inference config",
    "tool use with reasoning",
    "a full tool round trip",
    "max tokens stop",
]


def comparable_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for event in events:
        if "metadata" in event:
            event = {"metadata": {k: v for k, v in event["metadata"].items() if k != "metrics"}}
        out.append(event)
    return out


@pytest.mark.parametrize("name", STREAM_SCENARIOS)
def test_converse_stream_matches_boto3(fake_bedrock: FakeBedrock, name: str) -> None:
    script, kwargs = SCENARIOS[name]
    script(fake_bedrock)
    boto = boto3_client(fake_bedrock).converse_stream(modelId=MODEL, **kwargs)
    expected = comparable_events(list(boto["stream"]))
    fake_bedrock.reset()
    script(fake_bedrock)
    result = ours(fake_bedrock).converse_stream(modelId=MODEL, **kwargs)
    assert result["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert comparable_events(list(result["stream"])) == expected
    assert len(expected) >= 5


@pytest.mark.parametrize("name", ["default model", "tool use with reasoning"])
def test_converse_stream_async_matches_boto3(fake_bedrock: FakeBedrock, name: str) -> None:
    script, kwargs = SCENARIOS[name]
    script(fake_bedrock)
    expected = comparable_events(
        list(boto3_client(fake_bedrock).converse_stream(modelId=MODEL, **kwargs)["stream"])
    )
    fake_bedrock.reset()
    script(fake_bedrock)

    async def main() -> list[dict[str, Any]]:
        result = await ours(fake_bedrock).converse_stream_async(modelId=MODEL, **kwargs)
        return [event async for event in result["stream"]]

    assert comparable_events(asyncio.run(main())) == expected


def test_sync_stream_object_also_iterates_async(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_text("a b c")
    stream = ours(fake_bedrock).converse_stream(messages=[user("hi")])["stream"]
    first = next(stream)

    async def rest() -> list[dict[str, Any]]:
        return [event async for event in stream]

    events = [first, *asyncio.run(rest())]
    assert [next(iter(e)) for e in events] == [
        "messageStart",
        *["contentBlockDelta"] * 3,
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    assert list(stream) == []  # exhausted stays exhausted


@pytest.mark.parametrize(
    ("member", "error"),
    [
        ("throttlingException", errors.ThrottlingError),
        ("validationException", errors.ValidationError),
        ("modelStreamErrorException", errors.ModelStreamError),
        ("internalServerException", errors.InternalServerError),
        ("serviceUnavailableException", errors.ServiceUnavailableError),
    ],
)
def test_in_stream_exceptions_are_typed(
    fake_bedrock: FakeBedrock, member: str, error: type[Exception]
) -> None:
    fake_bedrock.enqueue_text(
        "one two three", stream_error=member, stream_error_message="broke", after_events=2
    )
    seen = []
    with pytest.raises(error) as info:
        for event in ours(fake_bedrock).converse_stream(messages=[user("hi")])["stream"]:
            seen.append(event)
    assert len(seen) == 2
    assert info.value.message == "broke"  # type: ignore[attr-defined]
    assert info.value.code == member[0].upper() + member[1:]  # type: ignore[attr-defined]
    assert info.value.model_id == MODEL  # type: ignore[attr-defined]


def test_cut_stream_is_stream_interrupted(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_text("a b c d e f", disconnect_after_events=3)
    stream = ours(fake_bedrock).converse_stream(messages=[user("hi")])["stream"]
    seen = []
    with pytest.raises(errors.StreamInterruptedError) as info:
        for event in stream:
            seen.append(event)
    assert len(seen) == 3
    assert info.value.retryable
    assert list(stream) == []


def test_stalled_stream_times_out(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_text("a b c", delta_delay=2.0)
    stream = ours(fake_bedrock, read_timeout=0.3).converse_stream(messages=[user("hi")])["stream"]
    with pytest.raises(errors.StreamInterruptedError, match="no event arrived"):
        list(stream)


def test_errors_before_the_stream_raise_at_the_call(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_error("AccessDeniedException", "no access")
    with pytest.raises(errors.AccessDeniedError, match="no access"):
        ours(fake_bedrock).converse_stream(messages=[user("hi")])
