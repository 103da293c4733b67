"""Exceptions raised by fastconverse.

Every error from the service is a ``ServiceError`` (a ``ConverseError``) carrying ``code``,
``message``, ``status_code``, ``request_id``, ``retryable`` and ``model_id``; its subclass
says which modeled error it is. ``str(error)`` says what happened and what to do about it;
from the boto3-shaped client ``fastconverse.client(...)`` it reads as botocore's instead
("An error occurred (ThrottlingException) when calling the Converse operation: ..."), and the
hint and details stay attributes.

Code written for boto3 keeps working: every ``ConverseError`` has botocore's ``response``
dict (``error.response["Error"]["Code"]``) and ``operation_name``, and when botocore is in
use, service errors are ``botocore.exceptions.ClientError`` (errors inside a stream:
``EventStreamError``), so ``except ClientError`` catches them. See ``_boto3/botocore_errors.py``.
"""

from __future__ import annotations

from fastconverse import _core
from fastconverse._boto3 import botocore_errors as _botocore

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = [
    "AccessDeniedError",
    "ContextWindowExceededError",
    "ConversationBusyError",
    "ConversationConflictError",
    "ConverseError",
    "CredentialsError",
    "EmptyReplyError",
    "EndpointError",
    "GroundingError",
    "HookError",
    "InternalServerError",
    "ModelError",
    "ModelNotReadyError",
    "ModelStreamError",
    "ModelTimeoutError",
    "PendingToolCallsError",
    "ResourceNotFoundError",
    "ServiceError",
    "ServiceQuotaExceededError",
    "ServiceUnavailableError",
    "StoreError",
    "StreamInterruptedError",
    "StructuredOutputError",
    "ThrottlingError",
    "ToolLoopLimitError",
    "ToolTimeoutError",
    "TurnError",
    "TurnKeptInterrupt",
    "UnknownTemplateError",
    "UnknownToolError",
    "ValidationError",
]


class ConverseError(Exception):
    """Base of every fastconverse error."""

    code: str | None
    message: str
    status_code: int | None
    request_id: str | None
    retryable: bool
    model_id: str | None
    operation_name: str | None
    """The API operation that failed (``Converse``, ``ConverseStream``, ``CountTokens``), as
    botocore's ``ClientError.operation_name``; None for errors outside any request."""
    response: dict[str, Any]
    """botocore's error response: ``{"Error": {"Code", "Message"}, "ResponseMetadata":
    {"RequestId", "HTTPStatusCode", "HTTPHeaders", "RetryAttempts"}}``."""
    _botocore_words: bool = False
    """Whether ``str()`` reads as botocore's ``ClientError`` (set by the boto3-shaped client)."""

    def __new__(cls, message: str = "", *args: Any, **kwargs: Any) -> Any:
        # The class botocore's handlers expect: an error inside a stream is an
        # EventStreamError when botocore is in use (see _boto3/botocore_errors.py).
        code = kwargs.get("code")
        if cls is ConverseError and code is not None:
            cls = ServiceError  # (the native side names unmodeled service codes so)
        kind = _botocore.in_use_for(cls, code, kwargs.get("status_code"))
        return super().__new__(kind, message, *args)

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        retryable: bool = False,
        model_id: str | None = None,
        hint: str | None = None,
        operation_name: str | None = None,
        http_headers: Mapping[str, str] | None = None,
        retry_attempts: int | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.status_code = status_code
        self.request_id = request_id
        self.retryable = retryable
        self.model_id = model_id
        self.hint = hint
        # (an error inside a stream can only come from ConverseStream)
        self.operation_name = operation_name or ("ConverseStream" if self.in_stream else None)
        self.response = _botocore.error_response(
            self.code or type(self).__name__,
            message,
            status_code=status_code,
            request_id=request_id,
            in_stream=self.in_stream,
            http_headers=http_headers,
            retry_attempts=retry_attempts,
        )
        # Note: not super().__init__: with botocore in use, the next class in the MRO is
        # ClientError, whose __init__ takes (error_response, operation_name).
        Exception.__init__(self, message)

    @property
    def in_stream(self) -> bool:
        """Whether the service sent this error inside a stream that had begun (HTTP 200)."""
        return self.code is not None and self.status_code == 200

    def __reduce__(self) -> tuple[Any, ...]:
        # (ClientError's __reduce__ would rebuild a bare ClientError; keep our class, whose
        # in-stream variant is chosen again by __new__)
        public = _botocore.public_class(type(self))
        return (_rebuild, (public, self.args, self.code, self.status_code), self.__dict__)

    def __str__(self) -> str:
        if self._botocore_words:
            return _botocore.client_error_text(self.response, self.operation_name)
        parts = [f"{self.code}: {self.message}" if self.code else self.message]
        if self.hint:
            parts.append(self.hint)
        context = []
        if self.model_id:
            context.append(f"model {self.model_id}")
        if self.status_code:
            context.append(f"HTTP {self.status_code}")
        if self.request_id:
            context.append(f"request id {self.request_id}")
        if context:
            parts.append(f"({', '.join(context)})")
        return " ".join(parts)


def _rebuild(
    cls: type[ConverseError], args: tuple[Any, ...], code: str | None, status_code: int | None
) -> ConverseError:
    """An error without running ``__init__`` (pickle then restores its ``__dict__``)."""
    error = Exception.__new__(_botocore.in_use_for(cls, code, status_code), *args)
    assert isinstance(error, ConverseError)  # (in_use_for gives cls or a subclass of it)
    return error


class ServiceError(ConverseError):
    """An error the service answered with (it has a ``code``): botocore's ``ClientError``
    when botocore is in use. Raised as itself for codes fastconverse does not model."""


class ValidationError(ServiceError):
    """The request was invalid (HTTP 400 ValidationException)."""


class ContextWindowExceededError(ValidationError):
    """The prompt (plus maxTokens) does not fit the model's context window."""


class ServiceQuotaExceededError(ServiceError):
    """A service quota of the account was exceeded."""


class AccessDeniedError(ServiceError):
    """No access to the model or the operation (also bad or unknown credentials)."""


class ResourceNotFoundError(ServiceError):
    """The model, inference profile or other resource does not exist."""


class ModelTimeoutError(ServiceError):
    """The model took too long to answer."""


class ModelNotReadyError(ServiceError):
    """The model is not ready to serve yet; retrying helps."""


class ModelError(ServiceError):
    """The model failed while processing the request."""


class ModelStreamError(ServiceError):
    """The model failed while streaming its reply."""


class ThrottlingError(ServiceError):
    """Too many requests or tokens: slow down, or ask for higher quotas."""


class InternalServerError(ServiceError):
    """The service failed; retrying helps."""


class ServiceUnavailableError(ServiceError):
    """The service is unavailable; retrying later helps."""


class StreamInterruptedError(ConverseError):
    """The connection was lost in the middle of a stream."""


class CredentialsError(ConverseError):
    """No usable AWS credentials (or region) were found."""


class EndpointError(ConverseError):
    """The endpoint could not be reached (DNS, connection refused, TLS, timeouts)."""


class ConversationBusyError(ConverseError, RuntimeError):
    """A turn was started while another turn of the same conversation was in progress."""


class HookError(ConverseError):
    """A hook raised: the turn failed and the history is as it was. The hook's own
    exception is ``__cause__``; ``hook`` names the method (``"LogLatency.after_response"``)."""

    hook: str

    def __init__(self, hook: str, cause: BaseException) -> None:
        super().__init__(f"hook {hook} raised {type(cause).__name__}: {cause}".rstrip(": "))
        self.hook = hook


class GroundingError(HookError):
    """The conversation's grounding (``Grounding(required=True)``) could not retrieve
    passages: the turn failed before any request, and the history is as it was. The
    retriever's exception, if any, is ``__cause__``."""

    def __init__(self, message: str) -> None:
        ConverseError.__init__(self, message)
        self.hook = "Grounding.on_turn_start"


class TurnKeptInterrupt(KeyboardInterrupt):
    """Ctrl-C came while the turn was being written to the store, after which it could no
    longer be undone: the turn *was kept* (it is in ``conv.messages`` and the store), and
    ``reply`` is its reply. An ``except KeyboardInterrupt`` catches it as before."""

    def __init__(self, reply: Any) -> None:
        super().__init__(
            "Ctrl-C came while the turn was being written: the turn was kept "
            "(see .reply and conv.messages)"
        )
        self.reply = reply


class PendingToolCallsError(ConverseError, RuntimeError):
    """A message was sent while the last reply's tool uses still wait for their results;
    answer them with ``Conversation.send_tool_results`` first."""


class TurnError(ConverseError):
    """A turn failed after some of its requests succeeded; nothing was added to the
    conversation. ``messages`` holds the turn's messages as far as it got (the user's, the
    model's tool uses and their results), ``rounds`` the rounds of tool calls it ran,
    ``usage`` the tokens of its requests and ``reply`` the last reply, if any."""

    def __init__(
        self,
        message: str,
        *,
        rounds: int = 0,
        messages: list[dict[str, Any]] | None = None,
        usage: Any = None,
        reply: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.rounds = rounds
        self.messages = messages if messages is not None else []
        self.usage = usage
        self.reply = reply


class StoreError(TurnError):
    """The conversation store is down, unreachable, refused a write, or holds a record this
    version cannot load (nothing of it is loaded). A turn whose write failed was not kept,
    in the store or in memory: ``reply`` holds the model's reply so that nothing is lost,
    and the turn can be sent again once the store is back."""


class ConversationConflictError(TurnError):
    """Another worker continued this conversation while this turn ran (optimistic
    concurrency: each write names the version it was based on). This turn was not kept;
    the conversation now holds the store's history, so the message can simply be sent
    again. ``ours`` is the version the turn was based on, ``theirs`` the store's (None: the
    conversation was deleted); ``reply`` is the reply that was not kept."""

    def __init__(
        self, message: str, *, ours: int = 0, theirs: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.ours = ours
        self.theirs = theirs


class StructuredOutputError(TurnError):
    """``send(..., output=Model)``: the model's output did not validate, even after the
    validation errors were fed back to it once, or the model answered without it (text, or
    a guardrail's answer: see ``reply``). The turn was abandoned (nothing was added to the
    conversation). ``raw`` is the model's last output as JSON text, ``errors`` pydantic's
    list of what was wrong with it."""

    def __init__(self, message: str, *, raw: str = "", errors: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.raw = raw
        self.errors = list(errors) if errors is not None else []


class ToolLoopLimitError(TurnError):
    """The model still asked for tools after ``max_tool_rounds`` rounds of tool calls."""


class EmptyReplyError(TurnError):
    """The model's answer after one or more rounds of tool calls was blank. A blank answer
    cannot go into the history, so the turn was not kept; the tools' work is in
    ``messages``."""


class UnknownToolError(ConverseError, LookupError):
    """The model called a tool the conversation does not have (raised only with
    ``raise_tool_errors=True``; otherwise the model gets an error result)."""


class UnknownTemplateError(ConverseError, KeyError, ValueError):
    """A ``PromptLibrary`` has no template of that name; the message lists those it has.
    A ``KeyError``, as a missing key is, and a ``ValueError``, as the reference tutorial's
    ``create_conversation_with_template`` raised it."""


class ToolTimeoutError(ConverseError, TimeoutError):
    """A tool call took longer than its timeout (raised only with ``raise_tool_errors=True``;
    otherwise the model gets an error result)."""


_botocore.adopt(ServiceError)


def _register() -> None:
    # The native layer builds its errors from these classes: handed down here, so that it
    # never imports this (higher) layer.
    classes = {
        name: value
        for name, value in globals().items()
        if isinstance(value, type) and issubclass(value, BaseException) and not name.startswith("_")
    }
    _core._register_errors(classes)


_register()
