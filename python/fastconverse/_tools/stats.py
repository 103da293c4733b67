"""``ToolStats``: calls, errors and seconds of one tool over a conversation's tool calls
(``conv.tool_metrics``)."""

from __future__ import annotations

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ToolStats"]


class ToolStats:
    """Calls, errors and seconds spent in one tool, over a conversation's tool calls."""

    __slots__ = ("calls", "errors", "seconds")

    def __init__(self, calls: int = 0, errors: int = 0, seconds: float = 0.0) -> None:
        self.calls = calls
        self.errors = errors
        self.seconds = seconds

    @property
    def mean_seconds(self) -> float:
        """Seconds per call (0.0 before the first call)."""
        return self.seconds / self.calls if self.calls else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"calls": self.calls, "errors": self.errors, "seconds": self.seconds}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ToolStats):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ToolStats(calls={self.calls}, errors={self.errors}, seconds={self.seconds:.6f})"
