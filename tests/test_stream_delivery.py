"""Events reach the reader as they arrive, in order, whatever the reader.

The reading task hands events over in batches: all that the bytes already received hold, in
one wake-up. A batch must never wait for more events to fill it: these tests hold the rest of
the reply back on the server (an hour between deltas) and read the first delta in every reader
kind; an implementation that waited would hang here until the suite's timeout fails it.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from typing import Any

import pytest
from conftest import fc_client
from fastconverse import ConverseClient, MessageStart, TextDelta
from fastconverse.testing import FakeBedrock

HOUR = 3600.0


@pytest.fixture
def client(fake_bedrock: FakeBedrock) -> ConverseClient:
    return fc_client(fake_bedrock)


def test_typed_sync_reader_gets_the_first_delta_while_the_rest_is_held(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    fake_bedrock.enqueue_text("first second third", delta_delay=HOUR)
    conv = client.create_conversation()
    stream = conv.stream("go")
    assert isinstance(next(stream), MessageStart)
    first = next(stream)
    assert isinstance(first, TextDelta) and first.text == "first "
    stream.close()
    assert conv.messages == [] and not conv.busy


def test_typed_async_reader_gets_the_first_delta_while_the_rest_is_held(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    fake_bedrock.enqueue_text("first second third", delta_delay=HOUR)
    conv = client.create_conversation()

    async def main() -> list[Any]:
        stream = conv.stream("go")
        got = [await stream.__anext__(), await stream.__anext__()]
        stream.close()
        return got

    start, first = asyncio.run(main())
    assert isinstance(start, MessageStart)
    assert isinstance(first, TextDelta) and first.text == "first "
    assert conv.messages == [] and not conv.busy


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_boto3_shaped_reader_gets_the_first_delta_while_the_rest_is_held(
    fake_bedrock: FakeBedrock, client: ConverseClient, use_async: bool
) -> None:
    fake_bedrock.enqueue_text("first second third", delta_delay=HOUR)
    request: dict[str, Any] = {
        "modelId": "m",
        "messages": [{"role": "user", "content": [{"text": "go"}]}],
    }
    if use_async:

        async def main() -> list[dict[str, Any]]:
            stream = (await client.converse_stream_async(**request))["stream"]
            got = [await stream.__anext__(), await stream.__anext__()]
            stream.close()
            return got

        got = asyncio.run(main())
    else:
        stream = client.converse_stream(**request)["stream"]
        got = [next(stream), next(stream)]
        stream.close()
    assert got[0] == {"messageStart": {"role": "assistant"}}
    assert got[1] == {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "first "}}}


@pytest.mark.parametrize("seed", range(3))
def test_long_replies_arrive_whole_and_in_order_across_batches(
    fake_bedrock: FakeBedrock, client: ConverseClient, seed: int
) -> None:
    # Replies longer than a batch, read by a reader that sometimes lags behind the network
    # (so batches queue up) and sometimes waits for it: every delta, once, in order.
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(rng.randrange(300, 1500))]
    fake_bedrock.enqueue_text(" ".join(words), delta_delay=rng.choice([0.0, 0.0001]))
    conv = client.create_conversation()
    texts = []
    for event in conv.stream("go"):
        if isinstance(event, TextDelta):
            texts.append(event.text)
            if rng.random() < 0.01:
                # A slow reader: the pump runs ahead and fills its batches meanwhile.
                sum(range(20_000))
    assert "".join(texts) == " ".join(words)
    assert [t.strip() for t in texts] == words
    assert conv.messages[-1]["content"] == [{"text": " ".join(words)}]


# --- a cancelled read takes nothing ---------------------------------------------------------


def test_a_boto3_shaped_read_cancelled_as_its_event_arrives_loses_no_event(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    # Each read starts, then the loop is blocked while the next delta arrives (they come
    # 50 ms apart), and the read is cancelled before it runs again: the event must wait for
    # the next read, never be lost with the cancelled one. (A typed stream is an async
    # generator: a cancelled read ends it, and its turn leaves the history as it was.)
    words = [f"w{i} " for i in range(8)]
    fake_bedrock.enqueue_text("".join(words), delta_delay=0.05)

    async def main() -> tuple[list[str], int]:
        request = {"modelId": "m", "messages": [{"role": "user", "content": [{"text": "go"}]}]}
        stream = (await client.converse_stream_async(**request))["stream"]
        texts: list[str] = []
        cancelled = 0
        while True:
            read = asyncio.ensure_future(stream.__anext__())
            await asyncio.sleep(0)  # the read starts (and ends, if an event was there)
            if not read.done():
                time.sleep(0.08)  # the next delta arrives while the loop is blocked
                read.cancel()
            try:
                event = await read
            except asyncio.CancelledError:
                cancelled += 1
                continue
            except StopAsyncIteration:
                return texts, cancelled
            if "contentBlockDelta" in event:
                texts.append(event["contentBlockDelta"]["delta"]["text"])

    texts, cancelled = asyncio.run(main())
    assert cancelled >= len(words) // 2  # most deltas came while a read was being cancelled
    assert texts == words


def test_two_tasks_reading_one_boto3_shaped_stream_share_its_events(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    # Both wait at once for most deltas: each event goes to one of them, once, in order.
    words = [f"w{i} " for i in range(10)]
    fake_bedrock.enqueue_text("".join(words), delta_delay=0.01)

    async def main() -> list[dict[str, Any]]:
        request = {"modelId": "m", "messages": [{"role": "user", "content": [{"text": "go"}]}]}
        stream = (await client.converse_stream_async(**request))["stream"]
        got: list[dict[str, Any]] = []

        async def reader() -> None:
            while True:
                try:
                    got.append(await stream.__anext__())
                except StopAsyncIteration:
                    return

        await asyncio.wait_for(asyncio.gather(reader(), reader()), 60)
        return got

    got = asyncio.run(main())
    texts = [e["contentBlockDelta"]["delta"]["text"] for e in got if "contentBlockDelta" in e]
    assert texts == words
    assert "messageStop" in got[-2] and "metadata" in got[-1]


def test_two_threads_reading_one_boto3_shaped_stream_share_its_events(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    # Both block at once for most deltas: each event goes to one of them, once; each thread
    # sees its share in the stream's order.
    words = [f"w{i} " for i in range(12)]
    fake_bedrock.enqueue_text("".join(words), delta_delay=0.01)
    request = {"modelId": "m", "messages": [{"role": "user", "content": [{"text": "go"}]}]}
    stream = client.converse_stream(**request)["stream"]
    got: list[list[dict[str, Any]]] = [[], []]

    def reader(mine: list[dict[str, Any]]) -> None:
        for event in stream:
            mine.append(event)

    threads = [threading.Thread(target=reader, args=(mine,)) for mine in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    texts = [
        [e["contentBlockDelta"]["delta"]["text"] for e in mine if "contentBlockDelta" in e]
        for mine in got
    ]
    for share in texts:
        assert share == sorted(share, key=words.index)  # in order within each thread
    assert sorted(texts[0] + texts[1], key=words.index) == words  # each word once
    # messageStart, contentBlockStop, messageStop and metadata besides the deltas
    assert sum(len(mine) for mine in got) == len(words) + 4


def test_a_boto3_shaped_stream_closed_from_another_thread_ends_its_blocked_reader_quietly(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    # As with the typed stream: close() is the caller's own stop, not a failure. The reader
    # is blocked for the second delta (an hour away) when the stream is closed.
    fake_bedrock.enqueue_text("first second third", delta_delay=HOUR)
    request = {"modelId": "m", "messages": [{"role": "user", "content": [{"text": "go"}]}]}
    stream = client.converse_stream(**request)["stream"]
    got: list[dict[str, Any]] = []
    failed: list[BaseException] = []

    def reader() -> None:
        try:
            for event in stream:
                got.append(event)
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    while len(got) < 2 and thread.is_alive():
        time.sleep(0.01)
    stream.close()
    thread.join(60)
    assert not thread.is_alive() and failed == []
    assert got == [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "first "}}},
    ]
    assert list(stream) == []  # reading on after close() just stops
