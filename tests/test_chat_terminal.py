"""The chat at a terminal: replies rendered as Markdown by rich (live, as they stream), plain
without rich and when piped, and tool calls shown as they happen. Real processes on a
pseudo-terminal, against FakeBedrock over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chat_process import Terminal, chat, chat_env, screen_text
from conftest import user
from fastconverse.testing import FakeBedrock

MARKDOWN = (
    "# Weather report\n\n"
    "It is **sunny** today, with `code` too.\n\n"
    "```python\nprint('umbrella')\n```\n"
)

# A tool that waits for the test to let it finish: its call is on the screen before it ends.
TOOLS = """\
import os, time
from fastconverse import tool

@tool
def get_weather(city: str) -> str:
    '''The weather in a city.

    Args:
        city: the city's name
    '''
    for _ in range(600):
        if os.path.exists("go"):
            break
        time.sleep(0.05)
    return f"sunny in {city}"

@tool
def broken(city: str) -> str:
    '''Always fails.

    Args:
        city: any city
    '''
    raise RuntimeError("the weather station is down")
"""


def rich_env(**extra: str) -> dict[str, str]:
    """A terminal rich renders on: colours and cursor moves."""
    return chat_env(TERM="xterm-256color", **extra)


def endpoint(fake: FakeBedrock) -> tuple[str, ...]:
    return ("--endpoint-url", fake.url, "--region", "us-east-1")


@pytest.fixture
def tools_dir(tmp_path: Path) -> Path:
    (tmp_path / "chat_tools.py").write_text(TOOLS)
    return tmp_path


def test_terminal_renders_a_reply_as_markdown(
    terminal: type[Terminal], fake_bedrock: FakeBedrock
) -> None:
    fake_bedrock.enqueue_text(MARKDOWN, chunks=6)
    term = terminal(*endpoint(fake_bedrock), env=rich_env())
    term.expect("you> ")
    term.type("weather?\n")
    raw = term.expect("you> ")
    shown = screen_text(raw)
    assert "Weather report" in shown and "# Weather" not in shown  # a heading
    assert "It is sunny today" in shown and "**" not in shown  # bold, styled
    assert "\x1b[1m" in raw  # (bold, as the terminal was told)
    assert "print('umbrella')" in shown and "```" not in shown  # a code block
    assert "with code too" in shown and "`code`" not in shown
    term.type("/exit\n")
    assert term.wait() == 0


def test_the_same_reply_piped_stays_plain(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_text(MARKDOWN, chunks=6)
    result = chat(*endpoint(fake_bedrock), stdin="weather?\n", env=rich_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout == MARKDOWN + "\n"  # as the model wrote it, no control sequences
    assert "\x1b" not in result.stderr


def test_terminal_without_rich_falls_back_to_plain_text(
    terminal: type[Terminal], tmp_path: Path
) -> None:
    # a rich that cannot be imported, found before the installed one
    (tmp_path / "rich").mkdir()
    (tmp_path / "rich" / "__init__.py").write_text("raise ImportError('no rich here')\n")
    env = rich_env()
    env["PYTHONPATH"] = f"{tmp_path}:{env.get('PYTHONPATH', '')}"
    term = terminal("--fake", env=env)
    assert "fastconverse[chat]" in term.expect("you> ")  # (says how to get Markdown)
    term.type("**bold** words\n")
    shown = screen_text(term.expect("you> "))
    assert "You said: **bold** words" in shown
    term.type("/exit\n")
    assert term.wait() == 0


def test_terminal_shows_a_tool_call_as_it_happens(
    terminal: type[Terminal], fake_bedrock: FakeBedrock, tools_dir: Path
) -> None:
    fake_bedrock.enqueue_tool_use("get_weather", {"city": "Paris"}, text="Let me **check**.")
    fake_bedrock.enqueue_text("It is *sunny* in Paris.")
    args = (*endpoint(fake_bedrock), "--tools", "chat_tools:get_weather")
    term = terminal(*args, env=rich_env(), cwd=tools_dir)
    term.expect("you> ")
    term.type("weather in Paris?\n")
    before = screen_text(term.expect("tool get_weather called"))
    assert "Let me check." in before  # the text before the call, rendered
    # the call is on the screen while the tool still runs: now let it finish
    (tools_dir / "go").write_text("")
    assert 'tool get_weather({"city": "Paris"}): ok' in screen_text(term.expect(" s)"))
    assert "It is sunny in Paris." in screen_text(term.expect("you> "))
    term.type("/exit\n")
    assert term.wait() == 0
    second = fake_bedrock.requests[-1].body["messages"]
    result = second[2]["content"][0]["toolResult"]
    assert result["content"] == [{"text": "sunny in Paris"}]


def test_piped_tool_calls_are_notes_on_stderr(fake_bedrock: FakeBedrock, tools_dir: Path) -> None:
    (tools_dir / "go").write_text("")
    fake_bedrock.enqueue_tool_use("get_weather", {"city": "Paris"}, text="Let me check.")
    fake_bedrock.enqueue_text("It is sunny.")
    fake_bedrock.enqueue_tool_use("broken", {"city": "Oslo"})
    fake_bedrock.enqueue_text("The station is down.")
    args = (*endpoint(fake_bedrock), "--tools", "chat_tools:get_weather")
    args += ("--tools", "chat_tools:broken")
    result = chat(*args, stdin="weather?\nand Oslo?\n", cwd=tools_dir)
    assert result.returncode == 0, result.stderr
    # stdout carries only the replies: the text before a call ends its line
    assert result.stdout == "Let me check.\nIt is sunny.\nThe station is down.\n"
    notes = result.stderr.splitlines()
    assert "(tool get_weather called)" in notes
    assert any(n.startswith('(tool get_weather({"city": "Paris"}): ok (') for n in notes)
    (failed,) = [n for n in notes if n.startswith("(tool broken(")]
    assert "error: " in failed and "the weather station is down" in failed


def test_terminal_ctrl_c_stops_a_markdown_reply(
    terminal: type[Terminal], fake_bedrock: FakeBedrock
) -> None:
    fake_bedrock.enqueue_text(" ".join(f"**w{i}**" for i in range(60)), delta_delay=0.5)
    term = terminal(*endpoint(fake_bedrock), env=rich_env())
    term.expect("you> ")
    term.type("tell me a long story\n")
    term.expect("w1")
    term.interrupt()
    shown = screen_text(term.expect("you> "))
    assert "interrupted" in shown
    assert "**" not in shown  # (what arrived stays rendered)
    term.type("again\n")
    term.expect("you> ")
    assert fake_bedrock.requests[-1].body["messages"] == [user("again")]
    term.type("/quit\n")
    assert term.wait() == 0


def test_terminal_history_shows_roles_and_markdown(terminal: type[Terminal]) -> None:
    term = terminal("--fake", env=rich_env())
    term.expect("you> ")
    term.type("a **bold** claim\n")
    term.expect("you> ")
    term.type("/history\n")
    shown = screen_text(term.expect("you> "))
    assert "user:" in shown and "assistant:" in shown
    assert "You said: a bold claim" in shown and "**" not in shown
    term.type("/exit\n")
    assert term.wait() == 0


def test_terminal_with_a_store_names_the_conversation(
    terminal: type[Terminal], tmp_path: Path
) -> None:
    db = tmp_path / "chats.db"
    term = terminal("--fake", "--store", str(db), env=rich_env())
    banner = screen_text(term.expect("you> "))
    assert f"kept in {db}" in banner
    term.type("remember me\n")
    term.expect("you> ")
    term.type(f"/save {tmp_path / 'saved.json'}\n")
    assert "saved 2 messages" in screen_text(term.expect("you> "))
    term.type("/exit\n")
    assert term.wait() == 0
    saved: dict[str, Any] = json.loads((tmp_path / "saved.json").read_text())
    assert saved["conversationId"] in banner
