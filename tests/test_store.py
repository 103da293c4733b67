"""Stores through the public API, on a real SQLite file and a real redis-server: what is
kept, across processes; conflicts; a store that is down; records that are not ours."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import AKID, SECRET, fc_client
from fastconverse import RedisStore, SlidingWindow, SQLiteStore, Store, tool
from fastconverse.errors import ConversationConflictError, StoreError
from fastconverse.testing import FakeBedrock
from redis_server import RedisServer

MakeStore = Callable[..., Store]


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [b["text"] for m in messages for b in m["content"] if "text" in b]


def test_a_conversation_outlives_its_process(
    fake_bedrock: FakeBedrock, store_at: MakeStore
) -> None:
    """Created and continued in one process, continued in another, read back in this one."""
    client = fc_client(fake_bedrock, store=store_at())
    conv = client.create_conversation("Be brief.", metadata={"user": "u1", "tags": ["a"]})
    conv.send("one")
    where = store_at.spec  # type: ignore[attr-defined]
    script = textwrap.dedent(f"""
        from fastconverse import ConverseClient, SQLiteStore, RedisStore
        client = ConverseClient("m", endpoint_url={fake_bedrock.url!r}, region_name="us-east-1",
                                aws_access_key_id={AKID!r}, aws_secret_access_key={SECRET!r},
                                store={where})
        conv = client.get_conversation({conv.id!r})
        assert conv.system_prompt == "Be brief.", conv.system_prompt
        assert conv.metadata == {{"user": "u1", "tags": ["a"]}}, conv.metadata
        print(client.send_message({conv.id!r}, "two"))
        print(conv.last_reply.usage.input_tokens, conv.last_reply.usage.output_tokens)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    text, tokens = out.stdout.strip().splitlines()
    assert text == "You said: two"
    two_in, two_out = (int(n) for n in tokens.split())
    again = fc_client(fake_bedrock, store=store_at()).get_conversation(conv.id)
    assert texts(again.messages) == ["one", "You said: one", "two", "You said: two"]
    assert again.version == 3  # created, and two turns
    # (the first turn's usage, from this process, and the second's, from the other)
    assert (again.usage.input_tokens, again.usage.output_tokens) == (
        conv.usage.input_tokens + two_in,
        conv.usage.output_tokens + two_out,
    )
    # the first client's conversation takes in the other process's turn before its next one
    assert conv.send("three").text == "You said: three"
    assert texts(conv.messages)[-4:] == ["two", "You said: two", "three", "You said: three"]


def test_two_workers_at_once_one_commits_the_other_conflicts(
    fake_bedrock: FakeBedrock, store_at: MakeStore
) -> None:
    a = fc_client(fake_bedrock, store=store_at()).create_conversation(conversation_id="shared")
    a.send("first")
    b = fc_client(fake_bedrock, store=store_at()).get_conversation("shared")
    stream = a.stream("from a")  # a's turn has begun, on version 2
    assert b.send("from b").text == "You said: from b"  # b commits version 3 meanwhile
    with pytest.raises(ConversationConflictError) as caught:
        stream.until_done()
    err = caught.value
    assert (err.ours, err.theirs) == (2, 3)
    assert err.reply is not None and err.reply.text == "You said: from a"
    assert "send the message again" in str(err)
    # a now holds the store's history: sending again simply works, nothing duplicated
    assert texts(a.messages) == texts(b.messages)
    a.send("from a")
    kept = fc_client(fake_bedrock, store=store_at()).get_conversation("shared")
    assert texts(kept.messages) == [
        "first", "You said: first", "from b", "You said: from b", "from a", "You said: from a",
    ]  # fmt: skip
    assert kept.version == 4


def test_a_deleted_conversation_is_gone_for_every_worker(
    fake_bedrock: FakeBedrock, store_at: MakeStore
) -> None:
    one, two = fc_client(fake_bedrock, store=store_at()), fc_client(fake_bedrock, store=store_at())
    conv = one.create_conversation(conversation_id="gone")
    conv.send("hi")
    held = two.get_conversation("gone")
    assert two.delete_conversation("gone") is True
    with pytest.raises(KeyError, match="gone"):
        one.delete_conversation("gone") if False else two.get_conversation("gone")
    with pytest.raises(ConversationConflictError, match="deleted"):
        held.send("still there?")
    assert texts(held.messages) == ["hi", "You said: hi"]  # as it was
    assert fc_client(fake_bedrock, store=store_at()).list_conversations() == []


def test_listing_pages_newest_first_and_filters_by_metadata(
    fake_bedrock: FakeBedrock, store_at: MakeStore
) -> None:
    client = fc_client(fake_bedrock, store=store_at())
    for i in range(7):
        client.create_conversation(
            conversation_id=f"c{i}", metadata={"user": "u1" if i % 2 == 0 else "u2", "n": i}
        )
    client.get_conversation("c1").send("now c1 is the newest")
    other = fc_client(fake_bedrock, store=store_at())  # sees the same store
    first = other.list_conversations(max_results=3)
    assert [c.id for c in first] == ["c1", "c6", "c5"]
    assert first[0].message_count == 2 and first[0].version == 2
    assert first[0]["conversationId"] == "c1" and first[0].metadata == {"user": "u2", "n": 1}
    rest = other.list_conversations(max_results=10, after=first[-1])
    assert [c.id for c in rest] == ["c4", "c3", "c2", "c0"]
    mine = other.list_conversations(metadata={"user": "u1"})
    assert [c.id for c in mine] == ["c6", "c4", "c2", "c0"]
    assert other.list_conversations(metadata={"user": "u1", "n": 4})[0].id == "c4"
    assert other.list_conversations(max_results=0) == []
    with pytest.raises(ValueError, match="max_results"):
        other.list_conversations(max_results=-1)


def test_tools_are_kept_by_name_and_given_again_to_reopen(
    fake_bedrock: FakeBedrock, store_at: MakeStore
) -> None:
    @tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    conv = fc_client(fake_bedrock, store=store_at()).create_conversation(
        tools=[get_weather], memory=SlidingWindow(max_messages=30), cache="system"
    )
    fake_bedrock.enqueue_tool_use("get_weather", {"city": "Oslo"})
    fake_bedrock.enqueue_text("It is sunny.")
    conv.send("Weather in Oslo?")
    client = fc_client(fake_bedrock, store=store_at())
    with pytest.raises(ValueError, match=r"get_weather.*tools=\[") as caught:
        client.get_conversation(conv.id)
    assert "functions are not stored" in str(caught.value)
    again = client.get_conversation(conv.id, tools=[get_weather])
    assert again.cache == ["system"]
    fake_bedrock.enqueue_tool_use("get_weather", {"city": "Rome"})
    fake_bedrock.enqueue_text("Sunny too.")
    assert again.send("And Rome?").text == "Sunny too."
    results = [b["toolResult"] for m in again.messages for b in m["content"] if "toolResult" in b]
    assert [r["content"][0]["text"] for r in results] == ["sunny in Oslo", "sunny in Rome"]


def test_a_store_that_is_down_keeps_nothing_of_the_turn_and_returns_its_reply(
    fake_bedrock: FakeBedrock, tmp_path: Path
) -> None:
    path = tmp_path / "c.db"
    conv = fc_client(fake_bedrock, store=SQLiteStore(path, timeout=0.2)).create_conversation()
    conv.send("kept")
    stream = conv.stream("lost?")
    # Another program holds the write lock (a process of its own: SQLite's locks are the
    # system's, per process).
    blocker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert blocker.stdout is not None and blocker.stdout.readline() == b"locked\n"
    with pytest.raises(StoreError) as caught:
        stream.until_done()
    assert caught.value.reply.text == "You said: lost?"
    assert "database is locked" in str(caught.value) and "write lock" in str(caught.value)
    assert texts(conv.messages) == ["kept", "You said: kept"] and conv.version == 2
    assert conv.metrics.errors == {"StoreError": 1} and conv.metrics.failed_turns == 1
    blocker.communicate(b"")  # lets go
    assert conv.send("lost?").text == "You said: lost?"  # sent again once it is back
    again = fc_client(fake_bedrock, store=SQLiteStore(path)).get_conversation(conv.id)
    assert texts(again.messages) == ["kept", "You said: kept", "lost?", "You said: lost?"]


LOCKER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
"""


def test_redis_killed_mid_turn_then_back(fake_bedrock: FakeBedrock, tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    try:
        client = fc_client(fake_bedrock, store=f"{server.url}")
        conv = client.create_conversation()
        conv.send("kept")
        stream = conv.stream("while it dies")
        server.stop()
        with pytest.raises(StoreError) as caught:
            stream.until_done()
        assert caught.value.reply.text == "You said: while it dies"
        assert "Redis server is running" in str(caught.value)
        assert "***" not in str(caught.value)  # (no password in this URL to hide)
        assert texts(conv.messages) == ["kept", "You said: kept"]
        with pytest.raises(StoreError):  # down before the turn: no request is made
            conv.send("nothing")
        assert fake_bedrock.requests[-1].body["messages"][-1]["content"][0]["text"] == (
            "while it dies"
        )
        server.start()  # back, empty: the conversation is not there any more
        with pytest.raises(ConversationConflictError, match="deleted"):
            conv.send("after")
        fresh = client.create_conversation()
        assert fresh.send("works again").text == "You said: works again"
    finally:
        server.stop()


def test_a_corrupt_or_foreign_record_is_refused_whole(
    fake_bedrock: FakeBedrock, tmp_path: Path
) -> None:
    path = tmp_path / "c.db"
    client = fc_client(fake_bedrock, store=str(path))
    conv = client.create_conversation(conversation_id="x")
    conv.send("hi")
    db = sqlite3.connect(path)
    db.execute("UPDATE fastconverse_messages SET body = ? WHERE seq = 1", ('{"role":"user"}',))
    db.commit()
    fresh = fc_client(fake_bedrock, store=str(path))
    with pytest.raises(StoreError, match=r"messages\[1\].content: is required\."):
        fresh.get_conversation("x")
    db.execute("UPDATE fastconverse_conversations SET head = ?", (json.dumps({"format": "x"}),))
    db.commit()
    with pytest.raises(StoreError, match="not a fastconverse head"):
        fresh.get_conversation("x")
    db.close()
    (tmp_path / "text.db").write_text("this is not a database, it is a shopping list\n" * 20)
    with pytest.raises(StoreError, match="not a database"):
        SQLiteStore(tmp_path / "text.db")


# Every value of every hash and list on the server.
DUMP_ALL = """
local out = {}
for _, k in ipairs(redis.call('KEYS', '*')) do
  local t = redis.call('TYPE', k).ok
  if t == 'hash' then
    for _, v in ipairs(redis.call('HGETALL', k)) do out[#out + 1] = v end
  elseif t == 'list' then
    for _, v in ipairs(redis.call('LRANGE', k, 0, -1)) do out[#out + 1] = v end
  end
end
return out
"""


def test_stored_data_never_holds_credentials(
    fake_bedrock: FakeBedrock, tmp_path: Path, redis_server: RedisServer
) -> None:
    path = tmp_path / "c.db"
    for store in (str(path), redis_server.url):
        conv = fc_client(fake_bedrock, store=store).create_conversation("sys", metadata={"k": 1})
        conv.send("hello")
    data = b"".join(p.read_bytes() for p in tmp_path.glob("c.db*"))
    dump = subprocess.run(
        ["redis-cli", "-p", str(redis_server.port), "--no-raw", "EVAL", DUMP_ALL, "0"],
        capture_output=True,
    ).stdout
    assert b"hello" in data and b"hello" in dump  # (what was read is the stored data)
    for secret in (AKID, SECRET):
        assert secret.encode() not in data and secret.encode() not in dump


def test_a_cancelled_turn_writes_nothing(fake_bedrock: FakeBedrock, store_at: MakeStore) -> None:
    conv = fc_client(fake_bedrock, store=store_at()).create_conversation()
    conv.send("one")
    fake_bedrock.enqueue_text("too late", first_byte_delay=0.5)

    async def cancel() -> None:
        task = asyncio.ensure_future(conv.send_async("two"))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel())
    kept = fc_client(fake_bedrock, store=store_at()).get_conversation(conv.id)
    assert kept.version == 2 and texts(kept.messages) == ["one", "You said: one"]


def test_reset_is_kept(fake_bedrock: FakeBedrock, store_at: MakeStore) -> None:
    conv = fc_client(fake_bedrock, store=store_at()).create_conversation()
    conv.send("one")
    conv.reset()
    conv.send("two")
    kept = fc_client(fake_bedrock, store=store_at()).get_conversation(conv.id)
    assert texts(kept.transcript) == ["two", "You said: two"]


def test_the_tutorial_id_api_streams_sync_and_async(
    fake_bedrock: FakeBedrock, store_at: MakeStore
) -> None:
    client = fc_client(fake_bedrock, store=store_at())
    conversation_id = client.create_conversation(system_prompt="You are helpful.").id
    chunks = list(client.send_message_streaming(conversation_id, "stream this please"))
    assert chunks == ["You ", "said: ", "stream ", "this ", "please"] or "".join(chunks) == (
        "You said: stream this please"
    )

    async def run() -> list[str]:
        return [c async for c in client.send_message_streaming_async(conversation_id, "async")]

    assert "".join(asyncio.run(run())) == "You said: async"
    assert asyncio.run(client.send_message_async(conversation_id, "coro")) == "You said: coro"
    details = fc_client(fake_bedrock, store=store_at()).get_conversation_details(conversation_id)
    assert details["systemPrompt"] == "You are helpful."
    assert texts(details["messages"])[-2:] == ["coro", "You said: coro"]
    assert details["version"] == 4 and details["updatedAt"] >= details["createdAt"]


def test_additional_model_params_apply_to_one_turn(
    fake_bedrock: FakeBedrock, store_at: MakeStore
) -> None:
    client = fc_client(fake_bedrock, store=store_at())
    conv = client.create_conversation(
        inference_config={"maxTokens": 100, "temperature": 0.5},
        additional_model_request_fields={"top_k": 5},
    )
    client.send_message(conv.id, "hi", {"temperature": 0.1, "top_k": 9, "other": True})
    client.send_message(conv.id, "again")
    first, second = (r.body for r in fake_bedrock.requests[-2:])
    assert first["inferenceConfig"] == {"maxTokens": 100, "temperature": pytest.approx(0.1)}
    assert first["additionalModelRequestFields"] == {"top_k": 9, "other": True}
    assert second["inferenceConfig"] == {"maxTokens": 100, "temperature": 0.5}
    assert second["additionalModelRequestFields"] == {"top_k": 5}
    with pytest.raises(TypeError, match="additional_model_params"):
        client.send_message(conv.id, "x", ["temperature"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"inference_config.*maxTokens"):
        conv.send("x", inference_config={"maxTokens": "many"})
    assert len(conv.messages) == 4


def test_a_model_switch_is_kept_at_once(fake_bedrock: FakeBedrock, store_at: MakeStore) -> None:
    one = fc_client(fake_bedrock, store=store_at()).create_conversation(conversation_id="sw")
    one.send("hi")
    one.model_id = "other-model"
    two = fc_client(fake_bedrock, store=store_at()).get_conversation("sw")
    assert two.model_id == "other-model" and two.version == 3
    two.send("from two")  # another worker writes; the switch is not undone by the reload
    one.send("from one")
    assert fake_bedrock.requests[-1].model_id == "other-model"


def test_a_reset_takes_in_the_store_first(fake_bedrock: FakeBedrock, store_at: MakeStore) -> None:
    one = fc_client(fake_bedrock, store=store_at()).create_conversation(conversation_id="r")
    one.send("first")
    two = fc_client(fake_bedrock, store=store_at()).get_conversation("r")
    two.send("second")
    one.reset()  # checks the store first: takes in "second", then resets
    assert one.transcript == [] and one.version == 4
    kept = fc_client(fake_bedrock, store=store_at()).get_conversation("r")
    assert kept.transcript == [] and kept.version == 4
    assert two.send("after the reset").text == "You said: after the reset"
    assert texts(two.transcript) == ["after the reset", "You said: after the reset"]


def test_store_settings_are_checked(tmp_path: Path) -> None:
    from fastconverse import RedisStore

    with pytest.raises(ValueError, match="timeout: at most"):
        SQLiteStore(tmp_path / "c.db", timeout=3e6)
    with pytest.raises(ValueError, match=r"ttl: expected seconds \(1 to"):
        RedisStore("redis://127.0.0.1:1/0", ttl=1e12)
    with pytest.raises(ValueError, match="url: not a Redis URL"):
        RedisStore("http://example.com")
    with pytest.raises(TypeError, match="store: expected None, a SQLite file path"):
        fc_client(FakeBedrock(), store=42)
    with pytest.raises(TypeError, match="metadata: expected a dict"):
        fc_client(FakeBedrock(), store=str(tmp_path / "c.db")).create_conversation(metadata=[1])


def test_a_listing_leaves_out_a_record_that_is_not_ours(
    fake_bedrock: FakeBedrock, tmp_path: Path
) -> None:
    path = tmp_path / "c.db"
    client = fc_client(fake_bedrock, store=str(path))
    for cid in ("a", "b", "c"):
        client.create_conversation(conversation_id=cid)
    db = sqlite3.connect(path)
    db.execute("UPDATE fastconverse_conversations SET head = 'garbage' WHERE id = 'b'")
    db.commit()
    db.close()
    assert [c.id for c in client.list_conversations()] == ["c", "a"]


def test_reopening_needs_every_stored_tool_and_keeps_the_loop_settings(
    fake_bedrock: FakeBedrock, store_at: MakeStore
) -> None:
    @tool
    def first(x: int) -> int:
        """One."""
        return x

    @tool
    def second(x: int) -> int:
        """Two."""
        raise RuntimeError("broken")

    conv = fc_client(fake_bedrock, store=store_at()).create_conversation(
        tools=[first, second], raise_tool_errors=True, max_tool_rounds=3
    )
    other = fc_client(fake_bedrock, store=store_at())
    with pytest.raises(ValueError, match="second missing from tools"):
        other.get_conversation(conv.id, tools=[first])
    again = other.get_conversation(conv.id, tools=[first, second])
    fake_bedrock.enqueue_tool_use("second", {"x": 1})
    with pytest.raises(RuntimeError, match="broken"):
        again.send("go")  # raise_tool_errors=True was kept


def test_a_read_only_database_refuses_the_turn_and_loses_nothing(
    fake_bedrock: FakeBedrock, tmp_path: Path
) -> None:
    path = tmp_path / "c.db"
    conv = fc_client(fake_bedrock, store=str(path)).create_conversation(conversation_id="ro")
    conv.send("kept")
    # (file permissions do not stop root, whom CI may run as: SQLite's read-only mode does)
    read_only = fc_client(fake_bedrock, store=SQLiteStore(f"file:{path}?mode=ro"))
    held = read_only.get_conversation("ro")
    with pytest.raises(StoreError, match="readonly database") as caught:
        held.send("refused")
    assert caught.value.reply.text == "You said: refused"
    assert texts(held.messages) == ["kept", "You said: kept"] and held.version == 2
    assert conv.send("still fine").text == "You said: still fine"  # the file is intact
    again = fc_client(fake_bedrock, store=str(path)).get_conversation("ro")
    assert texts(again.messages) == ["kept", "You said: kept", "still fine", "You said: still fine"]


def test_metadata_can_be_replaced_and_is_found_by_it(
    fake_bedrock: FakeBedrock, store_at: MakeStore
) -> None:
    client = fc_client(fake_bedrock, store=store_at())
    conv = client.create_conversation(metadata={"user": "u1", "tier": "free"})
    conv.metadata = {"user": "u1", "tier": "pro"}
    other = fc_client(fake_bedrock, store=store_at())
    assert [c.id for c in other.list_conversations(metadata={"tier": "pro"})] == [conv.id]
    assert other.list_conversations(metadata={"tier": "free"}) == []
    kept = other.get_conversation(conv.id).metadata
    assert kept == {"user": "u1", "tier": "pro"} and list(kept) == ["user", "tier"]
    with pytest.raises(TypeError, match="metadata: expected a dict"):
        conv.metadata = ["not", "a", "dict"]  # type: ignore[assignment]
    with pytest.raises(TypeError, match="an empty dict clears it"):
        conv.metadata = None  # type: ignore[assignment]
    assert conv.metadata == {"user": "u1", "tier": "pro"} and conv.version == 2


def test_metadata_without_a_store(fake_bedrock: FakeBedrock) -> None:
    client = fc_client(fake_bedrock)
    conv = client.create_conversation(metadata={"team": "a"})
    client.create_conversation(metadata={"team": "b"})
    conv.metadata = {"team": "b", "x": 1}
    assert [c.metadata for c in client.list_conversations(metadata={"team": "b"})] == [
        {"team": "b"},
        {"team": "b", "x": 1},
    ]
    assert conv.version == 0 and conv.updated_at >= conv.created_at > 0


def test_a_write_reported_failed_that_lands_later_is_undone(
    fake_bedrock: FakeBedrock, tmp_path: Path
) -> None:
    server = RedisServer(tmp_path)
    try:
        client = fc_client(fake_bedrock, store=RedisStore(server.url, timeout=0.2))
        conv = client.create_conversation(conversation_id="late")
        conv.send("kept")
        stream = conv.stream("reported failed")
        # Redis holds every write for 1.5 s: the commit's write times out unanswered, and
        # lands when the pause ends.
        redis_cli(server, "CLIENT", "PAUSE", "1500", "WRITE")
        with pytest.raises(StoreError) as caught:
            stream.until_done()
        assert caught.value.reply.text == "You said: reported failed"
        assert texts(conv.messages) == ["kept", "You said: kept"]
        for _ in range(600):  # (the paused write lands once the pause ends)
            if redis_cli(server, "HGET", "fastconverse:conv:late", "version") == "3":
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the paused write never landed: the test proves nothing")
        # The next turn finds the write that was reported failed, and undoes it first.
        assert conv.send("next").text == "You said: next"
        kept = fc_client(fake_bedrock, store=RedisStore(server.url)).get_conversation("late")
        assert texts(kept.messages) == ["kept", "You said: kept", "next", "You said: next"]
        assert kept.version == 5  # created, kept, the late write, its undoing, next
    finally:
        server.stop()


def redis_cli(server: RedisServer, *args: str) -> str:
    out = subprocess.run(
        ["redis-cli", "-p", str(server.port), *args], capture_output=True, text=True
    )
    return out.stdout.strip()


def test_redis_index_expires_with_the_conversations(
    fake_bedrock: FakeBedrock, redis_server: RedisServer
) -> None:
    prefix = f"t{uuid.uuid4().hex[:12]}:"
    conv = fc_client(fake_bedrock, store=RedisStore(redis_server.url, prefix=prefix, ttl=300))
    conv.create_conversation().send("hi")
    assert 0 < int(redis_cli(redis_server, "TTL", f"{prefix}index")) <= 300


def test_a_save_onto_evicted_redis_messages_is_refused_clearly(
    fake_bedrock: FakeBedrock, redis_server: RedisServer
) -> None:
    prefix = f"t{uuid.uuid4().hex[:12]}:"
    client = fc_client(fake_bedrock, store=RedisStore(redis_server.url, prefix=prefix))
    conv = client.create_conversation(conversation_id="evicted")
    conv.send("one")
    before = conv.messages
    redis_cli(redis_server, "DEL", f"{prefix}msgs:evicted")  # as an eviction would
    with pytest.raises(StoreError, match="no longer holds all its messages") as caught:
        conv.send("two")
    assert "maxmemory-policy" in str(caught.value)
    assert conv.messages == before
    # The record is not made worse: another client is told the same, not handed half of it.
    with pytest.raises(StoreError, match="is damaged in the store"):
        fc_client(fake_bedrock, store=RedisStore(redis_server.url, prefix=prefix)).get_conversation(
            "evicted"
        )


def test_ctrl_c_during_the_store_write_says_the_turn_was_kept(
    fake_bedrock: FakeBedrock, tmp_path: Path
) -> None:
    """Ctrl-C while the commit waits on the store's write lock: the write is not a
    cancellation point, so the turn is kept, and the caller hears that it was."""
    import os
    import signal
    import threading

    from fastconverse.errors import TurnKeptInterrupt

    path = tmp_path / "c.db"
    conv = fc_client(fake_bedrock, store=SQLiteStore(path, timeout=30)).create_conversation()
    conv.send("one")
    # Another process holds the write lock (in this one, POSIX locks would not conflict).
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            f"db = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
            "db.execute('BEGIN IMMEDIATE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.readline()\n"
            "db.execute('ROLLBACK')\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline().strip() == "locked"

    def interrupt_then_release() -> None:
        time.sleep(0.5)  # (the commit is waiting on the lock by then)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.3)
        assert holder.stdin is not None
        holder.stdin.write("go\n")
        holder.stdin.flush()

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    releaser = threading.Thread(target=interrupt_then_release)
    try:
        releaser.start()
        with pytest.raises(KeyboardInterrupt) as caught:
            conv.send("two")
            time.sleep(5)  # (a Ctrl-C not raised from the call lands here)
    finally:
        releaser.join()
        signal.signal(signal.SIGINT, previous)
        holder.wait(30)
    assert isinstance(caught.value, TurnKeptInterrupt), repr(caught.value)
    assert caught.value.reply.text == "You said: two"
    assert texts(conv.messages)[-2:] == ["two", "You said: two"]
    again = fc_client(fake_bedrock, store=SQLiteStore(path)).get_conversation(conv.id)
    assert texts(again.messages) == texts(conv.messages)
