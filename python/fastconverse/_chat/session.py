"""One chat session: read a line, run it as a command or stream it as a turn, repeat."""

from __future__ import annotations

from typing import TextIO

from fastconverse import Conversation, TextDelta, ToolResult, ToolUseStart, errors
from fastconverse._chat.commands import COMMAND_NAMES, CommandError, Commands, Quit
from fastconverse._chat.output import PlainOutput

PROMPT = "you> "

# Stop reasons worth a note: the reply on screen is not what the model would have said.
STOP_NOTES = {
    "max_tokens": "the reply was cut at the token limit (--max-tokens)",
    "guardrail_intervened": "a guardrail intervened",
    "content_filtered": "the reply was filtered",
    "model_context_window_exceeded": "the context window is full; /reset starts afresh",
}


class Session:
    def __init__(
        self,
        conv: Conversation,
        commands: Commands,
        output: PlainOutput,
        stdin: TextIO,
        interactive: bool,
    ) -> None:
        self.conv = conv
        self.commands = commands
        self.output = output
        self.stdin = stdin
        self.interactive = interactive
        self.failed = False

    def loop(self, banner: list[str]) -> int:
        if self.interactive:
            _enable_line_editing()
            for line in banner:
                self.output.note(line)
            self.output.note(
                f"Chatting with {self.conv.model_id}. /help lists commands; "
                "Ctrl-C stops a reply, Ctrl-D exits."
            )
            if self.output.hint:
                self.output.note(self.output.hint)
        while True:
            try:
                line = self._read()
            except (EOFError, KeyboardInterrupt) as stop:
                if self.interactive:
                    self.output.write("\n")
                    return 0
                return 130 if isinstance(stop, KeyboardInterrupt) else self._status()
            text = line.strip()
            if not text:
                continue
            if text.startswith("/") and not text.startswith("//"):
                try:
                    self.commands.run(text)
                except Quit:
                    return self._status()
                except CommandError as err:
                    self.failed = True
                    self.output.note(str(err))
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
        if self.output.out.isatty():
            return input(PROMPT)
        # Output goes to a file: keep the prompt out of it.
        self.output.err.write(PROMPT)
        self.output.err.flush()
        return input()

    def _turn(self, text: str) -> None:
        """Streams one reply, tool calls shown as they happen; a failed or interrupted turn
        leaves the history unchanged. Ctrl-C (``KeyboardInterrupt``) is noted and passed on.
        """
        output = self.output
        finished = False
        try:
            with self.conv.stream(text) as stream:
                try:
                    for event in stream:
                        if isinstance(event, TextDelta):
                            if event.text:
                                output.text(event.text)
                        elif isinstance(event, ToolUseStart):
                            output.tool_called(event.name)
                        elif isinstance(event, ToolResult):
                            output.tool_finished(event)
                    finished = True
                finally:
                    output.end_reply(finished)
            reply = stream.reply
        except errors.ConverseError as err:
            self.failed = True
            output.note(f"error: {err}")
            return
        except KeyboardInterrupt:
            if not finished:  # (once finished it is too late to stop: the reply is kept)
                output.note("(reply interrupted; it is not kept in the history)")
            raise
        note = STOP_NOTES.get(reply.stop_reason)
        if note:
            output.note(f"({note})")


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
