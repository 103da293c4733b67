"""``ConverseClient``'s native half: boto3's calls, their streams and InvokeModel's."""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any

from .conversation import ConversationCore
from .limit import RateLimit
from .store import Store, _Stored

# --- client.rs -----------------------------------------------------------------------------

class ConverseClient:
    """A client of Bedrock Runtime's Converse API (boto3-shaped layer). Created
    uninitialised (any arguments are left to ``__init__``); ``_configure`` sets it up once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None: ...
    def _configure(
        self,
        model_id: str | None = None,
        profile_name: str | None = None,
        region_name: str | None = None,
        *,
        endpoint_url: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        max_attempts: int = 3,
        connect_timeout: float = 10.0,
        read_timeout: float = 300.0,
        max_conversations: int = 1000,
        rate_limit: RateLimit | None = None,
        resume: int = 2,
    ) -> None: ...
    @property
    def resume(self) -> int:
        """How many times a conversation's stream cut after content resumes (0: never)."""
    @property
    def max_conversations(self) -> int: ...
    @property
    def model_id(self) -> str | None: ...
    @property
    def region_name(self) -> str: ...
    @property
    def endpoint_url(self) -> str | None: ...
    def converse(self, **kwargs: Any) -> dict[str, Any]:
        """boto3's ``converse``: same keyword arguments, same returned dict."""
    def converse_async(self, **kwargs: Any) -> Awaitable[dict[str, Any]]:
        """``converse`` as an awaitable; call it inside a running event loop."""
    def converse_stream(self, **kwargs: Any) -> dict[str, Any]:
        """boto3's ``converse_stream``; ``["stream"]`` is an ``EventStream``."""
    def converse_stream_async(self, **kwargs: Any) -> Awaitable[dict[str, Any]]:
        """``converse_stream`` as an awaitable; call it inside a running event loop."""
    def count_tokens(self, **kwargs: Any) -> dict[str, Any]:
        """boto3's ``count_tokens``."""
    def _new_conversation(
        self,
        system_prompt: str | Sequence[Mapping[str, Any]] | None,
        *,
        conversation_id: str | None,
        model_id: str | None,
        inference_config: Mapping[str, Any] | None,
        additional_model_request_fields: Mapping[str, Any] | None,
        messages: Sequence[Mapping[str, Any]] | None,
        tools: Sequence[Mapping[str, Any]] | None,
        callable: Sequence[str],
        max_tool_rounds: int,
        tool_choice: Mapping[str, Any] | None,
        memory: Any = None,
        cache: str | Sequence[str] | Mapping[str, str | None] | None = None,
        store: Store | None = None,
        settings: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        stored: _Stored | None = None,
        guardrail_config: Mapping[str, Any] | None = None,
        service_tier: str | None = None,
        performance_config: Mapping[str, Any] | None = None,
        request_metadata: Mapping[str, str] | None = None,
    ) -> ConversationCore:
        """A conversation's native core; ``fastconverse.ConverseClient`` wraps it. With a
        ``store``, a new conversation is written at once (``settings``: JSON of what to
        keep); ``stored`` reopens a loaded one instead."""

# --- stream.rs -----------------------------------------------------------------------------

class EventStream:
    """A stream's events as boto3 yields them, ``for`` and ``async for``: a ConverseStream's
    event dicts, or an InvokeModelWithResponseStream's ``{"chunk": {"bytes": ...}}``."""

    def __iter__(self) -> Iterator[dict[str, Any]]: ...
    def __next__(self) -> dict[str, Any]: ...
    def __aiter__(self) -> AsyncIterator[dict[str, Any]]: ...
    def __anext__(self) -> Awaitable[dict[str, Any]]: ...
    def _on_error(self, hook: Callable[[BaseException], object]) -> None:
        """``hook(error)`` runs on an error from the stream before it is raised."""
    def close(self) -> None:
        """Stops reading and closes the connection."""

# --- client/invoke.rs ----------------------------------------------------------------------

def _invoke_model(client: ConverseClient, **kwargs: Any) -> dict[str, Any]:
    """boto3's ``invoke_model``; ``body`` is the answer's bytes."""

def _invoke_model_with_response_stream(client: ConverseClient, **kwargs: Any) -> dict[str, Any]:
    """boto3's ``invoke_model_with_response_stream``; ``body`` is an ``EventStream``."""
