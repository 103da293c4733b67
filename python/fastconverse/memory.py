"""Memory policies: how a conversation keeps its history inside the model's context window.

Pass one as ``create_conversation(..., memory=...)``. Before each turn's first request the
policy chooses the first message the request sends; the conversation only ever cuts at a
*turn start* (a user message that answers no tool call), so every request starts with the
user, alternates, and keeps each ``toolUse`` with its ``toolResult``. What is cut stays in
``conversation.transcript``.

- ``SlidingWindow(max_messages=40)``: the newest messages.
- ``TokenBudget(max_tokens=8000)``: the newest messages whose estimate fits
  (``estimate_tokens``: about four characters a token).
- ``Summarizing(max_tokens=8000, keep_recent=4, model_id=None, prompt=None)``: over budget,
  the model (or ``model_id``) summarises the older turns; the summary rides in the system
  prompt of later requests and its tokens count in ``usage`` and ``usage_by_model``.
- Your own: subclass ``MemoryPolicy`` and implement ``select``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from fastconverse._core import (
    HistoryView,
    SlidingWindow,
    Summarizing,
    TokenBudget,
    estimate_tokens,
)

__all__ = [
    "HistoryView",
    "MemoryPolicy",
    "SlidingWindow",
    "Summarizing",
    "TokenBudget",
    "estimate_tokens",
]


class MemoryPolicy(ABC):
    """A memory policy of your own. ``select`` is called before each turn's first request
    (and never in the middle of a tool loop) with a ``HistoryView`` of the history that
    request would build on; it returns the index of the first message to keep. An index that
    is not a turn start moves forward to the next one (``view.starts`` lists them), so no
    choice can make a request Bedrock refuses.

    Example: keep the newest ten messages, unless they hold under 500 estimated tokens::

        class KeepTen(MemoryPolicy):
            def select(self, view: HistoryView) -> int:
                if view.tokens_from(0) < 500:
                    return 0
                return -10  # negative: counted from the end
    """

    @abstractmethod
    def select(self, view: HistoryView) -> int:
        """The index (``0..len(view)``) of the first message the next request sends."""
