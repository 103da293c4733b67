"""Structured output (``send(..., output=Model)``) and a turn's own model and response
fields, through the public API against FakeBedrock."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import pytest
from conftest import fc_client
from fastconverse import errors, tool
from fastconverse.testing import FakeBedrock
from pydantic import BaseModel, Field
from typing_extensions import TypedDict


class Weather(BaseModel):
    """A weather report."""

    city: str
    celsius: int = Field(ge=-90, le=60)


@dataclasses.dataclass
class Person:
    name: str
    age: int


class Movie(TypedDict):
    title: str
    year: int


def test_the_default_model_fills_a_pydantic_model(fake_bedrock: FakeBedrock) -> None:
    conv = fc_client(fake_bedrock).create_conversation()
    reply = conv.send("Weather in Oslo?", output=Weather)
    assert isinstance(reply.output, Weather)
    assert json.loads(reply.text) == reply.output.model_dump()
    body = fake_bedrock.requests[0].body
    assert body["toolConfig"]["toolChoice"] == {"tool": {"name": "Weather"}}
    (spec,) = body["toolConfig"]["tools"]
    assert spec["toolSpec"]["inputSchema"]["json"]["required"] == ["city", "celsius"]
    assert spec["toolSpec"]["description"] == "A weather report."
    # The history keeps the user's message and the value as text: later turns need no tools.
    assert conv.messages == [
        {"role": "user", "content": [{"text": "Weather in Oslo?"}]},
        {"role": "assistant", "content": [{"text": reply.text}]},
    ]
    assert conv.send("thanks").text == "You said: thanks"
    assert "toolConfig" not in fake_bedrock.requests[1].body


@pytest.mark.parametrize("kind", [Person, Movie])
def test_dataclasses_and_typed_dicts_work_too(fake_bedrock: FakeBedrock, kind: Any) -> None:
    fields = {"Person": {"name": "Ada", "age": 36}, "Movie": {"title": "Heat", "year": 1995}}
    fake_bedrock.enqueue_tool_use(kind.__name__, fields[kind.__name__])
    reply = fc_client(fake_bedrock).create_conversation().send("who?", output=kind)
    expected = kind(**fields[kind.__name__])
    assert reply.output == expected


def test_an_invalid_output_is_fed_back_once_and_the_correction_is_taken(
    fake_bedrock: FakeBedrock,
) -> None:
    fake_bedrock.enqueue_tool_use("Weather", {"city": "Oslo", "celsius": 500}, tool_use_id="t1")
    fake_bedrock.enqueue_tool_use("Weather", {"city": "Oslo", "celsius": 4}, tool_use_id="t2")
    conv = fc_client(fake_bedrock).create_conversation()
    reply = conv.send("Weather in Oslo?", output=Weather)
    assert reply.output == Weather(city="Oslo", celsius=4)
    second = fake_bedrock.requests[1].body
    result = second["messages"][-1]["content"][0]["toolResult"]
    assert result["toolUseId"] == "t1" and result["status"] == "error"
    assert "celsius" in result["content"][0]["text"]
    assert second["toolConfig"]["toolChoice"] == {"tool": {"name": "Weather"}}
    assert [m["role"] for m in conv.messages] == ["user", "assistant"]


def test_a_second_invalid_output_raises_and_keeps_nothing(fake_bedrock: FakeBedrock) -> None:
    conv = fc_client(fake_bedrock).create_conversation()
    conv.send("hello")
    before = conv.messages
    for celsius in (500, 400):
        fake_bedrock.enqueue_tool_use("Weather", {"city": "Oslo", "celsius": celsius})
    with pytest.raises(errors.StructuredOutputError) as e:
        conv.send("Weather in Oslo?", output=Weather)
    assert json.loads(e.value.raw) == {"city": "Oslo", "celsius": 400}
    assert e.value.errors[0]["loc"] == ("celsius",)
    assert conv.messages == before
    assert conv.send("still fine?").text == "You said: still fine?"


def test_structured_output_async_and_beside_the_conversations_tools(
    fake_bedrock: FakeBedrock,
) -> None:
    @tool
    def lookup(city: str) -> str:
        """Looks a city up."""
        return "found"

    conv = fc_client(fake_bedrock).create_conversation(tools=[lookup])
    reply = asyncio.run(conv.send_async("Weather?", output=Weather))
    assert isinstance(reply.output, Weather)
    names = [t["toolSpec"]["name"] for t in fake_bedrock.requests[0].body["toolConfig"]["tools"]]
    assert names == ["lookup", "Weather"]
    assert conv.send("and now?").text == "You said: and now?"
    later = fake_bedrock.requests[-1].body["toolConfig"]["tools"]
    assert [t["toolSpec"]["name"] for t in later] == ["lookup"]


def test_an_output_that_is_not_a_type_is_refused_before_any_request(
    fake_bedrock: FakeBedrock,
) -> None:
    conv = fc_client(fake_bedrock).create_conversation()
    with pytest.raises(TypeError, match="output: expected a pydantic model"):
        conv.send("x", output="Weather")
    with pytest.raises(TypeError, match="output: 'int' is not an object type"):
        conv.send("x", output=int)
    assert fake_bedrock.requests == []


def test_a_turn_may_use_its_own_model_and_response_fields(fake_bedrock: FakeBedrock) -> None:
    conv = fc_client(fake_bedrock).create_conversation()
    profile = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.x-v1:0"
    reply = conv.send("hi", model_id=profile, additional_model_response_field_paths=["/stop"])
    assert reply.model_id == profile
    conv.send("again")
    first, second = fake_bedrock.requests
    assert first.model_id == profile and second.model_id == "m"
    assert first.body["additionalModelResponseFieldPaths"] == ["/stop"]
    assert "additionalModelResponseFieldPaths" not in second.body
    assert conv.model_id == "m"
    with pytest.raises(ValueError, match="model_id: must not be empty"):
        conv.send("x", model_id=" ")
    with pytest.raises(ValueError, match=r"additional_model_response_field_paths\[0\]"):
        conv.send("x", additional_model_response_field_paths=[3])  # type: ignore[list-item]


def test_a_text_answer_after_a_failed_attempt_fails_the_turn_and_keeps_nothing(
    fake_bedrock: FakeBedrock,
) -> None:
    conv = fc_client(fake_bedrock).create_conversation()
    fake_bedrock.enqueue_tool_use("Weather", {"city": "Oslo", "celsius": 500})
    fake_bedrock.enqueue_text("I cannot do that.")
    with pytest.raises(errors.StructuredOutputError, match="without calling Weather") as e:
        conv.send("Weather?", output=Weather)
    assert e.value.reply.text == "I cannot do that."
    assert conv.messages == []
    assert conv.send("thanks").text == "You said: thanks"


def test_a_guardrail_stopping_an_output_turn_fails_it(fake_bedrock: FakeBedrock) -> None:
    conv = fc_client(fake_bedrock).create_conversation(
        guardrail_config={"guardrailIdentifier": "g", "guardrailVersion": "1"}
    )
    fake_bedrock.enqueue_guardrail_intervention("Blocked.")
    with pytest.raises(errors.StructuredOutputError) as e:
        conv.send("Weather?", output=Weather)
    assert e.value.reply.stop_reason == "guardrail_intervened"
    assert conv.messages == []


def test_the_output_is_found_among_other_calls(fake_bedrock: FakeBedrock) -> None:
    @tool
    def lookup(city: str) -> str:
        """Looks a city up."""
        return "found"

    conv = fc_client(fake_bedrock).create_conversation(tools=[lookup])
    good = {"city": "Oslo", "celsius": 3}
    fake_bedrock.enqueue_tool_uses([("lookup", {"city": "Oslo"}), ("Weather", good)])
    reply = conv.send("Weather?", output=Weather)
    assert reply.output == Weather(**good)
    assert reply.stop_reason == "end_turn"
    assert json.loads(reply.text) == good
    assert list(json.loads(reply.text)) == ["city", "celsius"]  # the type's field order


def test_feedback_to_the_model_names_the_field_without_links(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_tool_use("Weather", {"city": "Oslo", "celsius": 500})
    fc_client(fake_bedrock).create_conversation().send("Weather?", output=Weather)
    result = fake_bedrock.requests[1].body["messages"][-1]["content"][0]["toolResult"]
    text = result["content"][0]["text"]
    assert text.startswith("Invalid input for Weather: celsius: Input should be less than")
    assert "http" not in text


def test_structured_output_while_thinking_is_refused_before_any_request(
    fake_bedrock: FakeBedrock,
) -> None:
    thinking = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    conv = fc_client(fake_bedrock).create_conversation(additional_model_request_fields=thinking)
    with pytest.raises(
        ValueError, match="output: a structured output by a tool makes the model call"
    ):
        conv.send("x", output=Weather)
    off = {"thinking": {"type": "disabled"}}
    reply = conv.send("Weather?", output=Weather, additional_model_request_fields=off)
    assert isinstance(reply.output, Weather)
    assert fake_bedrock.requests[0].body["additionalModelRequestFields"] == off


def test_cancelling_while_the_correction_is_under_way_keeps_nothing(
    fake_bedrock: FakeBedrock,
) -> None:
    conv = fc_client(fake_bedrock).create_conversation()
    fake_bedrock.enqueue_tool_use("Weather", {"city": "Oslo", "celsius": 500})
    fake_bedrock.enqueue_tool_use("Weather", {"city": "Oslo", "celsius": 4}, first_byte_delay=30)

    async def main() -> None:
        task = asyncio.ensure_future(conv.send_async("Weather?", output=Weather))
        while len(fake_bedrock.requests) < 2:  # the correction request went out
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert conv.messages == [] and not conv.busy
    assert conv.send("after").text == "You said: after"
