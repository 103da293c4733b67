"""InvokeModel and its stream, boto3-shaped: code written against ``invoke_model`` runs on
our client, and FakeBedrock answers both our client and boto3 the same way."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError, EventStreamError
from conftest import boto3_client, fc_client
from fastconverse.testing import FakeBedrock

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


def claude_body(text: str, **extra: Any) -> str:
    return json.dumps(
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 200,
            "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}],
            **extra,
        }
    )


def test_invoke_model_answers_as_boto3_gets_it(fake_bedrock: FakeBedrock) -> None:
    ours = fc_client(fake_bedrock)
    theirs = boto3_client(fake_bedrock)
    answers = []
    for client in (ours, theirs):
        fake_bedrock.enqueue_text("Paris.")
        out = client.invoke_model(modelId=MODEL, body=claude_body("Capital of France?"))
        assert out["contentType"] == "application/json"
        assert out["ResponseMetadata"]["HTTPStatusCode"] == 200
        answers.append(json.loads(out["body"].read()))
    mine, boto = answers
    assert mine["content"] == boto["content"] == [{"type": "text", "text": "Paris."}]
    assert mine["stop_reason"] == "end_turn" and mine["role"] == "assistant"
    assert set(mine) == set(boto)
    sent = [r.body for r in fake_bedrock.requests]
    assert sent[0] == sent[1]  # the same body went out
    assert fake_bedrock.requests[0].operation == "InvokeModel"


def test_the_default_model_answers_an_invoke_body_and_honours_max_tokens(
    fake_bedrock: FakeBedrock,
) -> None:
    out = fc_client(fake_bedrock).invoke_model(
        modelId=MODEL, body=claude_body("one two three four", max_tokens=3).encode()
    )
    answer = json.loads(out["body"].read())
    assert answer["content"] == [{"type": "text", "text": "You said: one"}]
    assert answer["stop_reason"] == "max_tokens"


def test_invoke_stream_chunks_carry_anthropic_events(fake_bedrock: FakeBedrock) -> None:
    ours = fc_client(fake_bedrock)
    theirs = boto3_client(fake_bedrock)
    seen = []
    for client in (ours, theirs):
        fake_bedrock.enqueue_text("Hello there")
        out = client.invoke_model_with_response_stream(modelId=MODEL, body=claude_body("hi"))
        events = [json.loads(e["chunk"]["bytes"]) for e in out["body"]]
        seen.append(events)
    mine, boto = seen
    for events in seen:  # (message ids differ, as each answer is a new message)
        assert events[0]["message"].pop("id").startswith("msg_bdrk_")
    assert mine == boto
    kinds = [e["type"] for e in mine]
    assert kinds == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert mine[2]["delta"] == {"type": "text_delta", "text": "Hello there"}
    assert mine[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] >= 1


def test_invoke_stream_async(fake_bedrock: FakeBedrock) -> None:
    async def main() -> list[dict[str, Any]]:
        out = fc_client(fake_bedrock).invoke_model_with_response_stream(
            modelId=MODEL, body=claude_body("async")
        )
        return [json.loads(e["chunk"]["bytes"]) async for e in out["body"]]

    events = asyncio.run(main())
    assert events[2]["delta"]["text"] == "You said: async"


def test_an_error_in_the_stream_is_raised_as_boto3_raises_it(fake_bedrock: FakeBedrock) -> None:
    caught = []
    for client in (fc_client(fake_bedrock), boto3_client(fake_bedrock)):
        fake_bedrock.enqueue_text(
            "a b c", stream_error="throttlingException", after_events=2, chunks=3
        )
        out = client.invoke_model_with_response_stream(modelId=MODEL, body=claude_body("x"))
        with pytest.raises(EventStreamError) as e:
            list(out["body"])
        caught.append(e.value)
    mine, boto = caught
    assert mine.response["Error"] == boto.response["Error"]
    assert mine.operation_name == boto.operation_name == "InvokeModelWithResponseStream"


def test_a_bad_body_is_refused_as_bedrock_refuses_it(fake_bedrock: FakeBedrock) -> None:
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "messages": []})
    for client in (fc_client(fake_bedrock), boto3_client(fake_bedrock)):
        with pytest.raises(ClientError) as e:
            client.invoke_model(modelId=MODEL, body=body)
        assert e.value.response["Error"] == {
            "Code": "ValidationException",
            "Message": "Malformed input request: #: required key [max_tokens] not found, "
            "please reformat your input and try again.",
        }
        assert e.value.operation_name == "InvokeModel"


def test_a_forced_tool_in_an_invoke_body_gets_a_tool_use(fake_bedrock: FakeBedrock) -> None:
    tools = [
        {
            "name": "weather",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    out = fc_client(fake_bedrock).invoke_model(
        modelId=MODEL,
        body=claude_body("Oslo?", tools=tools, tool_choice={"type": "tool", "name": "weather"}),
    )
    answer = json.loads(out["body"].read())
    assert answer["stop_reason"] == "tool_use"
    (use,) = answer["content"]
    assert use["type"] == "tool_use" and use["name"] == "weather"
    assert isinstance(use["input"]["city"], str)


def test_body_arguments_as_boto3_takes_them(fake_bedrock: FakeBedrock, tmp_path: Any) -> None:
    path = tmp_path / "body.json"
    path.write_text(claude_body("from a file"))
    client = fc_client(fake_bedrock)
    with path.open("rb") as f:
        out = client.invoke_model(modelId=MODEL, body=f, contentType="application/json")
    assert json.loads(out["body"].read())["content"][0]["text"] == "You said: from a file"
    with pytest.raises(TypeError, match="body: expected bytes, a str or a binary file"):
        client.invoke_model(modelId=MODEL, body=42)
    with pytest.raises(ValueError, match="contentTyp"):
        client.invoke_model(modelId=MODEL, body=b"{}", contentTyp="x")
    assert fake_bedrock.requests[0].body["messages"][0]["content"][0]["text"] == "from a file"
    with pytest.raises(ClientError, match="Malformed input request"):
        client.invoke_model(modelId=MODEL, body=b"not json")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_cancelled_read_never_loses_a_chunk(fake_bedrock: FakeBedrock, seed: int) -> None:
    """Seeded: reads of an InvokeModel stream cancelled at random moments (also after the
    chunk was received, before the reader took it); the chunks read are all of them."""
    import random

    text = " ".join(f"w{i}" for i in range(150))
    client = fc_client(fake_bedrock)

    def normal(chunks: list[bytes]) -> list[Any]:
        events = [json.loads(c) for c in chunks]
        events[0]["message"].pop("id")
        return events

    stream = client.invoke_model_with_response_stream(modelId=MODEL, body=claude_body(text))
    reference = normal([e["chunk"]["bytes"] for e in stream["body"]])

    async def anext_of(body: Any) -> Any:
        return await body.__anext__()

    async def read(body: Any, rng: random.Random) -> tuple[list[bytes], int]:
        got: list[bytes] = []
        cancels = 0
        while True:
            task = asyncio.ensure_future(anext_of(body))
            for _ in range(rng.randint(0, 3)):
                await asyncio.sleep(0)
            if rng.random() < 0.5 and task.cancel():
                cancels += 1
            try:
                event = await task
            except asyncio.CancelledError:
                continue
            except StopAsyncIteration:
                return got, cancels
            got.append(event["chunk"]["bytes"])

    async def main() -> int:
        rng = random.Random(seed)
        total = 0
        for _ in range(40):  # (a stream is six chunks: many streams, many cancels)
            out = client.invoke_model_with_response_stream(modelId=MODEL, body=claude_body(text))
            got, cancels = await read(out["body"].__aiter__(), rng)
            assert normal(got) == reference
            total += cancels
        return total

    assert asyncio.run(main()) > 20


def test_two_threads_reading_one_stream_share_its_chunks(fake_bedrock: FakeBedrock) -> None:
    import threading

    text = " ".join(f"w{i}" for i in range(20))
    client = fc_client(fake_bedrock)
    one = client.invoke_model_with_response_stream(modelId=MODEL, body=claude_body(text))
    reference = sorted(json.loads(e["chunk"]["bytes"])["type"] for e in one["body"])
    body = client.invoke_model_with_response_stream(modelId=MODEL, body=claude_body(text))["body"]
    got: list[list[Any]] = [[], []]

    def read(i: int) -> None:
        for event in body:
            got[i].append(json.loads(event["chunk"]["bytes"]))

    threads = [threading.Thread(target=read, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    kinds = sorted(e["type"] for e in got[0] + got[1])
    assert kinds == reference, "every chunk reached one reader once, none was lost"
