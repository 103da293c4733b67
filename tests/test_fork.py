"""A client used before ``os.fork()`` works in the child: a fresh runtime, connections, tool
pool and private loop there (gunicorn --preload, Celery's prefork pool, multiprocessing's
fork context), with the history and the store as the parent left them."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import select
import threading
import time
from collections.abc import Callable
from typing import Any

import fastconverse as fc
import pytest
from conftest import fc_client
from fastconverse import Store
from fastconverse.testing import FakeBedrock

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

HANG = float(os.environ.get("FASTCONVERSE_FORK_HANG", "120"))  # a silent child hangs


def in_child(work: Callable[[], Any]) -> Any:
    """Runs ``work`` in a forked child and returns what it returned (JSON); a child that
    raises, dies or hangs fails the test."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never back into pytest
        code = 0
        try:
            out = json.dumps({"ok": work()})
        except BaseException as exc:
            out, code = json.dumps({"error": f"{type(exc).__name__}: {exc}"}), 1
        os.write(write, out.encode())
        os._exit(code)
    os.close(write)
    chunks = []
    deadline = time.monotonic() + HANG
    while True:
        ready, _, _ = select.select([read], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail(f"the child hung for {HANG:.0f} s")
        chunk = os.read(read, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    result = json.loads(b"".join(chunks) or b'{"error": "the child died"}')
    assert "error" not in result, result["error"]
    return result["ok"]


def test_a_client_used_before_fork_works_in_the_child(fake_bedrock: FakeBedrock) -> None:
    client = fc_client(fake_bedrock)
    conv = client.create_conversation("Be brief.")
    conv.send("before the fork")
    before = conv.messages

    def child() -> Any:
        reply = conv.send("in the child")
        stream = conv.stream("streamed in the child")
        text = "".join(e.text for e in stream if isinstance(e, fc.TextDelta))
        other = client.converse(messages=[{"role": "user", "content": [{"text": "boto3"}]}])
        return [
            reply.text,
            text,
            len(conv.messages),
            conv.messages[:2] == before,
            other["stopReason"],
        ]

    assert in_child(child) == [
        "You said: in the child",
        "You said: streamed in the child",
        6,
        True,
        "end_turn",
    ]
    # The parent goes on as it was: the child's turns are the child's.
    assert conv.messages == before
    assert conv.send("after").text == "You said: after"


def test_async_and_coroutine_tools_work_in_the_child(fake_bedrock: FakeBedrock) -> None:
    @fc.tool
    async def double(n: int) -> int:
        """Doubles n."""
        await asyncio.sleep(0)
        return 2 * n

    client = fc_client(fake_bedrock)
    conv = client.create_conversation(tools=[double])
    fake_bedrock.enqueue_tool_use("double", {"n": 2})
    conv.send("warm the private loop and the pool")  # (sync send: the private loop starts)
    asyncio.run(conv.send_async("and the async path"))

    # (FakeBedrock serves from the parent: the child's replies are queued here)
    fake_bedrock.enqueue_tool_use("double", {"n": 21})
    fake_bedrock.enqueue_text("42")
    fake_bedrock.enqueue_tool_use("double", {"n": 5})
    fake_bedrock.enqueue_text("10")

    def child() -> Any:
        sync_reply = conv.send("double 21")  # coroutine tool on a (new) private loop
        async_reply = asyncio.run(conv.send_async("double 5"))
        results = [r["content"] for r in sync_reply.tool_results + async_reply.tool_results]
        return results

    assert in_child(child) == [[{"json": {"result": 42}}], [{"json": {"result": 10}}]]


def test_a_conversation_in_a_turn_while_forking_is_free_in_the_child(
    fake_bedrock: FakeBedrock,
) -> None:
    client = fc_client(fake_bedrock)
    conv = client.create_conversation()
    conv.send("first")
    before = conv.messages
    fake_bedrock.enqueue_text("slow answer", first_byte_delay=1.0)  # (the parent's turn)
    replies: list[Any] = []
    turn = threading.Thread(target=lambda: replies.append(conv.send("slow")))
    turn.start()
    while not conv.busy:  # (the turn has begun)
        time.sleep(0.001)

    def child() -> Any:
        # The parent's turn has no thread here: the history is as it was, and it is free.
        return [conv.busy, conv.messages == before, conv.send("in the child").text]

    assert in_child(child) == [False, True, "You said: in the child"]
    turn.join()
    assert replies[0].text == "slow answer"
    assert conv.messages[-1] == {"role": "assistant", "content": [{"text": "slow answer"}]}


def test_a_store_used_before_fork_works_in_the_child(
    fake_bedrock: FakeBedrock, store_at: Callable[..., Store]
) -> None:
    client = fc_client(fake_bedrock, store=store_at())
    conv = client.create_conversation(conversation_id="forked")
    conv.send("kept by the parent")
    version = conv.version

    def child() -> Any:
        conv.send("kept by the child")
        return conv.version

    assert in_child(child) == version + 1
    # The store holds the child's turn; the parent's object is as it left it until it reads.
    reader = fc_client(fake_bedrock, store=store_at())
    stored = reader.get_conversation("forked")
    assert [m["content"][0]["text"] for m in stored.messages[::2]] == [
        "kept by the parent",
        "kept by the child",
    ]
    assert conv.version == version


_POOL_CLIENT: fc.ConverseClient | None = None


def _pool_turn(text: str) -> str:
    assert _POOL_CLIENT is not None
    return _POOL_CLIENT.create_conversation().send(text).text


def test_multiprocessing_fork_pool_workers_use_the_parents_client(
    fake_bedrock: FakeBedrock,
) -> None:
    global _POOL_CLIENT
    _POOL_CLIENT = fc_client(fake_bedrock)
    _POOL_CLIENT.create_conversation().send("used before the pool starts")
    try:
        with multiprocessing.get_context("fork").Pool(2) as pool:
            result = pool.map_async(_pool_turn, [f"job {i}" for i in range(6)])
            texts = result.get(timeout=HANG)
    finally:
        _POOL_CLIENT = None
    assert texts == [f"You said: job {i}" for i in range(6)]


def test_documents_keep_their_order_in_the_child(fake_bedrock: FakeBedrock) -> None:
    # (the order of documents made before the fork is the parent's knowledge: the child
    # starts with a copy of it)
    from test_key_order import INPUT, SCHEMA, compact, keys_of_tool_use, many_tool, sent

    conv = fc_client(fake_bedrock).create_conversation(tools=[many_tool([])])
    fake_bedrock.enqueue_tool_use("many", INPUT)
    fake_bedrock.enqueue_text("done")
    conv.send("before the fork")

    def child() -> Any:
        return conv.send("in the child").text

    assert in_child(child) == "You said: in the child"
    body = sent(fake_bedrock)
    assert keys_of_tool_use(body["messages"][1]) == list(INPUT)
    assert compact(body["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]) == compact(
        SCHEMA
    )
