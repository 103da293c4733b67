"""Stubs for fastconverse's native module. One section per Rust file."""

from collections.abc import AsyncIterator, Awaitable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any

from typing_extensions import Self

__version__: str

# --- client.rs -----------------------------------------------------------------------------

class ConverseClient:
    """A client of Bedrock Runtime's Converse API (boto3-shaped layer)."""

    def __init__(
        self,
        model_id: str | None = None,
        *,
        region_name: str | None = None,
        profile_name: str | None = None,
        endpoint_url: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        max_attempts: int = 3,
        connect_timeout: float = 10.0,
        read_timeout: float = 300.0,
    ) -> None: ...
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

# --- stream.rs -----------------------------------------------------------------------------

class EventStream:
    """Events of a ConverseStream as boto3-shaped dicts: ``for`` and ``async for`` both work."""

    def __iter__(self) -> Iterator[dict[str, Any]]: ...
    def __next__(self) -> dict[str, Any]: ...
    def __aiter__(self) -> AsyncIterator[dict[str, Any]]: ...
    def __anext__(self) -> Awaitable[dict[str, Any]]: ...
    def close(self) -> None:
        """Stops reading and closes the connection."""

# --- fake/py.rs ----------------------------------------------------------------------------

class RecordedRequest:
    """One request FakeBedrock received."""

    @property
    def operation(self) -> str:
        """``Converse``, ``ConverseStream`` or ``CountTokens`` (or the path's last segment)."""
    @property
    def model_id(self) -> str | None:
        """The model id, percent-decoded."""
    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str:
        """The path as received, still percent-encoded."""
    @property
    def body(self) -> Any:
        """The parsed JSON body (None when the body was not JSON)."""
    @property
    def headers(self) -> dict[str, str]:
        """Headers with lower-case names."""

class FakeBedrock:
    """A local Bedrock Runtime speaking the real wire protocol."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        credentials: Sequence[tuple[str, str]] | None = None,
        api_keys: Sequence[str] | None = None,
        models: Sequence[str] | None = None,
        context_windows: Mapping[str, int] | None = None,
        default_context_window: int | None = None,
    ) -> None: ...
    @property
    def url(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def pending(self) -> int: ...
    @property
    def requests(self) -> list[RecordedRequest]: ...
    @property
    def closed(self) -> bool: ...
    def reset(self) -> None: ...
    def enqueue_turn(
        self,
        content: Sequence[Mapping[str, Any]],
        *,
        model_id: str | None = None,
        chunks: int | None = None,
        stop_reason: str | None = None,
        usage: Mapping[str, int] | None = None,
        latency_ms: int | None = None,
        stream_error: str | None = None,
        stream_error_message: str | None = None,
        after_events: int = 0,
        disconnect_after_events: int | None = None,
        first_byte_delay: float = 0.0,
        delta_delay: float = 0.0,
    ) -> None: ...
    def enqueue_error(
        self,
        code: str,
        message: str | None = None,
        *,
        model_id: str | None = None,
        status: int | None = None,
        original_status_code: int | None = None,
        resource_name: str | None = None,
        original_message: str | None = None,
        first_byte_delay: float = 0.0,
    ) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...
