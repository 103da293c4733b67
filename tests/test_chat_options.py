"""The chat's options (--template/--var, --tools, --store/--conversation, --log-level,
--prices) and commands (/history, /cost, /save), each with its bad inputs: real processes
against FakeBedrock over HTTP."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from chat_process import chat
from conftest import assistant, user
from fastconverse.testing import FakeBedrock

DEFAULT_MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"

MODULE = """\
from fastconverse import Template, tool

PROMPT = Template("You know {topic}.")
TEXT = "You are {mood}."
NUMBER = 42

@tool
def add(a: int, b: int) -> int:
    '''Adds.

    Args:
        a: one number
        b: another
    '''
    return a + b

def shout(text: str) -> str:
    '''Shouts.

    Args:
        text: what to shout
    '''
    return text.upper()

TOOLS = [add, shout]
"""


def run(
    fake: FakeBedrock, *args: str, stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    endpoint = ("--endpoint-url", fake.url, "--region", "us-east-1")
    if cwd is None:
        return chat(*endpoint, *args, stdin=stdin)
    return chat(*endpoint, *args, stdin=stdin, cwd=cwd)


def refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit 2 with a one-line error naming ``words``, before any request."""
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "error" in result.stderr
    for word in words:
        assert word in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def module_dir(tmp_path: Path) -> Path:
    (tmp_path / "chat_setup.py").write_text(MODULE)
    (tmp_path / "prompt.txt").write_text("You are an expert in {domain}, {style}.")
    (tmp_path / "failing.py").write_text("raise RuntimeError('broken on purpose')\n")
    return tmp_path


# --- --template and --var ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "variables", "system"),
    [
        ("prompt.txt", ["domain=wine", "style=briefly"], "You are an expert in wine, briefly."),
        ("chat_setup:PROMPT", ["topic=cheese"], "You know cheese."),
        ("chat_setup:TEXT", ["mood=calm=ish"], "You are calm=ish."),
    ],
)
def test_template_fills_in_the_system_prompt(
    fake_bedrock: FakeBedrock, module_dir: Path, template: str, variables: list[str], system: str
) -> None:
    args = ["--template", template]
    for variable in variables:
        args += ["--var", variable]
    result = run(fake_bedrock, *args, stdin="hi\n", cwd=module_dir)
    assert result.returncode == 0, result.stderr
    assert fake_bedrock.requests[0].body["system"] == [{"text": system}]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--template", "nowhere.txt"], ["--template", "nowhere.txt", "module:attr"]),
        (["--template", "chat_setup:NUMBER"], ["--template", "Template or a str", "int"]),
        (["--template", "chat_setup:MISSING"], ["chat_setup has no MISSING"]),
        (["--template", "nomodule:X"], ["cannot import nomodule"]),
        (["--template", "failing:X"], ["RuntimeError", "broken on purpose"]),
        (["--template", "prompt.txt", "--var", "domain=wine"], ["--var", "'style'"]),
        (
            ["--template", "chat_setup:PROMPT", "--var", "topic=a", "--var", "extra=b"],
            ["--var", "'extra'"],
        ),
        (["--var", "topic=a"], ["--var", "--template"]),
        (["--template", "chat_setup:PROMPT", "--var", "novalue"], ["--var", "NAME=VALUE"]),
        (["--template", "chat_setup:PROMPT", "--var", "1x=a"], ["--var", "NAME=VALUE"]),
        (
            ["--template", "chat_setup:PROMPT", "--var", "topic=a", "--var", "topic=b"],
            ["topic given more than once"],
        ),
        (["--template", "chat_setup:PROMPT", "--system", "x"], ["--template", "--system"]),
    ],
)
def test_bad_templates_exit_2(
    fake_bedrock: FakeBedrock, module_dir: Path, args: list[str], words: list[str]
) -> None:
    refused(run(fake_bedrock, *args, stdin="hi\n", cwd=module_dir), *words)
    assert fake_bedrock.requests == []


# --- --tools ----------------------------------------------------------------------------------


def test_tools_from_a_list_and_a_plain_function(
    fake_bedrock: FakeBedrock, module_dir: Path
) -> None:
    fake_bedrock.enqueue_tool_uses([("add", {"a": 2, "b": 3}), ("shout", {"text": "hey"})])
    fake_bedrock.enqueue_text("Done.")
    result = run(fake_bedrock, "--tools", "chat_setup:TOOLS", stdin="go\n", cwd=module_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Done.\n"
    first = fake_bedrock.requests[0].body
    assert [t["toolSpec"]["name"] for t in first["toolConfig"]["tools"]] == ["add", "shout"]
    results = fake_bedrock.requests[1].body["messages"][2]["content"]
    assert [r["toolResult"]["content"] for r in results] == [
        [{"json": {"result": 5}}],
        [{"text": "HEY"}],
    ]
    assert "(tool add called)" in result.stderr and "(tool shout called)" in result.stderr


@pytest.mark.parametrize(
    ("reference", "words"),
    [
        ("chat_setup", ["--tools", "module:attr"]),
        ("nomodule:tools", ["--tools", "cannot import nomodule"]),
        ("chat_setup:nothing", ["chat_setup has no nothing"]),
        ("chat_setup:NUMBER", ["--tools", "expected a tool", "int"]),
        ("failing:tools", ["importing failing failed", "broken on purpose"]),
    ],
)
def test_bad_tools_exit_2(
    fake_bedrock: FakeBedrock, module_dir: Path, reference: str, words: list[str]
) -> None:
    refused(run(fake_bedrock, "--tools", reference, stdin="hi\n", cwd=module_dir), *words)


def test_a_tool_without_a_function_is_refused(fake_bedrock: FakeBedrock, tmp_path: Path) -> None:
    (tmp_path / "specs.py").write_text(
        "from fastconverse.tools import Tool\n"
        "LOOKUP = Tool({'name': 'lookup', 'inputSchema': {'json': {'type': 'object'}}})\n"
    )
    result = run(fake_bedrock, "--tools", "specs:LOOKUP", stdin="hi\n", cwd=tmp_path)
    refused(result, "'lookup' has no function")


# --- --store and --conversation, /save ------------------------------------------------------


def conversation_id(stderr: str) -> str:
    found = re.search(r"conversation ([0-9a-f-]{36})", stderr)
    assert found, stderr
    return found.group(1)


def test_a_stored_conversation_continues_in_another_process(
    fake_bedrock: FakeBedrock, tmp_path: Path
) -> None:
    db = str(tmp_path / "chats.db")
    first = run(fake_bedrock, "--store", db, "--system", "Be brief.", stdin="one\ntwo\n")
    assert first.returncode == 0, first.stderr
    assert first.stdout == "You said: one\nYou said: two\n"
    conv = conversation_id(first.stderr)
    second = run(fake_bedrock, "--store", db, "--conversation", conv, stdin="three\n/history\n")
    assert second.returncode == 0, second.stderr
    assert f"continuing conversation {conv}" in second.stderr and "4 messages" in second.stderr
    assert second.stdout == (
        "You said: three\n"
        "user: one\nassistant: You said: one\n"
        "user: two\nassistant: You said: two\n"
        "user: three\nassistant: You said: three\n"
    )
    last = fake_bedrock.requests[-1]
    assert last.body["system"] == [{"text": "Be brief."}]  # its own settings
    assert last.body["messages"][:2] == [user("one"), assistant("You said: one")]
    assert len(last.body["messages"]) == 5


def test_save_with_a_store_says_how_to_continue(fake_bedrock: FakeBedrock, tmp_path: Path) -> None:
    db = str(tmp_path / "chats.db")
    first = run(fake_bedrock, "--store", db, stdin="remember 42\n/save\n")
    assert first.returncode == 0, first.stderr
    (how,) = [line for line in first.stderr.splitlines() if "continue it with:" in line]
    command = shlex.split(how.split("continue it with: ", 1)[1].rstrip(")"))
    assert command[:4] == ["python", "-m", "fastconverse", "chat"]
    second = run(fake_bedrock, *command[4:], stdin="what was it?\n")
    assert second.returncode == 0, second.stderr
    messages = fake_bedrock.requests[-1].body["messages"]
    assert messages[0] == user("remember 42") and messages[-1] == user("what was it?")


def test_continuing_switches_the_model_only_when_asked(
    fake_bedrock: FakeBedrock, tmp_path: Path
) -> None:
    db = str(tmp_path / "chats.db")
    first = run(fake_bedrock, "--store", db, "--model", "model-one", stdin="a\n")
    conv = conversation_id(first.stderr)
    run(fake_bedrock, "--store", db, "--conversation", conv, stdin="b\n")
    run(fake_bedrock, "--store", db, "--conversation", conv, "--model", "model-two", stdin="c\n")
    assert [r.model_id for r in fake_bedrock.requests] == ["model-one", "model-one", "model-two"]


def test_a_conversation_with_tools_is_continued_with_them(
    fake_bedrock: FakeBedrock, module_dir: Path
) -> None:
    db = str(module_dir / "chats.db")
    tools = ("--tools", "chat_setup:TOOLS")
    first = run(fake_bedrock, "--store", db, *tools, stdin="hi\n", cwd=module_dir)
    conv = conversation_id(first.stderr)
    without = run(fake_bedrock, "--store", db, "--conversation", conv, stdin="x\n", cwd=module_dir)
    refused(without, "--conversation", "add", "--tools")
    fake_bedrock.enqueue_tool_use("add", {"a": 1, "b": 1})
    fake_bedrock.enqueue_text("Two.")
    args = ("--store", db, "--conversation", conv, *tools)
    result = run(fake_bedrock, *args, stdin="1+1?\n", cwd=module_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Two.\n"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--conversation", "abc"], ["--conversation", "--store"]),
        (["--store", "{db}", "--conversation", "nope"], ["no such conversation", "nope"]),
        (["--store", "{db}", "--conversation", "c", "--system", "x"], ["--system"]),
        (["--store", "{db}", "--conversation", "c", "--temperature", "0.5"], ["--temperature"]),
        (["--store", "/no/such/folder/chats.db"], ["/no/such/folder/chats.db"]),
    ],
)
def test_bad_store_options_exit_2(
    fake_bedrock: FakeBedrock, tmp_path: Path, args: list[str], words: list[str]
) -> None:
    args = [a.replace("{db}", str(tmp_path / "chats.db")) for a in args]
    refused(run(fake_bedrock, *args, stdin="hi\n"), *words)


def test_save_without_a_store_writes_json(fake_bedrock: FakeBedrock, tmp_path: Path) -> None:
    stdin = "hello\n/save\n/save named.json\n/save /no/such/folder/x.json\n"
    result = run(fake_bedrock, stdin=stdin, cwd=tmp_path)
    assert result.returncode == 1  # (the last /save failed)
    assert result.stdout == "You said: hello\n"
    (default,) = tmp_path.glob("fastconverse-*.json")
    saved = json.loads(default.read_text())
    assert default.name == f"fastconverse-{saved['conversationId']}.json"
    assert saved["messages"] == [user("hello"), assistant("You said: hello")]
    assert saved["modelId"] == DEFAULT_MODEL and saved["usage"]["inputTokens"] == 1
    assert json.loads((tmp_path / "named.json").read_text()) == saved
    assert f"saved 2 messages to {tmp_path / 'named.json'}" in result.stderr
    assert "cannot write /no/such/folder/x.json" in result.stderr
    assert "Traceback" not in result.stderr


# --- /history and /cost -----------------------------------------------------------------------


def test_history_shows_roles_and_tool_calls(fake_bedrock: FakeBedrock, module_dir: Path) -> None:
    fake_bedrock.enqueue_tool_use("shout", {"text": "hi"}, text="Shouting.")
    fake_bedrock.enqueue_text("Done.")
    stdin = "/history\nshout hi\n/history\n/history now\n"
    result = run(fake_bedrock, "--tools", "chat_setup:TOOLS", stdin=stdin, cwd=module_dir)
    assert result.returncode == 1  # (/history takes no argument)
    assert result.stdout == (
        "Shouting.\nDone.\n"
        "user: shout hi\n"
        'assistant: Shouting.\n[tool call shout({"text": "hi"})]\n'
        "user: [tool result, success: HI]\n"
        "assistant: Done.\n"
    )
    assert "(nothing said yet)" in result.stderr
    assert "/history takes no argument" in result.stderr


def test_cost_without_prices_shows_tokens(fake_bedrock: FakeBedrock) -> None:
    result = run(fake_bedrock, stdin="hello world\n/cost\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "You said: hello world\ntokens: input 2, output 4, total 6\n"
    assert "--prices" in result.stderr


def test_cost_with_prices(fake_bedrock: FakeBedrock, tmp_path: Path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({DEFAULT_MODEL: {"input": 1.0, "output": 2.0}}))
    stdin = "hello world\n/cost\n/model other\nagain\n/cost\n"
    result = run(fake_bedrock, "--prices", str(prices), stdin=stdin)
    assert result.returncode == 1  # (no price for "other")
    lines = result.stdout.splitlines()
    # 2 input tokens at $1 and 4 output tokens at $2 per 1,000
    assert lines[:3] == [
        "You said: hello world",
        "tokens: input 2, output 4, total 6",
        "cost: $0.010000",
    ]
    assert "--prices" in result.stderr and "'other'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, ["--prices", "cannot read"]),
        ("{not json", ["--prices", "not JSON"]),
        ("[1, 2]", ["--prices", "dollars per 1,000 tokens"]),
        ('{"m": 3}', ["--prices", "dollars per 1,000 tokens"]),
    ],
)
def test_bad_prices_exit_2(
    fake_bedrock: FakeBedrock, tmp_path: Path, content: str | None, words: list[str]
) -> None:
    path = tmp_path / "prices.json"
    if content is not None:
        path.write_text(content)
    refused(run(fake_bedrock, "--prices", str(path), stdin="hi\n"), *words)


# --- --log-level --------------------------------------------------------------------------------


def test_log_level_writes_the_records_to_stderr(fake_bedrock: FakeBedrock) -> None:
    result = run(fake_bedrock, "--log-level", "debug", stdin="hello\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "You said: hello\n"  # (stdout carries the replies only)
    assert re.search(r"^INFO fastconverse: turn: conversation=", result.stderr, re.M)
    assert re.search(r"^DEBUG fastconverse: request ", result.stderr, re.M)
    quiet = run(fake_bedrock, "--log-level", "WARNING", stdin="hello\n")
    assert "fastconverse: turn" not in quiet.stderr


def test_bad_log_level_exits_2(fake_bedrock: FakeBedrock) -> None:
    refused(run(fake_bedrock, "--log-level", "loud", stdin="hi\n"), "--log-level", "DEBUG")
