"""Strict tool use (issue 26): ``@tool(strict=True)`` sends Bedrock's ``toolSpec.strict`` with a
schema whose objects take no other properties, as strict mode wants; the boto3 layer sends
``strict`` as boto3 does."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest
from conftest import boto3_client, fc_boto3, fc_client, user
from fastconverse import tool
from fastconverse.testing import FakeBedrock


class Address(pydantic.BaseModel):
    city: str
    zip_code: str


def objects(schema: Any) -> list[dict[str, Any]]:
    """Every object schema in ``schema``, ``$defs`` included."""
    found = []
    if isinstance(schema, dict):
        if schema.get("type") == "object" or "properties" in schema:
            found.append(schema)
        for value in schema.values():
            found.extend(objects(value))
    elif isinstance(schema, list):
        for value in schema:
            found.extend(objects(value))
    return found


def test_a_strict_tool_sends_strict_and_a_closed_schema(fake_bedrock: FakeBedrock) -> None:
    @tool(strict=True)
    def ship(to: Address, express: bool = False) -> str:
        """Ships the order."""
        return f"shipped to {to.city}"

    @tool
    def track(order_id: str, to: Address) -> str:
        """Tracks an order."""
        return "on its way"

    conv = fc_client(fake_bedrock).create_conversation(tools=[ship, track])
    fake_bedrock.enqueue_tool_use("ship", {"to": {"city": "Lyon", "zip_code": "69001"}})
    fake_bedrock.enqueue_text("Shipped.")
    conv.send("Ship it to Lyon")
    specs = {
        t["toolSpec"]["name"]: t["toolSpec"]
        for t in fake_bedrock.requests[0].body["toolConfig"]["tools"]
    }
    assert specs["ship"]["strict"] is True
    closed = objects(specs["ship"]["inputSchema"]["json"])
    assert len(closed) == 2  # (the input, and the Address inside it)
    assert all(o["additionalProperties"] is False for o in closed)
    # A tool that did not ask for it is sent as before: its nested objects stay open.
    assert "strict" not in specs["track"]
    opened = [o for o in objects(specs["track"]["inputSchema"]["json"]) if "zip_code" in str(o)]
    assert opened and all(o.get("additionalProperties") is not False for o in opened[-1:])
    assert ship.to_dict()["toolSpec"]["strict"] is True
    assert conv.tool_metrics["ship"].calls == 1


def test_strict_must_be_a_bool() -> None:
    with pytest.raises(TypeError, match="strict: expected a bool, got str"):

        @tool(strict="yes")  # type: ignore[call-overload]
        def f(x: int) -> int:
            """F."""
            return x


def test_the_boto3_layer_sends_strict_as_boto3_does(fake_bedrock: FakeBedrock) -> None:
    request = {
        "modelId": "m",
        "messages": [user("hi")],
        "toolConfig": {
            "tools": [
                {
                    "toolSpec": {
                        "name": "ship",
                        "inputSchema": {
                            "json": {
                                "type": "object",
                                "properties": {"city": {"type": "string"}},
                                "additionalProperties": False,
                            }
                        },
                        "strict": True,
                    }
                }
            ]
        },
    }
    boto3_client(fake_bedrock).converse(**request)
    theirs = fake_bedrock.requests[-1].body
    fc_boto3(fake_bedrock).converse(**request)
    assert fake_bedrock.requests[-1].body == theirs
    assert theirs["toolConfig"]["tools"][0]["toolSpec"]["strict"] is True
