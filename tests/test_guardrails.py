"""Guardrails on conversations: the configuration travels with every request, a stopped
turn surfaces with its trace, and a blocked user message is not sent again (it would be
blocked again, every turn)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import boto3_client, fc_client, user
from fastconverse import SQLiteStore, guard_content
from fastconverse.testing import FakeBedrock

GUARD = {"guardrailIdentifier": "gr-123", "guardrailVersion": "1", "trace": "enabled"}
PLACEHOLDER = "[This message was blocked by a guardrail and is not kept.]"


def test_a_blocked_input_surfaces_with_its_trace_and_is_not_sent_again(
    fake_bedrock: FakeBedrock,
) -> None:
    conv = fc_client(fake_bedrock).create_conversation(guardrail_config=GUARD)
    fake_bedrock.enqueue_guardrail_intervention("I can't discuss that.", guardrail_id="gr-123")
    reply = conv.send("tell me about the forbidden topic")
    assert reply.stop_reason == "guardrail_intervened"
    assert reply.text == "I can't discuss that."
    topics = reply.trace["guardrail"]["inputAssessment"]["gr-123"]["topicPolicy"]["topics"]
    assert topics == [
        {"name": "Forbidden topic", "type": "DENY", "action": "BLOCKED", "detected": True}
    ]
    assert conv.messages == [
        {"role": "user", "content": [{"text": PLACEHOLDER}]},
        {"role": "assistant", "content": [{"text": "I can't discuss that."}]},
    ]
    assert conv.send("what about the weather?").text == "You said: what about the weather?"
    first, second = (r.body for r in fake_bedrock.requests)
    assert first["guardrailConfig"] == GUARD
    assert second["guardrailConfig"] == GUARD
    assert "forbidden" not in str(second["messages"])


def test_a_blocked_answer_keeps_the_users_message(fake_bedrock: FakeBedrock) -> None:
    conv = fc_client(fake_bedrock).create_conversation(guardrail_config=GUARD)
    fake_bedrock.enqueue_guardrail_intervention("Withheld.", blocked="output")
    reply = conv.send("an innocent question")
    assert reply.stop_reason == "guardrail_intervened"
    assert "outputAssessments" in reply.trace["guardrail"]
    assert conv.messages[0] == user("an innocent question")


def test_without_a_trace_a_stopped_turn_redacts_the_input(fake_bedrock: FakeBedrock) -> None:
    config = {"guardrailIdentifier": "gr-123", "guardrailVersion": "DRAFT"}
    conv = fc_client(fake_bedrock).create_conversation(guardrail_config=config)
    fake_bedrock.enqueue_guardrail_intervention(blocked="output")
    reply = conv.send("something")
    assert reply.trace is None  # the request did not ask for one
    assert conv.messages[0] == {"role": "user", "content": [{"text": PLACEHOLDER}]}


def test_streamed_turns_carry_the_stream_config_and_the_trace(fake_bedrock: FakeBedrock) -> None:
    config = {**GUARD, "streamProcessingMode": "async"}
    conv = fc_client(fake_bedrock).create_conversation(guardrail_config=config)
    fake_bedrock.enqueue_guardrail_intervention("No.")
    stream = conv.stream("forbidden")
    text = "".join(getattr(e, "text", "") for e in stream)
    reply = stream.reply
    assert text == "No." and reply.stop_reason == "guardrail_intervened"
    assert reply.trace is not None and "inputAssessment" in reply.trace["guardrail"]
    assert fake_bedrock.requests[0].body["guardrailConfig"] == config
    assert conv.messages[0]["content"] == [{"text": PLACEHOLDER}]


def test_our_trace_is_the_dict_boto3_gives(fake_bedrock: FakeBedrock) -> None:
    trace = {
        "guardrail": {
            "modelOutput": ["x"],
            "inputAssessment": {
                "gr-123": {
                    "contentPolicy": {
                        "filters": [
                            {
                                "type": "VIOLENCE",
                                "confidence": "HIGH",
                                "filterStrength": "HIGH",
                                "action": "BLOCKED",
                                "detected": True,
                            }
                        ]
                    },
                    "wordPolicy": {
                        "customWords": [{"match": "darn", "action": "BLOCKED"}],
                        "managedWordLists": [],
                    },
                    "sensitiveInformationPolicy": {
                        "piiEntities": [
                            {"match": "a@b.c", "type": "EMAIL", "action": "ANONYMIZED"}
                        ],
                        "regexes": [
                            {"name": "id", "match": "42", "regex": "\\d+", "action": "NONE"}
                        ],
                    },
                    "invocationMetrics": {"guardrailProcessingLatency": 12},
                }
            },
            "actionReason": "Guardrail blocked.",
        }
    }
    theirs = boto3_client(fake_bedrock)
    fake_bedrock.enqueue_turn([{"text": "no"}], trace=trace, stop_reason="guardrail_intervened")
    boto = theirs.converse(modelId="m", messages=[user("hi")], guardrailConfig=GUARD)["trace"]
    conv = fc_client(fake_bedrock).create_conversation(guardrail_config=GUARD)
    fake_bedrock.enqueue_turn([{"text": "no"}], trace=trace, stop_reason="guardrail_intervened")
    assert conv.send("hi").trace == boto == trace


def test_guard_content_marks_what_the_guardrail_judges(fake_bedrock: FakeBedrock) -> None:
    conv = fc_client(fake_bedrock).create_conversation(guardrail_config=GUARD)
    conv.send([guard_content("Is this allowed?", qualifiers=["query"]), "Context: none."])
    sent = fake_bedrock.requests[0].body["messages"][0]["content"]
    assert sent[0] == {
        "guardContent": {"text": {"text": "Is this allowed?", "qualifiers": ["query"]}}
    }


def test_the_clients_guardrail_is_the_default_and_a_conversation_may_override_it(
    fake_bedrock: FakeBedrock,
) -> None:
    client = fc_client(fake_bedrock, guardrail_config=GUARD)
    client.create_conversation().send("a")
    other = {"guardrailIdentifier": "gr-9", "guardrailVersion": "2"}
    client.create_conversation(guardrail_config=other).send("b")
    sent = [r.body["guardrailConfig"] for r in fake_bedrock.requests]
    assert sent[0] == GUARD
    # (the Rust SDK sends the default trace setting, "disabled", when none is given)
    assert sent[1] == {**other, "trace": "disabled"}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"guardrailVersion": "1"}, "guardrail_config.guardrailIdentifier"),
        ({**GUARD, "trace": "on"}, "guardrail_config.trace: expected 'enabled'"),
        ({**GUARD, "colour": "red"}, "colour"),
        ({**GUARD, "streamProcessingMode": "later"}, "guardrail_config.streamProcessingMode"),
    ],
)
def test_a_bad_guardrail_config_is_refused_naming_the_key(
    fake_bedrock: FakeBedrock, config: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        fc_client(fake_bedrock).create_conversation(guardrail_config=config)
    assert fake_bedrock.requests == []


def test_a_stored_conversation_keeps_its_guardrail(
    fake_bedrock: FakeBedrock, tmp_path: Path
) -> None:
    path = tmp_path / "c.db"
    conv = fc_client(fake_bedrock, store=SQLiteStore(path)).create_conversation(
        guardrail_config=GUARD
    )
    conv.send("one")
    again = fc_client(fake_bedrock, store=SQLiteStore(path)).get_conversation(conv.id)
    again.send("two")
    assert fake_bedrock.requests[-1].body["guardrailConfig"] == GUARD


def test_the_boto3_layer_checks_guardrail_config_the_same_way(fake_bedrock: FakeBedrock) -> None:
    client = fc_client(fake_bedrock)
    with pytest.raises(ValueError, match=r"guardrailConfig\.trace: expected 'enabled'"):
        client.converse(messages=[user("hi")], guardrailConfig={**GUARD, "trace": "yes"})
    with pytest.raises(ValueError, match="streamProcessingMode: only converse_stream takes it"):
        client.converse(
            messages=[user("hi")], guardrailConfig={**GUARD, "streamProcessingMode": "sync"}
        )
    fake_bedrock.enqueue_guardrail_intervention("No.", guardrail_id="gr-123")
    out = client.converse(messages=[user("hi")], guardrailConfig=GUARD)
    assert out["stopReason"] == "guardrail_intervened"
    assert "inputAssessment" in out["trace"]["guardrail"]
    assert fake_bedrock.requests[-1].body["guardrailConfig"] == GUARD
