"""Stubs for fastconverse's native module. One section per Rust file."""

from collections.abc import AsyncIterator, Awaitable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any

from typing_extensions import Self

from fastconverse._toolloop import ToolBox, ToolStats
from fastconverse.events import ToolResult
from fastconverse.tools import Tool

ToolChoice = str | Mapping[str, Any] | None

__version__: str

def _drain(timeout: float = 2.0) -> None:
    """Waits until no async result is on its way to an event loop (run at exit)."""

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
    def create_conversation(
        self,
        system_prompt: str | Sequence[Mapping[str, Any]] | None = None,
        *,
        conversation_id: str | None = None,
        model_id: str | None = None,
        inference_config: Mapping[str, Any] | None = None,
        additional_model_request_fields: Mapping[str, Any] | None = None,
        messages: Sequence[Mapping[str, Any]] | None = None,
        _toolbox: ToolBox | None = None,
    ) -> Conversation:
        """Starts a conversation, kept in this client's registry under its id (the Python
        subclass takes ``tools=`` and the tool loop's settings and builds ``_toolbox``)."""
    def get_conversation(self, conversation_id: str) -> Conversation:
        """The conversation with this id; ``KeyError`` when there is none."""
    def list_conversations(self, max_results: int = 20) -> list[Conversation]:
        """Conversations, the most recently active first."""
    def delete_conversation(self, conversation_id: str) -> None:
        """Forgets a conversation; ``KeyError`` when there is none."""

# --- conversation.rs -----------------------------------------------------------------------

UserInput = str | Sequence[Mapping[str, Any]] | Mapping[str, Any]

class Conversation:
    """A multi-turn conversation; history is appended only when a turn completes."""

    @property
    def id(self) -> str: ...
    @property
    def model_id(self) -> str:
        """The model of the next turn; assign to switch models."""
    @model_id.setter
    def model_id(self, value: str) -> None: ...
    @property
    def system_prompt(self) -> str | None: ...
    @property
    def inference_config(self) -> dict[str, Any] | None: ...
    @property
    def additional_model_request_fields(self) -> Any: ...
    @property
    def messages(self) -> list[dict[str, Any]]:
        """The history as boto3 message dicts (a copy)."""
    @property
    def usage(self) -> Usage:
        """Tokens of all turns so far, summed."""
    @property
    def last_reply(self) -> Reply | None: ...
    @property
    def busy(self) -> bool:
        """Whether a turn is in progress."""
    def reset(self) -> None:
        """Forgets the history and the last reply; usage keeps counting."""
    def send(self, message: UserInput, *, tool_choice: ToolChoice = None) -> Reply:
        """Sends a user turn (text, content blocks or a user message dict); waits for the reply.

        With tools, calls the tools the model asks for until it answers."""
    def send_async(self, message: UserInput, *, tool_choice: ToolChoice = None) -> Awaitable[Reply]:
        """``send`` as an awaitable; cancelling the awaiting task aborts the request."""
    def stream(self, message: UserInput, *, tool_choice: ToolChoice = None) -> ReplyStream:
        """Sends a user turn and streams the reply as typed events (with tools: through the
        tool calls, each reported by a ``ToolResult`` event, to the answer)."""
    def send_tool_results(
        self, results: Mapping[str, Any], *, tool_choice: ToolChoice = None
    ) -> Reply:
        """Answers the last reply's tool uses (``{tool_use_id: result}``) and waits for the
        next reply; tools with a function that ``results`` leaves out are called."""
    def send_tool_results_async(
        self, results: Mapping[str, Any], *, tool_choice: ToolChoice = None
    ) -> Awaitable[Reply]:
        """``send_tool_results`` as an awaitable."""
    @property
    def pending_tool_calls(self) -> list[dict[str, Any]]:
        """The last reply's tool uses still waiting for results (``toolUse`` dicts)."""
    @property
    def tools(self) -> list[Tool[..., Any]]:
        """The conversation's tools, in the order given."""
    @property
    def tool_metrics(self) -> dict[str, ToolStats]:
        """Calls, errors and seconds per tool name."""
    def __len__(self) -> int: ...

class _Turn:
    """One turn of the tool loop (driven by ``fastconverse._toolloop``)."""

    def begin(self) -> None: ...
    def request(self, tool_choice: Mapping[str, Any] | None = None) -> Reply: ...
    def request_async(self, tool_choice: Mapping[str, Any] | None = None) -> Awaitable[Reply]: ...
    def stream(self, tool_choice: Mapping[str, Any] | None = None) -> ReplyStream: ...
    def add_results(self, content: Sequence[Mapping[str, Any]]) -> None: ...
    def commit(self) -> Reply: ...
    def abandon(self) -> None: ...
    @property
    def messages(self) -> list[dict[str, Any]]: ...
    @property
    def usage(self) -> Usage: ...

class ReplyStream:
    """Typed events of one streamed reply: ``for`` and ``async for`` both work."""

    def __iter__(self) -> Iterator[Event]: ...
    def __next__(self) -> Event: ...
    def __aiter__(self) -> AsyncIterator[Event]: ...
    def __anext__(self) -> Awaitable[Event]: ...
    @property
    def reply(self) -> Reply:
        """The finished reply; ``RuntimeError`` until the stream was read to its end."""
    @property
    def done(self) -> bool: ...
    def until_done(self) -> Reply:
        """Reads the rest of the stream and returns the finished reply."""
    def close(self) -> None:
        """Stops the stream; an unfinished turn is dropped and the history is unchanged."""
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

# --- reply.rs ------------------------------------------------------------------------------

class Usage:
    """Token usage of a reply or, summed, of a conversation."""

    def __init__(
        self,
        input_tokens: int = 0,
        output_tokens: int = 0,
        total_tokens: int | None = None,
        cache_read_input_tokens: int = 0,
        cache_write_input_tokens: int = 0,
    ) -> None: ...
    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...
    @property
    def total_tokens(self) -> int: ...
    @property
    def cache_read_input_tokens(self) -> int: ...
    @property
    def cache_write_input_tokens(self) -> int: ...
    def __add__(self, other: Usage) -> Usage: ...
    def to_dict(self) -> dict[str, int]:
        """boto3's ``usage`` dict."""

class Reply:
    """The assistant's answer to one turn; ``str(reply)`` is its text."""

    @property
    def text(self) -> str: ...
    @property
    def message(self) -> dict[str, Any]: ...
    @property
    def content(self) -> list[dict[str, Any]]: ...
    @property
    def tool_uses(self) -> list[dict[str, Any]]: ...
    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        """The tool uses left for the caller to answer with ``send_tool_results``."""
    @property
    def reasoning(self) -> str | None: ...
    @property
    def stop_reason(self) -> str: ...
    @property
    def usage(self) -> Usage: ...
    @property
    def metrics(self) -> dict[str, int]: ...
    @property
    def latency_ms(self) -> int | None: ...
    @property
    def request_id(self) -> str | None: ...
    @property
    def model_id(self) -> str: ...
    @property
    def additional_model_response_fields(self) -> Any: ...
    def to_dict(self) -> dict[str, Any]:
        """The reply as boto3's ``converse`` result (without ``ResponseMetadata``)."""

# --- events.rs -----------------------------------------------------------------------------

class MessageStart:
    @property
    def role(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...

class TextDelta:
    @property
    def text(self) -> str: ...
    @property
    def index(self) -> int: ...
    def to_dict(self) -> dict[str, Any]: ...

class ToolUseStart:
    @property
    def tool_use_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def index(self) -> int: ...
    def to_dict(self) -> dict[str, Any]: ...

class ToolUseDelta:
    @property
    def input(self) -> str:
        """A fragment of the tool input's JSON text."""
    @property
    def index(self) -> int: ...
    def to_dict(self) -> dict[str, Any]: ...

class ReasoningDelta:
    @property
    def text(self) -> str: ...
    @property
    def signature(self) -> str | None: ...
    @property
    def redacted_content(self) -> bytes | None: ...
    @property
    def index(self) -> int: ...
    def to_dict(self) -> dict[str, Any]: ...

class ContentBlockStop:
    @property
    def index(self) -> int: ...
    def to_dict(self) -> dict[str, Any]: ...

class MessageStop:
    @property
    def stop_reason(self) -> str: ...
    @property
    def additional_model_response_fields(self) -> Any: ...
    def to_dict(self) -> dict[str, Any]: ...

class Metadata:
    @property
    def usage(self) -> Usage: ...
    @property
    def metrics(self) -> dict[str, int]: ...
    @property
    def latency_ms(self) -> int | None: ...
    def to_dict(self) -> dict[str, Any]: ...

Event = (
    MessageStart
    | TextDelta
    | ToolUseStart
    | ToolUseDelta
    | ReasoningDelta
    | ContentBlockStop
    | MessageStop
    | Metadata
    | ToolResult
)

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
    ) -> None: ...
