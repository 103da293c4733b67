"""A cancelled task hears it: ``CancelledError``, whatever the turn was doing, and the history
is as before or holds the whole turn, never part of it.

The contract, for a task running one turn (``async for`` over ``conv.stream(...)`` or
``await conv.send_async(...)``), that is cancelled (``task.cancel()`` returned True):

- the task ends with ``CancelledError``, never with the turn's reply;
- the conversation holds exactly what it held before the turn, or that plus the whole turn
  (when the cancel came after the commit, at an await of the caller's own);
- the conversation is free for its next turn.

A ``task.cancel()`` that returns False came after the task ended: the task's outcome is its
own, and nothing is said about it here.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import fc_client
from fastconverse import ConverseClient, tool
from fastconverse.testing import FakeBedrock

# A lost cancel can leave a task waiting: fail in two minutes, not at the suite's limit.
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def client(fake_bedrock: FakeBedrock) -> ConverseClient:
    return fc_client(fake_bedrock, max_attempts=1, max_conversations=1000)


@tool
async def lookup(city: str) -> str:
    """The weather in a city."""
    await asyncio.sleep(0.001)
    return f"sunny in {city}"


@tool
async def wait_forever(what: str) -> str:
    """Waits for `what`, which never comes."""
    await asyncio.Event().wait()
    return what


class Pauses:
    """Hooks that await at each point they can: cancellation points between a turn's steps,
    also between its last response and its commit (``after_response``)."""

    async def on_turn_start(self, event: Any) -> None:
        await asyncio.sleep(0)

    async def before_request(self, event: Any) -> None:
        await asyncio.sleep(0)

    async def after_response(self, event: Any) -> None:
        await asyncio.sleep(0)

    async def before_tool_call(self, event: Any) -> None:
        await asyncio.sleep(0)

    async def after_tool_call(self, event: Any) -> None:
        await asyncio.sleep(0)


# --- a stream closed by another task, then cancelled -------------------------------------


@pytest.mark.parametrize("where", ["reading", "in a tool"])
def test_a_stream_closed_and_then_cancelled_raises_cancelled_error(
    fake_bedrock: FakeBedrock, client: ConverseClient, where: str
) -> None:
    # A watchdog task closes the stream (its connection) and cancels its reader. The close
    # ends the stream quietly; the cancel must still reach the reader: it once ended its
    # `async for` as if the stream had finished, and the task returned normally.
    tools = [wait_forever] if where == "in a tool" else None
    conv = client.create_conversation(tools=tools)
    if where == "in a tool":
        fake_bedrock.enqueue_tool_use("wait_forever", {"what": "godot"})
    else:
        fake_bedrock.enqueue_text("too late", first_byte_delay=5.0)

    async def main() -> None:
        stream = conv.stream("go")

        async def read() -> list[Any]:
            return [event async for event in stream]

        task = asyncio.ensure_future(read())
        for _ in range(20):  # the reader waits: for the reply, or on its tool
            await asyncio.sleep(0.005)
        assert not task.done()
        stream.close()
        assert task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert conv.messages == [] and not conv.busy
    fake_bedrock.reset()
    assert conv.send("again").text == "You said: again"


def test_a_ctrl_c_in_a_tool_of_a_closed_stream_is_raised(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    # The sync twin: a Ctrl-C that lands while the stream is being closed (here: in its tool,
    # which closes it first) is the caller's; the close must not swallow it.
    streams: list[Any] = []

    @tool
    def interrupted(what: str) -> str:
        """Closes the stream, then is interrupted."""
        streams[0].close()
        raise KeyboardInterrupt

    conv = client.create_conversation(tools=[interrupted])
    fake_bedrock.enqueue_tool_use("interrupted", {"what": "x"})
    streams.append(conv.stream("go"))
    with pytest.raises(KeyboardInterrupt):
        for _ in streams[0]:
            pass
    assert conv.messages == [] and not conv.busy


# --- the campaign: many tasks, cancelled at random moments -------------------------------


@dataclass
class Task:
    """One task of the campaign: its conversation, its turn and when it is cancelled."""

    conv: Any
    before: list[dict[str, Any]]
    text: str  # the reply's text
    tools: bool  # the turn calls a tool first
    api: str  # "stream" or "send_async"
    linger: bool  # an await of the caller's own after the turn (a cancel may land there)
    cancel_at: tuple[str, float] | None  # ("ticks", n), ("sleep", s) or ("blocked", s)
    accepted: bool = False  # task.cancel() returned True
    outcome: Any = field(default=None)


def _task(i: int, client: ConverseClient, fake: FakeBedrock, rng: random.Random) -> Task:
    # Note: each task's replies are scripted for its own model id, so no task takes another's.
    model = f"m-{i}"
    tools = rng.random() < 0.35
    before: list[dict[str, Any]] = []
    if rng.random() < 0.3:
        before = [
            {"role": "user", "content": [{"text": f"earlier {i}"}]},
            {"role": "assistant", "content": [{"text": f"answer {i}"}]},
        ]
    conv = client.create_conversation(
        model_id=model,
        messages=before,
        tools=[lookup] if tools else None,
        hooks=[Pauses()] if rng.random() < 0.5 else None,
    )
    delays = {
        "delta_delay": rng.choice([0.0, 0.0005, 0.002]),
        "first_byte_delay": rng.choice([0.0, 0.0, 0.001, 0.005]),
    }
    if tools:
        fake.enqueue_tool_use("lookup", {"city": f"c{i}"}, model_id=model, **delays)
    text = " ".join(f"w{i}-{j}" for j in range(rng.randint(1, 12)))
    fake.enqueue_text(text, model_id=model, **delays)
    roll = rng.random()
    cancel_at: tuple[str, float] | None
    if roll < 0.3:
        cancel_at = None
    elif roll < 0.55:
        cancel_at = ("ticks", rng.randint(0, 12))
    elif roll < 0.8:
        cancel_at = ("sleep", rng.choice([0.0005, 0.002, 0.005, 0.01, 0.03]))
    else:  # the loop blocked while replies arrive: the cancel comes as they are delivered
        cancel_at = ("blocked", rng.choice([0.0, 0.002, 0.01]))
    return Task(
        conv=conv,
        before=[dict(m) for m in conv.messages],
        text=text,
        tools=tools,
        api=rng.choice(["stream", "send_async"]),
        linger=rng.random() < 0.3,
        cancel_at=cancel_at,
    )


async def _run(t: Task) -> str:
    if t.api == "stream":
        stream = t.conv.stream(f"go {t.text[:3]}")
        async for _ in stream:
            pass
        text: str = stream.reply.text
    else:
        text = (await t.conv.send_async(f"go {t.text[:3]}")).text
    if t.linger:
        await asyncio.sleep(0)
    return text


async def _cancel(t: Task, task: asyncio.Future[str]) -> None:
    assert t.cancel_at is not None
    how, amount = t.cancel_at
    if how == "ticks":
        for _ in range(int(amount)):
            await asyncio.sleep(0)
    elif how == "sleep":
        await asyncio.sleep(amount)
    else:
        await asyncio.sleep(0)
        time.sleep(amount)  # (blocks the loop: replies arrive meanwhile, not yet taken)
    t.accepted = task.cancel()


def campaign(client: ConverseClient, fake: FakeBedrock, seed: str, n: int = 60) -> dict[str, int]:
    """Runs `n` tasks at once, most cancelled at a random moment, and checks the contract
    (the module's docstring) for each; returns how the cancels landed."""
    rng = random.Random(seed)
    fake.reset()
    tasks = [_task(i, client, fake, rng) for i in range(n)]

    async def main() -> None:
        running = [asyncio.ensure_future(_run(t)) for t in tasks]
        cancellers = [_cancel(t, f) for t, f in zip(tasks, running) if t.cancel_at is not None]
        rng.shuffle(cancellers)
        await asyncio.gather(*cancellers)
        outcomes = await asyncio.gather(*running, return_exceptions=True)
        for t, outcome in zip(tasks, outcomes):
            t.outcome = outcome

    asyncio.run(main())
    seen = {"cancelled before the commit": 0, "cancelled after it": 0, "cancel too late": 0}
    for i, t in enumerate(tasks):
        where = f"task {i} ({t.api}, tools={t.tools}, cancel at {t.cancel_at})"
        messages = t.conv.messages
        assert messages[: len(t.before)] == t.before, where
        added = messages[len(t.before) :]
        if added:  # the whole turn, or nothing
            assert len(added) == (4 if t.tools else 2), where
            assert added[0]["role"] == "user" and added[-1]["role"] == "assistant", where
            assert added[-1]["content"][-1]["text"] == t.text, where
        if t.accepted:
            assert isinstance(t.outcome, asyncio.CancelledError), f"{where}: {t.outcome!r}"
            seen["cancelled after it" if added else "cancelled before the commit"] += 1
        else:
            assert t.outcome == t.text, f"{where}: {t.outcome!r}"
            assert added, where
            seen["cancel too late"] += t.cancel_at is not None
        assert not t.conv.busy, where
    # Each conversation takes its next turn, FakeBedrock validating the whole history.
    fake.reset()  # (what a cancelled turn never asked for is not for the next one)
    for t in tasks[:: max(1, n // 12)]:
        assert t.conv.send("again").text == "You said: again"
    return seen


@pytest.mark.parametrize("seed", range(3))
def test_cancelled_tasks_raise_cancelled_error_and_keep_whole_turns_or_none(
    fake_bedrock: FakeBedrock, client: ConverseClient, seed: int
) -> None:
    seen = campaign(client, fake_bedrock, f"cancel campaign {seed}")
    assert seen["cancelled before the commit"] >= 10, seen
