"""fastconverse: a fast, correct Python client for Amazon Bedrock's Converse API."""

from fastconverse import errors, events
from fastconverse._core import Conversation, Reply, ReplyStream, Usage, __version__
from fastconverse.client import ConverseClient
from fastconverse.events import (
    ContentBlockStop,
    Event,
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
    "Conversation",
    "ConverseClient",
    "Event",
    "MessageStart",
    "MessageStop",
    "Metadata",
    "ReasoningDelta",
    "Reply",
    "ReplyStream",
    "TextDelta",
    "ToolUseDelta",
    "ToolUseStart",
    "Usage",
    "__version__",
    "errors",
    "events",
]
