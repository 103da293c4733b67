"""``ReplyStream.display()``: a stream shown while it arrives.

In a Jupyter kernel one output area is updated in place (a display id): the text so far as
Markdown, a line per tool call and its result, and at the end the finished reply's own
display. Elsewhere (a script, a terminal IPython) the text is written to stdout as it
arrives, with the tool calls on lines of their own.
"""

from __future__ import annotations

import sys
import time
from html import escape

from fastconverse import _core
from fastconverse._observe import notebook
from fastconverse.events import ToolResult

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Live"]

EVERY = 0.05  # seconds between two updates of the output area (the last one always shows)


def _kernel_shell() -> Any:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    # (a terminal IPython has no kernel: updating a display there prints it again)
    return shell if getattr(shell, "kernel", None) is not None else None


class Live:
    """Shows the events of one stream, then its reply (or how it failed)."""

    __slots__ = ("_every", "_id", "_last", "_parts", "_shell", "_thinking", "_written")

    def __init__(self) -> None:
        self._shell = _kernel_shell()
        self._parts: list[str] = []  # (HTML of finished tool lines, and text so far)
        self._written = ""
        self._last = 0.0
        self._every = EVERY
        self._thinking = False
        self._id: str | None = None
        if self._shell is not None:
            from IPython.display import display

            handle = display({"text/plain": ""}, raw=True, display_id=True)  # type: ignore[no-untyped-call]
            self._id = handle.display_id

    def event(self, event: Any) -> None:
        if isinstance(event, _core.TextDelta):
            self._text(event.text)
        elif isinstance(event, (_core.ContentBlockStop, _core.MessageStop)):
            if self._shell is not None and self._written:  # (what the last wait held back)
                self._show(self._written)
        elif isinstance(event, _core.ReasoningDelta):
            if not self._thinking:
                self._thinking = True
                self._note("thinking…")
        elif isinstance(event, _core.ToolUseStart):
            self._note(f"calling {event.name}…")
        elif isinstance(event, ToolResult):
            how = "failed" if event.status == "error" else "done"
            self._note(f"{event.name}: {how} in {event.duration:.2f} s")

    def _text(self, text: str) -> None:
        if self._shell is None:
            sys.stdout.write(text)
            sys.stdout.flush()
            return
        self._written += text
        now = time.monotonic()
        if now - self._last >= self._every:
            self._show(self._written)
            # (a long reply renders slower: wait at least four renders between two, so that
            # showing it never takes most of the time, nor blocks an event loop for long)
            self._last = time.monotonic()
            self._every = max(EVERY, 4 * (self._last - now))

    def _note(self, note: str) -> None:
        if self._shell is None:
            sys.stdout.write(f"\n[{note}]\n")
            sys.stdout.flush()
            return
        if self._written:  # (a tool round ends the text before it)
            self._parts.append(notebook.markdown_html(self._written))
            self._written = ""
        self._parts.append(f"<div {notebook.FOOTER}>🔧 {escape(note)}</div>")
        self._show("")

    def _show(self, text: str, plain: str | None = None) -> None:
        from IPython.display import update_display

        body = "".join(self._parts) + (notebook.markdown_html(text) if text else "")
        bundle = {"text/html": f"<div {notebook.BOX}>{body}</div>", "text/plain": plain or text}
        update_display(bundle, raw=True, display_id=self._id)  # type: ignore[no-untyped-call]

    def done(self, reply: _core.Reply) -> None:
        if self._shell is None:
            sys.stdout.write("\n")
            sys.stdout.flush()
            return
        from IPython.display import update_display

        bundle = {"text/html": notebook.reply_html(reply), "text/plain": reply.text}
        update_display(bundle, raw=True, display_id=self._id)  # type: ignore[no-untyped-call]

    def failed(self, error: BaseException) -> None:
        why = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        note = f"the stream ended early: {why}"
        if self._shell is None:
            sys.stdout.write(f"\n[{note}]\n")
            sys.stdout.flush()
            return
        self._note(note)
