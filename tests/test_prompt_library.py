"""The prompt library (issue 25): named templates registered, loaded from a dict or a TOML,
JSON or YAML file, and used by ``create_conversation_with_template`` as the reference
tutorial calls it; the template's name and variables kept with the conversation and by
stores; ``create_conversation(conversation_id=conv)``; the chat's ``--template NAME``.
Through the public API against FakeBedrock over HTTP."""

from __future__ import annotations

import datetime
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from chat_process import chat
from conftest import fc_client, user
from fastconverse import Conversation, PromptLibrary, Store, Template, errors
from fastconverse.testing import FakeBedrock

BUILT_IN = {
    "customer_service": {"company": "Acme"},
    "technical_expert": {"domain": "PostgreSQL"},
    "educational_tutor": {"subject": "algebra"},
}


def system_sent(fake: FakeBedrock, index: int = 0) -> str:
    (block,) = fake.requests[index].body["system"]
    return str(block["text"])


# --- the built-in library, through create_conversation_with_template --------------------------


@pytest.mark.parametrize(("name", "variables"), list(BUILT_IN.items()))
def test_a_built_in_template_is_the_system_prompt_on_the_wire(
    fake_bedrock: FakeBedrock, name: str, variables: dict[str, str]
) -> None:
    client = fc_client(fake_bedrock)
    conv = client.create_conversation_with_template(name, variables)
    # as the tutorial's callers use what it returns: an id for the by-id methods
    assert client.send_message(conv, "Hello") == "You said: Hello"
    assert client.send_message(str(conv), "Again") == "You said: Again"
    sent = system_sent(fake_bedrock)
    (value,) = variables.values()
    assert value in sent and "{" not in sent
    assert sent == PromptLibrary.default().get(name).render(variables)
    assert system_sent(fake_bedrock, 1) == sent
    assert (conv.template_name, conv.template_vars) == (name, variables)
    assert conv.system_prompt == sent


def test_other_arguments_go_to_create_conversation(fake_bedrock: FakeBedrock) -> None:
    client = fc_client(fake_bedrock)
    conv = client.create_conversation_with_template(
        "educational_tutor",
        template_vars={"subject": "music"},
        inference_config={"maxTokens": 77},
        metadata={"user": "u1"},
    )
    conv.send("Hi")
    assert fake_bedrock.requests[0].body["inferenceConfig"] == {"maxTokens": 77}
    assert conv.metadata == {"user": "u1"}
    with pytest.raises(TypeError, match="system_prompt: the system prompt is the template"):
        client.create_conversation_with_template(
            "educational_tutor", {"subject": "x"}, system_prompt="other"
        )


@pytest.mark.parametrize(
    ("variables", "words"),
    [
        (None, ["template_vars", "missing variable 'company'", "'customer_service'"]),
        ({}, ["template_vars", "missing variable 'company'"]),
        ({"company": "A", "tone": "warm"}, ["template_vars", "'tone' not used", "'company'"]),
        ({"compnay": "A"}, ["template_vars", "'company'", "compnay"]),
    ],
)
def test_missing_and_unknown_variables_are_refused_before_any_request(
    fake_bedrock: FakeBedrock, variables: dict[str, str] | None, words: list[str]
) -> None:
    client = fc_client(fake_bedrock)
    with pytest.raises(ValueError) as raised:
        client.create_conversation_with_template("customer_service", variables)
    for word in words:
        assert word in str(raised.value)
    with pytest.raises(TypeError, match="template_vars: expected a dict"):
        client.create_conversation_with_template("customer_service", ["company"])  # type: ignore[arg-type]
    assert client.list_conversations() == []
    assert fake_bedrock.requests == []


def test_an_unknown_name_lists_the_known_ones(fake_bedrock: FakeBedrock) -> None:
    client = fc_client(fake_bedrock)
    with pytest.raises(errors.UnknownTemplateError) as raised:
        client.create_conversation_with_template("custmer_service", {"company": "A"})
    # a KeyError (a missing name) and a ValueError (the tutorial's own check)
    assert isinstance(raised.value, KeyError) and isinstance(raised.value, ValueError)
    message = str(raised.value)
    assert message.startswith("template_name: no template named 'custmer_service'")
    for name in BUILT_IN:
        assert repr(name) in message
    assert fake_bedrock.requests == []


# --- registering --------------------------------------------------------------------------------


def test_register_get_names_and_contains() -> None:
    library = PromptLibrary()
    assert len(library) == 0 and library.names() == [] and "x" not in library
    added = library.register("pirate", "Talk like a pirate of the {sea}.", description="fun")
    assert (added.name, added.description, added.fields) == ("pirate", "fun", {"sea"})
    library.register("plain-prompt", Template("Be brief."))
    assert library.names() == ["pirate", "plain-prompt"] == list(library)
    assert "pirate" in library and len(library) == 2
    assert library["pirate"] is library.get("pirate") is added
    assert [t.name for t in library.templates()] == ["pirate", "plain-prompt"]
    assert library.render("pirate", sea="Baltic") == "Talk like a pirate of the Baltic."
    assert library.remove("plain-prompt").text == "Be brief." and library.names() == ["pirate"]


def test_duplicates_bad_names_and_bad_values_are_refused() -> None:
    library = PromptLibrary({"a": "One.", "b": "Two."})
    with pytest.raises(ValueError, match=r"'a' is in the library already.*replace=True.*'b'"):
        library.register("a", "Other.")
    assert library.register("a", "Other.", replace=True).text == "Other."
    for bad in ("", "1st", "with space", "a.b", "a/b", "a:b", "-x", "naïve"):
        with pytest.raises(ValueError, match=re.escape(f"name: {bad!r} is not a template name")):
            library.register(bad, "Text.")
    with pytest.raises(TypeError, match="name: expected a template name"):
        library.register(3, "Text.")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="template 'c': expected its text"):
        library.register("c", 42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"Template 'c': .*literal braces"):
        library.register("c", "Unclosed {brace")
    with pytest.raises(KeyError, match=r"no template named 'zz'.*'a', 'b'"):
        library.get("zz")
    assert library.names() == ["a", "b"]


def test_each_client_has_its_own_library_unless_given_one(fake_bedrock: FakeBedrock) -> None:
    one, two = fc_client(fake_bedrock), fc_client(fake_bedrock)
    one.prompt_library.register("terse", "Answer in {n} words.")
    assert "terse" in one.prompt_library and "terse" not in two.prompt_library
    own = PromptLibrary({"only": "Only {x}."})
    client = fc_client(fake_bedrock, prompt_library=own)
    assert client.prompt_library is own
    with pytest.raises(KeyError, match=r"'customer_service'.*its templates are 'only'$"):
        client.create_conversation_with_template("customer_service", {"company": "A"})
    client.create_conversation_with_template("only", {"x": "this"}).send("Hi")
    assert system_sent(fake_bedrock) == "Only this."
    with pytest.raises(TypeError, match="prompt_library: expected a PromptLibrary"):
        fc_client(fake_bedrock, prompt_library={"a": "b"})


def test_a_library_template_given_to_create_conversation_keeps_its_name(
    fake_bedrock: FakeBedrock,
) -> None:
    client = fc_client(fake_bedrock)
    conv = client.create_conversation(
        client.prompt_library["technical_expert"], prompt_variables={"domain": "DNS"}
    )
    assert (conv.template_name, conv.template_vars) == ("technical_expert", {"domain": "DNS"})
    plain = client.create_conversation(Template("Hi {who}."), prompt_variables={"who": "you"})
    assert (plain.template_name, plain.template_vars) == (None, {"who": "you"})
    text = client.create_conversation("No template.")
    assert (text.template_name, text.template_vars) == (None, None)


# --- loading ------------------------------------------------------------------------------------


def test_loading_from_a_dict() -> None:
    library = PromptLibrary.from_dict(
        {
            "short": "Be short about {topic}.",
            "made": Template("Made {x}.", description="kept"),
            "table": {"text": "From a table, {y}.", "description": "a table"},
        }
    )
    assert library.names() == ["short", "made", "table"]
    assert library["made"].description == "kept" and library["made"].name == "made"
    assert library["table"].description == "a table"
    assert library.render("table", {"y": "yes"}) == "From a table, yes."
    with pytest.raises(ValueError, match=r"template 'bad': unknown keys \['txt'\]"):
        library.update({"new": "New.", "bad": {"txt": "x"}})
    assert "new" not in library  # (nothing added when an entry is refused)
    with pytest.raises(ValueError, match="template 'bad': no 'text'"):
        PromptLibrary({"bad": {"description": "d"}})
    with pytest.raises(ValueError, match="'short' is in the library already"):
        library.update({"short": "Again."})
    library.update(PromptLibrary.default())
    assert library.names()[-3:] == list(BUILT_IN)


TOML = '''\
short = "Be short about {topic}."

[support]
description = "first-line support"
text = """You help the customers of {company}.
Be brief."""
'''


def test_loading_from_toml_and_json_files(fake_bedrock: FakeBedrock, tmp_path: Path) -> None:
    (tmp_path / "prompts.toml").write_text(TOML, encoding="utf-8")
    library = PromptLibrary.from_file(tmp_path / "prompts.toml")
    assert library.names() == ["short", "support"]
    assert library["support"].description == "first-line support"
    client = fc_client(fake_bedrock, prompt_library=library)
    client.create_conversation_with_template("support", {"company": "Acme"}).send("Hi")
    assert system_sent(fake_bedrock) == "You help the customers of Acme.\nBe brief."

    (tmp_path / "more.json").write_text(json.dumps({"json-one": {"text": "From {where}."}}))
    library.load(str(tmp_path / "more.json"))
    assert library.render("json-one", where="JSON") == "From JSON."


@pytest.mark.parametrize(
    ("file", "content", "words"),
    [
        ("bad.toml", "x = = 1", ["bad.toml", "not TOML"]),
        ("bad.json", "{nope", ["bad.json", "not JSON"]),
        ("list.json", "[1, 2]", ["list.json", "expected a table", "list"]),
        ("names.toml", '"a b" = "Text."', ["names.toml", "'a b' is not a template name"]),
        ("keys.toml", "[x]\ntxt = 'T.'", ["keys.toml", "template 'x': unknown keys"]),
        ("braces.toml", "x = 'Lone { brace'", ["braces.toml", "Template 'x'"]),
        ("prompts.txt", "x = 'y'", ["prompts.txt", ".toml, .json, .yaml or .yml"]),
        ("latin1.toml", b"x = '\xe9'", ["latin1.toml", "not UTF-8"]),
    ],
)
def test_bad_files_name_the_file(
    tmp_path: Path, file: str, content: str | bytes, words: list[str]
) -> None:
    path = tmp_path / file
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ValueError) as raised:
        PromptLibrary.from_file(path)
    for word in words:
        assert word in str(raised.value)


def test_a_missing_file_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"nowhere\.toml: cannot read it"):
        PromptLibrary.from_file(tmp_path / "nowhere.toml")


YAML = """\
short: "Be short about {topic}."
support:
  description: first-line support
  text: |
    You help the customers of {company}.
"""


def test_loading_from_yaml_or_the_clear_error_without_pyyaml(tmp_path: Path) -> None:
    path = tmp_path / "prompts.yaml"
    path.write_text(YAML, encoding="utf-8")
    try:
        import yaml  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="needs PyYAML: pip install pyyaml"):
            PromptLibrary.from_file(path)
        return
    library = PromptLibrary.from_file(path)
    assert library.names() == ["short", "support"]
    assert library.render("support", company="Acme") == "You help the customers of Acme.\n"
    (tmp_path / "bad.yml").write_text("a: [unclosed", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.yml: not YAML"):
        PromptLibrary.from_file(tmp_path / "bad.yml")


def test_without_the_parsers_the_errors_say_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (an import of a name that is None in sys.modules fails, as of a package not installed)
    monkeypatch.setitem(sys.modules, "yaml", None)
    monkeypatch.setitem(sys.modules, "tomllib", None)
    monkeypatch.setitem(sys.modules, "tomli", None)
    (tmp_path / "p.yml").write_text(YAML, encoding="utf-8")
    (tmp_path / "p.toml").write_text(TOML, encoding="utf-8")
    with pytest.raises(ImportError, match="needs PyYAML: pip install pyyaml"):
        PromptLibrary.from_file(tmp_path / "p.yml")
    with pytest.raises(ImportError, match=r"3\.10 needs tomli: pip install tomli"):
        PromptLibrary.from_file(tmp_path / "p.toml")


# --- kept by stores -----------------------------------------------------------------------------


def test_name_and_variables_are_kept_by_a_store(
    fake_bedrock: FakeBedrock, store_at: Callable[..., Store]
) -> None:
    writer = fc_client(fake_bedrock, store=store_at())
    when = datetime.date(2024, 5, 1)
    writer.prompt_library.register("dated", "Today is {day}; you help {company}.")
    conv = writer.create_conversation_with_template("dated", {"day": when, "company": "Acme"})
    conv.send("Hi")
    # a value JSON has no form for is kept as its str(), here and in the store alike
    assert conv.template_vars == {"day": "2024-05-01", "company": "Acme"}
    conv.system_prompt = "Changed later."  # (says where it started: the name stays)
    plain = writer.create_conversation(Template("Hi {who}."), prompt_variables={"who": "Bo"})

    reader = fc_client(fake_bedrock, store=store_at())  # another process, as it were
    again = reader.get_conversation(conv.id)
    assert again is not conv
    assert (again.template_name, again.template_vars) == ("dated", conv.template_vars)
    assert again.system_prompt == "Changed later."
    assert again.messages[0] == user("Hi")
    details = reader.get_conversation_details(conv.id)
    assert (details["templateName"], details["templateVars"]) == ("dated", conv.template_vars)
    other = reader.get_conversation(plain.id)
    assert (other.template_name, other.template_vars) == (None, {"who": "Bo"})
    again.send("More")  # and it keeps working
    assert system_sent(fake_bedrock, -1) == "Changed later."


# --- create_conversation(conversation_id=conv) --------------------------------------------------


def test_conversation_id_takes_a_conversation(fake_bedrock: FakeBedrock) -> None:
    client = fc_client(fake_bedrock)
    conv = client.create_conversation("Be brief.")
    conv.send("Hi")
    assert client.create_conversation(conversation_id=conv) is conv  # as by its id
    with pytest.raises(ValueError, match=r"conversation_id: .* exists.*leave out model_id"):
        client.create_conversation(conversation_id=conv, model_id="other")
    stranger = fc_client(fake_bedrock).create_conversation()
    with pytest.raises(ValueError, match=r"conversation_id: the Conversation .* not this client"):
        client.create_conversation(conversation_id=stranger)
    assert stranger.id not in [c.id for c in client.list_conversations()]
    with pytest.raises(TypeError, match="conversation_id: expected the new conversation's id"):
        client.create_conversation(conversation_id=42)  # type: ignore[arg-type]
    assert isinstance(client.create_conversation(conversation_id="fresh-id"), Conversation)


def test_conversation_id_takes_a_conversation_of_the_same_store(
    fake_bedrock: FakeBedrock, store_at: Callable[..., Store]
) -> None:
    conv = fc_client(fake_bedrock, store=store_at()).create_conversation_with_template(
        "educational_tutor", {"subject": "chess"}
    )
    conv.send("Hi")
    reopened = fc_client(fake_bedrock, store=store_at()).create_conversation(conversation_id=conv)
    assert reopened.id == conv.id and reopened.messages == conv.messages
    assert reopened.template_vars == {"subject": "chess"}


# --- the chat's --template NAME -----------------------------------------------------------------


def test_the_chat_takes_a_library_name(fake_bedrock: FakeBedrock, tmp_path: Path) -> None:
    db = tmp_path / "chats.db"
    args = ["--endpoint-url", fake_bedrock.url, "--region", "us-east-1", "--store", str(db)]
    done = chat(*args, "--template", "customer_service", "--var", "company=Acme", stdin="hi\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "You said: hi\n"
    expected = PromptLibrary.default().render("customer_service", company="Acme")
    assert system_sent(fake_bedrock) == expected
    found = re.search(r"conversation ([0-9a-f-]{36})", done.stderr)
    assert found, done.stderr
    kept = fc_client(fake_bedrock, store=str(db)).get_conversation(found.group(1))
    assert (kept.template_name, kept.template_vars) == ("customer_service", {"company": "Acme"})


def test_the_chat_refuses_an_unknown_name_listing_the_library(fake_bedrock: FakeBedrock) -> None:
    args = ["--endpoint-url", fake_bedrock.url, "--region", "us-east-1"]
    done = chat(*args, "--template", "custmer_service", stdin="hi\n")
    assert done.returncode == 2 and done.stdout == ""
    assert "--template custmer_service" in done.stderr
    assert "customer_service, technical_expert, educational_tutor" in done.stderr
    missing = chat(*args, "--template", "technical_expert", stdin="hi\n")
    assert missing.returncode == 2 and "--var" in missing.stderr and "'domain'" in missing.stderr
    assert "Traceback" not in done.stderr + missing.stderr
    assert fake_bedrock.requests == []
