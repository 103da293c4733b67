"""What a conversation holds, as its record: the history, tokens, cost, metrics and the
stamp a store keeps (version, times, metadata). ``Conversation`` inherits these read-only
views of its native core; the turns are its own."""

from __future__ import annotations

from _collections_abc import Mapping  # (collections.abc's, without importing collections)

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from typing import Any

    from fastconverse._core import ConversationCore, ConversationMetrics, Reply, TokenCount, Usage

__all__ = ["ConversationRecord"]


class ConversationRecord:
    """The record side of ``Conversation`` (a base class: it keeps ``_core``)."""

    __slots__ = ()

    _core: ConversationCore

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The history as boto3 message dicts (a copy: changing it changes nothing here)."""
        return self._core.messages

    @property
    def transcript(self) -> list[dict[str, Any]]:
        """Everything said in the conversation, as boto3 message dicts: ``messages`` plus
        what the memory policy no longer sends."""
        return self._core.transcript

    @property
    def summary(self) -> str | None:
        """The summary of the older turns (``Summarizing``), sent in the system prompt."""
        return self._core.summary

    @property
    def context_tokens(self) -> int:
        """The size of the next request's prompt before a new message: exact from the last
        reply's input and cache tokens, plus the estimate of what was appended since."""
        return self._core.context_tokens

    def count_tokens(self) -> TokenCount:
        """The next request's prompt size from Bedrock's CountTokens; where the model cannot
        count, the estimate, with ``exact=False`` and a ``note`` saying why."""
        return self._core.count_tokens()

    async def count_tokens_async(self) -> TokenCount:
        """``count_tokens`` as a coroutine."""
        return await self._core.count_tokens_async()

    @property
    def usage(self) -> Usage:
        """Tokens of all committed turns (and their summaries), summed."""
        return self._core.usage

    @property
    def usage_by_model(self) -> dict[str, Usage]:
        """``usage`` by model id: a model switch, or a summariser, is counted apart."""
        return self._core.usage_by_model

    def cost(self, prices: Mapping[str, Mapping[str, float]]) -> float:
        """What the conversation's tokens cost at ``prices``: ``{model_id: {"input": ..,
        "output": .., "cache_read": .., "cache_write": .., "cache_write_1h": ..}}``, each
        per 1,000 tokens (cache prices may be left out when no such tokens were used).
        Bedrock's input tokens leave out the cached ones, so nothing is priced twice, and
        one-hour cache writes (``usage.cache_details``) take their own price. No price
        table is built in: prices change, and a stale one would be silently wrong."""
        from fastconverse._records.cost import cost

        return cost(self._core.usage_by_model, prices)

    @property
    def cache(self) -> list[str]:
        """Where cache points go: some of ``"system"``, ``"tools"``, ``"history"``, each
        with ``":5m"`` or ``":1h"`` when given a lifetime."""
        return self._core.cache

    @property
    def metrics(self) -> ConversationMetrics:
        """Turns, messages, tool calls and errors, retries, tokens, latency and time to first
        token (mean, p50, p95) and errors by code, as one object (``to_dict()``)."""
        return self._core.metrics

    @property
    def last_reply(self) -> Reply | None:
        return self._core.last_reply

    @property
    def busy(self) -> bool:
        """Whether a turn is in progress (a ``send``, or a stream not yet finished or closed)."""
        return self._core.busy

    @property
    def pending_tool_calls(self) -> list[dict[str, Any]]:
        """The last reply's tool uses that wait for results (``send_tool_results``), as
        ``{"toolUseId", "name", "input"}`` dicts; empty when none wait."""
        return self._core.pending_tool_calls

    @property
    def metadata(self) -> dict[str, Any]:
        """The JSON dict given as ``create_conversation(metadata=...)`` (a copy). Assign a
        new dict to replace it; in a store it is written at once (``list_conversations(
        metadata=...)`` finds it)."""
        return dict(self._core.stamp[3])

    @metadata.setter
    def metadata(self, value: Mapping[str, Any]) -> None:
        self._core.set_metadata(value)

    @property
    def version(self) -> int:
        """The stored version this conversation's history is (0: not in a store); each
        committed turn adds one."""
        return int(self._core.stamp[0])

    @property
    def created_at(self) -> float:
        """When the conversation was created, in seconds since the epoch."""
        return float(self._core.stamp[1])

    @property
    def updated_at(self) -> float:
        """When its last turn was written, in seconds since the epoch."""
        return float(self._core.stamp[2])

    @property
    def service_tier(self) -> str | None:
        """The service tier every request asks for (None: Bedrock's default); the tier that
        served a turn is ``reply.service_tier``."""
        tier: str | None = self._core.serving["service_tier"]
        return tier

    @property
    def performance_config(self) -> dict[str, Any] | None:
        """boto3's ``performanceConfig`` of every request (``{"latency": ...}``), or None."""
        config: dict[str, Any] | None = self._core.serving["performance_config"]
        return config

    @property
    def request_metadata(self) -> dict[str, str] | None:
        """The ``requestMetadata`` pairs of every request (invocation logs), or None."""
        pairs: dict[str, str] | None = self._core.serving["request_metadata"]
        return pairs
