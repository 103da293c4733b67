"""Runtime behaviour of blocking calls: Ctrl-C interrupts them, and they work inside a
running asyncio loop (as in Jupyter)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from typing import Any

from conftest import default_sigint, fc_client, user
from fastconverse import ConverseClient
from fastconverse.testing import FakeBedrock


def client(fake: FakeBedrock) -> ConverseClient:
    return fc_client(fake)


def test_ctrl_c_interrupts_a_blocked_call_quickly() -> None:
    script = textwrap.dedent(
        """
        import os, signal, threading, time
        from fastconverse import ConverseClient
        from fastconverse.testing import FakeBedrock

        with FakeBedrock() as fake:
            fake.enqueue_text("late", first_byte_delay=20)
            c = ConverseClient("m", endpoint_url=fake.url, region_name="us-east-1",
                               aws_access_key_id="a", aws_secret_access_key="b")
            threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
            started = time.monotonic()
            try:
                c.converse(messages=[{"role": "user", "content": [{"text": "hi"}]}])
                print("not interrupted")
            except KeyboardInterrupt:
                print(f"interrupted after {time.monotonic() - started:.2f}")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=default_sigint,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.strip()
    # the reply would take 20 s: "interrupted" shows Ctrl-C ended the call (no upper bound on
    # the time it took: a loaded machine may be slow, not wrong)
    assert out.startswith("interrupted after "), out


def test_sync_calls_work_inside_a_running_loop(fake_bedrock: FakeBedrock) -> None:
    c = client(fake_bedrock)

    async def notebook_cell() -> Any:
        # a Jupyter cell runs inside the kernel's loop; a blocking call must not need it
        return c.converse(messages=[user("from a cell")])

    out = asyncio.run(notebook_cell())
    assert out["output"]["message"]["content"] == [{"text": "You said: from a cell"}]


def test_cancelling_an_await_cancels_and_leaves_the_client_usable(
    fake_bedrock: FakeBedrock,
) -> None:
    fake_bedrock.enqueue_text("never read", first_byte_delay=5)
    c = client(fake_bedrock)

    async def main() -> None:
        task = asyncio.ensure_future(c.converse_async(messages=[user("hi")]))
        await asyncio.sleep(0.3)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        else:
            raise AssertionError("the task was not cancelled")

    asyncio.run(main())
    assert [r.operation for r in fake_bedrock.requests] == ["Converse"]
    # the cancelled request wedged nothing: the next call is answered by the default model
    assert c.converse(messages=[user("next")])["output"]["message"]["content"] == [
        {"text": "You said: next"}
    ]


CTRL_C_TURN = """
import os, signal, threading, time
from fastconverse import ConverseClient
from fastconverse.testing import FakeBedrock

with FakeBedrock() as fake:
    c = ConverseClient("m", endpoint_url=fake.url, region_name="us-east-1",
                       aws_access_key_id="a", aws_secret_access_key="b")
    conv = c.create_conversation()
    conv.send("kept")
    fake.enqueue_text("late", first_byte_delay=20)
    fake.enqueue_text("one two three four", delta_delay=20)
    for turn in ("send", "stream"):
        threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        started = time.monotonic()
        try:
            if turn == "send":
                conv.send("lost")
            else:
                for event in conv.stream("lost too"):
                    pass
            print("not interrupted")
        except KeyboardInterrupt:
            print(f"{turn} {time.monotonic() - started:.2f} {len(conv)} {conv.busy}")
    print(conv.send("after").text, len(conv))
"""


def test_ctrl_c_ends_a_turn_quickly_and_keeps_the_history() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CTRL_C_TURN],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=default_sigint,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 3, proc.stdout
    for line, turn in zip(lines, ("send", "stream")):
        name, elapsed, length, busy = line.split()
        # interrupted (the reply would take far longer), with the history as it was and the
        # conversation free again
        assert (name, length, busy) == (turn, "2", "False"), line
        assert float(elapsed) >= 0.5, line
    assert lines[2] == "You said: after 4"


NO_CREDENTIALS = r"""
import sys
from fastconverse import ConverseClient, errors
try:
    ConverseClient("m")
except errors.CredentialsError as e:
    print("no region:", str(e).replace("\n", " "))
c = ConverseClient("m", region_name="us-east-1", endpoint_url=sys.argv[1], max_attempts=1)
try:
    c.create_conversation().send("hi")
except errors.CredentialsError as e:
    print("no credentials:", str(e).replace("\n", " "))
"""


def test_missing_region_or_credentials_say_how_to_fix_them(
    fake_bedrock: FakeBedrock, tmp_path: Any
) -> None:
    empty = tmp_path / "empty"
    empty.write_text("")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    proc = subprocess.run(
        [sys.executable, "-c", NO_CREDENTIALS, fake_bedrock.url],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    region, creds = proc.stdout.splitlines()
    assert region.startswith("no region:") and "region" in region.lower()
    assert "region_name" in region  # says how to fix it
    assert creds.startswith("no credentials: No AWS credentials found. Attempted:")
    assert "aws_access_key_id" in creds and "DispatchFailure" not in creds
    assert fake_bedrock.requests == []  # nothing unsigned was sent


EXIT_AFTER_ASYNC = """
import asyncio, sys
from fastconverse import ConverseClient
c = ConverseClient("m", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="a", aws_secret_access_key="b")
conv = c.create_conversation()

async def main():
    reply = await conv.send_async("w " * 50000)
    events = [e async for e in conv.stream("again")]
    return len(reply.text), len(events)

print(asyncio.run(main()))
"""


def test_the_interpreter_exits_cleanly_right_after_async_calls(fake_bedrock: FakeBedrock) -> None:
    # a result handed to the loop as the interpreter finalizes used to crash it at exit
    for _ in range(8):
        proc = subprocess.run(
            [sys.executable, "-c", EXIT_AFTER_ASYNC, fake_bedrock.url],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (proc.returncode, proc.stderr) == (0, ""), proc.stderr[-2000:]
        assert proc.stdout.strip() == "(100010, 7)"
