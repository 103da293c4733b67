"""FakeBedrock as a server: lifecycle, the pytest fixture, the CLI, concurrency, timing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from conftest import boto3_client, default_sigint, user
from fastconverse.testing import FakeBedrock


def test_fixture_is_a_running_fake(fake_bedrock: FakeBedrock) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", fake_bedrock.url)
    assert fake_bedrock.port == int(fake_bedrock.url.rsplit(":", 1)[1])
    assert fake_bedrock.host == "127.0.0.1"
    assert not fake_bedrock.closed
    assert repr(fake_bedrock) == f'FakeBedrock(url="{fake_bedrock.url}", pending=0, requests=0)'


def test_close_stops_serving() -> None:
    with FakeBedrock() as fake:
        client = boto3_client(fake)
        client.converse(modelId="m", messages=[user("hi")])
    assert fake.closed
    assert repr(fake).endswith(", closed)")
    with pytest.raises(BotoConnectionError):  # refused, or the pooled connection closed
        client.converse(modelId="m", messages=[user("hi")])
    fake.close()  # idempotent


def test_reset_forgets_turns_and_requests(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_text("a")
    fake_bedrock.enqueue_error("ThrottlingException")
    boto3_client(fake_bedrock).converse(modelId="m", messages=[user("hi")])
    assert (fake_bedrock.pending, len(fake_bedrock.requests)) == (1, 1)
    fake_bedrock.reset()
    assert (fake_bedrock.pending, len(fake_bedrock.requests)) == (0, 0)


def test_two_fakes_are_independent(make_fake: Any) -> None:
    a, b = make_fake(), make_fake()
    assert a.port != b.port
    a.enqueue_text("from a")
    out = boto3_client(b).converse(modelId="m", messages=[user("hi")])
    assert out["output"]["message"]["content"] == [{"text": "You said: hi"}]
    assert a.pending == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"chunks": 0}, "chunks must be >= 1"),
        ({"stop_reason": "done"}, "stop_reason must be one of end_turn, tool_use"),
        (
            {"stream_error": "accessDeniedException"},
            "stream_error must be one of throttlingException",
        ),
        ({"stream_error_message": "x"}, "stream_error_message needs stream_error"),
        ({"delta_delay": -1.0}, "delta_delay: expected a number of seconds >= 0"),
        ({"usage": {"inputTokens": -3}}, 'usage["inputTokens"] must be an int >= 0'),
    ],
)
def test_bad_script_options_are_refused_clearly(
    fake_bedrock: FakeBedrock, kwargs: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        fake_bedrock.enqueue_text("x", **kwargs)
    assert fake_bedrock.pending == 0


def test_bad_content_and_codes_are_refused_clearly(fake_bedrock: FakeBedrock) -> None:
    with pytest.raises(ValueError, match=r"content\[0\] must be a dict with exactly one key"):
        fake_bedrock.enqueue_turn([{"text": "a", "toolUse": {}}])
    with pytest.raises(ValueError, match=r'content\[0\] has key "video"'):
        fake_bedrock.enqueue_turn([{"video": {}}])
    # (a model may answer with an image: a scripted one is checked as such)
    with pytest.raises(ValueError, match=r"content\[0\]\['image'\]\['format'\] must be a str"):
        fake_bedrock.enqueue_turn([{"image": {}}])
    with pytest.raises(ValueError, match=r'code must be one of ValidationException, .* got "Nope"'):
        fake_bedrock.enqueue_error("Nope")
    with pytest.raises(ValueError, match=r"calls\[0\] must be a \(name, input\)"):
        fake_bedrock.enqueue_tool_uses([("only-name",)])  # type: ignore[list-item]
    fake_bedrock.enqueue_error("CustomThing", "odd", status=418)
    with pytest.raises(ClientError) as info:
        boto3_client(fake_bedrock).converse(modelId="m", messages=[user("hi")])
    assert info.value.response["Error"]["Code"] == "CustomThing"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 418
    assert fake_bedrock.pending == 0


def test_events_arrive_as_they_are_produced(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_text("a b c d", delta_delay=0.15)
    stream = boto3_client(fake_bedrock).converse_stream(modelId="m", messages=[user("hi")])[
        "stream"
    ]
    arrivals = []
    for event in stream:
        if "contentBlockDelta" in event:
            arrivals.append(time.monotonic())
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert len(gaps) == 3 and all(g >= 0.1 for g in gaps), gaps


def test_first_byte_delay_applies_to_errors_too(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_error("ThrottlingException", first_byte_delay=0.3)
    started = time.monotonic()
    with pytest.raises(ClientError, match="ThrottlingException"):
        boto3_client(fake_bedrock).converse(modelId="m", messages=[user("hi")])
    assert time.monotonic() - started >= 0.3


def test_concurrent_streams_each_get_their_own_turn(fake_bedrock: FakeBedrock) -> None:
    for i in range(40):
        fake_bedrock.enqueue_text(f"reply {i}", model_id=f"model-{i}", delta_delay=0.01)
    client = boto3_client(fake_bedrock, max_pool_connections=40)
    results: dict[int, str] = {}

    def run(i: int) -> None:
        events = client.converse_stream(modelId=f"model-{i}", messages=[user("hi")])["stream"]
        results[i] = "".join(
            e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e
        )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: f"reply {i}" for i in range(40)}


def test_serve_command_runs_until_interrupted() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fastconverse", "serve", "--port", "0", "--model", "only-this"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=default_sigint,  # the test sends Ctrl-C
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, line
        client = boto3.client(
            "bedrock-runtime",
            endpoint_url=match.group(0),
            region_name="us-east-1",
            aws_access_key_id="a",
            aws_secret_access_key="b",
        )
        out = client.converse(modelId="only-this", messages=[user("hello")])
        assert out["output"]["message"]["content"] == [{"text": "You said: hello"}]
        with pytest.raises(
            client.exceptions.ValidationException, match="model identifier is invalid"
        ):
            client.converse(modelId="another", messages=[user("hello")])
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


def test_serve_command_rejects_bad_options() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "fastconverse", "serve", "--credentials", "no-colon"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "expected ACCESS_KEY_ID:SECRET_ACCESS_KEY" in proc.stderr


def test_max_recorded_keeps_the_newest_requests() -> None:
    from conftest import fc_client

    with FakeBedrock(max_recorded=3) as fake:
        conv = fc_client(fake).create_conversation()
        for i in range(5):
            conv.send(f"turn {i}")
        kept = fake.requests
        assert [r.body["messages"][-1]["content"][0]["text"] for r in kept] == [
            "turn 2",
            "turn 3",
            "turn 4",
        ]
        # A read shares what was recorded: the same request twice is the same data.
        assert fake.requests[-1].body == kept[-1].body
    with pytest.raises(ValueError, match="max_recorded: expected an int >= 0"):
        FakeBedrock(max_recorded=-1)
