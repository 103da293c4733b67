"""Regressions of the turn redesign (issue 9): each test failed on the turn before it."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import threading
import time
import weakref
from typing import Any

import pytest
from botocore.exceptions import ClientError, EventStreamError
from conftest import ERROR_CODES, SECRET, boto3_client, fc_client, user
from fastconverse import ConverseClient, Tool, errors, tool
from fastconverse.testing import FakeBedrock


@pytest.fixture
def client(fake_bedrock: FakeBedrock) -> ConverseClient:
    return fc_client(fake_bedrock, max_attempts=1)


# --- a cancelled await never commits -----------------------------------------------------


def test_a_send_async_cancelled_while_its_reply_is_delivered_does_not_commit(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    conv = client.create_conversation()

    async def main() -> None:
        task = asyncio.create_task(conv.send_async("hi"))
        await asyncio.sleep(0)  # the request starts
        # The loop is blocked while the reply arrives: the result waits for the task, which
        # is cancelled before it runs again.
        deadline = time.monotonic() + 5
        while len(fake_bedrock.requests) < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert conv.messages == [] and not conv.busy
    assert conv.send("again").text == "You said: again"
    assert len(conv.messages) == 2  # the turn once, not twice


def test_an_async_stream_cancelled_on_its_last_event_does_not_commit(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    conv = client.create_conversation()
    fake_bedrock.enqueue_text("one two", first_byte_delay=0.2)

    async def main() -> None:
        async def read() -> None:
            async for _ in conv.stream("go"):
                pass

        task = asyncio.create_task(read())
        await asyncio.sleep(0)
        time.sleep(0.5)  # the whole reply arrives while the loop is blocked
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert conv.messages == [] and not conv.busy


# --- memory ------------------------------------------------------------------------------


def test_the_client_keeps_at_most_max_conversations(fake_bedrock: FakeBedrock) -> None:
    client = fc_client(fake_bedrock, max_conversations=10)
    convs = [client.create_conversation(conversation_id=f"c{i}") for i in range(25)]
    kept = client.list_conversations(max_results=100)
    assert len(kept) == 10
    assert {c.id for c in kept} == {f"c{i}" for i in range(15, 25)}
    with pytest.raises(KeyError, match="c0"):
        client.get_conversation("c0")
    # a forgotten conversation still works for whoever holds it
    assert convs[0].send("still here").text == "You said: still here"
    assert client.get_conversation("c24") is convs[24]
    with pytest.raises(ValueError, match="max_conversations"):
        fc_client(fake_bedrock, max_conversations=0)


def test_eviction_spares_the_new_conversation_and_those_in_a_turn(
    fake_bedrock: FakeBedrock,
) -> None:
    client = fc_client(fake_bedrock, max_conversations=1)
    a = client.create_conversation(conversation_id="a")
    stream = a.stream("hi")  # a is in a turn
    b = client.create_conversation(conversation_id="b")
    assert client.get_conversation("a") is a and client.get_conversation("b") is b
    assert client.create_conversation(conversation_id="b") is b  # retrieved, not made again
    stream.close()
    client.create_conversation(conversation_id="c")
    assert [c.id for c in client.list_conversations()] == ["c"]


def test_many_turns_at_once_outgrow_max_conversations_then_shrink_back(
    fake_bedrock: FakeBedrock,
) -> None:
    # Conversations in a turn are never forgotten; with many turns under way the registry
    # grows past the limit, and once they end it shrinks back within a tenth more creations.
    client = fc_client(fake_bedrock, max_conversations=10)
    streams = [
        client.create_conversation(conversation_id=f"busy{i}").stream("hi") for i in range(40)
    ]
    assert len(client.list_conversations(max_results=100)) == 40
    for stream in streams:
        stream.close()
    sizes = []
    for i in range(5):
        client.create_conversation(conversation_id=f"new{i}")
        sizes.append(len(client.list_conversations(max_results=100)))
    assert sizes[-1] == 10, sizes
    assert {c.id for c in client.list_conversations()} >= {"new4"}


def test_anext_of_a_fresh_stream_reads_its_first_event(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    conv = client.create_conversation()

    async def main() -> str:
        event = await conv.stream("hi").__anext__()  # the stream itself is not kept
        return type(event).__name__

    assert asyncio.run(main()) == "MessageStart"
    assert not conv.busy and conv.messages == []  # the dropped stream ended its turn


def test_a_closed_stream_ends_quietly_for_for_and_async_for(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    conv = client.create_conversation()
    stream = conv.stream("one two three")
    for _ in stream:
        stream.close()
    assert stream.done and not conv.busy and conv.messages == []

    async def main() -> list[Any]:
        stream = conv.stream("one two three")
        async for _ in stream:
            stream.close()
            break
        return [event async for event in stream]  # reading on after close() just stops

    assert asyncio.run(main()) == []
    assert not conv.busy and conv.messages == []


def test_close_from_another_thread_stops_the_reader_quietly(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    conv = client.create_conversation()
    fake_bedrock.enqueue_text("one two three", first_byte_delay=0.5)
    stream = conv.stream("hi")
    reading = threading.Event()
    closed: list[BaseException | None] = []

    def closer() -> None:
        reading.wait(5)
        time.sleep(0.1)  # the reader is blocked waiting for the first event
        try:
            stream.close()
            closed.append(None)
        except BaseException as exc:
            closed.append(exc)

    thread = threading.Thread(target=closer)
    thread.start()
    reading.set()
    events = list(stream)
    thread.join(5)
    assert closed == [None] and events == [] and stream.done
    assert not conv.busy and conv.messages == []


EXIT_HOOK = r"""
import asyncio, atexit
state = {}

def hook(name):
    conv = state["conv"]
    try:
        asyncio.run(asyncio.wait_for(conv.send_async(name), 20))
        print(name, "awaited")
    except RuntimeError as exc:
        print(name, "refused:", exc)
    print(name, "sync:", conv.send("bye").text)

atexit.register(hook, "early")  # before fastconverse is imported: runs after its exit hook
from fastconverse import ConverseClient
from fastconverse.testing import FakeBedrock
fake = FakeBedrock()
client = ConverseClient("m", endpoint_url=fake.url, region_name="us-east-1",
                        aws_access_key_id="a", aws_secret_access_key="b")
state["conv"] = client.create_conversation()
atexit.register(hook, "late")
asyncio.run(state["conv"].send_async("hi"))
"""


def test_an_await_in_an_exit_hook_works_or_is_refused_never_hangs() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", EXIT_HOOK], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:2] == ["late awaited", "late sync: You said: bye"], proc.stdout
    assert lines[2].startswith("early refused: the interpreter is exiting"), proc.stdout
    assert lines[3] == "early sync: You said: bye"


def test_the_least_recently_active_conversation_is_forgotten_first(
    fake_bedrock: FakeBedrock,
) -> None:
    client = fc_client(fake_bedrock, max_conversations=2)
    a = client.create_conversation(conversation_id="a")
    client.create_conversation(conversation_id="b")
    a.send("keep me")  # a is now more recent than b
    client.create_conversation(conversation_id="c")
    assert {c.id for c in client.list_conversations()} == {"a", "c"}


def _client_in_a_cycle(fake: FakeBedrock) -> list[weakref.ref[Any]]:
    client = fc_client(fake)
    holder: dict[str, Any] = {"client": client}

    @tool
    def lookup(key: str) -> str:
        """Looks a key up."""
        return str(holder["client"])  # the tool's closure holds the client

    conv = client.create_conversation(tools=[lookup])
    fake.enqueue_tool_use("lookup", {"key": "k"})
    conv.send("look")
    return [weakref.ref(client), weakref.ref(conv)]


def test_a_dropped_client_with_a_cycle_through_its_tools_is_collected(
    fake_bedrock: FakeBedrock,
) -> None:
    # (built in a helper: @tool reads its caller's locals, which would keep them alive here)
    refs = _client_in_a_cycle(fake_bedrock)
    gc.collect()
    assert [r() for r in refs] == [None, None]


# --- bad numbers are ValueErrors, not panics ---------------------------------------------


@pytest.mark.parametrize("value", [1e300, float("inf"), float("nan"), -1.0, 0.0])
def test_timeouts_out_of_range_are_value_errors(fake_bedrock: FakeBedrock, value: float) -> None:
    with pytest.raises(ValueError, match="read_timeout: expected a number of seconds"):
        fc_client(fake_bedrock, read_timeout=value)
    with pytest.raises(ValueError, match="connect_timeout: expected a number of seconds"):
        fc_client(fake_bedrock, connect_timeout=value)
    if value != 0.0:
        with pytest.raises(ValueError, match="first_byte_delay: expected a number of seconds"):
            fake_bedrock.enqueue_text("x", first_byte_delay=value)
        with pytest.raises(ValueError, match="delta_delay: expected a number of seconds"):
            fake_bedrock.enqueue_text("x", delta_delay=value)
    assert fake_bedrock.pending == 0


# --- tool turns ----------------------------------------------------------------------------


def test_concurrent_send_tool_results_run_the_tools_once(fake_bedrock: FakeBedrock) -> None:
    client = fc_client(fake_bedrock)
    calls: list[str] = []
    started, release = threading.Event(), threading.Event()

    @tool
    def charge(amount: int) -> str:
        """Charges a card."""
        calls.append("charge")
        started.set()
        release.wait(5)
        return "charged"

    ask = Tool({"name": "ask", "inputSchema": {"json": {"type": "object"}}})
    conv = client.create_conversation(tools=[charge, ask])
    fake_bedrock.enqueue_tool_uses([("charge", {"amount": 5}, "t1"), ("ask", {}, "t2")])
    assert [c["toolUseId"] for c in conv.send("pay").tool_calls] == ["t1", "t2"]
    outcomes: list[Any] = []

    def answer() -> None:
        try:
            outcomes.append(conv.send_tool_results({"t2": "yes"}).text)
        except Exception as exc:
            outcomes.append(exc)

    first = threading.Thread(target=answer)
    first.start()
    assert started.wait(5)
    answer()  # the second caller, while the first runs the tool
    release.set()
    first.join(5)
    assert calls == ["charge"]
    assert isinstance(outcomes[0], errors.ConversationBusyError)
    assert outcomes[1].startswith("Tool results:")
    assert conv.pending_tool_calls == []


def test_a_sync_tool_that_hangs_past_its_timeout_does_not_hold_a_pool_thread(
    fake_bedrock: FakeBedrock,
) -> None:
    client = fc_client(fake_bedrock)
    release = threading.Event()
    threads: dict[str, list[str]] = {"stuck": [], "quick": []}

    @tool(timeout=0.05)
    def stuck() -> str:
        """Never answers in time."""
        threads["stuck"].append(threading.current_thread().name)
        release.wait(10)
        return "late"

    @tool
    def quick() -> str:
        """Answers."""
        threads["quick"].append(threading.current_thread().name)
        return "ok"

    conv = client.create_conversation(tools=[stuck, quick])
    try:
        for _ in range(3):
            fake_bedrock.enqueue_tool_uses([("stuck", {}), ("quick", {})])
            fake_bedrock.enqueue_text("done")
            reply = conv.send("go")
            assert [r.get("status") for r in reply.tool_results] == ["error", None]
    finally:
        release.set()
    assert threads["stuck"] == ["fastconverse-tool-timed"] * 3, threads
    assert all(name.startswith("fastconverse-tool_") for name in threads["quick"]), threads


def test_results_for_unknown_tool_use_ids_are_refused_before_any_request(
    fake_bedrock: FakeBedrock,
) -> None:
    client = fc_client(fake_bedrock)
    ask = Tool({"name": "ask", "inputSchema": {"json": {"type": "object"}}})
    conv = client.create_conversation(tools=[ask])
    fake_bedrock.enqueue_tool_use("ask", {}, tool_use_id="t1")
    conv.send("q")
    sent = len(fake_bedrock.requests)
    with pytest.raises(ValueError, match="'nope' is not a tool use waiting"):
        conv.send_tool_results({"t1": "a", "nope": "b"})
    with pytest.raises(ValueError, match="missing the results of ask"):
        conv.send_tool_results({})
    with pytest.raises(TypeError, match="results: expected str tool use ids as keys, got int"):
        conv.send_tool_results({1: "a"})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="results: expected a dict"):
        conv.send_tool_results([("t1", "a")])  # type: ignore[arg-type]
    assert len(fake_bedrock.requests) == sent and not conv.busy


def test_a_blank_answer_after_tool_rounds_raises_and_keeps_nothing(
    fake_bedrock: FakeBedrock,
) -> None:
    client = fc_client(fake_bedrock)

    @tool
    def echo(text: str) -> str:
        """Echoes."""
        return text

    conv = client.create_conversation(tools=[echo])
    fake_bedrock.enqueue_tool_use("echo", {"text": "a"}, tool_use_id="e1")
    fake_bedrock.enqueue_turn([{"text": " "}])
    with pytest.raises(errors.EmptyReplyError) as caught:
        conv.send("go")
    err = caught.value
    assert err.rounds == 1 and err.reply.stop_reason == "end_turn"
    assert [list(m["content"][0]) for m in err.messages] == [["text"], ["toolUse"], ["toolResult"]]
    assert err.usage.output_tokens > 0
    assert conv.messages == [] and not conv.busy


def test_the_reply_of_a_tool_turn_lists_its_tool_uses_and_results(
    fake_bedrock: FakeBedrock,
) -> None:
    client = fc_client(fake_bedrock)

    @tool
    def echo(text: str) -> str:
        """Echoes."""
        return text.upper()

    conv = client.create_conversation(tools=[echo])
    fake_bedrock.enqueue_tool_use("echo", {"text": "a"}, tool_use_id="e1")
    fake_bedrock.enqueue_tool_use("echo", {"text": "b"}, tool_use_id="e2")
    fake_bedrock.enqueue_text("done")
    reply = conv.send("go")
    assert [u["toolUseId"] for u in reply.tool_uses] == ["e1", "e2"]
    assert [r["content"] for r in reply.tool_results] == [[{"text": "A"}], [{"text": "B"}]]
    assert reply.tool_calls == []
    assert reply.messages == conv.messages and len(reply.messages) == 6


def test_a_tool_choice_dict_with_a_bad_inner_value_is_a_value_error(
    client: ConverseClient,
) -> None:
    echo = Tool({"name": "echo", "inputSchema": {"json": {"type": "object"}}})
    for bad in ({"tool": "echo"}, {"tool": {"name": "other"}}, {"auto": "yes"}, {"x": {}}):
        with pytest.raises(ValueError, match="tool_choice: expected"):
            client.create_conversation(tools=[echo], tool_choice=bad)
    conv = client.create_conversation(tools=[echo], tool_choice={"tool": {"name": "echo"}})
    with pytest.raises(ValueError, match="tool_choice: expected"):
        conv.send("x", tool_choice={"tool": "echo"})


def test_a_tool_result_bedrock_would_refuse_becomes_an_error_result(
    fake_bedrock: FakeBedrock,
) -> None:
    client = fc_client(fake_bedrock)

    @tool
    def picture() -> dict:
        """A picture."""
        return {"image": {"format": "png"}}  # no source: Bedrock would refuse it

    conv = client.create_conversation(tools=[picture])
    fake_bedrock.enqueue_tool_use("picture", {})
    fake_bedrock.enqueue_text("I could not see it.")
    reply = conv.send("show me")
    assert reply.text == "I could not see it."
    [result] = reply.tool_results
    assert result["status"] == "error"
    assert "returned a value that cannot be sent back" in result["content"][0]["text"]


# --- errors and dicts match the wire -------------------------------------------------------


@pytest.mark.parametrize("code", ERROR_CODES)
def test_error_statuses_are_the_responses_as_boto3_sees_them(
    fake_bedrock: FakeBedrock, client: ConverseClient, code: str
) -> None:
    fake_bedrock.enqueue_error(code)
    with pytest.raises(ClientError) as theirs:
        boto3_client(fake_bedrock).converse(modelId="m", messages=[user("hi")])
    fake_bedrock.enqueue_error(code)
    with pytest.raises(errors.ConverseError) as mine:
        client.create_conversation().send("hi")
    assert mine.value.code == theirs.value.response["Error"]["Code"] == code
    assert mine.value.status_code == theirs.value.response["ResponseMetadata"]["HTTPStatusCode"]
    assert mine.value.request_id == theirs.value.response["ResponseMetadata"]["RequestId"] or (
        mine.value.request_id and theirs.value.response["ResponseMetadata"]["RequestId"]
    )


def test_an_unmodeled_error_code_keeps_its_status(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    fake_bedrock.enqueue_error("ThrottlingException", "slow", status=418)
    with pytest.raises(errors.ThrottlingError) as caught:
        client.create_conversation().send("hi")
    assert caught.value.status_code == 418


def test_an_in_stream_error_reports_the_streams_status(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    fake_bedrock.enqueue_text("a b c", stream_error="throttlingException", after_events=3)
    with pytest.raises(EventStreamError):
        for _ in boto3_client(fake_bedrock).converse_stream(modelId="m", messages=[user("x")])[
            "stream"
        ]:
            pass
    fake_bedrock.enqueue_text("a b c", stream_error="throttlingException", after_events=3)
    conv = client.create_conversation()
    with pytest.raises(errors.ThrottlingError) as caught:
        conv.stream("x", resume=0).until_done()
    # the exception came inside a stream that had started with HTTP 200
    assert caught.value.status_code == 200 and caught.value.retryable
    assert conv.messages == []


def test_zero_cache_counts_are_kept_as_boto3_keeps_them(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    usage = {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5, "cacheReadInputTokens": 0}
    fake_bedrock.enqueue_text("hi", usage=usage)
    theirs = boto3_client(fake_bedrock).converse(modelId="m", messages=[user("x")])
    fake_bedrock.enqueue_text("hi", usage=usage)
    reply = client.create_conversation().send("x")
    assert reply.to_dict()["usage"] == theirs["usage"] == usage
    assert reply.usage.cache_read_input_tokens == 0


def test_credentials_are_never_in_reprs(fake_bedrock: FakeBedrock) -> None:
    client = fc_client(fake_bedrock, aws_session_token="SESSION-TOKEN-SECRET")
    conv = client.create_conversation()
    for text in (repr(client), repr(conv), repr(conv.stream("x"))):
        assert SECRET not in text and "SESSION-TOKEN-SECRET" not in text
