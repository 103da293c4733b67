"""One builder for stream events: a typed event's ``to_dict()`` is exactly the event the
boto3-shaped stream yields for the same bytes (trace, reasoning and tool input included)."""

from __future__ import annotations

from typing import Any

import fastconverse as fc
import pytest
from conftest import fc_client
from fastconverse.testing import FakeBedrock

GUARDRAIL = {"guardrailIdentifier": "gr-1", "guardrailVersion": "1", "trace": "enabled"}
TRACE = {"guardrail": {"inputAssessment": {"gr-1": {"topicPolicy": {"topics": []}}}}}


def script(fake: FakeBedrock, kind: str) -> None:
    if kind == "text":
        fake.enqueue_text("Hello there, traveller", chunks=3, trace=TRACE)
    elif kind == "reasoning":
        fake.enqueue_text("437", reasoning="19 * 23 = 437", reasoning_signature="sig-1")
    else:
        fake.enqueue_tool_use(
            "lookup", {"city": "Oslo", "days": [1, 2]}, tool_use_id="t1", text="Checking"
        )


@pytest.mark.parametrize("kind", ["text", "reasoning", "tool"])
def test_typed_events_give_the_dict_streams_events(fake_bedrock: FakeBedrock, kind: str) -> None:
    client = fc_client(fake_bedrock)
    messages = [{"role": "user", "content": [{"text": "Hi"}]}]
    script(fake_bedrock, kind)
    dicts = list(
        client.converse_stream(modelId="m", messages=messages, guardrailConfig=GUARDRAIL)["stream"]
    )
    lookup = fc.Tool({"name": "lookup", "description": "Look up.", "inputSchema": {"json": {}}})
    conv = client.create_conversation(
        guardrail_config=GUARDRAIL, tools=[lookup] if kind == "tool" else None
    )
    script(fake_bedrock, kind)
    typed: list[Any] = list(conv.stream("Hi"))
    as_dicts = [e.to_dict() for e in typed]
    # (the conversation's request also carries its tools: its input tokens differ)
    for d in (as_dicts[-1], dicts[-1]):
        d["metadata"].pop("usage")
    assert as_dicts == dicts
    metadata = typed[-1]
    assert isinstance(metadata, fc.Metadata)
    assert metadata.trace == (dicts[-1]["metadata"].get("trace"))
    if kind == "text":
        assert metadata.trace is not None and "guardrail" in metadata.trace
