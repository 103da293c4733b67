"""The typed events of a streamed request."""

from typing import Any

from .reply import Citation, Usage

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

class CitationDelta:
    """A citation of content block ``index``, whose cited text streams as ``TextDelta``
    events; the reply's message holds the block as ``citationsContent``, and
    ``reply.citations`` the citations with their text."""

    @property
    def citation(self) -> Citation:
        """The citation (its ``text`` is empty: the text streams as ``TextDelta``)."""
    @property
    def index(self) -> int: ...
    def to_dict(self) -> dict[str, Any]:
        """The boto3 event dict: the same as ``converse_stream`` yields."""

class ToolUseStart:
    @property
    def tool_use_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def index(self) -> int: ...
    @property
    def type(self) -> str | None:
        """``"server_tool_use"`` for a system tool's call, which the service runs itself (its
        result follows as ``ToolResultStart`` and ``ToolResultDelta``); else None."""
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

class ImageStart:
    """The model starts an image in content block ``index``; its bytes follow as
    ``ImageDelta`` events, and the reply's message holds the whole image."""

    @property
    def format(self) -> str:
        """png, jpeg, gif or webp."""
    @property
    def index(self) -> int: ...
    def to_dict(self) -> dict[str, Any]:
        """The boto3 event dict: the same as ``converse_stream`` yields."""

class ImageDelta:
    """A piece of the image of content block ``index``."""

    @property
    def data(self) -> bytes:
        """The piece's bytes (empty when it is an S3 location or an error)."""
    @property
    def error(self) -> str | None:
        """The service's error message for this piece, if it sent one."""
    @property
    def index(self) -> int: ...
    def to_dict(self) -> dict[str, Any]:
        """The boto3 event dict: the same as ``converse_stream`` yields."""

class ToolResultStart:
    """A system tool's result begins in content block ``index`` (the service ran the tool
    whose ``ToolUseStart`` came before); its content follows as ``ToolResultDelta``
    events, and the reply's message holds the whole ``toolResult`` block."""

    @property
    def tool_use_id(self) -> str: ...
    @property
    def type(self) -> str | None:
        """The result's kind, as the service names it (e.g. ``nova_code_interpreter_result``)."""
    @property
    def status(self) -> str | None:
        """``"success"`` or ``"error"``, when the service says."""
    @property
    def index(self) -> int: ...
    def to_dict(self) -> dict[str, Any]:
        """The boto3 event dict: the same as ``converse_stream`` yields."""

class ToolResultDelta:
    """A piece of the system tool's result of content block ``index``."""

    @property
    def content(self) -> list[dict[str, Any]]:
        """The piece's items, boto3-shaped: ``{"text": ...}`` or ``{"json": {...}}``."""
    @property
    def text(self) -> str:
        """The piece's text items, joined ("" when it holds only JSON)."""
    @property
    def index(self) -> int: ...
    def to_dict(self) -> dict[str, Any]:
        """The boto3 event dict: the same as ``converse_stream`` yields."""

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
    def service_tier(self) -> str | None:
        """The service tier that served the stream (None: not said)."""
    @property
    def trace(self) -> dict[str, Any] | None:
        """The guardrail's trace (boto3's shape) when the request enabled it."""
    def to_dict(self) -> dict[str, Any]:
        """The boto3 event dict: the same as ``converse_stream`` yields."""

class Resumed:
    """The stream was cut after some of the answer and resumed with a new request; the
    events after it continue the same answer (no text is repeated)."""

    @property
    def reason(self) -> str:
        """The error's code (``ThrottlingException``, ...) or class (``StreamInterruptedError``)."""
    @property
    def message(self) -> str: ...
    @property
    def attempt(self) -> int:
        """Which resume of this request this is: 1 for the first."""
    @property
    def restarted(self) -> list[int]:
        """The indexes of the blocks cut unfinished (a tool use's input, reasoning): they
        stream again from their start, so a reader drops what it had of them."""
    def to_dict(self) -> dict[str, Any]:
        """``{"resumed": {"reason", "message", "attempt"}}`` (boto3 has no such event)."""

# The events of one streamed request, as the native stream yields them (the public
# ``fastconverse.events.Event`` adds ``ToolResult``, which Python makes between requests).
StreamEvent = (
    MessageStart
    | TextDelta
    | CitationDelta
    | ToolUseStart
    | ToolUseDelta
    | ReasoningDelta
    | ImageStart
    | ImageDelta
    | ToolResultStart
    | ToolResultDelta
    | ContentBlockStop
    | MessageStop
    | Metadata
    | Resumed
)
