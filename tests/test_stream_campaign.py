"""Seeded campaign: reads of every stream kind interrupted at random moments.

Three kinds of stream share one pump: a conversation's typed stream, boto3's
``converse_stream`` dicts and ``invoke_model_with_response_stream`` chunks. Reads are
interrupted by Ctrl-C (``for``) or cancelled (``async for``) at random moments, also while an
event is being handed over. The boto3-shaped streams must go on as if nothing happened: the
events read are all of them, in order, once each. A typed stream is a turn: an interrupted
read ends it, and then the history is exactly as before; either way no event is skipped.
"""

from __future__ import annotations

import _thread
import asyncio
import itertools
import json
import random
import signal
import threading
from collections.abc import Iterator
from itertools import islice
from typing import Any

import pytest
from conftest import fc_client
from fastconverse import ConverseClient, TextDelta
from fastconverse.testing import FakeBedrock

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
KINDS = ["typed", "dicts", "chunks"]
# Each stream asks for a model id of its own, and its replies are scripted for that id
# alone: a request of an earlier, interrupted stream that reaches FakeBedrock late (under
# load) cannot take a later stream's reply.
_STREAM_IDS = itertools.count()


def _settle() -> None:
    """A Python call: a pending Ctrl-C is raised here at the latest."""


@pytest.fixture
def sigint() -> Iterator[None]:
    # (a suite run as a background job ignores SIGINT: these tests need Python's handler)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def _words(rng: random.Random) -> list[str]:
    return [f"w{i}-{rng.randint(0, 999)} " for i in range(rng.randint(3, 30))]


def _open(kind: str, client: ConverseClient, fake: FakeBedrock, rng: random.Random) -> Any:
    """A stream of `kind`, and what it must yield: (stream, expected, conversation)."""
    fake.reset()  # (a turn an interrupted stream never asked for is not left queued)
    model = f"{MODEL}-{next(_STREAM_IDS)}"
    words = _words(rng)
    delay = rng.choice([0.0, 0.0005, 0.002])
    if kind == "chunks":
        body = json.dumps(
            {
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 200,
                "messages": [{"role": "user", "content": [{"type": "text", "text": "go"}]}],
            }
        )
        fake.enqueue_text("".join(words), model_id=model)
        whole = client.invoke_model_with_response_stream(modelId=model, body=body)["body"]
        expected = _chunks(list(whole))
        fake.enqueue_text("".join(words), delta_delay=delay, model_id=model)
        out = client.invoke_model_with_response_stream(modelId=model, body=body)
        return out["body"], expected, None
    fake.enqueue_text("".join(words), delta_delay=delay, model_id=model)
    if kind == "dicts":
        request = {"modelId": model, "messages": [{"role": "user", "content": [{"text": "go"}]}]}
        return client.converse_stream(**request)["stream"], words, None
    conv = client.create_conversation(model_id=model)
    return conv.stream("go"), words, conv


def _texts(kind: str, events: list[Any]) -> list[str]:
    if kind == "typed":
        return [e.text for e in events if isinstance(e, TextDelta)]
    return [e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e]


def _chunks(events: list[Any]) -> list[Any]:
    """An InvokeModel stream's chunks as data, without the message's id."""
    chunks = [json.loads(e["chunk"]["bytes"]) for e in events]
    if chunks and chunks[0]["type"] == "message_start":
        chunks[0]["message"].pop("id")
    return chunks


def _check(kind: str, events: list[Any], expected: Any, conv: Any, stream: Any) -> bool:
    """The campaign's invariant for one stream; True when it was read to its end."""
    if kind == "chunks":
        assert _chunks(events) == expected, "a chunk stream goes on whole after interrupts"
        return True
    texts = _texts(kind, events)
    if kind == "dicts":
        assert texts == expected, "a boto3-shaped stream goes on whole after interrupts"
        return True
    assert texts == expected[: len(texts)], "no event skipped before the stream ended"
    if stream.done and conv.messages:
        assert texts == expected
        assert conv.messages[-1]["content"][0]["text"] == "".join(expected)
        return True
    assert conv.messages == [], "an interrupted turn leaves the history as it was"
    return False


@pytest.mark.parametrize("kind", KINDS)
def test_ctrl_c_at_random_moments_never_loses_an_event(
    fake_bedrock: FakeBedrock, sigint: None, kind: str
) -> None:
    rng = random.Random(f"ctrl-c {kind}")
    client = fc_client(fake_bedrock)
    interrupts = whole = streams = 0
    # (at least 40 streams, and on until enough reads were interrupted: how many land
    # depends on the machine's timing, never what is checked)
    while streams < 40 or (interrupts <= 10 and streams < 400):
        streams += 1
        stream, expected, conv = _open(kind, client, fake_bedrock, rng)
        it = iter(stream)
        events: list[Any] = []
        while True:
            before = len(events)
            try:
                timer = threading.Timer(rng.uniform(0.0, 0.003), _thread.interrupt_main)
                timer.start()
                try:
                    # (islice and extend are C: an event taken is kept before any Python
                    # code could raise the interrupt)
                    events.extend(islice(it, 1))
                finally:
                    timer.cancel()
                    timer.join()
                    _settle()
            except KeyboardInterrupt:
                interrupts += 1
                continue
            if len(events) == before:
                break
        whole += _check(kind, events, expected, conv, stream)
    assert interrupts > 10, "the campaign interrupted reads"
    if kind != "typed":
        assert whole == streams


@pytest.mark.parametrize("kind", KINDS)
def test_cancelled_reads_at_random_moments_never_lose_an_event(
    fake_bedrock: FakeBedrock, kind: str
) -> None:
    rng = random.Random(f"cancel {kind}")
    client = fc_client(fake_bedrock)

    async def anext_of(it: Any) -> Any:
        return await it.__anext__()

    async def main() -> tuple[int, int]:
        cancels = whole = 0
        for _ in range(40):
            stream, expected, conv = _open(kind, client, fake_bedrock, rng)
            it = stream.__aiter__()
            events: list[Any] = []
            while True:
                read = asyncio.ensure_future(anext_of(it))
                for _ in range(rng.randint(0, 3)):
                    await asyncio.sleep(0)
                if rng.random() < 0.4 and read.cancel():
                    cancels += 1
                try:
                    events.append(await read)
                except asyncio.CancelledError:
                    continue
                except StopAsyncIteration:
                    break
            whole += _check(kind, events, expected, conv, stream)
        return cancels, whole

    cancels, whole = asyncio.run(main())
    assert cancels > 10, "the campaign cancelled reads"
    if kind != "typed":
        assert whole == 40
