"""A turn's reply and token usage."""

from typing import Any

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
        cache_details: list[dict[str, Any]] | None = None,
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
    @property
    def cache_details(self) -> list[dict[str, Any]] | None:
        """boto3's ``cacheDetails``: the cache writes by lifetime, ``[{"ttl": "1h",
        "inputTokens": n}, ...]``; None when the service did not break them down."""
    def __add__(self, other: Usage) -> Usage: ...
    def to_dict(self) -> dict[str, int]:
        """boto3's ``usage`` dict."""

class Citation:
    """A passage the model cited, from a reply's ``citationsContent`` blocks
    (``reply.citations``) or a stream's ``CitationDelta``."""

    @property
    def text(self) -> str:
        """The text the model wrote on it ("" in a stream's delta: that text streams)."""
    @property
    def quote(self) -> str:
        """The cited words of the source (its ``sourceContent`` texts, joined)."""
    @property
    def title(self) -> str | None: ...
    @property
    def source(self) -> str | None:
        """The source's identifier when the service sends one (a search result's
        ``source``, a web page)."""
    @property
    def kind(self) -> str | None:
        """``documentChar``, ``documentPage``, ``documentChunk``,
        ``searchResultLocation`` or ``web`` (None: no location)."""
    @property
    def index(self) -> int | None:
        """The document (counted over the request's documents) or search result cited."""
    @property
    def start(self) -> int | None:
        """Where the passage starts: a character, page or chunk, or a search result's
        content block."""
    @property
    def end(self) -> int | None:
        """Where it ends (exclusive)."""
    @property
    def url(self) -> str | None: ...
    @property
    def domain(self) -> str | None: ...
    @property
    def location(self) -> dict[str, Any] | None:
        """boto3's ``location`` dict, e.g. ``{"documentChar": {"documentIndex": 0, ...}}``."""
    def to_dict(self) -> dict[str, Any]:
        """The citation as boto3 gives it."""

class Reply:
    """The assistant's answer to one turn; ``str(reply)`` is its text."""

    @property
    def text(self) -> str:
        """The text blocks joined, cited text (``citationsContent``) included."""
    @property
    def citations(self) -> list[Citation]:
        """The citations of the reply's ``citationsContent`` blocks, in order."""
    @property
    def message(self) -> dict[str, Any]: ...
    @property
    def content(self) -> list[dict[str, Any]]: ...
    @property
    def tool_uses(self) -> list[dict[str, Any]]:
        """Every ``toolUse`` block of the turn, across its tool rounds (a system tool's call
        has ``"type": "server_tool_use"``)."""
    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        """The tool uses left for the caller to answer with ``send_tool_results`` (never a
        system tool's: the service answered those)."""
    @property
    def tool_results(self) -> list[dict[str, Any]]:
        """Every ``toolResult`` block of the turn, in order: the tools' and the caller's, and
        the system tools' (which come in the model's own message)."""
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
    def service_tier(self) -> str | None:
        """The service tier that served the reply, as the response says (None: not said)."""
    @property
    def performance_config(self) -> dict[str, Any] | None:
        """The response's ``performanceConfig`` (``{"latency": ...}``), or None."""
    @property
    def sources(self) -> list[Any]:
        """The passages the conversation's grounding gave this turn (``Source`` objects)."""
    @property
    def grounding_error(self) -> str | None:
        """Why grounding gave this turn no passages, when it failed (the turn went on)."""
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
