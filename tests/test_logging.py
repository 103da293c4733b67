"""Logging (issue 24): ``logging.getLogger("fastconverse")`` gets INFO once per turn, DEBUG per
request and tool call, WARNING for what a user should act on; message text only on opt-in;
records made on the caller's thread."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
from typing import Any

import pytest
from conftest import fc_client
from fastconverse import SlidingWindow, errors, tool
from fastconverse.testing import FakeBedrock

SECRET_WORDS = "purple elephants at midnight"


def ours(caplog: pytest.LogCaptureFixture, level: int | None = None) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name.startswith("fastconverse") and (level is None or r.levelno == level)
    ]


def test_info_is_one_line_per_turn_with_its_figures(
    fake_bedrock: FakeBedrock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="fastconverse")
    conv = fc_client(fake_bedrock).create_conversation()
    fake_bedrock.enqueue_text("hi there", usage={"inputTokens": 11, "outputTokens": 3})
    reply = conv.send(SECRET_WORDS)
    records = ours(caplog)
    assert [r.levelno for r in records] == [logging.INFO]
    line = records[0].getMessage()
    for part in (
        f"conversation={conv.id}",
        "model=m",
        "requests=1",
        f"request_ids={reply.request_id}",
        "tokens in=11 out=3",
        "stop=end_turn",
        "tools=-",
        "retries=0",
    ):
        assert part in line, (part, line)
    assert records[0].thread == threading.get_ident()
    assert SECRET_WORDS not in line and "hi there" not in line


def test_debug_has_each_request_with_its_retries(
    fake_bedrock: FakeBedrock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="fastconverse")
    conv = fc_client(fake_bedrock, max_attempts=2).create_conversation()
    fake_bedrock.enqueue_error("ThrottlingException")  # (the SDK retries it once)
    fake_bedrock.enqueue_text("a distinctive reply")
    conv.send(SECRET_WORDS)
    debug = [r.getMessage() for r in ours(caplog, logging.DEBUG)]
    requests = [m for m in debug if m.startswith("request turn:")]
    assert len(requests) == 1, debug
    assert "retry(ThrottlingException" in requests[0] and "stop=end_turn" in requests[0]
    info = ours(caplog, logging.INFO)[0].getMessage()
    assert "retries=1" in info, info
    assert all(SECRET_WORDS not in m and "distinctive" not in m for m in debug), debug


def test_a_tool_loop_names_its_tools_and_warns_of_a_failing_one(
    fake_bedrock: FakeBedrock, caplog: pytest.LogCaptureFixture
) -> None:
    @tool
    def weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    @tool
    def broken(city: str) -> str:
        """Always fails."""
        raise RuntimeError("the sensor is down")

    caplog.set_level(logging.DEBUG, logger="fastconverse")
    conv = fc_client(fake_bedrock).create_conversation(tools=[weather, broken])
    fake_bedrock.enqueue_tool_uses([("weather", {"city": "Paris"}), ("broken", {"city": "Oslo"})])
    fake_bedrock.enqueue_text("done")
    conv.send("go")
    warnings = [r.getMessage() for r in ours(caplog, logging.WARNING)]
    assert len(warnings) == 1 and "tool broken failed" in warnings[0], warnings
    # (what the model was told may quote its input: only on opt-in)
    assert "the sensor is down" not in warnings[0] and "log_content=True" in warnings[0]
    info = ours(caplog, logging.INFO)[0].getMessage()
    assert "requests=2" in info and "tools=weather,broken" in info, info
    debug = [r.getMessage() for r in ours(caplog, logging.DEBUG)]
    assert any(m.startswith("tool weather:") for m in debug)
    assert not any("Paris" in m for m in debug), "a tool's input is content: not logged"


@pytest.mark.parametrize("how", ["client", "environment"])
def test_content_is_logged_only_on_opt_in(
    fake_bedrock: FakeBedrock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    caplog.set_level(logging.DEBUG, logger="fastconverse")
    if how == "environment":
        monkeypatch.setenv("FASTCONVERSE_LOG_CONTENT", "1")
        client = fc_client(fake_bedrock)
    else:
        client = fc_client(fake_bedrock, log_content=True)
    conv = client.create_conversation()
    fake_bedrock.enqueue_text("a quiet answer")
    conv.send(SECRET_WORDS)
    fake_bedrock.enqueue_error("ValidationException", "nope")
    with pytest.raises(errors.ValidationError):
        conv.send("again")
    text = "\n".join(r.getMessage() for r in ours(caplog))
    assert SECRET_WORDS in text and "a quiet answer" in text
    assert "ValidationError: ValidationException: nope" in text


def test_log_content_is_checked() -> None:
    with pytest.raises(TypeError, match="log_content: expected a bool, got str"):
        fc_client(FakeBedrock.__new__(FakeBedrock), log_content="yes")  # type: ignore[arg-type]


def test_a_failed_turn_and_a_guardrail_are_reported(
    fake_bedrock: FakeBedrock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="fastconverse")
    conv = fc_client(fake_bedrock, max_attempts=1).create_conversation()
    fake_bedrock.enqueue_error("ValidationException", "nope")
    with pytest.raises(errors.ValidationError):
        conv.send("hi")
    failed = ours(caplog, logging.INFO)[-1].getMessage()
    assert failed.startswith("turn failed:"), failed
    assert "ValidationError (ValidationException)" in failed and "nope" not in failed, failed
    fake_bedrock.enqueue_guardrail_intervention()
    conv.send("something forbidden")
    warnings = [r.getMessage() for r in ours(caplog, logging.WARNING)]
    assert any("a guardrail intervened" in w for w in warnings), warnings


def test_streams_and_async_turns_log_on_the_callers_thread(
    fake_bedrock: FakeBedrock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="fastconverse")
    conv = fc_client(fake_bedrock).create_conversation()
    conv.stream("one").until_done()

    async def main() -> int:
        await conv.send_async("two")
        async for _ in conv.stream("three"):
            pass
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    infos = ours(caplog, logging.INFO)
    assert len(infos) == 3
    assert {r.thread for r in ours(caplog)} == {threading.get_ident(), loop_thread}
    first_token = [
        r.getMessage() for r in ours(caplog, logging.DEBUG) if "first token" in r.getMessage()
    ]
    assert len(first_token) == 2, "streams report their time to the first token"


def test_warnings_alone_when_the_level_is_warning(
    fake_bedrock: FakeBedrock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="fastconverse")

    @tool
    def broken() -> str:
        """Always fails."""
        raise RuntimeError("down")

    conv = fc_client(fake_bedrock).create_conversation(tools=[broken])
    fake_bedrock.enqueue_tool_uses([("broken", {})])
    fake_bedrock.enqueue_text("done")
    conv.send("go")
    assert [r.levelno for r in ours(caplog)] == [logging.WARNING]


QUIET = """
import logging, sys
from fastconverse import ConverseClient, tool
from fastconverse.testing import FakeBedrock

@tool
def broken() -> str:
    \"\"\"Always fails.\"\"\"
    raise RuntimeError("down")

with FakeBedrock() as fake:
    client = ConverseClient("m", endpoint_url=fake.url, region_name="us-east-1",
                            aws_access_key_id="a", aws_secret_access_key="b")
    conv = client.create_conversation(tools=[broken])
    fake.enqueue_tool_uses([("broken", {})])
    fake.enqueue_text("done")
    conv.send("go")
    print("sent", "logging" in sys.modules)
"""


def test_a_program_that_never_set_logging_up_hears_nothing() -> None:
    done = subprocess.run([sys.executable, "-c", QUIET], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("sent")
    assert done.stderr == "", done.stderr


def test_a_turn_that_recovered_from_an_overflow_warns(
    make_fake: Any, caplog: pytest.LogCaptureFixture
) -> None:
    fake = make_fake(default_context_window=400)
    conv = fc_client(fake).create_conversation(memory=SlidingWindow(1000))
    for i in range(6):
        conv.send(f"turn {i} " + "word " * 30)
    caplog.set_level(logging.INFO, logger="fastconverse")
    conv.send("one more " + "word " * 30)
    warnings = [r.getMessage() for r in ours(caplog, logging.WARNING)]
    assert len(warnings) == 1 and "the turn cut its history" in warnings[0], warnings
    assert "requests=2" in ours(caplog, logging.INFO)[-1].getMessage()


def test_a_stream_closed_early_leaves_nothing_behind(
    fake_bedrock: FakeBedrock, caplog: pytest.LogCaptureFixture
) -> None:
    import gc
    import weakref

    caplog.set_level(logging.DEBUG, logger="fastconverse")
    client = fc_client(fake_bedrock)
    conv = client.create_conversation()
    fake_bedrock.enqueue_text("one two three four", delta_delay=0.01)
    stream = conv.stream("go")
    next(iter(stream))
    stream.close()
    conv.send("next")  # (a new turn after the closed one is logged whole)
    assert "requests=1" in ours(caplog, logging.INFO)[-1].getMessage()
    gone = weakref.ref(conv)
    client.delete_conversation(conv.id)
    del conv, stream
    gc.collect()
    assert gone() is None, "the log's hook keeps a conversation alive"
