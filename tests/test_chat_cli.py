"""``python -m fastconverse chat`` run as a real process, against FakeBedrock over HTTP."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from chat_process import Terminal, chat, chat_env
from conftest import assistant, user
from fastconverse.testing import FakeBedrock

DEFAULT_MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"


def chat_with(fake: FakeBedrock, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    """The chat pointed at an external FakeBedrock through --endpoint-url."""
    return chat("--endpoint-url", fake.url, "--region", "us-east-1", *args, stdin=stdin)


def streams(fake: FakeBedrock) -> list[Any]:
    return [r for r in fake.requests if r.operation == "ConverseStream"]


# --- --fake: FakeBedrock in the same process -----------------------------------------------


def test_fake_piped_prints_only_the_replies() -> None:
    result = chat("--fake", stdin="hello\n\n   \nhow are you today\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "You said: hello\nYou said: how are you today\n"
    assert "FakeBedrock" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1  # the one --fake note, no banner
    assert "you>" not in result.stdout + result.stderr


def test_fake_commands_in_piped_mode() -> None:
    stdin = "hello world\n/usage\n/model\n/model other-model\n/model\nbye\n/reset\n/usage\n"
    result = chat("--fake", stdin=stdin)
    assert result.returncode == 0, result.stderr
    # default model's rule: input = words of the history, output = words of the reply
    assert result.stdout == (
        "You said: hello world\n"
        "tokens: input 2, output 4, total 6; history: 2 messages\n"
        f"{DEFAULT_MODEL}\n"
        "other-model\n"
        "You said: bye\n"
        "tokens: input 9, output 7, total 16; history: 0 messages\n"
    )
    assert "Traceback" not in result.stderr


def test_fake_honours_the_model_env_variable() -> None:
    result = chat("--fake", stdin="/model\n", env=chat_env(FASTCONVERSE_MODEL="env-model"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "env-model\n"
    result = chat("--fake", "--model", "flag-model", stdin="/model\n")
    assert result.stdout == "flag-model\n"


def test_exit_and_quit_stop_reading(fake_bedrock: FakeBedrock) -> None:
    for command in ("/exit", "/quit"):
        result = chat_with(fake_bedrock, stdin=f"first\n{command}\nnever sent\n")
        assert result.returncode == 0, result.stderr
        assert result.stdout == "You said: first\n"
    assert [r.body["messages"][-1] for r in streams(fake_bedrock)] == [user("first")] * 2


def test_help_lists_the_commands() -> None:
    result = chat("--fake", stdin="/help\n")
    assert result.returncode == 0
    for command in ("/reset", "/usage", "/history", "/cost", "/save", "/model", "/exit", "/help"):
        assert command in result.stdout


def test_double_slash_sends_a_message_starting_with_a_slash() -> None:
    result = chat("--fake", stdin="//etc/hosts is a file\n")
    assert result.stdout == "You said: /etc/hosts is a file\n"


# --- against an external FakeBedrock ---------------------------------------------------------


def test_scripted_reply_is_streamed_with_the_default_model(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_text("Hello there, friend!", chunks=3)
    result = chat_with(fake_bedrock, stdin="Hi\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello there, friend!\n"
    (request,) = fake_bedrock.requests
    assert request.operation == "ConverseStream"
    assert request.model_id == DEFAULT_MODEL
    assert request.body["messages"] == [user("Hi")]
    assert "system" not in request.body
    assert "inferenceConfig" not in request.body


def test_history_grows_turn_by_turn(fake_bedrock: FakeBedrock) -> None:
    result = chat_with(fake_bedrock, stdin="one\ntwo\n")
    assert result.stdout == "You said: one\nYou said: two\n"
    assert streams(fake_bedrock)[-1].body["messages"] == [
        user("one"),
        assistant("You said: one"),
        user("two"),
    ]


def test_system_prompt_and_inference_options_are_sent(fake_bedrock: FakeBedrock) -> None:
    args = ("--system", "You are terse.", "--max-tokens", "50", "--temperature", "0.25")
    result = chat_with(fake_bedrock, *args, "--model", "my-model", stdin="Hi\n")
    assert result.returncode == 0, result.stderr
    (request,) = fake_bedrock.requests
    assert request.model_id == "my-model"
    assert request.body["system"] == [{"text": "You are terse."}]
    assert request.body["inferenceConfig"] == {"maxTokens": 50, "temperature": 0.25}


def test_max_tokens_cut_is_noted_on_stderr(fake_bedrock: FakeBedrock) -> None:
    result = chat_with(fake_bedrock, "--max-tokens", "2", stdin="a b c d\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "You said:\n"
    assert "token limit" in result.stderr


def test_reset_forgets_the_history(fake_bedrock: FakeBedrock) -> None:
    result = chat_with(fake_bedrock, "--system", "Be kind.", stdin="one\ntwo\n/reset\nthree\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "You said: one\nYou said: two\nYou said: three\n"
    sent = streams(fake_bedrock)
    assert [len(r.body["messages"]) for r in sent] == [1, 3, 1]
    assert sent[-1].body["messages"] == [user("three")]
    assert sent[-1].body["system"] == [{"text": "Be kind."}]  # the system prompt stays


def test_model_command_switches_the_model_of_the_next_turn(fake_bedrock: FakeBedrock) -> None:
    result = chat_with(fake_bedrock, stdin="one\n/model other\n/model\ntwo\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "You said: one\nother\nYou said: two\n"
    assert [r.model_id for r in streams(fake_bedrock)] == [DEFAULT_MODEL, "other"]
    assert len(streams(fake_bedrock)[-1].body["messages"]) == 3  # the history goes along


def test_usage_shows_cache_tokens_when_there_are_some(fake_bedrock: FakeBedrock) -> None:
    usage = {
        "inputTokens": 3,
        "outputTokens": 2,
        "cacheReadInputTokens": 5,
        "cacheWriteInputTokens": 7,
    }
    fake_bedrock.enqueue_text("cached answer", usage=usage)
    result = chat_with(fake_bedrock, stdin="hi\n/usage\n")
    assert result.stdout == (
        "cached answer\n"
        "tokens: input 3, output 2, total 17, cache read 5, cache write 7; history: 2 messages\n"
    )


def test_error_turn_is_reported_and_leaves_no_trace(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_error("ThrottlingException")
    result = chat_with(fake_bedrock, "--max-attempts", "1", stdin="doomed\nagain\n")
    assert result.returncode == 1  # a piped turn failed
    assert result.stdout == "You said: again\n"
    (error_line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "ThrottlingException" in error_line
    assert "Traceback" not in result.stderr
    assert streams(fake_bedrock)[-1].body["messages"] == [user("again")]


def test_throttling_is_retried_with_the_default_attempts(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_error("ThrottlingException")
    result = chat_with(fake_bedrock, stdin="patience\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "You said: patience\n"
    assert len(streams(fake_bedrock)) == 2


def test_validation_error_is_not_retried(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_error("ValidationException", "Bad input.")
    result = chat_with(fake_bedrock, stdin="bad\ngood\n")
    assert result.returncode == 1
    assert result.stdout == "You said: good\n"
    assert "error: ValidationException: Bad input." in result.stderr
    assert [len(r.body["messages"]) for r in streams(fake_bedrock)] == [1, 1]


def test_error_in_the_middle_of_a_reply(fake_bedrock: FakeBedrock) -> None:
    # messageStart and the first word arrive, then an in-stream throttlingException
    fake_bedrock.enqueue_text(
        "partial reply here", stream_error="throttlingException", after_events=2
    )
    result = chat_with(
        fake_bedrock, "--max-attempts", "1", "--resume", "0", stdin="tell me\nagain\n"
    )
    assert result.returncode == 1
    # the cut reply's line is ended before the error note; the next reply starts afresh
    assert result.stdout == "partial \nYou said: again\n"
    assert "error: " in result.stderr
    assert "hrottling" in result.stderr
    assert streams(fake_bedrock)[-1].body["messages"] == [user("again")]


def test_a_reply_cut_midway_is_continued(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_text(
        "partial reply here", stream_error="throttlingException", after_events=2
    )
    result = chat_with(fake_bedrock, stdin="tell me\n")
    assert result.returncode == 0, result.stderr
    # (the continuation's text follows on the same line, nothing repeated)
    assert result.stdout == "partial reply here\n"
    assert len(streams(fake_bedrock)) == 2


def test_unknown_command_is_not_sent(fake_bedrock: FakeBedrock) -> None:
    result = chat_with(fake_bedrock, stdin="/frobnicate now\nhello\n")
    assert result.returncode == 1
    assert result.stdout == "You said: hello\n"
    assert "/frobnicate" in result.stderr
    for command in ("/reset", "/usage", "/history", "/cost", "/save", "/model", "/exit"):
        assert command in result.stderr
    assert [r.body["messages"] for r in streams(fake_bedrock)] == [[user("hello")]]


def test_commands_that_take_no_argument(fake_bedrock: FakeBedrock) -> None:
    result = chat_with(fake_bedrock, stdin="one\n/reset please\ntwo\n")
    assert result.returncode == 1
    assert "/reset takes no argument" in result.stderr
    assert len(streams(fake_bedrock)[-1].body["messages"]) == 3  # history kept


# --- start-up errors: exit code 2, no traceback ----------------------------------------------


def test_no_region_exits_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("")
    env = chat_env(AWS_CONFIG_FILE=str(empty), AWS_SHARED_CREDENTIALS_FILE=str(empty))
    result = chat(stdin="hello\n", env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "region" in result.stderr
    assert "--region" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--temperature", "3"], "--temperature"),
        (["--temperature", "warm"], "--temperature"),
        (["--temperature", "nan"], "--temperature"),
        (["--max-tokens", "0"], "--max-tokens"),
        (["--max-tokens", "many"], "--max-tokens"),
        (["--max-attempts", "0"], "--max-attempts"),
        (["--fake", "--endpoint-url", "http://127.0.0.1:1"], "--fake"),
        (["--fake", "--profile", "dev"], "--fake"),
        (["--endpoint-url", "localhost:8000", "--region", "us-east-1"], "endpoint_url"),
    ],
)
def test_bad_options_exit_2(args: list[str], message: str) -> None:
    result = chat(*args, stdin="hello\n")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "error" in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


# --- at a terminal (a pseudo-terminal) -------------------------------------------------------


def test_terminal_prompts_and_streams_replies(terminal: type[Terminal]) -> None:
    term = terminal("--fake")
    banner = term.expect("you> ")
    assert "FakeBedrock" in banner
    assert "/help" in banner
    term.type("hello there\n")
    assert "You said: hello there" in term.expect("you> ")
    term.type("/usage\n")
    assert "history: 2 messages" in term.expect("you> ")
    term.type("/exit\n")
    assert term.wait() == 0


def test_terminal_ctrl_d_at_the_prompt_exits_0(terminal: type[Terminal]) -> None:
    term = terminal("--fake")
    term.expect("you> ")
    term.type("\x04")
    assert term.wait() == 0


def test_terminal_ctrl_c_at_the_prompt_exits_0(terminal: type[Terminal]) -> None:
    term = terminal("--fake")
    term.expect("you> ")
    assert term.interrupt_until_exit() == 0


def test_terminal_ctrl_c_stops_a_reply_and_drops_the_turn(
    terminal: type[Terminal], fake_bedrock: FakeBedrock
) -> None:
    # a long, slow reply: the interrupt lands long before its end
    fake_bedrock.enqueue_text(" ".join(f"w{i}" for i in range(60)), delta_delay=0.5)
    term = terminal("--endpoint-url", fake_bedrock.url, "--region", "us-east-1")
    term.expect("you> ")
    term.type("tell me a long story\n")
    term.expect("w1 ")
    term.interrupt()
    assert "interrupted" in term.expect("you> ")
    term.type("again\n")
    assert "You said: again" in term.expect("you> ")
    assert streams(fake_bedrock)[-1].body["messages"] == [user("again")]
    term.type("/usage\n")
    assert "history: 2 messages" in term.expect("you> ")
    term.type("/quit\n")
    assert term.wait() == 0
