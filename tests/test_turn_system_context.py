"""Per-turn system prompts and context (issue 25): ``send(..., system=..., context=...)`` and
a writable ``conv.system_prompt``, checked on the wire (what FakeBedrock received), in the
history (context is never kept) and across workers sharing a store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from conftest import fc_client
from fastconverse import Store, Template, document, tool
from fastconverse.testing import FakeBedrock


def sent(fake: FakeBedrock) -> dict[str, Any]:
    return dict(fake.requests[-1].body)


def test_a_turns_own_system_prompt_goes_with_that_turn_only(fake_bedrock: FakeBedrock) -> None:
    conv = fc_client(fake_bedrock).create_conversation("You are terse.")
    conv.send("one", system="You are verbose.")
    assert sent(fake_bedrock)["system"] == [{"text": "You are verbose."}]
    assert conv.system_prompt == "You are terse."
    conv.send("two")
    assert sent(fake_bedrock)["system"] == [{"text": "You are terse."}]

    asyncio.run(conv.send_async("three", system=Template("Speak {lang}.").render(lang="Dutch")))
    assert sent(fake_bedrock)["system"] == [{"text": "Speak Dutch."}]
    for _ in conv.stream("four", system=[{"text": "a"}, {"text": "b"}]):
        pass
    assert sent(fake_bedrock)["system"] == [{"text": "a"}, {"text": "b"}]
    assert len(conv.messages) == 8

    before = conv.messages
    with pytest.raises(ValueError, match="system: must not be blank"):
        conv.send("five", system="  ")
    with pytest.raises(ValueError, match="variable 'x'"):
        conv.send("five", system=Template("{x}"))
    assert conv.messages == before and not conv.busy


def test_context_reaches_every_request_of_the_turn_and_is_never_kept(
    fake_bedrock: FakeBedrock,
) -> None:
    @tool
    def stock(item: str) -> int:
        """Units in stock."""
        return 3

    conv = fc_client(fake_bedrock).create_conversation("Shop assistant.", tools=[stock])
    manual = document(b"Returns within 30 days.", name="policy", format="txt")
    fake_bedrock.enqueue_tool_use("stock", {"item": "tent"})
    fake_bedrock.enqueue_text("We have 3 tents; returns within 30 days.")
    conv.send("Tents?", context=["Passage: tents ship in 2 days.", manual])

    first, second = fake_bedrock.requests[-2].body, fake_bedrock.requests[-1].body
    opening = first["messages"][0]["content"]
    assert opening[0] == {"text": "Passage: tents ship in 2 days."}
    assert opening[1]["document"]["name"] == "policy"
    assert opening[2] == {"text": "Tents?"}
    assert second["messages"][0]["content"] == opening  # (the tool round carries it too)
    assert conv.messages[0] == {"role": "user", "content": [{"text": "Tents?"}]}
    assert all("Passage" not in str(m) for m in conv.transcript)

    conv.send("And boots?")
    assert sent(fake_bedrock)["messages"][0]["content"] == [{"text": "Tents?"}]
    assert sent(fake_bedrock)["messages"][-1]["content"] == [{"text": "And boots?"}]

    one = fc_client(fake_bedrock).create_conversation()
    one.send("hi", context="only text")
    assert sent(fake_bedrock)["messages"][0]["content"] == [
        {"text": "only text"},
        {"text": "hi"},
    ]


@pytest.mark.parametrize(
    ("context", "error", "match"),
    [
        ([3], TypeError, r"context\[0\]: expected text or a content block dict"),
        (5, TypeError, "context: expected text, a content block or a list of them"),
        ([{"bogus": 1}], ValueError, r"context\[0\]\.bogus: unknown member"),
        ([{"text": 1}], ValueError, r"context\[0\]\.text: expected a str"),
    ],
)
def test_bad_context_is_refused_and_the_conversation_is_as_before(
    fake_bedrock: FakeBedrock, context: Any, error: type[Exception], match: str
) -> None:
    conv = fc_client(fake_bedrock).create_conversation()
    conv.send("hi")
    before, requests = conv.messages, len(fake_bedrock.requests)
    with pytest.raises(error, match=match):
        conv.send("again", context=context)
    with pytest.raises(error, match=match):
        asyncio.run(conv.send_async("again", context=context))
    with pytest.raises(error, match=match):
        conv.stream("again", context=context)
    assert conv.messages == before and not conv.busy
    assert len(fake_bedrock.requests) == requests
    conv.send("still fine")


def test_the_system_prompt_can_change(fake_bedrock: FakeBedrock) -> None:
    conv = fc_client(fake_bedrock).create_conversation("first")
    conv.system_prompt = "second"
    assert conv.system_prompt == "second"
    conv.send("a")
    assert sent(fake_bedrock)["system"] == [{"text": "second"}]
    conv.set_system_prompt(Template("Expert in {field}."), {"field": "wine"})
    conv.send("b")
    assert sent(fake_bedrock)["system"] == [{"text": "Expert in wine."}]
    conv.system_prompt = None
    conv.send("c")
    assert "system" not in sent(fake_bedrock) or not sent(fake_bedrock)["system"]
    assert conv.system_prompt is None

    with pytest.raises(ValueError, match="system_prompt: must not be blank"):
        conv.system_prompt = ""
    with pytest.raises(TypeError, match="system_prompt: expected text"):
        conv.system_prompt = 42  # type: ignore[assignment]
    with pytest.raises(ValueError, match="missing"):
        conv.set_system_prompt(Template("{a} {b}"), {"a": 1})
    assert conv.system_prompt is None


def test_a_changed_system_prompt_is_stored_and_other_workers_take_it_in(
    fake_bedrock: FakeBedrock, store_at: Callable[..., Store]
) -> None:
    one = fc_client(fake_bedrock, store=store_at())
    two = fc_client(fake_bedrock, store=store_at())
    conv = one.create_conversation("first")
    conv.send("hi")
    other = two.get_conversation(conv.id)
    assert other.system_prompt == "first"

    conv.system_prompt = "second"  # (written at once, no turn needed)
    other.send("next")  # its turn takes in the store's newer version first
    assert sent(fake_bedrock)["system"] == [{"text": "second"}]
    assert other.system_prompt == "second"

    other.set_system_prompt([{"text": "third"}, {"cachePoint": {"type": "default"}}])
    conv.send("and you", system="just once")  # a turn's own prompt still wins
    assert sent(fake_bedrock)["system"] == [{"text": "just once"}]
    assert conv.system_prompt == "third"
    conv.send("again")
    assert sent(fake_bedrock)["system"] == [{"text": "third"}, {"cachePoint": {"type": "default"}}]

    fresh = fc_client(fake_bedrock, store=store_at()).get_conversation(conv.id)
    assert fresh.system_prompt == "third"


def test_the_system_prompt_cannot_change_during_a_turn(fake_bedrock: FakeBedrock) -> None:
    from fastconverse import errors

    conv = fc_client(fake_bedrock).create_conversation("first")
    stream = conv.stream("hi")
    next(iter(stream))
    with pytest.raises(errors.ConversationBusyError):
        conv.system_prompt = "second"
    stream.close()
    assert conv.system_prompt == "first"
    conv.system_prompt = "second"
    conv.send("again")
    assert sent(fake_bedrock)["system"] == [{"text": "second"}]
