"""A conversation's native half, ``ConversationCore``, which begins its turns."""

from collections.abc import Awaitable, Mapping, Sequence
from typing import Any

from .context import ConversationMetrics, TokenCount
from .reply import Reply, Usage
from .turn import _Turn

# --- conversation.rs -----------------------------------------------------------------------

UserInput = str | Sequence[Mapping[str, Any]] | Mapping[str, Any]

class ConversationCore:
    """The native half of a ``Conversation``: settings, history, usage and the busy flag."""

    def prepare(
        self,
        message: UserInput,
        tool_choice: Mapping[str, Any] | None = None,
        inference_config: Mapping[str, Any] | None = None,
        additional_model_request_fields: Mapping[str, Any] | None = None,
        *,
        model_id: str | None = None,
        additional_model_response_field_paths: Sequence[str] | None = None,
        output: Mapping[str, Any] | None = None,
        system: str | Sequence[Mapping[str, Any]] | None = None,
        service_tier: str | None = None,
        performance_config: Mapping[str, Any] | None = None,
        request_metadata: Mapping[str, str] | None = None,
    ) -> _Start:
        """Checks a turn's input now; the turn begins with ``_Start.begin()``."""
    def begin(
        self,
        message: UserInput,
        tool_choice: Mapping[str, Any] | None = None,
        inference_config: Mapping[str, Any] | None = None,
        additional_model_request_fields: Mapping[str, Any] | None = None,
        *,
        model_id: str | None = None,
        additional_model_response_field_paths: Sequence[str] | None = None,
        output: Mapping[str, Any] | None = None,
        system: str | Sequence[Mapping[str, Any]] | None = None,
        service_tier: str | None = None,
        performance_config: Mapping[str, Any] | None = None,
        request_metadata: Mapping[str, str] | None = None,
    ) -> _Turn:
        """Begins a turn that sends ``message`` (marks the conversation busy); with a store,
        first takes in a newer stored version."""
    def begin_results(
        self, results: Mapping[str, Mapping[str, Any]], tool_choice: Mapping[str, Any] | None = None
    ) -> _Turn:
        """Begins a turn that answers the open tool uses with ``toolResult`` blocks by id."""
    def use_tools(
        self,
        tools: Sequence[Mapping[str, Any]],
        callable: Sequence[str],
        max_tool_rounds: int,
        tool_choice: Mapping[str, Any] | None = None,
    ) -> None:
        """These tools for this and later turns."""
    def sync(self) -> None:
        """Takes in the store's newer version now, unless a turn is under way."""
    def set_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Replaces the metadata; in a store, written at once."""
    @property
    def id(self) -> str: ...
    @property
    def model_id(self) -> str: ...
    @model_id.setter
    def model_id(self, value: str) -> None: ...
    @property
    def system_prompt(self) -> str | None: ...
    @property
    def inference_config(self) -> dict[str, Any] | None: ...
    @property
    def guardrail_config(self) -> dict[str, Any] | None: ...
    @property
    def serving(self) -> dict[str, Any]:
        """``{"service_tier", "performance_config", "request_metadata"}`` (None: not set)."""
    def set_system_prompt(
        self, value: str | Sequence[Mapping[str, Any]] | None, stored: str
    ) -> None:
        """The system prompt of the next turns; ``stored``: its JSON, for a store."""
    @property
    def additional_model_request_fields(self) -> Any: ...
    @property
    def messages(self) -> list[dict[str, Any]]: ...
    @property
    def transcript(self) -> list[dict[str, Any]]: ...
    @property
    def summary(self) -> str | None: ...
    @property
    def context_tokens(self) -> int: ...
    def count_tokens(self) -> TokenCount: ...
    def count_tokens_async(self) -> Awaitable[TokenCount]: ...
    @property
    def usage(self) -> Usage: ...
    @property
    def usage_by_model(self) -> dict[str, Usage]: ...
    @property
    def metrics(self) -> ConversationMetrics: ...
    @property
    def cache(self) -> list[str]: ...
    @property
    def last_reply(self) -> Reply | None: ...
    @property
    def busy(self) -> bool: ...
    @property
    def last_active(self) -> int: ...
    @property
    def stamp(self) -> tuple[int, float, float, dict[str, Any], int]:
        """``(version, created, updated, metadata, messages)``."""
    @property
    def store(self) -> str | None: ...
    @property
    def pending_tool_calls(self) -> list[dict[str, Any]]: ...
    def reset(self) -> None: ...
    def __len__(self) -> int: ...

class _Start:
    """A turn's input, checked, waiting to begin."""

    def begin(self) -> _Turn: ...
