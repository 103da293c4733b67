"""Hooks: every point fires once, in order, with the right figures, through every driver
(send, send_async, stream with for and async for); a hook that raises or is cancelled at any
point leaves the history as it was; context added at turn start reaches the wire and not the
history; a request changed by a hook is changed for that request only."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from typing import Any

import fastconverse as fc
import pytest
from conftest import fc_client
from fastconverse import errors, hooks
from fastconverse.testing import FakeBedrock

MODES = ["send", "send_async", "stream", "stream_async"]


def run_turn(conv: fc.Conversation, mode: str, message: Any, **kwargs: Any) -> fc.Reply:
    """One turn through the named driver."""
    if mode == "send":
        return conv.send(message, **kwargs)
    if mode == "send_async":
        return asyncio.run(conv.send_async(message, **kwargs))
    if mode == "stream":
        stream = conv.stream(message, **kwargs)
        for _ in stream:
            pass
        return stream.reply

    async def read() -> fc.Reply:
        stream = conv.stream(message, **kwargs)
        async for _ in stream:
            pass
        return stream.reply

    return asyncio.run(read())


class Recorder:
    """Records every hook point with its event; async or sync methods."""

    def __init__(self, asynchronous: bool = False) -> None:
        self.seen: list[tuple[str, Any]] = []
        for name in hooks.METHODS:
            setattr(self, name, self._make(name, asynchronous))

    def _make(self, name: str, asynchronous: bool) -> Callable[[Any], Any]:
        def record(event: Any) -> None:
            self.seen.append((name, event))

        async def record_async(event: Any) -> None:
            await asyncio.sleep(0)
            self.seen.append((name, event))

        return record_async if asynchronous else record

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.seen]

    def events(self, name: str) -> list[Any]:
        return [event for n, event in self.seen if n == name]


@fc.tool
def add(a: int, b: int) -> int:
    """Adds two numbers."""
    return a + b


@fc.tool
async def mul(a: int, b: int) -> int:
    """Multiplies two numbers."""
    await asyncio.sleep(0)
    return a * b


@pytest.mark.parametrize("mode", MODES)
def test_a_plain_turn_reports_each_point_once_in_order(
    fake_bedrock: FakeBedrock, mode: str
) -> None:
    rec = Recorder()
    conv = fc_client(fake_bedrock, hooks=[rec]).create_conversation("Be brief.")
    reply = run_turn(conv, mode, "Hello")
    assert rec.names == ["on_turn_start", "before_request", "after_response", "on_commit"]
    start = rec.events("on_turn_start")[0]
    assert start.conversation is conv
    assert start.message == {"role": "user", "content": [{"text": "Hello"}]}
    request = rec.events("before_request")[0]
    assert request.kind == "turn" and request.model_id == "m"
    assert request.system == [{"text": "Be brief."}]
    assert request.messages == [{"role": "user", "content": [{"text": "Hello"}]}]
    response = rec.events("after_response")[0]
    assert response.ok and response.error is None and response.error_code is None
    assert response.request_id == reply.request_id is not None
    assert response.usage == reply.usage
    assert response.stop_reason == "end_turn"
    assert response.retries == []
    assert response.elapsed is not None and response.elapsed > 0
    if mode.startswith("stream"):
        assert response.time_to_first_token is not None
        assert 0 < response.time_to_first_token <= response.elapsed
    else:
        assert response.time_to_first_token is None
    committed = rec.events("on_commit")[0]
    assert committed.reply is reply
    assert committed.messages == conv.messages[-2:]
    assert committed.version is None


@pytest.mark.parametrize("mode", MODES)
def test_a_tool_loop_reports_each_call_and_request(fake_bedrock: FakeBedrock, mode: str) -> None:
    rec = Recorder()
    client = fc_client(fake_bedrock)
    conv = client.create_conversation(tools=[add, mul], hooks=[rec])
    fake_bedrock.enqueue_tool_uses([("add", {"a": 1, "b": 2}), ("mul", {"a": 3, "b": 4})])
    fake_bedrock.enqueue_text("3 and 12")
    run_turn(conv, mode, "Compute")
    assert rec.names == [
        "on_turn_start",
        "before_request",
        "after_response",
        "before_tool_call",
        "before_tool_call",
        "after_tool_call",
        "after_tool_call",
        "before_request",
        "after_response",
        "on_commit",
    ]
    calls = rec.events("before_tool_call")
    assert [(c.name, c.input) for c in calls] == [
        ("add", {"a": 1, "b": 2}),
        ("mul", {"a": 3, "b": 4}),
    ]
    results = rec.events("after_tool_call")
    assert [(r.name, r.status, r.result.content) for r in results] == [
        ("add", "success", [{"json": {"result": 3}}]),
        ("mul", "success", [{"json": {"result": 12}}]),
    ]
    assert all(r.duration >= 0 and r.error is None for r in results)
    second = rec.events("before_request")[1]
    assert [list(b) for b in second.messages[-1]["content"]] == [["toolResult"], ["toolResult"]]
    assert [r.stop_reason for r in rec.events("after_response")] == ["tool_use", "end_turn"]


@pytest.mark.parametrize("mode", ["send", "send_async", "stream"])
def test_a_tool_call_hook_may_change_the_input_or_answer_it(
    fake_bedrock: FakeBedrock, mode: str
) -> None:
    called: list[tuple[int, int]] = []

    @fc.tool
    def sub(a: int, b: int) -> int:
        """Subtracts."""
        called.append((a, b))
        return a - b

    class Steer:
        def before_tool_call(self, event: hooks.ToolCall) -> None:
            if event.tool_use_id == "t1":
                event.input = {"a": 10, "b": 1}
            else:
                event.answer({"cached": True})

    conv = fc_client(fake_bedrock).create_conversation(tools=[sub], hooks=[Steer()])
    fake_bedrock.enqueue_tool_uses(
        [("sub", {"a": 5, "b": 1}, "t1"), ("sub", {"a": 7, "b": 2}, "t2")]
    )
    fake_bedrock.enqueue_text("done")
    reply = run_turn(conv, mode, "Go")
    assert called == [(10, 1)], "the changed input; the answered call never ran"
    sent = fake_bedrock.requests[-1].body["messages"][-1]["content"]
    assert sent[0]["toolResult"]["content"] == [{"json": {"result": 9}}]
    assert sent[1]["toolResult"]["content"] == [{"json": {"cached": True}}]
    assert [r["toolUseId"] for r in reply.tool_results] == ["t1", "t2"]
    # The model's own tool use stays in the history as it asked.
    assert conv.messages[1]["content"][0]["toolUse"]["input"] == {"a": 5, "b": 1}


@pytest.mark.parametrize("mode", MODES)
def test_context_added_at_turn_start_reaches_the_wire_not_the_history(
    fake_bedrock: FakeBedrock, mode: str
) -> None:
    class Ground:
        def on_turn_start(self, event: hooks.TurnStart) -> None:
            event.add_context("Context: the office opens at 9.")

    conv = fc_client(fake_bedrock).create_conversation(tools=[add], hooks=[Ground()])
    fake_bedrock.enqueue_tool_use("add", {"a": 1, "b": 1})
    fake_bedrock.enqueue_text("At 9.")
    run_turn(conv, mode, "When does it open?")
    first, second = (r.body["messages"] for r in fake_bedrock.requests[-2:])
    expected = [{"text": "Context: the office opens at 9."}, {"text": "When does it open?"}]
    assert first[0]["content"] == expected
    assert second[0]["content"] == expected, "every request of the turn carries it"
    assert conv.messages[0] == {"role": "user", "content": [{"text": "When does it open?"}]}
    conv.send("Thanks")  # the next turn carries no context
    assert fake_bedrock.requests[-1].body["messages"][0]["content"] == [
        {"text": "When does it open?"}
    ]


def test_context_goes_after_tool_results(fake_bedrock: FakeBedrock) -> None:
    class Ground:
        def on_turn_start(self, event: hooks.TurnStart) -> None:
            event.add_context({"text": "note"})

    ask = fc.Tool({"name": "ask", "description": "Ask the user.", "inputSchema": {"json": {}}})
    conv = fc_client(fake_bedrock).create_conversation(tools=[ask])
    fake_bedrock.enqueue_tool_use("ask", {}, tool_use_id="q1")
    conv.send("Start")
    conv._hooks = hooks.compile_hooks([Ground()])
    fake_bedrock.enqueue_text("ok")
    conv.send_tool_results({"q1": "yes"})
    content = fake_bedrock.requests[-1].body["messages"][-1]["content"]
    assert [list(b) for b in content] == [["toolResult"], ["text"]]
    assert list(conv.messages[2]["content"][0]) == ["toolResult"]
    assert len(conv.messages[2]["content"]) == 1


@pytest.mark.parametrize("mode", MODES)
def test_a_request_changed_by_a_hook_is_changed_for_that_request_only(
    fake_bedrock: FakeBedrock, mode: str
) -> None:
    class Shape:
        def before_request(self, event: hooks.Request) -> None:
            event.system = [*event.system, {"text": "Answer in French."}]
            event.inference_config = {"maxTokens": 7}
            event.messages[-1]["content"].append({"text": "(be nice)"})

    conv = fc_client(fake_bedrock).create_conversation("Base.", hooks=[Shape()])
    run_turn(conv, mode, "Hi")
    body = fake_bedrock.requests[-1].body
    assert body["system"] == [{"text": "Base."}, {"text": "Answer in French."}]
    assert body["inferenceConfig"] == {"maxTokens": 7}
    assert body["messages"][-1]["content"] == [{"text": "Hi"}, {"text": "(be nice)"}]
    assert conv.messages[0]["content"] == [{"text": "Hi"}]
    assert conv.system_prompt == "Base."
    assert conv.inference_config is None


def test_a_bad_request_from_a_hook_names_the_field_and_keeps_the_history(
    fake_bedrock: FakeBedrock,
) -> None:
    class Breaks:
        def before_request(self, event: hooks.Request) -> None:
            event.messages = [{"role": "user", "content": [{"nope": 1}]}]

    conv = fc_client(fake_bedrock).create_conversation(hooks=[Breaks()])
    with pytest.raises(ValueError, match=r"request\.messages\[0\]"):
        conv.send("Hi")
    assert conv.messages == []
    assert fake_bedrock.requests == []


def test_summaries_are_requests_of_their_own_kind(make_fake: Any) -> None:
    fake = make_fake()
    rec = Recorder()
    policy = fc.Summarizing(max_tokens=300, keep_recent=2, model_id="cheap")
    conv = fc_client(fake).create_conversation(memory=policy, hooks=[rec])
    for i in range(3):
        conv.send(f"My name is Ada and trip {i} goes to city {i}. " + "detail " * 20)
    assert conv.summary is None
    rec.seen.clear()
    fake.enqueue_text("Three trips.", model_id="cheap")
    conv.send("Which trips?")
    kinds = [(e.kind, e.model_id) for e in rec.events("before_request")]
    assert kinds == [("summary", "cheap"), ("turn", "m")]
    assert [(e.kind, e.model_id) for e in rec.events("after_response")] == kinds


def test_retries_inside_the_sdk_are_reported_after_the_fact(fake_bedrock: FakeBedrock) -> None:
    rec = Recorder()
    conv = fc_client(fake_bedrock, hooks=[rec], max_attempts=3).create_conversation()
    fake_bedrock.enqueue_error("ThrottlingException")
    reply = conv.send("Hi")
    [response] = rec.events("after_response")
    assert [r.reason for r in response.retries] == ["ThrottlingException"]
    assert response.retries[0].waited > 0
    assert response.request_id == reply.request_id


def test_a_restarted_stream_reports_its_restart(fake_bedrock: FakeBedrock) -> None:
    rec = Recorder()
    conv = fc_client(fake_bedrock, hooks=[rec], max_attempts=3).create_conversation()
    fake_bedrock.enqueue_text("cut", stream_error="throttlingException", after_events=1)
    fake_bedrock.enqueue_text("whole")
    assert conv.stream("Hi").until_done().text == "whole"
    [response] = rec.events("after_response")
    # (the stream's exception names it in camelCase; its code is the modeled one)
    assert [r.reason for r in response.retries] == ["ThrottlingException"]
    assert response.retries[0].waited > 0


@pytest.mark.parametrize("mode", MODES)
def test_a_failed_request_is_reported_and_the_turn_fails(
    fake_bedrock: FakeBedrock, mode: str
) -> None:
    rec = Recorder()
    conv = fc_client(fake_bedrock, hooks=[rec], max_attempts=1).create_conversation()
    conv.send("First")
    rec.seen.clear()
    before = conv.messages
    fake_bedrock.enqueue_error("AccessDeniedException")
    with pytest.raises(errors.AccessDeniedError) as caught:
        run_turn(conv, mode, "Second")
    assert rec.names == ["on_turn_start", "before_request", "after_response", "on_failure"]
    response = rec.events("after_response")[0]
    assert response.error is caught.value and response.error_code == "AccessDeniedException"
    assert not response.ok
    assert response.request_id == caught.value.request_id is not None
    failed = rec.events("on_failure")[0]
    assert failed.error is caught.value and failed.messages == before
    assert conv.messages == before


POINTS = [
    ("on_turn_start", 0),
    ("before_request", 0),
    ("after_response", 0),
    ("before_tool_call", 0),
    ("after_tool_call", 1),
    ("before_request", 1),
    ("after_response", 1),
]


class Raises:
    """Raises at the ``at``-th call of hook point ``name``."""

    def __init__(self, name: str, at: int, error: BaseException) -> None:
        self.count = 0
        self.at = at
        self.error = error
        setattr(self, name, self.hit)

    def hit(self, event: Any) -> None:
        self.count += 1
        if self.count == self.at + 1:
            raise self.error


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("name", "at"), POINTS)
def test_a_hook_that_raises_fails_the_turn_with_the_history_unchanged(
    fake_bedrock: FakeBedrock, mode: str, name: str, at: int
) -> None:
    rec = Recorder()
    client = fc_client(fake_bedrock, hooks=[rec])
    conv = client.create_conversation(tools=[add, mul])
    conv.send("First")
    before = conv.messages
    conv._hooks = hooks.compile_hooks([rec, Raises(name, at, KeyError("boom"))])
    rec.seen.clear()
    fake_bedrock.enqueue_tool_uses([("add", {"a": 1, "b": 2}), ("mul", {"a": 3, "b": 4})])
    fake_bedrock.enqueue_text("done")
    with pytest.raises(errors.HookError, match=r"Raises\.hit raised KeyError") as caught:
        run_turn(conv, mode, "Compute")
    assert isinstance(caught.value.__cause__, KeyError)
    assert caught.value.hook == "Raises.hit"
    assert conv.messages == before
    assert rec.names[-1] == "on_failure" and rec.events("on_failure")[0].error is caught.value
    assert "on_commit" not in rec.names
    fake_bedrock.reset()
    conv._hooks = None
    assert conv.send("Again").text  # the conversation goes on


@pytest.mark.parametrize(("name", "at"), POINTS)
def test_a_hook_cancelled_at_any_point_leaves_the_history_unchanged(
    fake_bedrock: FakeBedrock, name: str, at: int
) -> None:
    conv = fc_client(fake_bedrock).create_conversation(tools=[add, mul])
    conv.send("First")
    before = conv.messages
    failures: list[BaseException] = []

    class Hang:
        def __init__(self) -> None:
            self.count = 0
            self.entered: asyncio.Event | None = None

        async def hit(self, event: Any) -> None:
            self.count += 1
            if self.count == at + 1:
                assert self.entered is not None
                self.entered.set()
                await asyncio.sleep(3600)

        def on_failure(self, event: hooks.TurnFailed) -> None:
            failures.append(event.error)

    hang = Hang()
    setattr(hang, name, hang.hit)
    conv._hooks = hooks.compile_hooks([hang])
    fake_bedrock.enqueue_tool_uses([("add", {"a": 1, "b": 2}), ("mul", {"a": 3, "b": 4})])
    fake_bedrock.enqueue_text("done")

    async def main() -> None:
        hang.entered = asyncio.Event()
        task = asyncio.ensure_future(conv.send_async("Compute"))
        await hang.entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert conv.messages == before
    assert len(failures) == 1 and isinstance(failures[0], asyncio.CancelledError)
    assert not conv.busy


@pytest.mark.parametrize("mode", MODES)
def test_async_hooks_run_in_every_driver(fake_bedrock: FakeBedrock, mode: str) -> None:
    rec = Recorder(asynchronous=True)
    conv = fc_client(fake_bedrock).create_conversation(hooks=[rec])
    run_turn(conv, mode, "Hi")
    if mode in ("send_async", "stream_async"):
        # (an async on_commit runs as a task of its own: let it run)
        assert "on_commit" not in rec.names or rec.names[-1] == "on_commit"
    expected = ["on_turn_start", "before_request", "after_response"]
    assert rec.names[:3] == expected
    if mode in ("send", "stream"):
        assert rec.names == [*expected, "on_commit"]


def test_an_async_commit_hook_in_async_code_runs_as_its_own_task(
    fake_bedrock: FakeBedrock,
) -> None:
    seen: list[str] = []

    class Late:
        async def on_commit(self, event: hooks.TurnCommitted) -> None:
            await asyncio.sleep(0)
            seen.append(event.reply.text)

    conv = fc_client(fake_bedrock).create_conversation(hooks=[Late()])

    async def main() -> None:
        reply = await conv.send_async("Hi")
        assert seen == []
        for _ in range(5):
            await asyncio.sleep(0)
        assert seen == [reply.text]

    asyncio.run(main())


def test_commit_and_failure_hooks_that_raise_change_nothing(
    fake_bedrock: FakeBedrock, monkeypatch: pytest.MonkeyPatch
) -> None:
    unraisable: list[Any] = []
    monkeypatch.setattr("sys.unraisablehook", unraisable.append)

    class Bad:
        def on_commit(self, event: Any) -> None:
            raise RuntimeError("commit hook")

        def on_failure(self, event: Any) -> None:
            raise RuntimeError("failure hook")

    conv = fc_client(fake_bedrock, max_attempts=1).create_conversation(hooks=[Bad()])
    assert conv.send("Hi").text
    assert len(conv.messages) == 2
    fake_bedrock.enqueue_error("AccessDeniedException")
    with pytest.raises(errors.AccessDeniedError):
        conv.send("Again")
    assert [str(u.exc_value) for u in unraisable] == ["commit hook", "failure hook"]
    assert "Bad.on_commit" in unraisable[0].err_msg


def test_client_hooks_run_before_the_conversation_hooks(fake_bedrock: FakeBedrock) -> None:
    order: list[str] = []

    class Named:
        def __init__(self, name: str) -> None:
            self.name = name

        def on_turn_start(self, event: Any) -> None:
            order.append(self.name)

    client = fc_client(fake_bedrock, hooks=[Named("client")])
    conv = client.create_conversation(hooks=[Named("conversation")])
    conv.send("Hi")
    assert order == ["client", "conversation"]
    assert client.get_conversation(conv.id) is conv


def test_structured_output_and_send_tool_results_run_the_hooks(
    fake_bedrock: FakeBedrock,
) -> None:
    from dataclasses import dataclass

    @dataclass
    class City:
        name: str

    rec = Recorder()
    ask = fc.Tool({"name": "ask", "description": "Ask the user.", "inputSchema": {"json": {}}})
    conv = fc_client(fake_bedrock, hooks=[rec]).create_conversation(tools=[ask])
    fake_bedrock.enqueue_tool_use("City", {"nom": "Oslo"})  # invalid: sent back once
    fake_bedrock.enqueue_tool_use("City", {"name": "Oslo"})
    reply = conv.send("Capital of Norway?", output=City)
    assert reply.output == City("Oslo")
    assert rec.names == [
        "on_turn_start",
        *["before_request", "after_response"] * 2,
        "on_commit",
    ]
    rec.seen.clear()
    fake_bedrock.enqueue_tool_use("ask", {}, tool_use_id="q1")
    conv.send("Ask me")
    fake_bedrock.enqueue_text("thanks")
    conv.send_tool_results({"q1": "yes"})
    starts = rec.events("on_turn_start")
    assert list(starts[1].message["content"][0]) == ["toolResult"]


def test_bad_hooks_are_refused_naming_the_argument(fake_bedrock: FakeBedrock) -> None:
    with pytest.raises(TypeError, match=r"hooks\[0\]: object has none of the hook methods"):
        fc_client(fake_bedrock, hooks=[object()])
    with pytest.raises(TypeError, match="hooks: expected a list"):
        fc_client(fake_bedrock).create_conversation(hooks="log")  # type: ignore[arg-type]
    client = fc_client(fake_bedrock)
    conv = client.create_conversation(conversation_id="c1")
    with pytest.raises(ValueError, match="leave out hooks"):
        client.create_conversation(conversation_id="c1", hooks=[Recorder()])
    assert client.get_conversation("c1") is conv


def test_a_dropped_stream_reports_the_failure_once(fake_bedrock: FakeBedrock) -> None:
    rec = Recorder()
    conv = fc_client(fake_bedrock, hooks=[rec]).create_conversation()
    fake_bedrock.enqueue_text("one two three four", chunks=4)
    stream = conv.stream("Hi")
    next(iter(stream))
    stream.close()
    del stream
    gc.collect()
    assert conv.messages == []
    assert "on_commit" not in rec.names


def test_every_block_survives_the_request_view(fake_bedrock: FakeBedrock) -> None:
    """A hook that changes nothing sends what was asked, whatever the blocks (videos read
    back as themselves: they were unknown members before)."""
    from content_files import MP4, picture

    class Looks:
        def before_request(self, event: hooks.Request) -> None:
            pass

    blocks: list[Any] = [
        "Look",
        fc.image(picture()),
        fc.video(MP4),
        fc.video(s3_uri="s3://vids/clip", format="mov"),
        {"cachePoint": {"type": "default", "ttl": "1h"}},
        {
            "document": {
                "format": "txt",
                "name": "notes",
                "source": {"bytes": b"Opens at 9."},
                "citations": {"enabled": True},
            }
        },
    ]
    plain = fc_client(fake_bedrock).create_conversation()
    plain.send(blocks)
    without = fake_bedrock.requests[-1].body
    hooked = fc_client(fake_bedrock).create_conversation(hooks=[Looks()])
    hooked.send(blocks)
    assert fake_bedrock.requests[-1].body["messages"] == without["messages"]
    content = hooked.messages[0]["content"]
    assert content[2] == {"video": {"format": "mp4", "source": {"bytes": MP4}}}
    assert content[3] == {
        "video": {"format": "mov", "source": {"s3Location": {"uri": "s3://vids/clip"}}}
    }
    assert content[4] == {"cachePoint": {"type": "default", "ttl": "1h"}}
    assert content[5]["document"]["citations"] == {"enabled": True}


@pytest.mark.parametrize("mode", MODES)
def test_commit_hooks_see_the_kept_turn_and_a_failing_one_changes_nothing(
    fake_bedrock: FakeBedrock, mode: str
) -> None:
    """A commit hook runs once the turn is kept (a stream's reply is set by then); one that
    raises is reported, never turned into a failure of the kept turn (no on_failure)."""
    seen: list[Any] = []

    class Check:
        def on_commit(self, event: hooks.TurnCommitted) -> None:
            seen.append(len(event.conversation.messages))
            raise RuntimeError("commit hook")

        def on_failure(self, event: hooks.TurnFailed) -> None:
            seen.append("failure")

    conv = fc_client(fake_bedrock).create_conversation(hooks=[Check()])
    reply = run_turn(conv, mode, "Hi")
    assert reply.text and seen == [2]
    assert len(conv.messages) == 2


def test_without_pytests_hook_a_failing_commit_hook_is_printed(tmp_path: Any) -> None:
    import subprocess
    import sys

    from conftest import AKID, SECRET

    code = f"""
import sys
sys.unraisablehook = sys.__unraisablehook__
from fastconverse import ConverseClient
from fastconverse.testing import FakeBedrock
class Bad:
    def on_commit(self, event):
        raise RuntimeError("commit hook")
with FakeBedrock() as fake:
    client = ConverseClient("m", endpoint_url=fake.url, region_name="us-east-1",
                            aws_access_key_id={AKID!r}, aws_secret_access_key={SECRET!r})
    conv = client.create_conversation(hooks=[Bad()])
    print(conv.send("Hi").text)
    print(len(conv.messages))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["You said: Hi", "2"]
    assert "Bad.on_commit" in proc.stderr and "RuntimeError: commit hook" in proc.stderr


def test_retries_after_dropped_connections_are_reported_also_when_the_request_fails(
    fake_bedrock: FakeBedrock,
) -> None:
    rec = Recorder()
    conv = fc_client(fake_bedrock, hooks=[rec], max_attempts=2).create_conversation()
    for _ in range(2):
        fake_bedrock.enqueue_text("cut", disconnect_after_events=0)
    with pytest.raises(errors.ConverseError):
        conv.send("Hi")
    [response] = rec.events("after_response")
    assert response.error is not None
    assert [r.reason for r in response.retries] == ["connection error"]


def test_a_stream_closed_from_another_thread_reports_no_failure(
    fake_bedrock: FakeBedrock,
) -> None:
    import threading

    rec = Recorder()
    conv = fc_client(fake_bedrock, hooks=[rec]).create_conversation()
    fake_bedrock.enqueue_text("one two three four five", chunks=5, delta_delay=0.2)
    stream = conv.stream("Hi")
    first = threading.Event()
    errors_seen: list[BaseException] = []

    def read() -> None:
        try:
            for _ in stream:
                first.set()
        except BaseException as exc:
            errors_seen.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    first.wait(30)
    stream.close()
    reader.join(30)
    assert errors_seen == []
    assert "on_failure" not in rec.names and "on_commit" not in rec.names
    assert conv.messages == []
