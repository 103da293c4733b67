"""The reference tutorial's client shapes: positional (model_id, profile_name, region_name),
subclasses with constructors of their own, conversations retrieved by id or object."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import AKID, SECRET
from fastconverse import Conversation, ConverseClient, TokenBudget
from fastconverse.testing import FakeBedrock


def keys(fake: FakeBedrock) -> dict[str, Any]:
    return {"endpoint_url": fake.url, "aws_access_key_id": AKID, "aws_secret_access_key": SECRET}


def test_the_tutorials_positional_arguments(
    fake_bedrock: FakeBedrock, tmp_path: Any, monkeypatch: Any
) -> None:
    config = tmp_path / "config"
    config.write_text("[profile tutorial]\nregion = eu-west-3\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    client = ConverseClient("m", None, "us-west-2", **keys(fake_bedrock))
    assert (client.model_id, client.region_name) == ("m", "us-west-2")
    profiled = ConverseClient("m", "tutorial", **keys(fake_bedrock))
    assert profiled.region_name == "eu-west-3", "the profile's region"
    assert client.create_conversation("Be brief.").send("hi").text == "You said: hi"


class MemoryManagedConverseClient(ConverseClient):
    """The tutorial's subclass: its own constructor arguments, then the base's."""

    def __init__(
        self,
        model_id: str,
        max_history_tokens: int = 8000,
        profile_name: str | None = None,
        region_name: str = "us-west-2",
        **kwargs: Any,
    ) -> None:
        super().__init__(model_id, profile_name, region_name, **kwargs)
        self.max_history_tokens = max_history_tokens

    def create_conversation(self, system_prompt: Any = None, **kwargs: Any) -> Conversation:  # type: ignore[override]
        kwargs.setdefault("memory", TokenBudget(self.max_history_tokens))
        return super().create_conversation(system_prompt, **kwargs)


class KnowledgeGroundedConverseClient(ConverseClient):
    def __init__(self, model_id: str, knowledge_base: dict[str, str], **kwargs: Any) -> None:
        super().__init__(model_id, **kwargs)
        self.knowledge_base = knowledge_base


def test_subclasses_take_their_own_arguments(fake_bedrock: FakeBedrock) -> None:
    managed = MemoryManagedConverseClient("m", max_history_tokens=50, **keys(fake_bedrock))
    assert (managed.model_id, managed.region_name, managed.max_history_tokens) == (
        "m",
        "us-west-2",
        50,
    )
    conv = managed.create_conversation("Be brief.")
    for i in range(6):
        conv.send(f"message number {i} with some words")
    assert len(conv.messages) < len(conv.transcript), "the subclass's budget applies"
    grounded = KnowledgeGroundedConverseClient(
        "m", {"lamp": "charges by USB"}, region_name="us-east-1", **keys(fake_bedrock)
    )
    assert grounded.knowledge_base == {"lamp": "charges by USB"}
    assert grounded.converse(messages=[{"role": "user", "content": [{"text": "x"}]}])["output"][
        "message"
    ]["content"] == [{"text": "You said: x"}]


def test_a_subclass_that_skips_the_base_init_gets_a_clear_error(fake_bedrock: FakeBedrock) -> None:
    class Forgetful(ConverseClient):
        def __init__(self, model_id: str) -> None:
            self.name = model_id

    client = Forgetful("m")
    assert repr(client) == "ConverseClient(<not initialised>)"
    for call in (lambda: client.converse(messages=[]), lambda: client.model_id):
        with pytest.raises(RuntimeError, match=r"must call super\(\).__init__"):
            call()
    with pytest.raises(RuntimeError, match="initialised already"):
        ConverseClient("m", region_name="us-east-1", **keys(fake_bedrock))._configure("m")


def test_conversations_by_id_or_object(fake_bedrock: FakeBedrock) -> None:
    client = ConverseClient("m", region_name="us-east-1", **keys(fake_bedrock))
    conv = client.create_conversation(conversation_id="support-1")
    assert client.create_conversation(conversation_id="support-1") is conv
    assert client.get_conversation(conv) is conv
    assert client.delete_conversation(conv) is True
    with pytest.raises(KeyError, match="support-1"):
        client.get_conversation("support-1")
    with pytest.raises(TypeError, match="conversation_id: expected a conversation id"):
        client.get_conversation(42)  # type: ignore[arg-type]


def test_retrieving_by_id_refuses_settings_it_would_drop(fake_bedrock: FakeBedrock) -> None:
    client = ConverseClient("m", region_name="us-east-1", **keys(fake_bedrock))
    conv = client.create_conversation("Be brief.", conversation_id="x")
    assert client.create_conversation(conversation_id="x") is conv
    with pytest.raises(ValueError, match=r"'x' exists.*leave out system_prompt, cache"):
        client.create_conversation("Be long.", conversation_id="x", cache="bogus")


def test_a_region_passed_as_the_profile_is_named(fake_bedrock: FakeBedrock) -> None:
    for region in ("us-east-1", "eu-central-2", "us-gov-west-1"):
        with pytest.raises(ValueError, match=rf"pass region_name='{region}'"):
            ConverseClient("m", region, **keys(fake_bedrock))


def test_the_registry_of_a_skipped_init_says_so() -> None:
    class Forgetful(ConverseClient):
        def __init__(self) -> None:
            pass

    client = Forgetful()
    for call in (
        client.list_conversations,
        lambda: client.get_conversation("x"),
        lambda: client.delete_conversation("x"),
        client.create_conversation,
    ):
        with pytest.raises(RuntimeError, match="not initialised"):
            call()
