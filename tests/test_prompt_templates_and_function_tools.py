"""System prompt templates (``Template`` + ``prompt_variables``) and OpenAI-style function
tool dicts, as the reference tutorial writes both, through ``create_conversation``."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import fc_client
from fastconverse import Template, Tool
from fastconverse.testing import FakeBedrock

SEARCH = {
    "type": "function",
    "function": {
        "name": "search_catalog",
        "description": "Search the product catalog",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
            "required": ["query"],
        },
    },
}
SEARCH_SPEC = {
    "toolSpec": {
        "name": "search_catalog",
        "description": "Search the product catalog",
        "inputSchema": {"json": SEARCH["function"]["parameters"]},  # type: ignore[index]
    }
}


# --- templates --------------------------------------------------------------------------------


def test_the_rendered_prompt_is_sent_and_kept(fake_bedrock: FakeBedrock) -> None:
    conv = fc_client(fake_bedrock).create_conversation(
        system_prompt=Template("You are an expert in {domain}. Answer in {{short}} {style}."),
        prompt_variables={"domain": "wine", "style": "sentences"},
    )
    expected = "You are an expert in wine. Answer in {short} sentences."
    assert conv.system_prompt == expected
    conv.send("hi")
    assert fake_bedrock.requests[-1].body["system"] == [{"text": expected}]


def test_a_missing_variable_names_itself_and_the_template(fake_bedrock: FakeBedrock) -> None:
    client = fc_client(fake_bedrock)
    with pytest.raises(ValueError, match=r"missing variable 'domain' .*'You are an expert in"):
        client.create_conversation(
            system_prompt=Template("You are an expert in {domain}."), prompt_variables={}
        )
    with pytest.raises(ValueError, match=r"missing variables 'a', 'b'"):
        client.create_conversation(system_prompt=Template("{a} {b}"))
    assert client.list_conversations() == [] and fake_bedrock.requests == []


def test_an_unused_variable_is_refused(fake_bedrock: FakeBedrock) -> None:
    with pytest.raises(ValueError, match=r"variable 'domian' not used .*fields are \['domain'\]"):
        fc_client(fake_bedrock).create_conversation(
            system_prompt=Template("An expert in {domain}."),
            prompt_variables={"domain": "wine", "domian": "typo"},
        )


def test_variables_need_a_template(fake_bedrock: FakeBedrock) -> None:
    with pytest.raises(ValueError, match=r"prompt_variables: .*Template"):
        fc_client(fake_bedrock).create_conversation(
            system_prompt="An expert in {domain}.", prompt_variables={"domain": "wine"}
        )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("You are {}", "every field needs a name"),
        ("You are {0}", "every field needs a name"),
        ("An unclosed {brace", "literal braces"),
        ("A stray } brace", "literal braces"),
    ],
)
def test_bad_templates_are_refused_when_made(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Template(text)


def test_template_fields_render_and_format_specs() -> None:
    template = Template("{name!r} owes {amount:.2f} to {bank.name}")
    assert template.fields == {"name", "amount", "bank"}

    class Bank:
        name = "ACME"

    assert template.render(name="Ann", amount=3, bank=Bank()) == "'Ann' owes 3.00 to ACME"
    with pytest.raises(ValueError, match="cannot be filled in"):
        template.render(name="Ann", amount="x", bank=Bank())
    assert str(Template("a")) == "a" and Template("a") == Template("a")
    with pytest.raises(TypeError, match="prompt_variables: expected a dict"):
        template.render(["Ann"])  # type: ignore[arg-type]


def test_a_template_survives_a_store(fake_bedrock: FakeBedrock, tmp_path: Any) -> None:
    store = str(tmp_path / "c.db")
    conv = fc_client(fake_bedrock, store=store).create_conversation(
        system_prompt=Template("Expert in {domain}"), prompt_variables={"domain": "tea"}
    )
    again = fc_client(fake_bedrock, store=store).get_conversation(conv.id)
    assert again.system_prompt == "Expert in tea"


# --- function tool dicts ----------------------------------------------------------------------


def test_function_dicts_are_tools_the_caller_answers(fake_bedrock: FakeBedrock) -> None:
    conv = fc_client(fake_bedrock).create_conversation(tools=[SEARCH])
    fake_bedrock.enqueue_tool_use("search_catalog", {"query": "hub"}, tool_use_id="t1")
    reply = conv.send("find the hub")
    assert reply.stop_reason == "tool_use"
    assert fake_bedrock.requests[-1].body["toolConfig"]["tools"] == [SEARCH_SPEC]
    assert [c["name"] for c in conv.pending_tool_calls] == ["search_catalog"]
    fake_bedrock.enqueue_text("The hub costs 199.")
    assert conv.send_tool_results({"t1": {"price": 199}}).text == "The hub costs 199."


def test_function_dicts_with_a_function_run_in_the_loop(fake_bedrock: FakeBedrock) -> None:
    calls = []

    def search(query: str, limit: int = 3) -> list[str]:
        calls.append((query, limit))
        return ["SmartHome Hub Pro"]

    strict = {**SEARCH, "function": {**SEARCH["function"], "strict": True}}  # type: ignore[dict-item]
    conv = fc_client(fake_bedrock).create_conversation(tools=[Tool(strict, search)])
    fake_bedrock.enqueue_tool_use("search_catalog", {"query": "hub", "limit": 1})
    fake_bedrock.enqueue_text("Found it.")
    assert conv.send("find the hub").text == "Found it."
    assert calls == [("hub", 1)]
    sent = fake_bedrock.requests[0].body["toolConfig"]["tools"][0]["toolSpec"]
    assert sent["strict"] is True and sent["name"] == "search_catalog"


def test_send_message_with_tools_takes_them_as_before(fake_bedrock: FakeBedrock) -> None:
    client = fc_client(fake_bedrock)
    conv = client.create_conversation()
    fake_bedrock.enqueue_tool_use("search_catalog", {"query": "hub"})
    fake_bedrock.enqueue_text("Here.")
    out = client.send_message_with_tools(conv.id, "find", [SEARCH], lambda name, args: ["x"])
    assert out["message"] == "Here."


@pytest.mark.parametrize(
    ("tool", "message"),
    [
        ({"type": "function"}, r"tools\[0\]: a function tool needs 'function'"),
        ({"type": "function", "function": {"description": "x"}}, "needs 'function'"),
        (
            {"type": "function", "function": {"name": "f", "parameter": {}}},
            r"tools\[0\]: function tool 'f': unknown keys \['parameter'\]",
        ),
        ({"type": "function", "function": {"name": "bad name"}}, "Invalid tool name"),
    ],
)
def test_bad_function_dicts_are_refused_clearly(
    fake_bedrock: FakeBedrock, tool: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        fc_client(fake_bedrock).create_conversation(tools=[tool])
