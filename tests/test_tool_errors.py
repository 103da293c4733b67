"""A tool's own exceptions are error results for the model, its own TimeoutError included
(never taken for fastconverse's timeout), and a sync tool that outlives its timeout in async
code holds a thread of its own, not one of the loop's default executor."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import fastconverse as fc
import pytest
from conftest import fc_client
from fastconverse.testing import FakeBedrock


@fc.tool
async def fetch(url: str) -> str:
    """Fetches a page."""
    await asyncio.sleep(0)
    raise TimeoutError("the read timed out")


@fc.tool
def fetch_sync(url: str) -> str:
    """Fetches a page."""
    raise TimeoutError("the read timed out")


def turn(conv: fc.Conversation, mode: str) -> fc.Reply:
    if mode == "send":
        return conv.send("Get it")
    return asyncio.run(conv.send_async("Get it"))


@pytest.mark.parametrize("mode", ["send", "send_async"])
@pytest.mark.parametrize("tool_timeout", [None, 30.0])
@pytest.mark.parametrize("which", [fetch, fetch_sync], ids=["async", "sync"])
def test_a_tools_own_timeout_error_is_an_error_result(
    fake_bedrock: FakeBedrock, mode: str, tool_timeout: float | None, which: Any
) -> None:
    conv = fc_client(fake_bedrock).create_conversation(tools=[which], tool_timeout=tool_timeout)
    fake_bedrock.enqueue_tool_use(which.name, {"url": "https://example.com"})
    reply = turn(conv, mode)
    [result] = reply.tool_results
    assert result["status"] == "error"
    text = result["content"][0]["text"]
    assert text == f"Tool {which.name!r} failed with TimeoutError: the read timed out"
    assert "did not finish" not in text


def test_a_sync_tool_past_its_timeout_in_async_code_holds_its_own_thread(
    fake_bedrock: FakeBedrock,
) -> None:
    release = threading.Event()
    running: list[str] = []

    @fc.tool(timeout=0.2)
    def stuck() -> str:
        """Never answers in time."""
        running.append(threading.current_thread().name)
        release.wait(60)
        return "late"

    conv = fc_client(fake_bedrock).create_conversation(tools=[stuck])
    fake_bedrock.enqueue_tool_use("stuck", {})
    try:
        reply = asyncio.run(conv.send_async("Go"))
        [result] = reply.tool_results
        assert "did not finish within 0.2 seconds" in result["content"][0]["text"]
        assert running == ["fastconverse-tool-timed"]
    finally:
        release.set()


def test_get_conversation_with_tools_gives_a_held_conversation_those_tools(
    fake_bedrock: FakeBedrock,
) -> None:
    client = fc_client(fake_bedrock)
    conv = client.create_conversation(conversation_id="held", tools=[fetch], tool_timeout=9.0)
    assert client.get_conversation("held", tools=[fetch_sync]) is conv
    fake_bedrock.enqueue_tool_use("fetch_sync", {"url": "u"})
    [result] = conv.send("Get it").tool_results
    assert result["content"][0]["text"].startswith("Tool 'fetch_sync' failed with TimeoutError")
    assert conv._tools is not None and conv._tools.tool_timeout == 9.0
    tools = fake_bedrock.requests[0].body["toolConfig"]["tools"]
    assert [t["toolSpec"]["name"] for t in tools] == ["fetch_sync"]


def test_a_structured_outputs_value_is_on_last_reply_too(fake_bedrock: FakeBedrock) -> None:
    from dataclasses import dataclass

    @dataclass
    class City:
        name: str

    conv = fc_client(fake_bedrock).create_conversation()
    fake_bedrock.enqueue_tool_use("City", {"name": "Oslo"})
    reply = conv.send("Capital of Norway?", output=City)
    assert reply.output == City("Oslo")
    assert conv.last_reply is not None and conv.last_reply.output == City("Oslo")
