"""FakeBedrock: a local Bedrock Runtime, and the requests it received."""

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from typing_extensions import Self

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
    def request_id(self) -> str:
        """The request id FakeBedrock answered with (``x-amzn-RequestId``)."""
    @property
    def body(self) -> Any:
        """The parsed JSON body (None when the body was not JSON)."""
    @property
    def raw_body(self) -> bytes:
        """The body's bytes as received (its keys in the order they were sent)."""
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
        count_tokens_models: Sequence[str] | None = None,
        quotas: Mapping[str, tuple[float | None, float | None]] | None = None,
        max_recorded: int | None = None,
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
        trace: Mapping[str, Any] | None = None,
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
    ) -> None: ...
