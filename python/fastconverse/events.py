"""The typed events of ``Conversation.stream``, in the order a reply streams them.

Each has a useful ``repr`` and ``to_dict()``, which gives the event dict boto3 would yield.
``Event`` is their union, for annotations and ``match`` statements.
"""

from __future__ import annotations

from typing import Union

from fastconverse._core import (
    ContentBlockStop,
    MessageStart,
    MessageStop,
    Metadata,
    ReasoningDelta,
    TextDelta,
    ToolUseDelta,
    ToolUseStart,
)

__all__ = [
    "ContentBlockStop",
    "Event",
    "MessageStart",
    "MessageStop",
    "Metadata",
    "ReasoningDelta",
    "TextDelta",
    "ToolUseDelta",
    "ToolUseStart",
]

Event = Union[
    MessageStart,
    TextDelta,
    ToolUseStart,
    ToolUseDelta,
    ReasoningDelta,
    ContentBlockStop,
    MessageStop,
    Metadata,
]
