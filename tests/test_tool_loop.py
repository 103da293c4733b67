"""The tool loop: conversations with tools, sync, async and streamed, against FakeBedrock."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
from typing import Any, Literal

import pytest
from conftest import boto3_client, default_sigint, fc_client
from fastconverse import (
    ConverseClient,
    MessageStart,
    MessageStop,
    TextDelta,
    Tool,
    ToolInputError,
    ToolResult,
    ToolStats,
    ToolUseStart,
    errors,
    tool,
)
from fastconverse.testing import FakeBedrock


@tool
def get_weather(location: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict:
    """Get the current weather for a location.

    Args:
        location: The city, e.g. Paris
        unit: The unit of temperature
    """
    return {"location": location, "temperature": 21 if unit == "celsius" else 70, "unit": unit}


@tool
async def get_time(city: str) -> str:
    """The local time in a city."""
    await asyncio.sleep(0)
    return f"12:00 in {city}"


@tool
def fails(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(reason)


def make_client(fake: FakeBedrock) -> ConverseClient:
    return fc_client(fake, max_attempts=1)


@pytest.fixture
def client(fake_bedrock: FakeBedrock) -> ConverseClient:
    return make_client(fake_bedrock)


def results_of(request_body: dict[str, Any]) -> list[dict[str, Any]]:
    """The toolResult blocks of a request's last message."""
    return [b["toolResult"] for b in request_body["messages"][-1]["content"] if "toolResult" in b]


def roles(messages: list[dict[str, Any]]) -> list[str]:
    return [m["role"] for m in messages]


def converse_bodies(fake: FakeBedrock) -> list[dict[str, Any]]:
    return [r.body for r in fake.requests if r.operation in ("Converse", "ConverseStream")]


# --- send ------------------------------------------------------------------------------------


def test_send_calls_the_tool_and_returns_the_answer(fake_bedrock: FakeBedrock, client: Any) -> None:
    fake_bedrock.enqueue_tool_use("get_weather", {"location": "Paris"}, tool_use_id="t1")
    fake_bedrock.enqueue_text("It is 21 degrees in Paris.")
    conv = client.create_conversation("You help.", tools=[get_weather], tool_choice="auto")

    reply = conv.send("Weather in Paris?")

    assert reply.text == "It is 21 degrees in Paris."
    assert reply.stop_reason == "end_turn"
    assert reply.tool_calls == []
    assert roles(conv.messages) == ["user", "assistant", "user", "assistant"]
    assert conv.messages[1]["content"] == [
        {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"location": "Paris"}}}
    ]
    assert conv.messages[2]["content"] == [
        {
            "toolResult": {
                "toolUseId": "t1",
                "content": [{"json": {"location": "Paris", "temperature": 21, "unit": "celsius"}}],
            }
        }
    ]
    first, second = converse_bodies(fake_bedrock)
    # Every request carries the tools; the boto3 toolConfig shape, from Tool.to_dict().
    assert first["toolConfig"] == {"tools": [get_weather.to_dict()], "toolChoice": {"auto": {}}}
    assert second["toolConfig"]["tools"] == [get_weather.to_dict()]
    assert results_of(second) == [conv.messages[2]["content"][0]["toolResult"]]


def test_the_reply_usage_sums_the_turns_requests(fake_bedrock: FakeBedrock, client: Any) -> None:
    fake_bedrock.enqueue_tool_use(
        "get_weather", {"location": "Oslo"}, usage={"inputTokens": 10, "outputTokens": 2}
    )
    fake_bedrock.enqueue_text("Cold.", usage={"inputTokens": 30, "outputTokens": 1})
    conv = client.create_conversation(tools=[get_weather])
    reply = conv.send("Oslo?")
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (40, 3)
    assert conv.usage == reply.usage


def test_plain_functions_tool_objects_and_spec_dicts_are_accepted(
    fake_bedrock: FakeBedrock, client: Any
) -> None:
    def add(a: int, b: int) -> int:
        """Adds two numbers."""
        return a + b

    spec = {
        "toolSpec": {
            "name": "shout",
            "description": "Upper-cases text.",
            "inputSchema": {"json": {"type": "object", "properties": {"text": {"type": "string"}}}},
        }
    }
    shout = Tool(spec, lambda text: text.upper())
    fake_bedrock.enqueue_tool_uses([("add", {"a": 2, "b": "3"}), ("shout", {"text": "hi"})])
    fake_bedrock.enqueue_text("Done.")
    conv = client.create_conversation(tools=[add, shout])
    conv.send("go")
    (results,) = [m for m in conv.messages if "toolResult" in m["content"][0]]
    assert [b["toolResult"]["content"] for b in results["content"]] == [
        [{"json": {"result": 5}}],  # "3" coerced to 3 by the schema
        [{"text": "HI"}],
    ]
    assert [t.name for t in conv.tools] == ["add", "shout"]


@pytest.mark.parametrize(
    ("tools", "kwargs", "error", "match"),
    [
        ([], {}, ValueError, "tools: expected at least one tool"),
        (get_weather, {}, TypeError, "tools: expected a list"),
        ([get_weather, get_weather], {}, ValueError, r"tools\[1\]: a tool named 'get_weather'"),
        ([42], {}, TypeError, r"tools\[0\]: expected a @tool function"),
        ([get_weather], {"tool_choice": "nope"}, ValueError, "tool_choice: expected"),
        ([get_weather], {"max_tool_rounds": -1}, ValueError, "max_tool_rounds: expected an int"),
        ([get_weather], {"max_tool_concurrency": 0}, ValueError, "max_tool_concurrency"),
        ([get_weather], {"tool_timeout": 0}, ValueError, "tool_timeout: expected a positive"),
        ([get_weather], {"raise_tool_errors": 1}, TypeError, "raise_tool_errors"),
        (None, {"tool_choice": "auto"}, ValueError, "tool_choice: this conversation has no tools"),
    ],
)
def test_bad_tool_options_are_refused_at_creation(
    client: Any, tools: Any, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        client.create_conversation(tools=tools, **kwargs)
    assert client.list_conversations() == []


# --- tool_choice -----------------------------------------------------------------------------


def test_a_forcing_tool_choice_applies_to_the_first_request_only(
    fake_bedrock: FakeBedrock, client: Any
) -> None:
    conv = client.create_conversation(tools=[get_weather, get_time], tool_choice="any")
    fake_bedrock.enqueue_tool_use("get_weather", {"location": "Rome"})
    fake_bedrock.enqueue_text("Sunny.")
    conv.send("Rome?")
    fake_bedrock.enqueue_tool_use("get_time", {"city": "Rome"})
    fake_bedrock.enqueue_text("Noon.")
    conv.send("Time?", tool_choice="get_time")
    fake_bedrock.enqueue_text("Bye.")
    conv.send("Bye", tool_choice={"auto": {}})
    choices = [b["toolConfig"].get("toolChoice") for b in converse_bodies(fake_bedrock)]
    assert choices == [{"any": {}}, None, {"tool": {"name": "get_time"}}, None, {"auto": {}}]


def test_a_bad_tool_choice_per_call_fails_before_any_request(
    fake_bedrock: FakeBedrock, client: Any
) -> None:
    conv = client.create_conversation(tools=[get_weather])
    with pytest.raises(ValueError, match=r"tool_choice: expected .*'get_weather'.*got 'weather'"):
        conv.send("hi", tool_choice="weather")
    plain = client.create_conversation()
    with pytest.raises(ValueError, match="tool_choice: this conversation has no tools"):
        plain.send("hi", tool_choice="auto")
    assert fake_bedrock.requests == []
    assert not conv.busy and not plain.busy


# --- errors the model gets -------------------------------------------------------------------


def test_tool_errors_go_back_to_the_model_and_the_loop_goes_on(
    fake_bedrock: FakeBedrock, client: Any
) -> None:
    fake_bedrock.enqueue_tool_uses(
        [
            ("get_weather", {"unit": "kelvin"}, "bad-input"),
            ("teleport", {"to": "Mars"}, "unknown"),
            ("fails", {"reason": "disk full"}, "raised"),
            ("get_weather", {"location": "Lima"}, "fine"),
        ]
    )
    fake_bedrock.enqueue_text("Sorry about that.")
    conv = client.create_conversation(tools=[get_weather, fails])
    reply = conv.send("Try everything")
    assert reply.text == "Sorry about that."
    sent = {r["toolUseId"]: r for r in results_of(converse_bodies(fake_bedrock)[1])}
    assert [r["toolUseId"] for r in results_of(converse_bodies(fake_bedrock)[1])] == [
        "bad-input",
        "unknown",
        "raised",
        "fine",
    ]
    bad = sent["bad-input"]
    assert bad["status"] == "error"
    assert "location: missing" in bad["content"][0]["text"]
    assert "unit: " in bad["content"][0]["text"]
    assert sent["unknown"]["status"] == "error"
    assert sent["unknown"]["content"][0]["text"] == (
        "Unknown tool 'teleport'. The tools you can call are: 'get_weather', 'fails'."
    )
    assert sent["raised"] == {
        "toolUseId": "raised",
        "content": [{"text": "Tool 'fails' failed with RuntimeError: disk full"}],
        "status": "error",
    }
    assert "status" not in sent["fine"]
    metrics = conv.tool_metrics
    assert (metrics["get_weather"].calls, metrics["get_weather"].errors) == (2, 1)
    assert (metrics["fails"].calls, metrics["fails"].errors) == (1, 1)
    assert (metrics["teleport"].calls, metrics["teleport"].errors) == (1, 1)
    assert isinstance(metrics["fails"], ToolStats) and metrics["fails"].seconds > 0


def test_a_slow_tool_times_out_as_an_error_result(fake_bedrock: FakeBedrock, client: Any) -> None:
    release = threading.Event()

    @tool(timeout=0.05)
    def slow() -> str:
        """Waits."""
        release.wait(10)
        return "late"

    fake_bedrock.enqueue_tool_use("slow", {}, tool_use_id="s")
    fake_bedrock.enqueue_text("It timed out.")
    conv = client.create_conversation(tools=[slow])
    try:
        conv.send("go")
    finally:
        release.set()
    (result,) = results_of(converse_bodies(fake_bedrock)[1])
    assert result["status"] == "error"
    assert result["content"] == [{"text": "Tool 'slow' did not finish within 0.05 seconds."}]
    assert conv.tool_metrics["slow"].errors == 1


def test_the_conversation_tool_timeout_applies_to_coroutines(
    fake_bedrock: FakeBedrock, client: Any
) -> None:
    @tool
    async def hang() -> str:
        """Never finishes."""
        await asyncio.sleep(30)
        return "never"

    fake_bedrock.enqueue_tool_use("hang", {})
    fake_bedrock.enqueue_text("ok")
    conv = client.create_conversation(tools=[hang], tool_timeout=0.05)
    conv.send("go")
    (result,) = results_of(converse_bodies(fake_bedrock)[1])
    assert result["content"][0]["text"] == "Tool 'hang' did not finish within 0.05 seconds."


def test_raise_tool_errors_propagates_and_keeps_the_history(
    fake_bedrock: FakeBedrock, client: Any
) -> None:
    conv = client.create_conversation(tools=[get_weather, fails], raise_tool_errors=True)
    fake_bedrock.enqueue_text("Hello")
    conv.send("hi")
    before = conv.messages
    fake_bedrock.enqueue_tool_use("fails", {"reason": "boom"})
    with pytest.raises(RuntimeError, match="boom"):
        conv.send("break it")
    assert conv.messages == before and not conv.busy
    fake_bedrock.enqueue_tool_use("get_weather", {})
    with pytest.raises(ToolInputError, match="location"):
        conv.send("bad input")
    fake_bedrock.enqueue_tool_use("nope", {})
    with pytest.raises(errors.UnknownToolError, match="Unknown tool 'nope'"):
        conv.send("unknown")
    assert conv.messages == before
    fake_bedrock.enqueue_text("Still here.")
    assert conv.send("again").text == "Still here."
    assert len(conv.messages) == 4


# --- rounds ----------------------------------------------------------------------------------


def test_max_tool_rounds_raises_and_leaves_the_history_valid(
    fake_bedrock: FakeBedrock, client: Any
) -> None:
    conv = client.create_conversation(tools=[get_weather], max_tool_rounds=2)
    for i in range(3):
        fake_bedrock.enqueue_tool_use("get_weather", {"location": f"city {i}"})
    with pytest.raises(errors.ToolLoopLimitError, match="after 2 rounds") as caught:
        conv.send("loop forever")
    assert caught.value.rounds == 2
    assert roles(caught.value.messages) == [
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
    ]
    assert caught.value.usage.total_tokens > 0
    assert conv.messages == [] and not conv.busy and conv.pending_tool_calls == []
    fake_bedrock.enqueue_text("Fine.")
    assert conv.send("just answer").text == "Fine."
    assert roles(conv.messages) == ["user", "assistant"]


def test_a_long_chain_stays_valid_for_bedrock(fake_bedrock: FakeBedrock, client: Any) -> None:
    """50 rounds of 3 tools (errors mixed in), each request checked by FakeBedrock's rules;
    then the whole history goes through boto3's own validation too."""
    conv = client.create_conversation(tools=[get_weather, get_time, fails], max_tool_rounds=50)
    for round_ in range(50):
        calls = [
            ("get_weather", {"location": f"c{round_}"}),
            ("get_time", {"city": f"c{round_}"}),
            ("fails", {"reason": f"r{round_}"}) if round_ % 3 else ("get_weather", {}),
        ]
        fake_bedrock.enqueue_tool_uses(calls, text=f"Round {round_}." if round_ % 2 else None)
    fake_bedrock.enqueue_text("All done.")
    reply = conv.send("Run the chain")
    assert reply.text == "All done."
    assert len(conv.messages) == 2 + 50 * 2
    assert conv.tool_metrics["get_time"].calls == 50
    assert conv.tool_metrics["fails"].errors + conv.tool_metrics["get_weather"].errors == 50
    boto3 = boto3_client(fake_bedrock)
    out = boto3.converse(
        modelId="m",
        messages=[*conv.messages, {"role": "user", "content": [{"text": "Summarise"}]}],
        toolConfig={"tools": [t.to_dict() for t in conv.tools]},
    )
    assert out["stopReason"] == "end_turn"


# --- concurrency -----------------------------------------------------------------------------


def test_tool_uses_of_one_turn_run_concurrently_and_return_in_order(
    fake_bedrock: FakeBedrock, client: Any
) -> None:
    barrier = threading.Barrier(3, timeout=10)
    first_reported = threading.Event()

    @tool
    def meet(n: int) -> str:
        """Waits for the others."""
        barrier.wait()  # only passes when three calls run at once
        if n == 0:
            first_reported.wait(10)  # finishes after another call's ToolResult was yielded
        return f"call {n}"

    fake_bedrock.enqueue_tool_uses([("meet", {"n": n}, f"id{n}") for n in range(3)])
    fake_bedrock.enqueue_text("Met.")
    conv = client.create_conversation(tools=[meet])
    finished = []
    for event in conv.stream("meet"):
        if isinstance(event, ToolResult):
            finished.append(event.tool_use_id)
            first_reported.set()
    assert finished[0] != "id0" and sorted(finished) == ["id0", "id1", "id2"]  # as they finish
    sent = results_of(converse_bodies(fake_bedrock)[1])
    assert [r["toolUseId"] for r in sent] == ["id0", "id1", "id2"]  # in tool-use order
    assert [r["content"][0]["text"] for r in sent] == ["call 0", "call 1", "call 2"]


@pytest.mark.parametrize("api", ["sync", "async"])
def test_max_tool_concurrency_bounds_the_calls_in_flight(
    fake_bedrock: FakeBedrock, client: Any, api: str
) -> None:
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    @tool
    def busy(n: int) -> int:
        """Counts the calls in flight."""
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        threading.Event().wait(0.02)
        with lock:
            state["now"] -= 1
        return n

    fake_bedrock.enqueue_tool_uses([("busy", {"n": n}) for n in range(6)])
    fake_bedrock.enqueue_text("ok")
    conv = client.create_conversation(tools=[busy], max_tool_concurrency=2)
    if api == "sync":
        conv.send("go")
    else:
        asyncio.run(conv.send_async("go"))
    assert state["peak"] == 2
    assert conv.tool_metrics["busy"].calls == 6


# --- async -----------------------------------------------------------------------------------


def test_send_async_awaits_coroutines_on_the_callers_loop(
    fake_bedrock: FakeBedrock, client: Any
) -> None:
    seen: dict[str, Any] = {}

    @tool
    async def where() -> str:
        """Reports its loop."""
        seen["loop"] = asyncio.get_running_loop()
        return "here"

    @tool
    def blocking() -> str:
        """Reports its thread."""
        seen["thread"] = threading.current_thread()
        return "there"

    fake_bedrock.enqueue_tool_uses([("where", {}), ("blocking", {})])
    fake_bedrock.enqueue_text("Both ran.")
    conv = client.create_conversation(tools=[where, blocking])

    async def main() -> Any:
        seen["caller"] = asyncio.get_running_loop()
        return await conv.send_async("go")

    reply = asyncio.run(main())
    assert reply.text == "Both ran."
    assert seen["loop"] is seen["caller"]
    assert seen["thread"] is not threading.main_thread()
    assert roles(conv.messages) == ["user", "assistant", "user", "assistant"]


def test_sync_send_runs_coroutine_tools_even_inside_a_running_loop(
    fake_bedrock: FakeBedrock, client: Any
) -> None:
    """As in a notebook cell: a blocking send from code that runs inside an event loop."""
    fake_bedrock.enqueue_tool_use("get_time", {"city": "Tokyo"})
    fake_bedrock.enqueue_text("Noon in Tokyo.")
    conv = client.create_conversation(tools=[get_time])

    async def cell() -> Any:
        return conv.send("Time in Tokyo?")

    assert asyncio.run(cell()).text == "Noon in Tokyo."
    assert conv.messages[2]["content"][0]["toolResult"]["content"] == [{"text": "12:00 in Tokyo"}]


def test_a_sync_tool_may_run_its_own_event_loop_inside_and_outside_a_running_loop(
    fake_bedrock: FakeBedrock, client: Any
) -> None:
    # Outside a loop a lone sync call runs on the caller's thread; inside one (a notebook
    # cell) it runs in the pool: either way asyncio.run() inside the tool works.
    import contextvars

    mark: contextvars.ContextVar[str] = contextvars.ContextVar("mark", default="caller's")

    @tool
    def nested() -> str:
        """Runs a coroutine to its end."""
        mark.set("the tool's")

        async def inner() -> str:
            return "inner done"

        return asyncio.run(inner())

    conv = client.create_conversation(tools=[nested])

    async def cell() -> Any:
        return conv.send("in a cell")

    for send in (lambda: conv.send("plain"), lambda: asyncio.run(cell())):
        fake_bedrock.enqueue_tool_use("nested", {})
        fake_bedrock.enqueue_text("ok")
        assert send().text == "ok"
        assert conv.messages[-2]["content"][0]["toolResult"]["content"] == [{"text": "inner done"}]
        assert conv.tool_metrics["nested"].errors == 0
        assert mark.get() == "caller's"  # the tool's context changes stay its own


def test_cancelling_send_async_during_a_tool_keeps_the_history(
    fake_bedrock: FakeBedrock, client: Any
) -> None:
    started: list[asyncio.Event] = []  # (made in the loop: before 3.10 an Event takes one)

    @tool
    async def forever() -> str:
        """Never returns."""
        started[0].set()
        await asyncio.sleep(30)
        return "never"

    conv = client.create_conversation(tools=[forever])
    fake_bedrock.enqueue_tool_use("forever", {})

    async def main() -> None:
        started.append(asyncio.Event())
        task = asyncio.ensure_future(conv.send_async("go"))
        await started[0].wait()
        assert conv.busy
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert conv.messages == [] and not conv.busy


def test_async_errors_rounds_and_raise_tool_errors(fake_bedrock: FakeBedrock, client: Any) -> None:
    conv = client.create_conversation(tools=[get_weather, fails], max_tool_rounds=1)
    strict = client.create_conversation(tools=[fails], raise_tool_errors=True)

    async def main() -> None:
        fake_bedrock.enqueue_tool_uses([("fails", {"reason": "x"}), ("get_weather", {})])
        fake_bedrock.enqueue_text("Handled.")
        assert (await conv.send_async("a")).text == "Handled."
        fake_bedrock.enqueue_tool_use("get_weather", {"location": "A"})
        fake_bedrock.enqueue_tool_use("get_weather", {"location": "B"})
        with pytest.raises(errors.ToolLoopLimitError):
            await conv.send_async("b")
        fake_bedrock.enqueue_tool_use("fails", {"reason": "async boom"})
        with pytest.raises(RuntimeError, match="async boom"):
            await strict.send_async("c")

    asyncio.run(main())
    sent = results_of(converse_bodies(fake_bedrock)[1])
    assert [r.get("status") for r in sent] == ["error", "error"]
    assert roles(conv.messages) == ["user", "assistant", "user", "assistant"]
    assert strict.messages == [] and not strict.busy


def test_an_unawaited_send_async_holds_nothing(fake_bedrock: FakeBedrock, client: Any) -> None:
    conv = client.create_conversation(tools=[get_weather])
    pending = conv.send_async("never awaited")
    assert not conv.busy
    pending.close()  # type: ignore[attr-defined]
    fake_bedrock.enqueue_text("hi")
    assert conv.send("hello").text == "hi"


# --- tools the caller answers ----------------------------------------------------------------

LOOKUP = Tool(
    {
        "name": "lookup_order",
        "description": "Looks up an order.",
        "inputSchema": {"json": {"type": "object", "properties": {"order": {"type": "string"}}}},
    }
)


def test_tools_without_a_function_return_tool_calls(fake_bedrock: FakeBedrock, client: Any) -> None:
    conv = client.create_conversation(tools=[LOOKUP, get_weather])
    fake_bedrock.enqueue_tool_uses(
        [("lookup_order", {"order": "A1"}, "o1"), ("get_weather", {"location": "Kyiv"}, "w1")]
    )
    reply = conv.send("Where is order A1, and the weather?")
    assert reply.stop_reason == "tool_use"
    assert [c["toolUseId"] for c in reply.tool_calls] == ["o1", "w1"]
    assert conv.pending_tool_calls == reply.tool_calls
    assert roles(conv.messages) == ["user", "assistant"]

    with pytest.raises(errors.PendingToolCallsError, match=r"lookup_order \('o1'\)"):
        conv.send("Hello?")
    with pytest.raises(ValueError, match=r"missing the results of lookup_order \('o1'\)"):
        conv.send_tool_results({})
    with pytest.raises(ValueError, match="'zz' is not a tool use waiting"):
        conv.send_tool_results({"o1": "x", "zz": "y"})
    with pytest.raises(ValueError, match=r"results\['o1'\]: "):
        conv.send_tool_results({"o1": b"not an image"})
    with pytest.raises(TypeError, match="results: expected a dict"):
        conv.send_tool_results([("o1", "x")])
    assert fake_bedrock.pending == 0 and len(conv.messages) == 2

    fake_bedrock.enqueue_text("Order A1 ships today.")
    reply = conv.send_tool_results({"o1": {"status": "shipping"}})  # w1 is called for us
    assert reply.text == "Order A1 ships today."
    assert conv.pending_tool_calls == []
    sent = results_of(converse_bodies(fake_bedrock)[-1])
    assert sent == [
        {"toolUseId": "o1", "content": [{"json": {"status": "shipping"}}]},
        {
            "toolUseId": "w1",
            "content": [{"json": {"location": "Kyiv", "temperature": 21, "unit": "celsius"}}],
        },
    ]
    assert roles(conv.messages) == ["user", "assistant", "user", "assistant"]


def test_send_tool_results_takes_exceptions_as_errors_and_runs_async(
    fake_bedrock: FakeBedrock, client: Any
) -> None:
    conv = client.create_conversation(tools=[LOOKUP])
    fake_bedrock.enqueue_tool_use("lookup_order", {"order": "B2"}, tool_use_id="o2")

    async def main() -> Any:
        reply = await conv.send_async("B2?")
        assert reply.tool_calls[0]["input"] == {"order": "B2"}
        fake_bedrock.enqueue_text("I could not find it.")
        return await conv.send_tool_results_async({"o2": LookupError("no such order")})

    assert asyncio.run(main()).text == "I could not find it."
    assert results_of(converse_bodies(fake_bedrock)[-1]) == [
        {"toolUseId": "o2", "content": [{"text": "no such order"}], "status": "error"}
    ]
    with pytest.raises(ValueError, match="nothing to answer"):
        conv.send_tool_results({"o2": "again"})


def test_send_tool_results_needs_tools(client: Any) -> None:
    with pytest.raises(ValueError, match="results: this conversation has no tools"):
        client.create_conversation().send_tool_results({"x": 1})


def test_a_saved_history_with_open_tool_uses_must_be_answered(
    fake_bedrock: FakeBedrock, client: Any
) -> None:
    history = [
        {"role": "user", "content": [{"text": "Order C3?"}]},
        {
            "role": "assistant",
            "content": [{"toolUse": {"toolUseId": "c3", "name": "lookup_order", "input": {}}}],
        },
    ]
    conv = client.create_conversation(tools=[LOOKUP], messages=history)
    with pytest.raises(errors.PendingToolCallsError):
        conv.send("hm?")
    fake_bedrock.enqueue_text("It is on its way.")
    assert conv.send_tool_results({"c3": "on its way"}).text == "It is on its way."


# --- streaming -------------------------------------------------------------------------------


def test_stream_goes_through_tool_calls_to_the_answer(
    fake_bedrock: FakeBedrock, client: Any
) -> None:
    fake_bedrock.enqueue_tool_use(
        "get_weather", {"location": "Cairo"}, tool_use_id="w", text="Let me check."
    )
    fake_bedrock.enqueue_text("Hot in Cairo.")
    conv = client.create_conversation(tools=[get_weather])
    stream = conv.stream("Cairo?")
    events = list(stream)
    kinds = [type(e).__name__ for e in events]
    assert kinds.count("MessageStart") == 2 and kinds.count("MessageStop") == 2
    (result,) = [e for e in events if isinstance(e, ToolResult)]
    i = events.index(result)
    assert isinstance(events[i - 2], MessageStop) and events[i - 2].stop_reason == "tool_use"
    assert isinstance(events[i + 1], MessageStart)
    assert any(isinstance(e, ToolUseStart) and e.name == "get_weather" for e in events[:i])
    assert result.name == "get_weather" and result.tool_use_id == "w"
    assert result.status == "success" and result.error is None and result.duration > 0
    assert result.input == {"location": "Cairo"}
    assert result.to_dict() == conv.messages[2]["content"][0]
    assert "".join(e.text for e in events[i:] if isinstance(e, TextDelta)) == "Hot in Cairo."
    assert stream.done and stream.reply.text == "Hot in Cairo."
    assert roles(conv.messages) == ["user", "assistant", "user", "assistant"]
    assert conv.messages[1]["content"][0] == {"text": "Let me check."}


def test_stream_async_reports_errors_as_tool_results(
    fake_bedrock: FakeBedrock, client: Any
) -> None:
    fake_bedrock.enqueue_tool_uses(
        [("fails", {"reason": "nope"}, "f"), ("get_time", {"city": "Lagos"}, "t")]
    )
    fake_bedrock.enqueue_text("One failed.")
    conv = client.create_conversation(tools=[fails, get_time])

    async def main() -> list[Any]:
        stream = conv.stream("go")
        out = [e async for e in stream]
        assert stream.reply.text == "One failed."
        return out

    results = {e.tool_use_id: e for e in asyncio.run(main()) if isinstance(e, ToolResult)}
    assert results["f"].status == "error"
    assert results["f"].error == "Tool 'fails' failed with RuntimeError: nope"
    assert results["t"].status == "success" and results["t"].content == [{"text": "12:00 in Lagos"}]
    assert roles(conv.messages) == ["user", "assistant", "user", "assistant"]


@pytest.mark.parametrize("how", ["break", "close", "with"])
def test_a_stream_abandoned_between_rounds_keeps_the_history(
    fake_bedrock: FakeBedrock, client: Any, how: str
) -> None:
    fake_bedrock.enqueue_tool_use("get_weather", {"location": "Quito"})
    fake_bedrock.enqueue_text("Mild.")
    conv = client.create_conversation(tools=[get_weather])
    if how == "with":
        with conv.stream("Quito?") as stream:
            for event in stream:
                if isinstance(event, ToolResult):
                    break
    else:
        stream = conv.stream("Quito?")
        for event in stream:
            if isinstance(event, ToolResult):
                break
        if how == "close":
            stream.close()
        else:
            del stream, event
    assert conv.messages == []
    assert not conv.busy
    fake_bedrock.reset()
    fake_bedrock.enqueue_text("Hello again.")
    assert conv.send("hi").text == "Hello again."


def test_stream_limit_and_failures_keep_the_history(fake_bedrock: FakeBedrock, client: Any) -> None:
    conv = client.create_conversation(tools=[get_weather], max_tool_rounds=0)
    fake_bedrock.enqueue_tool_use("get_weather", {"location": "X"})
    stream = conv.stream("x")
    with pytest.raises(errors.ToolLoopLimitError):
        list(stream)
    assert stream.done
    with pytest.raises(RuntimeError, match="ended without a reply"):
        _ = stream.reply
    other = client.create_conversation(tools=[get_weather])
    fake_bedrock.enqueue_tool_use("get_weather", {"location": "Y"})
    fake_bedrock.enqueue_error("ThrottlingException", "Too many tokens")
    with pytest.raises(errors.ThrottlingError):
        list(other.stream("y"))
    assert conv.messages == [] and other.messages == []
    assert not conv.busy and not other.busy


# --- history rules ---------------------------------------------------------------------------


def test_a_failed_request_after_a_tool_round_keeps_the_history(
    fake_bedrock: FakeBedrock, client: Any
) -> None:
    conv = client.create_conversation(tools=[get_weather])
    fake_bedrock.enqueue_text("Hi")
    conv.send("hello")
    before = conv.messages
    fake_bedrock.enqueue_tool_use("get_weather", {"location": "Bern"})
    fake_bedrock.enqueue_error("ValidationException", "Input is too long for requested model.")
    with pytest.raises(errors.ContextWindowExceededError):
        conv.send("Bern?")
    assert conv.messages == before and not conv.busy
    assert conv.tool_metrics["get_weather"].calls == 1  # the call happened; the turn did not


def test_overlapping_turns_are_refused(fake_bedrock: FakeBedrock, client: Any) -> None:
    conv = client.create_conversation(tools=[get_weather])
    fake_bedrock.enqueue_tool_use("get_weather", {"location": "Lyon"})
    fake_bedrock.enqueue_text("ok")
    stream = conv.stream("Lyon?")
    with pytest.raises(errors.ConversationBusyError):
        conv.send("meanwhile")
    stream.until_done()
    assert not conv.busy


def test_get_conversation_keeps_the_tools(fake_bedrock: FakeBedrock, client: Any) -> None:
    conv = client.create_conversation(conversation_id="c", tools=[get_weather])
    again = client.get_conversation("c")
    assert again is conv and [t.name for t in again.tools] == ["get_weather"]
    assert client.create_conversation().tools == []
    assert client.create_conversation().tool_metrics == {}


def test_ctrl_c_during_a_tool_call_ends_the_turn_and_keeps_the_history() -> None:
    script = textwrap.dedent(
        """
        import os, signal, threading, time
        from fastconverse import ConverseClient, tool
        from fastconverse.testing import FakeBedrock

        @tool
        def slow() -> str:
            '''Takes long.'''
            time.sleep(3)
            return "done"

        with FakeBedrock() as fake:
            fake.enqueue_text("Hello")
            fake.enqueue_tool_use("slow", {})
            c = ConverseClient("m", endpoint_url=fake.url, region_name="us-east-1",
                               aws_access_key_id="a", aws_secret_access_key="b")
            conv = c.create_conversation(tools=[slow])
            conv.send("hi")
            threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
            started = time.monotonic()
            try:
                conv.send("run the slow tool")
                print("not interrupted")
            except KeyboardInterrupt:
                print(f"interrupted after {time.monotonic() - started:.2f}")
            print(len(conv.messages), conv.busy)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=default_sigint,
    )
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.strip().splitlines()
    assert first.startswith("interrupted after "), proc.stdout
    assert float(first.rsplit(" ", 1)[1]) < 2.0  # long before the tool's 3 s
    assert second == "2 False"  # the first turn only; the conversation is free


def test_async_tool_choice_and_timeouts(fake_bedrock: FakeBedrock, client: Any) -> None:
    release = threading.Event()

    @tool
    def stuck() -> str:
        """Blocks its executor thread."""
        release.wait(10)
        return "late"

    @tool
    async def hang() -> str:
        """Never finishes."""
        await asyncio.sleep(30)
        return "never"

    conv = client.create_conversation(tools=[stuck, hang], tool_timeout=0.05)
    fake_bedrock.enqueue_tool_uses([("stuck", {}, "s"), ("hang", {}, "h")])
    fake_bedrock.enqueue_text("Both timed out.")

    async def main() -> Any:
        try:
            return await conv.send_async("go", tool_choice="stuck")
        finally:
            release.set()  # asyncio.run waits for the executor's threads at exit

    assert asyncio.run(main()).text == "Both timed out."
    first, second = converse_bodies(fake_bedrock)
    assert first["toolConfig"]["toolChoice"] == {"tool": {"name": "stuck"}}
    assert "toolChoice" not in second["toolConfig"]
    assert [r["content"][0]["text"] for r in results_of(second)] == [
        "Tool 'stuck' did not finish within 0.05 seconds.",
        "Tool 'hang' did not finish within 0.05 seconds.",
    ]
