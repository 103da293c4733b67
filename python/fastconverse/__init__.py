"""fastconverse: a fast, correct Python client for Amazon Bedrock's Converse API."""

from __future__ import annotations

from fastconverse._turn import at_exit as _at_exit  # noqa: F401 (registers the exit hook first)

# isort: split
from fastconverse import _core, errors, events, hooks
from fastconverse._boto3 import client_line as _client_line
from fastconverse._core import (
    Citation,
    ConversationMetrics,
    RateLimit,
    RedisStore,
    Reply,
    SQLiteStore,
    Store,
    Timings,
    TokenCount,
    Usage,
    __version__,
)
from fastconverse._records.settings import ConversationInfo
from fastconverse._tools.system import SystemTool, system_tool
from fastconverse.client import ConverseClient
from fastconverse.content import audio, document, guard_content, image, search_result, video
from fastconverse.conversation import Conversation, ReplyStream
from fastconverse.events import (
    CitationDelta,
    ContentBlockStop,
    ImageDelta,
    ImageStart,
    MessageStart,
    MessageStop,
    Metadata,
    OutputRetry,
    ReasoningDelta,
    Resumed,
    TextDelta,
    ToolResult,
    ToolResultDelta,
    ToolResultStart,
    ToolUseDelta,
    ToolUseStart,
)
from fastconverse.grounding import Grounding, Source
from fastconverse.hooks import Hook
from fastconverse.memory import (
    HistoryView,
    MemoryPolicy,
    SlidingWindow,
    Summarizing,
    TokenBudget,
    estimate_tokens,
)
from fastconverse.prompts import PromptLibrary
from fastconverse.template import Template

# Note: after every submodule import (importing a submodule rebinds its name here): the
# name `client` is boto3's factory, `fastconverse.client("bedrock-runtime", ...)`, not the
# module of that name (which `from fastconverse.client import ...` still finds).
client = _client_line.client


def _fork_hooks() -> None:
    # A client made before os.fork() works in the child: the native side makes a new
    # runtime and new connections there (gunicorn --preload, Celery's prefork pool,
    # multiprocessing's fork context).
    import os

    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_core._after_fork_in_child)


_fork_hooks()


def load_ipython_extension(shell: Any) -> None:
    """``%load_ext fastconverse``: replies, usage and metrics display as HTML in this shell.
    (Importing fastconverse in a running IPython does the same.)"""
    from fastconverse._observe.notebook import register

    register(shell)


def _notebook_display() -> None:
    import sys

    ipython = sys.modules.get("IPython")  # (never imported here: only found)
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None:
        load_ipython_extension(shell)


_notebook_display()

# Note: `import fastconverse` stays cheap (tests/test_import_cost.py): no module on its path
# imports typing, re, json, threading, collections and the like when it is imported (they
# were two thirds of its cost). Type-only imports sit under a local `TYPE_CHECKING = False`
# (mypy takes any name TYPE_CHECKING as true); public type aliases are built on first use by
# a module __getattr__; runtime isinstance checks take the ABCs from _collections_abc, which
# the interpreter loads at start-up and collections.abc re-exports (importing collections
# costs about 3 ms); other modules are imported in the functions that use them.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from fastconverse._tools.stats import ToolStats
    from fastconverse.events import Event
    from fastconverse.experiments import PromptExperiment, Variant
    from fastconverse.tools import Tool, ToolInputError, tool

__all__ = [
    "Citation",
    "CitationDelta",
    "ContentBlockStop",
    "Conversation",
    "ConversationInfo",
    "ConversationMetrics",
    "ConverseClient",
    "Event",
    "Grounding",
    "HistoryView",
    "Hook",
    "ImageDelta",
    "ImageStart",
    "MemoryPolicy",
    "MessageStart",
    "MessageStop",
    "Metadata",
    "OutputRetry",
    "PromptExperiment",
    "PromptLibrary",
    "RateLimit",
    "ReasoningDelta",
    "RedisStore",
    "Reply",
    "ReplyStream",
    "Resumed",
    "SQLiteStore",
    "SlidingWindow",
    "Source",
    "Store",
    "Summarizing",
    "SystemTool",
    "Template",
    "TextDelta",
    "Timings",
    "TokenBudget",
    "TokenCount",
    "Tool",
    "ToolInputError",
    "ToolResult",
    "ToolResultDelta",
    "ToolResultStart",
    "ToolStats",
    "ToolUseDelta",
    "ToolUseStart",
    "Usage",
    "Variant",
    "__version__",
    "audio",
    "client",
    "document",
    "errors",
    "estimate_tokens",
    "events",
    "guard_content",
    "hooks",
    "image",
    "search_result",
    "system_tool",
    "tool",
    "video",
]


def __getattr__(name: str) -> Any:
    # Note: the tools module imports pydantic, which takes longer than the rest of the package
    # together; programs that never define a tool should not pay for it at import.
    if name in ("Tool", "ToolInputError", "tool"):
        from fastconverse import tools

        return getattr(tools, name)
    if name == "ToolStats":
        from fastconverse._tools import stats

        return stats.ToolStats
    if name in ("PromptExperiment", "Variant"):  # (dataclasses and the statistics: on use)
        from fastconverse import experiments

        return getattr(experiments, name)
    if name == "Event":  # (a typing.Union, built on first use: see events.py)
        return events.Event
    raise AttributeError(f"module 'fastconverse' has no attribute {name!r}")
