"""The typed events of ``Conversation.stream``, in the order a reply streams them.

Each has a useful ``repr`` and ``to_dict()``, which gives the event dict boto3 would yield.
``Event`` is their union, for annotations and ``match`` statements.
"""

from __future__ import annotations

from fastconverse._core import (
    CitationDelta,
    ContentBlockStop,
    ImageDelta,
    ImageStart,
    MessageStart,
    MessageStop,
    Metadata,
    ReasoningDelta,
    Resumed,
    TextDelta,
    ToolResultDelta,
    ToolResultStart,
    ToolUseDelta,
    ToolUseStart,
)

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "CitationDelta",
    "ContentBlockStop",
    "Event",
    "ImageDelta",
    "ImageStart",
    "MessageStart",
    "MessageStop",
    "Metadata",
    "OutputRetry",
    "ReasoningDelta",
    "Resumed",
    "TextDelta",
    "ToolResult",
    "ToolResultDelta",
    "ToolResultStart",
    "ToolUseDelta",
    "ToolUseStart",
]


def tool_result_block(
    tool_use_id: str, content: list[dict[str, Any]], *, error: bool = False
) -> dict[str, Any]:
    """A ``toolResult`` content block: the one place a tool's answer to the model is built
    in Python (the tool loop, results the caller gives, structured output's retry)."""
    block: dict[str, Any] = {"toolUseId": tool_use_id, "content": content}
    if error:
        block["status"] = "error"
    return {"toolResult": block}


class ToolResult:
    """A tool call of the tool loop has finished; its result goes back to the model.
    (A system tool's result, which the service streams, is ``ToolResultStart`` and
    ``ToolResultDelta`` events instead.)

    Streams yield one per call as each finishes, between the model turn that asked for the
    tools and the next. ``status`` is ``"success"`` or ``"error"`` (then ``error`` says
    what went wrong, as the model is told); ``duration`` is in seconds.
    """

    __slots__ = ("content", "duration", "error", "input", "name", "status", "tool_use_id")

    def __init__(
        self,
        *,
        tool_use_id: str,
        name: str,
        input: Any,
        status: str,
        content: list[dict[str, Any]],
        duration: float,
        error: str | None = None,
    ) -> None:
        self.tool_use_id = tool_use_id
        self.name = name
        self.input = input
        self.status = status
        self.content = content
        self.duration = duration
        self.error = error

    def to_dict(self) -> dict[str, Any]:
        """The ``toolResult`` content block sent to the model."""
        return tool_result_block(self.tool_use_id, self.content, error=self.status == "error")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ToolResult):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        extra = f", error={self.error!r}" if self.error is not None else ""
        return (
            f"ToolResult(name={self.name!r}, tool_use_id={self.tool_use_id!r}, "
            f"status={self.status!r}, duration={self.duration:.6f}{extra})"
        )


class OutputRetry:
    """A structured output (``stream(..., output=Model)``) did not validate: the model was
    told ``message`` (what was wrong) and answers again. The events after it are the new
    answer, from its start: a reader drops the text it showed of the failed one.
    ``attempt``: which retry this is (1 for the first)."""

    __slots__ = ("attempt", "message")

    def __init__(self, attempt: int, message: str) -> None:
        self.attempt = attempt
        self.message = message

    def to_dict(self) -> dict[str, Any]:
        """``{"outputRetry": {"attempt", "message"}}`` (boto3 has no such event)."""
        return {"outputRetry": {"attempt": self.attempt, "message": self.message}}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OutputRetry):
            return NotImplemented
        return (self.attempt, self.message) == (other.attempt, other.message)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"OutputRetry(attempt={self.attempt}, message={self.message!r})"


if TYPE_CHECKING:
    from typing import Union

    Event = Union[
        MessageStart,
        TextDelta,
        CitationDelta,
        ToolUseStart,
        ToolUseDelta,
        ReasoningDelta,
        ImageStart,
        ImageDelta,
        ToolResultStart,
        ToolResultDelta,
        ContentBlockStop,
        MessageStop,
        Metadata,
        Resumed,
        ToolResult,
        OutputRetry,
    ]


def __getattr__(name: str) -> Any:
    # Note: ``Event`` is built on first use, not at import: a ``typing.Union`` needs typing,
    # which would be most of the cost of ``import fastconverse``.
    if name == "Event":
        from typing import Union

        # (the union above, member for member)
        event = Union[
            MessageStart,
            TextDelta,
            CitationDelta,
            ToolUseStart,
            ToolUseDelta,
            ReasoningDelta,
            ImageStart,
            ImageDelta,
            ToolResultStart,
            ToolResultDelta,
            ContentBlockStop,
            MessageStop,
            Metadata,
            Resumed,
            ToolResult,
            OutputRetry,
        ]
        globals()["Event"] = event  # (found as a plain global from now on)
        return event
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
