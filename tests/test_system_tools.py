"""System tools (issue 26): ``system_tool("nova_grounding")`` beside a conversation's own
tools. The service runs them: their calls (``toolUse`` of type ``server_tool_use``) and
results come back in the reply, in streams (``ToolResultStart``/``ToolResultDelta``), in the
history and in stores exactly as Bedrock needs them back, and never reach a Python function.
The boto3-shaped layer sends and parses them as boto3 does."""

from __future__ import annotations

import asyncio
from typing import Any

import fastconverse
import pytest
from botocore.exceptions import ClientError
from conftest import boto3_client, fc_client, user
from fastconverse import (
    SQLiteStore,
    SystemTool,
    ToolResultDelta,
    ToolResultStart,
    ToolUseStart,
    system_tool,
    tool,
)
from fastconverse.testing import FakeBedrock

CODE = "nova_code_interpreter"
CALL = {
    "toolUseId": "tooluse_code1",
    "name": CODE,
    "input": {"code": "print(2 + 2)"},
    "type": "server_tool_use",
}
RESULT = {
    "toolUseId": "tooluse_code1",
    "content": [{"text": '{"stdOut":"4","stdErr":"","exitCode":0,"isError":false}'}],
    "status": "success",
    "type": "nova_code_interpreter_result",
}
ANSWER = [{"toolUse": CALL}, {"toolResult": RESULT}, {"text": "2 + 2 is 4."}]


@pytest.fixture
def client(fake_bedrock: FakeBedrock) -> Any:
    return fc_client(fake_bedrock, max_attempts=1)


def enqueue_answer(fake: FakeBedrock, **options: Any) -> None:
    fake.enqueue_system_tool_use(
        CODE,
        CALL["input"],
        RESULT["content"][0]["text"],
        text="2 + 2 is 4.",
        tool_use_id="tooluse_code1",
        **options,
    )


def test_system_tools_are_declared_and_checked_before_any_request(
    client: Any, fake_bedrock: FakeBedrock
) -> None:
    grounding = fastconverse.system_tool("nova_grounding")
    assert isinstance(grounding, SystemTool) and grounding.name == "nova_grounding"
    assert grounding.to_dict() == {"systemTool": {"name": "nova_grounding"}}
    assert grounding == system_tool("nova_grounding") and repr(grounding).startswith("system_")
    assert fastconverse.tools.system_tool is system_tool
    with pytest.raises(TypeError, match="name: expected a str"):
        system_tool(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="name: expected 1 to 64 letters"):
        system_tool("web search")
    with pytest.raises(ValueError, match=r"tools\[1\]: expected \{'systemTool'"):
        client.create_conversation(tools=[grounding, {"systemTool": {"name": "x", "y": 1}}])
    with pytest.raises(ValueError, match=r"tools\[0\].systemTool.name: expected 1 to 64"):
        client.create_conversation(tools=[{"systemTool": {"name": ""}}])
    with pytest.raises(ValueError, match=r"tools\[1\]: a tool named 'nova_grounding'"):
        client.create_conversation(tools=[grounding, {"systemTool": {"name": "nova_grounding"}}])
    with pytest.raises(ValueError, match="tool_choice: expected"):
        client.create_conversation(tools=[grounding], tool_choice="nova_grounding")
    assert len(fake_bedrock.requests) == 0


def test_they_go_in_the_tool_config_beside_the_conversations_own_tools(
    client: Any, fake_bedrock: FakeBedrock
) -> None:
    @tool
    def lookup(query: str) -> str:
        """Looks it up."""
        return query

    grounding = system_tool("nova_grounding")
    conv = client.create_conversation(tools=[grounding, lookup, {"systemTool": {"name": CODE}}])
    assert conv.tools == [grounding, lookup, system_tool(CODE)]
    conv.send("hello")
    tools = fake_bedrock.requests[-1].body["toolConfig"]["tools"]
    assert tools[0] == {"systemTool": {"name": "nova_grounding"}}
    assert list(tools[1]) == ["toolSpec"] and tools[1]["toolSpec"]["name"] == "lookup"
    assert tools[2] == {"systemTool": {"name": CODE}}


def test_a_server_tool_use_ends_the_turn_and_reaches_no_function(
    client: Any, fake_bedrock: FakeBedrock
) -> None:
    called = []

    @tool
    def nova_code_interpreter_local(code: str) -> str:
        """Never called: the service runs the system tool."""
        called.append(code)
        return code

    conv = client.create_conversation(tools=[system_tool(CODE), nova_code_interpreter_local])
    enqueue_answer(fake_bedrock)
    reply = conv.send("What is 2 + 2?")
    assert reply.stop_reason == "end_turn" and reply.text == "2 + 2 is 4."
    assert reply.content == ANSWER
    assert reply.tool_calls == [] and called == []
    assert reply.tool_uses == [CALL] and reply.tool_results == [RESULT]
    assert conv.messages == [user("What is 2 + 2?"), {"role": "assistant", "content": ANSWER}]
    assert len(fake_bedrock.requests) == 1
    with pytest.raises(ValueError, match="nothing to answer"):
        conv.send_tool_results({"tooluse_code1": "4"})
    # The next request sends both blocks back as they came (FakeBedrock checks the pairing).
    conv.send("Thanks")
    assert fake_bedrock.requests[-1].body["messages"][1]["content"] == ANSWER


def test_the_tool_loop_answers_only_the_conversations_own_calls(
    client: Any, fake_bedrock: FakeBedrock
) -> None:
    @tool
    def lookup(query: str) -> str:
        """Looks it up."""
        return f"found {query}"

    conv = client.create_conversation(tools=[system_tool(CODE), lookup])
    own = {"toolUse": {"toolUseId": "tooluse_own1", "name": "lookup", "input": {"query": "x"}}}
    fake_bedrock.enqueue_turn([*ANSWER[:2], own])
    fake_bedrock.enqueue_text("Done.")
    reply = conv.send("go")
    assert reply.text == "Done." and [r["toolUseId"] for r in reply.tool_results] == [
        "tooluse_code1",
        "tooluse_own1",
    ]
    answered = fake_bedrock.requests[-1].body["messages"][-1]["content"]
    assert answered == [
        {"toolResult": {"toolUseId": "tooluse_own1", "content": [{"text": "found x"}]}}
    ]


def test_the_default_model_calls_a_system_tool_the_user_names(
    client: Any, fake_bedrock: FakeBedrock
) -> None:
    conv = client.create_conversation(tools=[system_tool("nova_grounding"), system_tool(CODE)])
    reply = conv.send("Please use nova_grounding for the news")
    call, result, text, cited = reply.content
    assert call["toolUse"]["name"] == "nova_grounding"
    assert call["toolUse"]["type"] == "server_tool_use"
    assert call["toolUse"]["input"] == {"query": "Please use nova_grounding for the news"}
    assert result["toolResult"]["toolUseId"] == call["toolUse"]["toolUseId"]
    assert result["toolResult"]["type"] == "nova_grounding_result"
    assert result["toolResult"]["status"] == "success"
    assert text == {"text": "You said: Please use nova_grounding for the news"}
    assert reply.stop_reason == "end_turn"
    # Web grounding ends with a passage cited from the web page it found, as Nova's does.
    assert "citationsContent" in cited
    (citation,) = reply.citations
    assert citation.kind == "web" and citation.url and citation.domain
    assert citation.url.startswith(f"https://{citation.domain}/")
    assert reply.text.endswith(citation.text) and citation.quote == citation.text
    # ... and the history sends the cited block back as it came
    conv.send("thanks")
    assert fake_bedrock.requests[-1].body["messages"][1]["content"][3] == cited
    assert conv.send("no tool this time").content == [{"text": "You said: no tool this time"}]
    plain = client.create_conversation()  # (a tool not offered is not called)
    assert plain.send(f"use {CODE}").content == [{"text": f"You said: use {CODE}"}]


def test_streams_yield_the_call_and_its_result_as_typed_events(
    client: Any, fake_bedrock: FakeBedrock
) -> None:
    conv = client.create_conversation(tools=[system_tool(CODE)])
    enqueue_answer(fake_bedrock)
    stream = conv.stream("What is 2 + 2?")
    events = list(stream)
    (start,) = [e for e in events if isinstance(e, ToolUseStart)]
    assert (start.name, start.type, start.index) == (CODE, "server_tool_use", 0)
    (result_start,) = [e for e in events if isinstance(e, ToolResultStart)]
    assert result_start.tool_use_id == "tooluse_code1" and result_start.index == 1
    assert (result_start.type, result_start.status) == (RESULT["type"], "success")
    (delta,) = [e for e in events if isinstance(e, ToolResultDelta)]
    assert delta.content == RESULT["content"] and delta.text == RESULT["content"][0]["text"]
    assert "ToolResultStart(tool_use_id='tooluse_code1'" in repr(result_start)
    assert stream.reply.content == ANSWER and stream.reply.stop_reason == "end_turn"
    assert conv.messages[-1] == {"role": "assistant", "content": ANSWER}
    # The events' dicts are boto3's, event for event.
    enqueue_answer(fake_bedrock)
    theirs = list(
        boto3_client(fake_bedrock).converse_stream(
            modelId="m",
            messages=[user("What is 2 + 2?")],
            toolConfig={"tools": [{"systemTool": {"name": CODE}}]},
        )["stream"]
    )
    assert [e.to_dict() for e in events] == theirs
    assert theirs[1]["contentBlockStart"]["start"]["toolUse"]["type"] == "server_tool_use"
    assert theirs[4]["contentBlockStart"]["start"] == {
        "toolResult": {"toolUseId": "tooluse_code1", "type": RESULT["type"], "status": "success"}
    }
    assert theirs[5]["contentBlockDelta"]["delta"] == {"toolResult": RESULT["content"]}


def test_async_sends_and_streams_the_same(client: Any, fake_bedrock: FakeBedrock) -> None:
    async def main() -> tuple[Any, Any]:
        conv = client.create_conversation(tools=[system_tool(CODE)])
        enqueue_answer(fake_bedrock)
        sent = await conv.send_async("What is 2 + 2?")
        enqueue_answer(fake_bedrock, chunks=2)
        stream = conv.stream("Again?")
        async for _ in stream:
            pass
        return sent, stream.reply

    sent, streamed = asyncio.run(main())
    assert sent.content == streamed.content == ANSWER


def test_fake_bedrock_checks_system_tools_as_ours(fake_bedrock: FakeBedrock, bedrock: Any) -> None:
    with pytest.raises(ClientError, match=r"The system tool web_search at toolConfig\.tools\.0"):
        bedrock.converse(
            modelId="m",
            messages=[user("hi")],
            toolConfig={"tools": [{"systemTool": {"name": "web_search"}}]},
        )
    config = {"tools": [{"systemTool": {"name": CODE}}]}
    lone_call = [user("hi"), {"role": "assistant", "content": [ANSWER[0]]}, user("and?")]
    with pytest.raises(ClientError, match="has no toolResult block in the same message"):
        bedrock.converse(modelId="m", messages=lone_call, toolConfig=config)
    whole = [user("hi"), {"role": "assistant", "content": ANSWER}, user("and?")]
    assert bedrock.converse(modelId="m", messages=whole, toolConfig=config)["stopReason"]
    with pytest.raises(ClientError, match="toolConfig field must be defined"):
        bedrock.converse(modelId="m", messages=whole)


def test_the_boto3_layer_sends_and_parses_what_boto3_does(fake_bedrock: FakeBedrock) -> None:
    request: dict[str, Any] = {
        "modelId": "m",
        "messages": [user("hi"), {"role": "assistant", "content": ANSWER}, user("more")],
        "toolConfig": {"tools": [{"systemTool": {"name": CODE}}]},
    }
    enqueue_answer(fake_bedrock)
    theirs = boto3_client(fake_bedrock).converse(**request)
    sent_by_boto3 = fake_bedrock.requests[-1].body
    enqueue_answer(fake_bedrock)
    ours = fc_client(fake_bedrock, max_attempts=1).converse(**request)
    assert fake_bedrock.requests[-1].body == sent_by_boto3
    assert sent_by_boto3["messages"][1]["content"] == ANSWER
    assert (
        ours["output"] == theirs["output"] == {"message": {"role": "assistant", "content": ANSWER}}
    )
    assert ours["stopReason"] == theirs["stopReason"] == "end_turn"
    enqueue_answer(fake_bedrock)
    client = fastconverse.client(
        "bedrock-runtime",
        endpoint_url=fake_bedrock.url,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
    )
    events = list(client.converse_stream(**request)["stream"])
    assert fake_bedrock.requests[-1].body == sent_by_boto3
    enqueue_answer(fake_bedrock)
    assert events == list(boto3_client(fake_bedrock).converse_stream(**request)["stream"])


def test_a_stored_conversation_keeps_them_and_its_system_tools(
    fake_bedrock: FakeBedrock, tmp_path: Any
) -> None:
    path = str(tmp_path / "conversations.db")
    writer = fc_client(fake_bedrock, store=SQLiteStore(path))
    conv = writer.create_conversation(tools=[system_tool(CODE)])
    enqueue_answer(fake_bedrock)
    conv.send("What is 2 + 2?")
    reader = fc_client(fake_bedrock, store=SQLiteStore(path))
    loaded = reader.get_conversation(conv.id)  # (no tools given: system tools are no code)
    assert loaded.messages == conv.messages
    assert loaded.messages[1] == {"role": "assistant", "content": ANSWER}
    assert loaded.tools == [system_tool(CODE)]
    loaded.send("Thanks")
    body = fake_bedrock.requests[-1].body
    assert body["toolConfig"] == {"tools": [{"systemTool": {"name": CODE}}]}
    assert body["messages"][1]["content"] == ANSWER

    @tool
    def lookup(query: str) -> str:
        """Looks it up."""
        return query

    again = fc_client(fake_bedrock, store=SQLiteStore(path)).get_conversation(
        conv.id, tools=[lookup]
    )
    assert again.tools == [lookup, system_tool(CODE)]


def test_the_tutorials_send_message_with_tools_takes_them_too(
    client: Any, fake_bedrock: FakeBedrock
) -> None:
    handled = []
    conv = client.create_conversation()
    out = client.send_message_with_tools(
        conv.id,
        f"use {CODE} please",
        tools=[{"systemTool": {"name": CODE}}],
        tool_handler=lambda name, args: handled.append(name),
    )
    assert out["tool_calls"] == [] and handled == []
    assert out["message"].endswith(f"You said: use {CODE} please")
    assert conv.tools == [system_tool(CODE)]


def test_a_json_result_streams_and_assembles_as_it_came(
    client: Any, fake_bedrock: FakeBedrock
) -> None:
    conv = client.create_conversation(tools=[system_tool("nova_grounding")])
    found = {"results": [{"url": "https://example.com", "title": "Example"}]}
    fake_bedrock.enqueue_system_tool_use("nova_grounding", {"query": "news"}, found, text="Hi.")
    stream = conv.stream("news?")
    (delta,) = [e for e in stream if isinstance(e, ToolResultDelta)]
    assert delta.content == [{"json": found}] and delta.text == ""
    result = stream.reply.content[1]["toolResult"]
    assert result["content"] == [{"json": found}]
    assert result["type"] == "nova_grounding_result"
    with pytest.raises(ValueError, match=r"content\[1\]\['toolResult'\]\['status'\]"):
        fake_bedrock.enqueue_system_tool_use("nova_grounding", {}, "x", status="done")  # type: ignore[arg-type]


def test_a_before_request_hook_sees_and_sends_them_as_they_are(
    client: Any, fake_bedrock: FakeBedrock
) -> None:
    seen: list[Any] = []

    class Watch:
        def before_request(self, request: Any) -> None:
            seen.append((request.tool_config, request.messages))

    conv = client.create_conversation(tools=[system_tool(CODE)], hooks=[Watch()])
    enqueue_answer(fake_bedrock)
    conv.send("What is 2 + 2?")
    conv.send("Thanks")
    tool_config, messages = seen[-1]
    assert tool_config == {"tools": [{"systemTool": {"name": CODE}}]}
    assert messages[1] == {"role": "assistant", "content": ANSWER}
    assert fake_bedrock.requests[-1].body["messages"][1]["content"] == ANSWER
