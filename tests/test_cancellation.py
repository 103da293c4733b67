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
async def wait_forever(what: str) -> str:
    """Waits for `what`, which never comes."""
    await asyncio.Event().wait()
    return what


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
