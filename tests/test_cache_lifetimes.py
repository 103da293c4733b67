"""Cache lifetimes and honest accounting (issue 26): ``cache=`` places points with a lifetime
("5m", "1h"), usage reads ``cacheDetails`` (writes by lifetime), and ``conv.cost`` prices
every kind of token once, at its own price: checked against bills computed by hand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import boto3_client, fc_boto3, fc_client, user
from fastconverse import Store, Usage
from fastconverse.testing import FakeBedrock

LONG = "You are the support assistant of Trailhead Gear. " * 80  # (worth caching)


def points(body: dict[str, Any]) -> dict[str, list[Any]]:
    """The cache points of a request FakeBedrock received, by place, as their ttl."""
    tools = (body.get("toolConfig") or {}).get("tools", [])
    messages = [b for m in body["messages"] for b in m["content"]]
    return {
        place: [b["cachePoint"].get("ttl") for b in blocks if "cachePoint" in b]
        for place, blocks in (
            ("tools", tools),
            ("system", body.get("system", [])),
            ("history", messages),
        )
    }


def test_cache_points_carry_their_lifetime(fake_bedrock: FakeBedrock) -> None:
    client = fc_client(fake_bedrock)
    conv = client.create_conversation(LONG, cache="system:1h+history")
    assert conv.cache == ["system:1h", "history"]
    conv.send("hi")
    conv.send("again")
    assert points(fake_bedrock.requests[-1].body) == {
        "tools": [],
        "system": ["1h"],
        "history": [None, None],
    }

    def lookup(query: str) -> str:
        """Looks it up."""
        return query

    conv = client.create_conversation(
        LONG, tools=[lookup], cache={"tools": "1h", "system": "1h", "history": "5m"}
    )
    assert conv.cache == ["system:1h", "tools:1h", "history:5m"]
    conv.send("hi")
    assert points(fake_bedrock.requests[-1].body) == {
        "tools": ["1h"],
        "system": ["1h"],
        "history": ["5m"],
    }


@pytest.mark.parametrize(
    ("cache", "match"),
    [
        ({"system": "5m", "history": "1h"}, "a 60-minute point at history may not follow a 5"),
        ("tools+system:1h", "a 60-minute point at system may not follow a 5-minute one at tools"),
        ("system:2h", 'expected a lifetime "5m" or "1h", got "2h"'),
        ({"system": 5}, r'cache\["system"\]: expected "5m", "1h" or None'),
        ("everything", 'got "everything"'),
    ],
)
def test_bad_lifetimes_are_refused(fake_bedrock: FakeBedrock, cache: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fc_client(fake_bedrock).create_conversation(LONG, cache=cache)


def bill(usages: list[Usage], prices: dict[str, float]) -> float:
    """A bill by hand: each kind of token once, at its own price per 1,000."""
    total = 0.0
    for u in usages:
        hour = sum(d["inputTokens"] for d in u.cache_details or [] if d["ttl"] == "1h")
        total += u.input_tokens * prices["input"]
        total += u.output_tokens * prices["output"]
        total += u.cache_read_input_tokens * prices["cache_read"]
        total += (u.cache_write_input_tokens - hour) * prices["cache_write"]
        total += hour * prices["cache_write_1h"]
    return total / 1000


def test_usage_reads_cache_details_and_cost_prices_each_token_once(
    fake_bedrock: FakeBedrock,
) -> None:
    conv = fc_client(fake_bedrock).create_conversation(LONG, cache="system:1h+history:5m")
    replies = [conv.send(text) for text in ("first question", "second", "third")]

    first, second = replies[0].usage, replies[1].usage
    # The first request writes the system prompt for an hour and the history for five
    # minutes; the next ones read the hour-long prefix back.
    details = {d["ttl"]: d["inputTokens"] for d in first.cache_details or []}
    assert details["1h"] > 0 and details["5m"] > 0
    assert sum(details.values()) == first.cache_write_input_tokens
    assert second.cache_read_input_tokens >= details["1h"]
    for u in (first, second):
        # inputTokens leaves the cached tokens out: the total adds each kind once.
        assert u.total_tokens == (
            u.input_tokens
            + u.output_tokens
            + u.cache_read_input_tokens
            + u.cache_write_input_tokens
        )
    assert first.to_dict()["cacheDetails"] == first.cache_details

    prices = {
        "input": 0.0008,
        "output": 0.004,
        "cache_read": 0.00008,
        "cache_write": 0.001,
        "cache_write_1h": 0.0016,
    }
    expected = bill([r.usage for r in replies], prices)
    assert conv.cost({conv.model_id: prices}) == pytest.approx(expected, rel=1e-12)
    summed = conv.usage.cache_details or []
    assert {d["ttl"]: d["inputTokens"] for d in summed} == {
        ttl: sum(
            d["inputTokens"]
            for r in replies
            for d in r.usage.cache_details or []
            if d["ttl"] == ttl
        )
        for ttl in ("1h", "5m")
    }
    # One-hour writes are never priced as five-minute ones: without their price, an error.
    five_only = {k: v for k, v in prices.items() if k != "cache_write_1h"}
    with pytest.raises(ValueError, match="no 'cache_write_1h' price"):
        conv.cost({conv.model_id: five_only})


def test_usage_objects_and_the_boto3_layer(make_fake: Callable[..., FakeBedrock]) -> None:
    made = Usage(
        10,
        5,
        cache_write_input_tokens=30,
        cache_details=[{"ttl": "1h", "inputTokens": 20}, {"ttl": "5m", "inputTokens": 10}],
    )
    assert made.cache_details == [
        {"ttl": "1h", "inputTokens": 20},
        {"ttl": "5m", "inputTokens": 10},
    ]
    both = made + Usage(
        1, 1, cache_write_input_tokens=4, cache_details=[{"ttl": "5m", "inputTokens": 4}]
    )
    assert both.cache_details == [
        {"ttl": "1h", "inputTokens": 20},
        {"ttl": "5m", "inputTokens": 14},
    ]
    with pytest.raises(ValueError, match=r'cache_details\[0\]\.ttl: expected "5m" or "1h"'):
        Usage(cache_details=[{"ttl": "1d", "inputTokens": 1}])

    request = {
        "modelId": "m",
        "system": [{"text": LONG}, {"cachePoint": {"type": "default", "ttl": "1h"}}],
        "messages": [user("hi")],
    }
    theirs = boto3_client(make_fake()).converse(**request)
    ours = fc_boto3(make_fake()).converse(**request)
    assert ours["usage"] == theirs["usage"]
    assert theirs["usage"]["cacheDetails"][0]["ttl"] == "1h"


def test_a_store_keeps_lifetimes_and_cache_details(
    fake_bedrock: FakeBedrock, store_at: Callable[..., Store]
) -> None:
    conv = fc_client(fake_bedrock, store=store_at()).create_conversation(
        LONG, cache={"system": "1h"}
    )
    conv.send("hi")
    other = fc_client(fake_bedrock, store=store_at()).get_conversation(conv.id)
    assert other.cache == ["system:1h"]
    assert other.usage.cache_details == conv.usage.cache_details is not None
    other.send("again")
    assert points(fake_bedrock.requests[-1].body)["system"] == ["1h"]
