"""The reference tutorial's conversation-id API, called the way the tutorial calls it:
ids from ``create_conversation``, ``send_message``, streaming, function tools with a
handler or answered later, details, listing and deleting, in memory and in a store."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import fc_client
from fastconverse import Store
from fastconverse.errors import PendingToolCallsError
from fastconverse.testing import FakeBedrock

WEATHER_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather for a location",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {"type": "string", "description": "The city"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["location"],
            },
        },
    }
]


@pytest.fixture(params=["memory", "sqlite"])
def client(request: pytest.FixtureRequest, fake_bedrock: FakeBedrock, tmp_path: Any) -> Any:
    store = None if request.param == "memory" else str(tmp_path / "c.db")
    return fc_client(fake_bedrock, store=store)


def test_a_chat_by_id(client: Any) -> None:
    conversation_id = client.create_conversation(system_prompt="You are helpful.")
    assert f"Started new conversation: {conversation_id}" == (
        f"Started new conversation: {conversation_id.id}"
    )
    assert client.send_message(conversation_id, "Hello") == "You said: Hello"
    assert client.send_message(conversation_id.id, "Again") == "You said: Again"
    chunks = list(client.send_message_streaming(str(conversation_id), "Tell me more"))
    assert len(chunks) > 1 and "".join(chunks) == "You said: Tell me more"
    details = client.get_conversation_details(conversation_id)
    assert details["conversationId"] == conversation_id.id
    assert details["systemPrompt"] == "You are helpful."
    assert len(details["messages"]) == 6 and details["modelId"] == "m"
    listed = client.list_conversations(max_results=20)
    assert [c["conversationId"] for c in listed] == [conversation_id.id]
    assert listed[0]["messageCount"] == 6
    assert client.delete_conversation(conversation_id) is True
    with pytest.raises(KeyError):
        client.get_conversation_details(conversation_id.id)


def test_function_tools_with_a_handler(client: Any, fake_bedrock: FakeBedrock) -> None:
    conv = client.create_conversation(system_prompt="You are a weather assistant.")
    seen: list[tuple[str, dict[str, Any]]] = []

    def handler(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        seen.append((name, arguments))
        return {"location": arguments["location"], "temperature": 22, "condition": "sunny"}

    fake_bedrock.enqueue_tool_use("get_weather", {"location": "Paris"})
    fake_bedrock.enqueue_text("It is sunny in Paris.")
    response = client.send_message_with_tools(
        conv.id, "Weather in Paris?", tools=WEATHER_TOOLS, tool_handler=handler
    )
    assert response["message"] == "It is sunny in Paris." and response["tool_calls"] == []
    assert seen == [("get_weather", {"location": "Paris"})]
    first = fake_bedrock.requests[-2].body
    spec = first["toolConfig"]["tools"][0]["toolSpec"]
    assert spec["name"] == "get_weather" and spec["inputSchema"]["json"]["required"] == ["location"]
    # the tools stay: a plain message later still sends the toolConfig its history needs
    assert client.send_message(conv.id, "Thanks") == "You said: Thanks"
    assert "toolConfig" in fake_bedrock.requests[-1].body


def test_function_tools_answered_later(client: Any, fake_bedrock: FakeBedrock) -> None:
    conv = client.create_conversation()
    fake_bedrock.enqueue_tool_use("get_weather", {"location": "Oslo", "unit": "celsius"})
    response = client.send_message_with_tools(conv, "Weather in Oslo?", tools=WEATHER_TOOLS)
    (call,) = response["tool_calls"]
    assert call["type"] == "function" and call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"location": "Oslo", "unit": "celsius"}
    with pytest.raises(PendingToolCallsError):
        client.send_message(conv.id, "never mind")
    fake_bedrock.enqueue_text("Cold in Oslo.")
    results = [
        {
            "tool_call_id": call["function"]["tool_call_id"],
            "function_response": json.dumps({"temperature": -3}),
        }
    ]
    final = client.send_tool_results(conv.id, results)
    assert final["message"] == "Cold in Oslo." and final["tool_calls"] == []
    sent = fake_bedrock.requests[-1].body["messages"][-1]["content"][0]["toolResult"]
    assert sent["content"][0]["text"] == '{"temperature": -3}'
    with pytest.raises(TypeError, match="tool_call_id"):
        client.send_tool_results(conv.id, [{"id": "x"}])


def test_a_stored_tool_conversation_continues_in_another_worker(
    fake_bedrock: FakeBedrock, store_at: Callable[..., Store]
) -> None:
    one = fc_client(fake_bedrock, store=store_at())
    conv = one.create_conversation()
    fake_bedrock.enqueue_tool_use("get_weather", {"location": "Rome"})
    fake_bedrock.enqueue_text("Sunny.")
    one.send_message_with_tools(conv.id, "Rome?", WEATHER_TOOLS, lambda n, a: "sunny")
    two = fc_client(fake_bedrock, store=store_at())
    with pytest.raises(ValueError, match="get_weather"):
        two.send_message(conv.id, "And tomorrow?")  # its tools are code: given again
    fake_bedrock.enqueue_text("Rain tomorrow.")
    response = two.send_message_with_tools(conv.id, "And tomorrow?", WEATHER_TOOLS)
    assert response["message"] == "Rain tomorrow."
    assert two.get_conversation_details(conv.id)["version"] == 3
