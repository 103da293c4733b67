"""``python -m fastconverse chat``: a streaming chat with a Bedrock model in the terminal.

At a terminal it prompts with ``you> `` and streams each reply as it arrives; Ctrl-C stops a
reply (the turn is dropped, the history stays as it was) and Ctrl-C or Ctrl-D at the prompt
exits. With piped input every non-empty line is one turn and only the replies are written to
stdout, one per turn; notes and errors go to stderr. Lines starting with ``/`` are commands.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from fastconverse import Conversation, ConverseClient, TextDelta, errors

__all__ = ["DEFAULT_MODEL", "MODEL_ENV", "ChatOptions", "default_model", "run"]

DEFAULT_MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
MODEL_ENV = "FASTCONVERSE_MODEL"
PROMPT = "you> "

HELP = """\
/reset        forget the conversation so far
/usage        tokens used in this session and messages in the history
/model NAME   switch to model NAME (/model alone shows the current one)
/help         this list
/exit, /quit  leave (so do Ctrl-D and, at the prompt, Ctrl-C)
//text        send "/text" as a message"""

COMMAND_NAMES = ("/reset", "/usage", "/model", "/help", "/exit", "/quit")

# Stop reasons worth a note: the reply on screen is not what the model would have said.
STOP_NOTES = {
    "max_tokens": "the reply was cut at the token limit (--max-tokens)",
    "guardrail_intervened": "a guardrail intervened",
    "content_filtered": "the reply was filtered",
    "model_context_window_exceeded": "the context window is full; /reset starts afresh",
}


def default_model() -> str:
    """``$FASTCONVERSE_MODEL`` when set, else Claude 3.5 Haiku's US inference profile."""
    return os.environ.get(MODEL_ENV) or DEFAULT_MODEL


@dataclass(frozen=True)
class ChatOptions:
    """Settings of one chat session (the command's options)."""

    model: str = DEFAULT_MODEL
    system: str | None = None
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    max_attempts: int = 3
    fake: bool = False


def run(options: ChatOptions) -> int:
    """Runs the chat on stdin/stdout/stderr; returns the process exit code.

    0 when the chat ends normally, 1 when a piped turn failed, 2 when no client could be made
    (bad settings, no region), 130 when piped input is interrupted with Ctrl-C.
    """
    _tolerant_streams()
    with contextlib.ExitStack() as cleanup:
        try:
            conv = _start(options, cleanup)
        except (errors.ConverseError, ValueError, TypeError) as err:
            print(f"fastconverse chat: error: {err}", file=sys.stderr)
            if isinstance(err, errors.CredentialsError):
                print(
                    "fastconverse chat: the options --region and --profile choose where to "
                    "connect; --fake needs no AWS account",
                    file=sys.stderr,
                )
            return 2
        chat = _Chat(conv, sys.stdin, sys.stdout, sys.stderr, sys.stdin.isatty())
        try:
            return chat.loop()
        except BrokenPipeError:
            # The reader of our stdout went away (e.g. `| head -1`): stop quietly. Pointing
            # stdout at devnull keeps Python's final flush from failing again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1


def _tolerant_streams() -> None:
    # A reply may hold characters the terminal's encoding lacks; stray input bytes may not
    # decode. Neither should end the session.
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")


def _start(options: ChatOptions, cleanup: contextlib.ExitStack) -> Conversation:
    if options.fake:
        from fastconverse.testing import FakeBedrock

        fake = cleanup.enter_context(FakeBedrock())
        print(
            f"--fake: talking to FakeBedrock at {fake.url}, started in this process "
            "(no AWS account needed; its default model echoes what you say)",
            file=sys.stderr,
        )
        client = ConverseClient(
            options.model,
            region_name=options.region or "us-east-1",
            endpoint_url=fake.url,
            aws_access_key_id="fake",
            aws_secret_access_key="fake",
            max_attempts=options.max_attempts,
        )
    else:
        client = ConverseClient(
            options.model,
            region_name=options.region,
            profile_name=options.profile,
            endpoint_url=options.endpoint_url,
            max_attempts=options.max_attempts,
        )
    inference: dict[str, int | float] = {}
    if options.max_tokens is not None:
        inference["maxTokens"] = options.max_tokens
    if options.temperature is not None:
        inference["temperature"] = options.temperature
    return client.create_conversation(options.system or None, inference_config=inference or None)


class _Quit(Exception):
    """A command asked to end the session."""


class _Chat:
    def __init__(
        self, conv: Conversation, stdin: TextIO, out: TextIO, err: TextIO, interactive: bool
    ) -> None:
        self.conv = conv
        self.stdin = stdin
        self.out = out
        self.err = err
        self.interactive = interactive
        self.failed = False
        self.commands: dict[str, Callable[[str], None]] = {
            "/reset": self._reset,
            "/usage": self._usage,
            "/model": self._model,
            "/help": self._help,
            "/exit": self._quit,
            "/quit": self._quit,
        }

    def loop(self) -> int:
        if self.interactive:
            _enable_line_editing()
            self._note(
                f"Chatting with {self.conv.model_id}. /help lists commands; "
                "Ctrl-C stops a reply, Ctrl-D exits."
            )
        while True:
            try:
                line = self._read()
            except (EOFError, KeyboardInterrupt) as stop:
                if self.interactive:
                    self._write("\n")
                    return 0
                return 130 if isinstance(stop, KeyboardInterrupt) else self._status()
            text = line.strip()
            if not text:
                continue
            if text.startswith("/") and not text.startswith("//"):
                try:
                    self._command(text)
                except _Quit:
                    return self._status()
                continue
            if text.startswith("//"):
                text = text[1:]
            try:
                self._turn(text)
            except KeyboardInterrupt:
                if not self.interactive:
                    return 130

    def _status(self) -> int:
        return 1 if self.failed and not self.interactive else 0

    def _read(self) -> str:
        if not self.interactive:
            line = self.stdin.readline()
            if not line:
                raise EOFError
            return line
        if self.out.isatty():
            return input(PROMPT)
        # Output goes to a file: keep the prompt out of it.
        self.err.write(PROMPT)
        self.err.flush()
        return input()

    def _turn(self, text: str) -> None:
        """Streams one reply; a failed or interrupted turn leaves the history unchanged.

        Ctrl-C (``KeyboardInterrupt``) is noted and passed on to the caller.
        """
        written = finished = False
        try:
            with self.conv.stream(text) as stream:
                try:
                    for event in stream:
                        if isinstance(event, TextDelta) and event.text:
                            self._write(event.text)
                            written = True
                    finished = True
                finally:
                    if written and not finished:
                        self._write("\n")  # end the cut reply's line before the note
            reply = stream.reply
        except errors.ConverseError as err:
            self.failed = True
            self._note(f"error: {err}")
            return
        except KeyboardInterrupt:
            if finished:  # too late to stop it: the reply is complete and kept
                self._write("\n")
            else:
                self._note("(reply interrupted; it is not kept in the history)")
            raise
        self._write("\n")
        note = STOP_NOTES.get(reply.stop_reason)
        if note:
            self._note(f"({note})")

    def _command(self, line: str) -> None:
        name, _, arg = line.partition(" ")
        handler = self.commands.get(name.lower())
        if handler is None:
            self.failed = True
            self._note(f"unknown command {name}; commands: {' '.join(COMMAND_NAMES)}")
            return
        handler(arg.strip())

    def _reset(self, arg: str) -> None:
        if self._no_argument("/reset", arg):
            self.conv.reset()
            self._note("(history cleared)")

    def _usage(self, arg: str) -> None:
        if not self._no_argument("/usage", arg):
            return
        usage = self.conv.usage
        parts = [
            f"input {usage.input_tokens}",
            f"output {usage.output_tokens}",
            f"total {usage.total_tokens}",
        ]
        if usage.cache_read_input_tokens:
            parts.append(f"cache read {usage.cache_read_input_tokens}")
        if usage.cache_write_input_tokens:
            parts.append(f"cache write {usage.cache_write_input_tokens}")
        count = len(self.conv)
        plural = "" if count == 1 else "s"
        self._write(f"tokens: {', '.join(parts)}; history: {count} message{plural}\n")

    def _model(self, arg: str) -> None:
        if not arg:
            self._write(f"{self.conv.model_id}\n")
            return
        try:
            self.conv.model_id = arg
        except ValueError as err:
            self.failed = True
            self._note(f"error: {err}")
            return
        self._note(f"(model: {arg})")

    def _help(self, arg: str) -> None:
        self._write(HELP + "\n")

    def _quit(self, arg: str) -> None:
        raise _Quit

    def _no_argument(self, name: str, arg: str) -> bool:
        if arg:
            self.failed = True
            self._note(f"{name} takes no argument")
        return not arg

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def _note(self, text: str) -> None:
        self.err.write(text + "\n")
        self.err.flush()


def _enable_line_editing() -> None:
    """Line editing, history and Tab completion of commands, where ``readline`` exists."""
    try:
        import readline
    except ImportError:  # Windows
        return

    def complete(text: str, state: int) -> str | None:
        matches = [name for name in COMMAND_NAMES if name.startswith(text)]
        return matches[state] if state < len(matches) else None

    readline.set_completer(complete)
    readline.set_completer_delims(" \t\n")
    if "libedit" in (readline.__doc__ or ""):
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")
