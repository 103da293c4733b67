"""What a conversation holds, as its record: its settings (the system prompt among them),
the history, tokens, cost, metrics, the stamp a store keeps (version, times, metadata) and
its HTML. ``Conversation`` inherits these views of its native core; the turns are its own."""

from __future__ import annotations

from _collections_abc import Mapping, Sequence  # (collections.abc's, without collections)

from fastconverse.template import Template, render_system_prompt

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from typing import Any

    from fastconverse._core import ConversationCore, ConversationMetrics, Reply, TokenCount, Usage

__all__ = ["ConversationRecord"]


class ConversationRecord:
    """The record side of ``Conversation`` (a base class: it keeps ``_core``)."""

    __slots__ = ()

    _core: ConversationCore
    _template: Mapping[str, Any] | None

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

    @property
    def system_prompt(self) -> str | None:
        """The system prompt's text (its text blocks joined by newlines), or None.

        Assign text, a list of system blocks, a ``Template`` without fields, or None, and the
        next turns send it; in a store it is written at once, and other workers take it in
        at their next turn. ``set_system_prompt`` fills a ``Template``'s fields."""
        return self._core.system_prompt

    @system_prompt.setter
    def system_prompt(self, value: str | Template | Sequence[Mapping[str, Any]] | None) -> None:
        self.set_system_prompt(value)

    def set_system_prompt(
        self,
        prompt: str | Template | Sequence[Mapping[str, Any]] | None,
        variables: Mapping[str, Any] | None = None,
    ) -> None:
        """Sets the system prompt of the next turns: text, system blocks, None, or a
        ``Template`` filled in from ``variables`` (a missing or unused variable is a
        ``ValueError``, as in ``create_conversation``)."""
        value: Any = render_system_prompt(prompt, variables)
        import json  # (here: a change of system prompt is rare)

        if value is not None and not isinstance(value, str):
            if isinstance(value, Mapping) or not isinstance(value, Sequence):
                raise TypeError(
                    "system_prompt: expected text, a list of system blocks, a Template or "
                    f"None, got {type(value).__name__}"
                )
            value = list(value)
        try:
            stored = json.dumps(value)
        except (TypeError, ValueError) as e:
            raise TypeError(
                f"system_prompt: a stored conversation keeps it as JSON, and {e}"
            ) from None
        self._core.set_system_prompt(value, stored)

    @property
    def template_name(self) -> str | None:
        """The name of the ``Template`` (of a ``PromptLibrary``) the conversation was
        created from; None when it was created from none, or from one without a name. It
        says where the conversation started: assigning ``system_prompt`` leaves it."""
        return None if self._template is None else self._template.get("name")

    @property
    def template_vars(self) -> dict[str, Any] | None:
        """The variables its ``Template`` was filled in with (a copy), as a store keeps
        them: JSON values, others as their ``str()``; None when it was created from no
        ``Template``."""
        if self._template is None:
            return None
        return dict(self._template.get("variables") or {})

    @property
    def inference_config(self) -> dict[str, Any] | None:
        """boto3's ``inferenceConfig`` dict of every turn, or None."""
        return self._core.inference_config

    @property
    def guardrail_config(self) -> dict[str, Any] | None:
        """boto3's ``guardrailConfig`` dict every request of the conversation carries (a
        copy); None without a guardrail."""
        return self._core.guardrail_config

    @property
    def additional_model_request_fields(self) -> Any:
        return self._core.additional_model_request_fields

    def to_html(
        self,
        prices: Mapping[str, Mapping[str, float]] | None = None,
        *,
        max_messages: int | None = None,
    ) -> str:
        """The transcript as HTML, as a notebook shows the conversation: roles, Markdown,
        tool calls and results folded, images as thumbnails, a footer with turns, tokens and,
        given ``prices`` (as ``cost`` takes them), the cost. Every text is escaped.
        ``max_messages`` shows only the newest ones (a notebook's display: 200)."""
        from fastconverse._observe.notebook import conversation_html

        return conversation_html(self, prices, max_messages=max_messages)

    def _repr_html_(self) -> str:
        from fastconverse._observe.notebook import MAX_MESSAGES

        return self.to_html(max_messages=MAX_MESSAGES)
