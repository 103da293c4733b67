"""``python -m fastconverse chat`` as a real process: piped, or on a pseudo-terminal."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import default_sigint

TESTS = Path(__file__).parent
TIMEOUT = 30


def chat_env(**extra: str) -> dict[str, str]:
    """The environment of a chat process: test credentials, no profile, no model override."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and k not in ("FASTCONVERSE_MODEL", "NO_COLOR")
    }
    env.update(
        AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
        AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        AWS_EC2_METADATA_DISABLED="true",
    )
    env.update(extra)
    return env


def chat(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, cwd: Path = TESTS
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fastconverse", "chat", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env or chat_env(),
        timeout=TIMEOUT,
    )


# A terminal's control sequences (colours, cursor moves, clearing a line) and carriage returns.
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


def screen_text(raw: str) -> str:
    """What a terminal's output says, without its control sequences."""
    return _CONTROL.sub("", raw)


class Terminal:
    """The chat running on a pseudo-terminal of 100 x 40, read with generous timeouts.

    ``TERM=dumb`` unless ``env`` says otherwise: rich then leaves the output plain.
    """

    def __init__(self, *args: str, env: dict[str, str] | None = None, cwd: Path = TESTS) -> None:
        import fcntl
        import pty
        import struct
        import termios

        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fastconverse", "chat", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env=env or chat_env(TERM="dumb"),
            close_fds=True,
            preexec_fn=default_sigint,  # the test sends Ctrl-C
        )
        os.close(slave)
        self.pending = b""

    def expect(self, text: str) -> str:
        """Reads until ``text`` appears; returns everything up to and including it."""
        wanted = text.encode()
        deadline = time.monotonic() + TIMEOUT
        while wanted not in self.pending:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.master], [], [], max(left, 0))
            if not ready:
                raise AssertionError(f"no {text!r} in {self.pending!r}")
            try:
                data = os.read(self.master, 4096)
            except OSError:  # EIO: the process has gone and closed the terminal
                data = b""
            if not data:
                raise AssertionError(f"output ended without {text!r}: {self.pending!r}")
            self.pending += data
        end = self.pending.index(wanted) + len(wanted)
        seen, self.pending = self.pending[:end], self.pending[end:]
        return seen.decode(errors="replace")

    def type(self, line: str) -> None:
        os.write(self.master, line.encode())

    def interrupt(self) -> None:
        self.proc.send_signal(signal.SIGINT)  # what Ctrl-C sends

    def interrupt_until_exit(self) -> int:
        """Ctrl-C at the prompt, repeated until the process ends; its exit code.

        CPython's readline loses a SIGINT that lands between printing the prompt and waiting
        for input (the wait is not interrupted), so one signal sent right after the prompt
        appears is sometimes not seen until the next one.
        """
        for _ in range(TIMEOUT // 2):
            self.interrupt()
            try:
                return self.proc.wait(2)
            except subprocess.TimeoutExpired:
                continue
        raise AssertionError("Ctrl-C at the prompt did not end the chat")

    def wait(self) -> int:
        return self.proc.wait(TIMEOUT)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(TIMEOUT)
        os.close(self.master)
