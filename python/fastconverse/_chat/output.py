"""How the chat shows replies, tool calls, command output and notes.

``PlainOutput`` writes replies as they stream, unchanged: piped (stdout then carries only the
replies, tool calls and other notes go to stderr) and at a terminal without ``rich``.
``MarkdownOutput`` renders them as Markdown at a terminal with ``rich`` (the optional extra
``chat``), re-rendered as text arrives. ``make_output`` picks one.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live

    from fastconverse.events import ToolResult

# Re-rendering the whole Markdown at every delta costs more the longer the reply; a screen
# needs no more than this many updates a second (the last one always shows).
_REFRESH_SECONDS = 0.05


def make_output(out: TextIO, err: TextIO) -> PlainOutput:
    """Markdown at a terminal when rich is installed, plain text otherwise (and on a
    terminal that cannot move its cursor, TERM=dumb, where rich would show a reply only
    once it is complete)."""
    if not out.isatty():
        return PlainOutput(out, err)
    try:
        from rich.console import Console
    except ImportError:
        plain = PlainOutput(out, err)
        plain.hint = "(pip install 'fastconverse[chat]' shows replies as Markdown)"
        return plain
    console = Console(file=out)
    if console.is_dumb_terminal:
        return PlainOutput(out, err)
    return MarkdownOutput(out, err, console)


def tool_called(name: str) -> str:
    return f"tool {name} called"


def tool_finished(result: ToolResult) -> str:
    done = "ok" if result.status == "success" else f"error: {result.error}"
    return f"tool {result.name}({_clip(_json(result.input))}): {done} ({result.duration:.3f} s)"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def message_text(message: dict[str, Any]) -> str:
    """A history message's content as text: text blocks as they are, tool calls and results
    (and other blocks) as one-line summaries in brackets."""
    parts = []
    for block in message.get("content", []):
        if "text" in block:
            parts.append(block["text"])
        elif "toolUse" in block:
            use = block["toolUse"]
            parts.append(f"[tool call {use.get('name')}({_clip(_json(use.get('input')))})]")
        elif "toolResult" in block:
            result = block["toolResult"]
            status = result.get("status", "success")
            shown = message_text({"content": result.get("content", [])}) or "(empty)"
            parts.append(f"[tool result, {status}: {_clip(shown)}]")
        elif "json" in block:
            parts.append(_clip(_json(block["json"])))
        else:
            parts.append(f"[{', '.join(block)}]")
    return "\n".join(parts)


class PlainOutput:
    """Replies as plain text on ``out``; notes (tool calls included) on ``err``."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out = out
        self.err = err
        self._line_open = False  # reply text on the current line, not ended yet
        self.hint: str | None = None  # a note for the banner, on how to see more

    def text(self, delta: str) -> None:
        """Part of the reply, as it streams."""
        self.write(delta)
        self._line_open = not delta.endswith("\n")

    def tool_called(self, name: str) -> None:
        self._end_line()  # (the model's text before a call ends there)
        self.note(f"({tool_called(name)})")

    def tool_finished(self, result: ToolResult) -> None:
        self.note(f"({tool_finished(result)})")

    def end_reply(self, finished: bool) -> None:
        """Ends the reply's output: a finished reply with a newline (the piped contract: the
        reply's text and a newline, each turn), a cut one only ends the line it left open."""
        if finished or self._line_open:
            self.write("\n")
        self._line_open = False

    def history(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            self.write(f"{message['role']}: {message_text(message)}\n")

    def write(self, text: str) -> None:
        """Command output (and reply text): stdout."""
        self.out.write(text)
        self.out.flush()

    def note(self, text: str) -> None:
        """What is not a reply: stderr."""
        self.err.write(text + "\n")
        self.err.flush()

    def _end_line(self) -> None:
        if self._line_open:
            self.write("\n")
            self._line_open = False


class MarkdownOutput(PlainOutput):
    """Replies rendered as Markdown by rich, live as they stream; tool calls and the
    history shown on the terminal in dim and bold."""

    def __init__(self, out: TextIO, err: TextIO, console: Console) -> None:
        super().__init__(out, err)
        self.console = console
        self._live: Live | None = None
        self._text = ""  # the Markdown of the part of the reply being rendered
        self._shown = 0.0  # when it was last rendered
        self._written = False  # any reply text in this turn

    def text(self, delta: str) -> None:
        from rich.live import Live

        self._text += delta
        self._written = True
        if self._live is None:
            # Note: no refresh thread (auto_refresh=False): the display changes only here,
            # on the caller's thread, so a Ctrl-C never lands in the middle of a render.
            self._live = Live(console=self.console, auto_refresh=False, transient=False)
            self._live.start()
        now = time.monotonic()
        if now - self._shown >= _REFRESH_SECONDS:
            self._render()
            self._shown = now

    def tool_called(self, name: str) -> None:
        self._stop()
        self._dim(f"⚙ {tool_called(name)}")

    def tool_finished(self, result: ToolResult) -> None:
        self._dim(f"⚙ {tool_finished(result)}")

    def end_reply(self, finished: bool) -> None:
        self._stop()  # (its last render shows the whole reply, taller than the screen too)
        if finished and not self._written:
            self.write("\n")
        self._written = False

    def history(self, messages: list[dict[str, Any]]) -> None:
        from rich.markdown import Markdown
        from rich.text import Text

        for message in messages:
            role = message["role"]
            self.console.print(Text(f"{role}:", style="bold cyan" if role == "user" else "bold"))
            self.console.print(Markdown(message_text(message)))

    def _render(self) -> None:
        from rich.markdown import Markdown

        assert self._live is not None
        self._live.update(Markdown(self._text), refresh=True)

    def _stop(self) -> None:
        if self._live is not None:
            self._render()
            self._live.stop()
        self._live = None
        self._text = ""

    def _dim(self, text: str) -> None:
        from rich.text import Text

        self.console.print(Text(text, style="dim"))
