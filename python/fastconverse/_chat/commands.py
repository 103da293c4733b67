"""The chat's slash commands: what each does, and the help that lists them."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastconverse import Conversation, ConverseClient
    from fastconverse._chat.output import PlainOutput

HELP = """\
/reset        forget the conversation so far
/usage        tokens used in this session and messages in the history
/history      the conversation so far, with who said what
/cost         tokens, and what they cost at the --prices given
/save [PATH]  with --store: where the conversation is kept and how to continue it;
              with PATH (or without a store): write it as JSON to PATH
              (default: fastconverse-<conversation id>.json in the current folder)
/model NAME   switch to model NAME (/model alone shows the current one)
/help         this list
/exit, /quit  leave (so do Ctrl-D and, at the prompt, Ctrl-C)
//text        send "/text" as a message"""

COMMAND_NAMES = (
    "/reset",
    "/usage",
    "/history",
    "/cost",
    "/save",
    "/model",
    "/help",
    "/exit",
    "/quit",
)


class Quit(Exception):
    """A command asked to end the session."""


class CommandError(Exception):
    """A command could not do what was asked; the message says why."""


class Commands:
    """The commands of one chat session, on its conversation."""

    def __init__(
        self,
        client: ConverseClient,
        conv: Conversation,
        output: PlainOutput,
        prices: Mapping[str, Mapping[str, float]] | None = None,
        store_name: str | None = None,
    ) -> None:
        self.client = client
        self.conv = conv
        self.output = output
        self.prices = prices
        self.store_name = store_name
        self.handlers: dict[str, Callable[[str], None]] = {
            "/reset": self._reset,
            "/usage": self._usage,
            "/history": self._history,
            "/cost": self._cost,
            "/save": self._save,
            "/model": self._model,
            "/help": self._help,
            "/exit": self._quit,
            "/quit": self._quit,
        }

    def run(self, line: str) -> None:
        """Runs one command line; ``CommandError`` when it failed, ``Quit`` to leave."""
        name, _, arg = line.partition(" ")
        handler = self.handlers.get(name.lower())
        if handler is None:
            raise CommandError(f"unknown command {name}; commands: {' '.join(COMMAND_NAMES)}")
        handler(arg.strip())

    def _reset(self, arg: str) -> None:
        _no_argument("/reset", arg)
        self.conv.reset()
        self.output.note("(history cleared)")

    def _usage(self, arg: str) -> None:
        _no_argument("/usage", arg)
        count = len(self.conv)
        plural = "" if count == 1 else "s"
        self.output.write(f"{self._tokens()}; history: {count} message{plural}\n")

    def _history(self, arg: str) -> None:
        _no_argument("/history", arg)
        transcript = self.conv.transcript
        if not transcript:
            self.output.note("(nothing said yet)")
            return
        self.output.history(transcript)

    def _cost(self, arg: str) -> None:
        _no_argument("/cost", arg)
        self.output.write(self._tokens() + "\n")
        if self.prices is None:
            self.output.note("(--prices FILE gives the cost in dollars)")
            return
        try:
            dollars = self.conv.cost(self.prices)
        except (TypeError, ValueError) as err:
            raise CommandError(f"--prices: {err}") from None
        self.output.write(f"cost: ${dollars:.6f}\n")

    def _tokens(self) -> str:
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
        return f"tokens: {', '.join(parts)}"

    def _save(self, arg: str) -> None:
        if self.store_name is not None and not arg:
            # (a store is written at every turn's commit: it already holds everything)
            self.output.note(
                f"(conversation {self.conv.id} is kept in {self.store_name}, turn by turn; "
                f"continue it with: python -m fastconverse chat --store {self.store_name} "
                f"--conversation {self.conv.id})"
            )
            return
        path = os.path.abspath(arg or f"fastconverse-{self.conv.id}.json")
        details = self.client.get_conversation_details(self.conv)
        try:
            _write_atomically(path, json.dumps(details, indent=2, ensure_ascii=False, default=str))
        except OSError as err:
            raise CommandError(f"/save: cannot write {path}: {err.strerror or err}") from None
        count = len(details["messages"])
        self.output.note(f"(saved {count} message{'' if count == 1 else 's'} to {path})")

    def _model(self, arg: str) -> None:
        if not arg:
            self.output.write(f"{self.conv.model_id}\n")
            return
        try:
            self.conv.model_id = arg
        except ValueError as err:
            raise CommandError(f"error: {err}") from None
        self.output.note(f"(model: {arg})")

    def _help(self, arg: str) -> None:
        self.output.write(HELP + "\n")

    def _quit(self, arg: str) -> None:
        raise Quit


def _no_argument(name: str, arg: str) -> None:
    if arg:
        raise CommandError(f"{name} takes no argument")


def _write_atomically(path: str, text: str) -> None:
    # A file written half (a full disk, a Ctrl-C) must not replace a good one.
    fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".fastconverse-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text + "\n")
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
