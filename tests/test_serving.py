"""Service tiers, latency and request metadata (issue 26): one argument each on the client,
the conversation and the turn, checked before any request, sent as Bedrock's top-level
``serviceTier`` / ``performanceConfig`` / ``requestMetadata``, echoed on the reply and in
stream metadata, kept by stores, and identical on the wire to boto3 in the boto3 layer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import botocore.exceptions
import pytest
from conftest import boto3_client, fc_boto3, fc_client, user
from fastconverse import Metadata, Store
from fastconverse.testing import FakeBedrock

SERVING_KEYS = ("serviceTier", "performanceConfig", "requestMetadata")


def serving_sent(fake: FakeBedrock) -> dict[str, Any]:
    body = fake.requests[-1].body
    return {k: body[k] for k in SERVING_KEYS if k in body}


def test_the_client_the_conversation_and_the_turn_each_set_them(
    fake_bedrock: FakeBedrock,
) -> None:
    client = fc_client(
        fake_bedrock, service_tier="flex", request_metadata={"team": "support", "env": "test"}
    )
    conv = client.create_conversation(performance_config={"latency": "optimized"})
    assert (conv.service_tier, conv.performance_config, conv.request_metadata) == (
        "flex",
        {"latency": "optimized"},
        {"env": "test", "team": "support"},
    )
    reply = conv.send("hi")
    assert serving_sent(fake_bedrock) == {
        "serviceTier": {"type": "flex"},
        "performanceConfig": {"latency": "optimized"},
        "requestMetadata": {"env": "test", "team": "support"},
    }
    # Not in additionalModelRequestFields, where Bedrock would ignore them.
    assert "additionalModelRequestFields" not in fake_bedrock.requests[-1].body
    assert reply.service_tier == "flex"
    assert reply.performance_config == {"latency": "optimized"}
    assert reply.to_dict()["serviceTier"] == {"type": "flex"}

    reply = conv.send("urgent", service_tier="priority", request_metadata={"ticket": "T-1"})
    assert serving_sent(fake_bedrock) == {
        "serviceTier": {"type": "priority"},
        "performanceConfig": {"latency": "optimized"},
        # (a turn's pairs join the conversation's; a key it gives wins)
        "requestMetadata": {"env": "test", "team": "support", "ticket": "T-1"},
    }
    assert reply.service_tier == "priority" and conv.service_tier == "flex"

    stream = conv.stream("streamed", service_tier="default")
    tiers = [e.service_tier for e in stream if isinstance(e, Metadata)]
    assert tiers == ["default"] and stream.reply.service_tier == "default"
    reply = asyncio.run(conv.send_async("async", performance_config={"latency": "standard"}))
    assert serving_sent(fake_bedrock)["performanceConfig"] == {"latency": "standard"}
    assert reply.performance_config == {"latency": "standard"}

    plain = fc_client(fake_bedrock).create_conversation()
    reply = plain.send("hi")
    assert serving_sent(fake_bedrock) == {}
    assert reply.service_tier is None and reply.performance_config is None
    assert plain.service_tier is None and plain.request_metadata is None


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"service_tier": "fast"}, ValueError, r'service_tier: expected one of "priority", '),
        ({"service_tier": 3}, TypeError, "service_tier: expected a dict, got int"),
        ({"performance_config": {"latency": "max"}}, ValueError, "performance_config.latency"),
        ({"performance_config": {"speed": 1}}, ValueError, "performance_config.speed: unknown"),
        ({"request_metadata": {}}, ValueError, "request_metadata: expected 1 to 16 pairs, got 0"),
        (
            {"request_metadata": {f"k{i}": "v" for i in range(17)}},
            ValueError,
            "expected 1 to 16 pairs, got 17",
        ),
        ({"request_metadata": {"user<id>": "1"}}, ValueError, r"request_metadata\.user<id>: a key"),
        ({"request_metadata": {"k": "x" * 257}}, ValueError, "a value must be 0 to 256"),
        ({"request_metadata": {"k": 5}}, ValueError, r"request_metadata\.k: expected a str"),
    ],
)
def test_bad_values_are_refused_before_any_request(
    fake_bedrock: FakeBedrock, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    client = fc_client(fake_bedrock)
    with pytest.raises(error, match=match):
        client.create_conversation(**kwargs)
    conv = client.create_conversation()
    conv.send("hi")
    before, sent = conv.messages, len(fake_bedrock.requests)
    with pytest.raises(error, match=match):
        conv.send("again", **kwargs)
    with pytest.raises(error, match=match):
        conv.stream("again", **kwargs)
    assert conv.messages == before and len(fake_bedrock.requests) == sent and not conv.busy


def test_a_stored_conversation_keeps_them(
    fake_bedrock: FakeBedrock, store_at: Callable[..., Store]
) -> None:
    conv = fc_client(fake_bedrock, store=store_at()).create_conversation(
        service_tier="reserved",
        performance_config={"latency": "optimized"},
        request_metadata={"customer": "c-1042"},
    )
    conv.send("hi")
    other = fc_client(fake_bedrock, store=store_at()).get_conversation(conv.id)
    assert other.service_tier == "reserved"
    assert other.performance_config == {"latency": "optimized"}
    assert other.request_metadata == {"customer": "c-1042"}
    other.send("again")
    assert serving_sent(fake_bedrock) == {
        "serviceTier": {"type": "reserved"},
        "performanceConfig": {"latency": "optimized"},
        "requestMetadata": {"customer": "c-1042"},
    }


REQUEST = {
    "modelId": "m",
    "messages": [user("hi")],
    "serviceTier": {"type": "priority"},
    "performanceConfig": {"latency": "optimized"},
    "requestMetadata": {"team": "support", "run": "a:1"},
}


def test_the_boto3_layer_sends_and_answers_them_as_boto3_does(fake_bedrock: FakeBedrock) -> None:
    theirs = boto3_client(fake_bedrock).converse(**REQUEST)
    theirs_body = fake_bedrock.requests[-1].body
    mine = fc_boto3(fake_bedrock).converse(**REQUEST)
    assert fake_bedrock.requests[-1].body == theirs_body
    assert {k: v for k, v in mine.items() if k != "ResponseMetadata"} == {
        k: v for k, v in theirs.items() if k != "ResponseMetadata"
    }
    assert mine["serviceTier"] == {"type": "priority"}

    stream = boto3_client(fake_bedrock).converse_stream(**REQUEST)["stream"]
    theirs_events = [e for e in stream]
    mine_events = list(fc_boto3(fake_bedrock).converse_stream(**REQUEST)["stream"])
    assert mine_events[-1] == theirs_events[-1]
    assert mine_events[-1]["metadata"]["serviceTier"] == {"type": "priority"}


@pytest.mark.parametrize(
    "bad",
    [
        {"serviceTier": {"type": "cheapest"}},
        {"performanceConfig": {"latency": "ludicrous"}},
    ],
    ids=["tier", "latency"],
)
def test_a_bad_value_in_the_boto3_layer_is_the_services_to_refuse(
    fake_bedrock: FakeBedrock, bad: dict[str, Any]
) -> None:
    request = {"modelId": "m", "messages": [user("hi")], **bad}
    with pytest.raises(botocore.exceptions.ClientError) as theirs:
        boto3_client(fake_bedrock).converse(**request)
    with pytest.raises(botocore.exceptions.ClientError) as mine:
        fc_boto3(fake_bedrock).converse(**request)
    assert theirs.value.response["Error"] == mine.value.response["Error"]
    assert mine.value.response["Error"]["Code"] == "ValidationException"
    assert "failed to satisfy constraint: Member must satisfy enum value set" in str(mine.value)


def test_a_bad_client_level_value_is_refused_when_the_client_is_made(
    fake_bedrock: FakeBedrock,
) -> None:
    with pytest.raises(ValueError, match='service_tier: expected one of "priority"'):
        fc_client(fake_bedrock, service_tier="fast")
    with pytest.raises(ValueError, match="request_metadata: expected 1 to 16 pairs"):
        fc_client(fake_bedrock, request_metadata={})


def test_summaries_carry_the_request_metadata_only(fake_bedrock: FakeBedrock) -> None:
    from fastconverse import Summarizing

    conv = fc_client(fake_bedrock).create_conversation(
        memory=Summarizing(max_tokens=100, keep_recent=2, model_id="cheap"),
        service_tier="priority",
        performance_config={"latency": "optimized"},
        request_metadata={"team": "support"},
    )
    for i in range(6):
        conv.send(f"message number {i} with a few words to fill the window")
    summaries = [r for r in fake_bedrock.requests if r.model_id == "cheap"]
    assert summaries, "the window was never summarised"
    for request in summaries:
        body = request.body
        # (the summariser's model may not offer the tier or the latency setting)
        assert "serviceTier" not in body and "performanceConfig" not in body
        assert body["requestMetadata"] == {"team": "support"}
