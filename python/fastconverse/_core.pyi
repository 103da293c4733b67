"""Stubs for fastconverse's native module. One section per Rust file."""

import os
from collections.abc import AsyncIterator, Awaitable, Generator, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any

from typing_extensions import Self

from fastconverse.events import ToolResult

__version__: str

def _after_fork_in_child() -> None:
    """In a child after ``os.fork()``: a new runtime and new connections at next use."""

def _register_errors(classes: Mapping[str, type[BaseException]]) -> None:
    """Hands the classes of ``fastconverse.errors`` to the native layer (once, at import)."""

def _drain(timeout: float = 2.0) -> None:
    """Aborts the calls still awaited and waits for wake-ups under way (run at exit)."""

def _check_block(block: Mapping[str, Any]) -> None:
    """Checks one content block dict as Bedrock would take it (``ValueError`` if not)."""

# --- runtime.rs ----------------------------------------------------------------------------

class Bridge(Awaitable[Any]):
    """The one awaitable of the native module: starts when awaited; a cancelled await
    aborts the work and drops its result unread."""

    def __await__(self) -> Generator[Any, None, Any]: ...
    def send(self, value: Any) -> Any: ...
    def throw(self, kind: Any, value: Any = None, traceback: Any = None) -> Any: ...
    def close(self) -> None: ...

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
    ) -> None: ...
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
        cache: str | Sequence[str] | None = None,
        store: Store | None = None,
        settings: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        stored: _Stored | None = None,
        guardrail_config: Mapping[str, Any] | None = None,
    ) -> ConversationCore:
        """A conversation's native core; ``fastconverse.ConverseClient`` wraps it. With a
        ``store``, a new conversation is written at once (``settings``: JSON of what to
        keep); ``stored`` reopens a loaded one instead."""

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

# --- store/ --------------------------------------------------------------------------------

class Store:
    """Where conversations are kept: ``SQLiteStore`` or ``RedisStore``."""

    def _load(self, id: str) -> _Stored | None: ...
    def _list(
        self,
        max: int,
        metadata: Mapping[str, Any] | None = None,
        after: tuple[float, str] | None = None,
    ) -> list[tuple[str, int, float, float, str, int, dict[str, Any]]]: ...
    def _delete(self, id: str) -> bool: ...

class SQLiteStore(Store):
    """Conversations in one SQLite file (WAL mode): for one machine, several processes."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 5.0) -> None: ...
    @property
    def path(self) -> str: ...

class RedisStore(Store):
    """Conversations in Redis, for workers on many machines; ``ttl`` (seconds) expires a
    conversation after its last turn."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "fastconverse:",
        ttl: float | None = None,
        timeout: float = 5.0,
    ) -> None: ...
    @property
    def prefix(self) -> str: ...
    @property
    def ttl(self) -> int | None: ...

class _Stored:
    """A loaded conversation on its way into a ``Conversation``."""

    @property
    def settings(self) -> str: ...

def _store_from(store: Any) -> Store | None:
    """``ConverseClient(store=...)``, checked."""

# --- limit/ --------------------------------------------------------------------------------

class RateLimit:
    """A Bedrock quota (requests and tokens per minute) that every request of the clients
    given it waits for. ``redis_url`` shares it across processes and machines (one Lua
    script per request, on the server's clock); ``burst`` is the seconds of quota that may
    go at once. A throttle from the service lowers the rate, which recovers over 30 s."""

    def __init__(
        self,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        *,
        redis_url: str | None = None,
        key: str = "fastconverse:ratelimit",
        burst: float = 1.0,
    ) -> None: ...
    @property
    def requests_per_minute(self) -> float | None: ...
    @property
    def tokens_per_minute(self) -> float | None: ...
    def stats(self) -> dict[str, float]:
        """``requests``, ``waits``, ``waited`` (seconds), ``throttles``, ``fallbacks`` and
        ``rate`` (the share of the quota in force), as this process saw them."""

# --- context/ ------------------------------------------------------------------------------

class SlidingWindow:
    """Keeps the newest ``max_messages`` messages (the new turn's included)."""

    def __init__(self, max_messages: int = 40) -> None: ...
    @property
    def max_messages(self) -> int: ...

class TokenBudget:
    """Keeps the newest messages whose estimate fits in ``max_tokens``; once over it, cuts
    down to ``trim_to`` (default ``max_tokens``) so the front stays put for a while."""

    def __init__(self, max_tokens: int = 8000, trim_to: int | None = None) -> None: ...
    @property
    def max_tokens(self) -> int: ...
    @property
    def trim_to(self) -> int: ...

class Summarizing:
    """Over ``max_tokens``, summarises the older turns, keeping the newest ``keep_recent``
    messages; ``model_id`` picks the summariser, ``prompt`` its instructions."""

    def __init__(
        self,
        max_tokens: int = 8000,
        keep_recent: int = 4,
        model_id: str | None = None,
        prompt: str | None = None,
    ) -> None: ...
    @property
    def max_tokens(self) -> int: ...
    @property
    def keep_recent(self) -> int: ...
    @property
    def model_id(self) -> str | None: ...
    @property
    def prompt(self) -> str | None: ...

class HistoryView:
    """What a ``MemoryPolicy.select`` chooses from: the history the next request builds on."""

    def __len__(self) -> int: ...
    def tokens(self, i: int) -> int:
        """The estimated tokens of message ``i``."""
    def message(self, i: int) -> dict[str, Any]:
        """Message ``i`` as a boto3 dict."""
    def role(self, i: int) -> str: ...
    @property
    def starts(self) -> list[int]:
        """The indexes a request may start at."""
    @property
    def pending_tokens(self) -> int:
        """The estimate of the new turn's messages (always sent)."""
    def tokens_from(self, index: int = 0) -> int:
        """The estimate of messages ``index..`` plus the new turn's."""

def estimate_tokens(value: str | Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> int:
    """fastconverse's token estimate of a text, a message dict or a list of them."""

class TokenCount:
    """A prompt's size: Bedrock's count (``exact``) or the estimate (with a ``note``)."""

    @property
    def tokens(self) -> int: ...
    @property
    def exact(self) -> bool: ...
    @property
    def note(self) -> str | None: ...
    def __int__(self) -> int: ...

class Timings:
    """Seconds of one kind of timing: count, mean, median, 95th percentile and maximum."""

    @property
    def count(self) -> int: ...
    @property
    def mean(self) -> float | None: ...
    @property
    def p50(self) -> float | None: ...
    @property
    def p95(self) -> float | None: ...
    @property
    def max(self) -> float | None: ...
    def to_dict(self) -> dict[str, Any]: ...

class ConversationMetrics:
    """A conversation's metrics at one moment."""

    @property
    def turns(self) -> int: ...
    @property
    def failed_turns(self) -> int: ...
    @property
    def messages(self) -> int: ...
    @property
    def tool_calls(self) -> int: ...
    @property
    def tool_errors(self) -> int: ...
    @property
    def retries(self) -> int: ...
    @property
    def summaries(self) -> int: ...
    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...
    @property
    def cache_read_tokens(self) -> int: ...
    @property
    def cache_write_tokens(self) -> int: ...
    @property
    def total_tokens(self) -> int: ...
    @property
    def latency(self) -> Timings: ...
    @property
    def time_to_first_token(self) -> Timings: ...
    @property
    def errors(self) -> dict[str, int]: ...
    def to_dict(self) -> dict[str, Any]: ...

# --- turn/ ---------------------------------------------------------------------------------

class _Turn:
    """One turn, as a state machine the one driver (``fastconverse._turn.driver``) runs."""

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Ends the turn; an exception ending an uncommitted turn counts as a failure."""

    def next(self) -> _Step | _RunTools:
        """``REQUEST``, ``SUMMARY`` (a request never streamed), a ``_RunTools`` or
        ``DONE``: compare the constants by identity."""
    def request(self) -> None: ...
    def request_async(self) -> Bridge: ...
    def stream(self) -> _RequestStream: ...
    def add_results(self, content: Sequence[Mapping[str, Any]]) -> None: ...
    def finish_output(self, text: str, value: Any = None) -> None:
        """Ends the turn with its structured output's JSON (the output tool's call) and its
        validated value (the reply's ``output``)."""
    def add_context(self, content: Sequence[Mapping[str, Any]]) -> None:
        """Blocks this turn's requests carry in its first message, never kept."""
    def request_view(self) -> dict[str, Any]:
        """The due request as Converse's keyword arguments (a copy)."""
    def set_request(self, view: Mapping[str, Any]) -> None:
        """Replaces the due request with ``view`` (for that request only)."""
    @property
    def last_exchange(self) -> dict[str, Any] | None:
        """What the last request came to: ``fastconverse.hooks.Response``'s keywords."""
    def commit(self) -> Reply: ...
    def close(self) -> None: ...
    @property
    def messages(self) -> list[dict[str, Any]]: ...
    @property
    def usage(self) -> Usage: ...
    @property
    def rounds(self) -> int: ...
    @property
    def committed(self) -> bool:
        """Whether the turn is in the history."""
    @property
    def closed(self) -> bool:
        """Whether it was closed before a commit (a stream's ``close()``)."""
    @property
    def ended(self) -> bool: ...
    @property
    def model_id(self) -> str: ...

class _Step:
    """A step without data (``REQUEST``, ``SUMMARY``, ``DONE``)."""

    @property
    def name(self) -> str: ...

class _RunTools:
    """A round of tool calls to run."""

    @property
    def calls(self) -> list[dict[str, Any]]:
        """The toolUse dicts, in the model's order."""

REQUEST: _Step
SUMMARY: _Step
DONE: _Step

class _RequestStream:
    """One streamed request of a turn, as typed events."""

    def __iter__(self) -> Iterator[Event]: ...
    def __next__(self) -> Event: ...
    def __aiter__(self) -> AsyncIterator[Event]: ...
    def __anext__(self) -> Bridge: ...
    def close(self) -> None: ...
    @property
    def done(self) -> bool: ...

# --- reply.rs ------------------------------------------------------------------------------

class Usage:
    """Token usage of a reply or, summed, of a conversation."""

    def __init__(
        self,
        input_tokens: int = 0,
        output_tokens: int = 0,
        total_tokens: int | None = None,
        cache_read_input_tokens: int | None = None,
        cache_write_input_tokens: int | None = None,
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
    def tool_uses(self) -> list[dict[str, Any]]:
        """Every ``toolUse`` block of the turn, across its tool rounds."""
    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        """The tool uses left for the caller to answer with ``send_tool_results``."""
    @property
    def tool_results(self) -> list[dict[str, Any]]:
        """Every ``toolResult`` block of the turn, in order."""
    @property
    def messages(self) -> list[dict[str, Any]]:
        """The messages the turn added to the history."""
    @property
    def reasoning(self) -> str | None: ...
    @property
    def output(self) -> Any:
        """The validated value of ``send(..., output=Model)``; else None."""
    @property
    def trace(self) -> dict[str, Any] | None:
        """The response's ``trace`` (``{"guardrail": {...}}``) when the guardrail
        configuration enables ``trace``; else None."""
    def _with_output(self, output: Any) -> Reply: ...
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
    @property
    def trace(self) -> dict[str, Any] | None:
        """The guardrail's trace (boto3's shape) when the request enabled it."""
    def to_dict(self) -> dict[str, Any]:
        """The boto3 event dict: the same as ``converse_stream`` yields."""

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
    def request_id(self) -> str:
        """The request id FakeBedrock answered with (``x-amzn-RequestId``)."""
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

# --- client/invoke.rs ----------------------------------------------------------------------

def _invoke_model(client: ConverseClient, **kwargs: Any) -> dict[str, Any]:
    """boto3's ``invoke_model``; ``body`` is the answer's bytes."""

def _invoke_model_with_response_stream(client: ConverseClient, **kwargs: Any) -> dict[str, Any]:
    """boto3's ``invoke_model_with_response_stream``; ``body`` is a ``ChunkStream``."""

class ChunkStream:
    """The chunks of an InvokeModelWithResponseStream answer."""

    def __iter__(self) -> Self: ...
    def __next__(self) -> dict[str, Any]: ...
    def __aiter__(self) -> Self: ...
    def __anext__(self) -> Awaitable[dict[str, Any]]: ...
    def close(self) -> None: ...
