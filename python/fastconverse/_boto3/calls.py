"""The boto3-shaped calls of ``ConverseClient`` that need Python: coroutines for the async
twins, boto3's body objects for InvokeModel, and ``client.exceptions``."""

from __future__ import annotations

from fastconverse import _core, errors
from fastconverse._boto3.botocore_errors import in_botocore_words

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Boto3Calls"]


class Boto3Calls(_core.ConverseClient):
    """The native client's boto3-shaped calls, as ``ConverseClient`` inherits them; their
    errors name the operation they came from. On a client made by ``fastconverse.client``,
    ``str(error)`` of a service error reads as botocore's (``in_botocore_words``), also for
    errors inside a stream; ``ConverseClient``'s own keep fastconverse's text."""

    _botocore_retries: tuple[str, int] | None = None
    """botocore's retry mode and total attempts of a client made by ``fastconverse.client``
    (its errors read as botocore's); None for a ``ConverseClient`` made as such."""

    def _reword(self, error: errors.ServiceError) -> None:
        if self._botocore_retries is not None:
            in_botocore_words(error, self._botocore_retries)

    def _events(self, native: _core.EventStream) -> _core.EventStream:
        """A stream's errors read as botocore's too: the native stream calls back before
        raising one (no Python layer per event: an event costs what it did)."""
        retries = self._botocore_retries
        if retries is not None:

            def reword(error: BaseException) -> None:
                if isinstance(error, errors.ServiceError):
                    in_botocore_words(error, retries)

            native._on_error(reword)
        return native

    def converse(self, **kwargs: Any) -> dict[str, Any]:
        """boto3's ``converse``."""
        try:
            return super().converse(**kwargs)
        except errors.ServiceError as error:
            self._reword(error)
            raise

    async def converse_async(self, **kwargs: Any) -> dict[str, Any]:
        """``converse`` as a coroutine; the HTTP request runs without holding the GIL."""
        try:
            return await super().converse_async(**kwargs)
        except errors.ServiceError as error:
            self._reword(error)
            raise

    def converse_stream(self, **kwargs: Any) -> dict[str, Any]:
        """boto3's ``converse_stream``: iterate ``["stream"]`` with ``for`` or ``async for``."""
        try:
            out = super().converse_stream(**kwargs)
        except errors.ServiceError as error:
            self._reword(error)
            raise
        if self._botocore_retries is not None:  # (else the native stream, with no layer)
            out["stream"] = self._events(out["stream"])
        return out

    async def converse_stream_async(self, **kwargs: Any) -> dict[str, Any]:
        """``converse_stream`` as a coroutine; iterate ``["stream"]`` with ``async for``."""
        try:
            out = await super().converse_stream_async(**kwargs)
        except errors.ServiceError as error:
            self._reword(error)
            raise
        if self._botocore_retries is not None:
            out["stream"] = self._events(out["stream"])
        return out

    def count_tokens(self, **kwargs: Any) -> dict[str, Any]:
        """boto3's ``count_tokens``."""
        try:
            return super().count_tokens(**kwargs)
        except errors.ServiceError as error:
            self._reword(error)
            raise

    def invoke_model(self, **kwargs: Any) -> dict[str, Any]:
        """boto3's ``invoke_model``: the model's own body format (FakeBedrock speaks
        Anthropic's); ``["body"].read()`` gives the answer's bytes."""
        from fastconverse._boto3.invoke import StreamingBody

        try:
            out = _core._invoke_model(self, **kwargs)
        except errors.ServiceError as error:
            self._reword(error)
            raise
        out["body"] = StreamingBody(out["body"])
        return out

    def invoke_model_with_response_stream(self, **kwargs: Any) -> dict[str, Any]:
        """boto3's ``invoke_model_with_response_stream``: ``["body"]`` yields
        ``{"chunk": {"bytes": ...}}`` (``for`` or ``async for``)."""
        try:
            out = _core._invoke_model_with_response_stream(self, **kwargs)
        except errors.ServiceError as error:
            self._reword(error)
            raise
        out["body"] = self._events(out["body"])
        return out

    @property
    def exceptions(self) -> Exceptions:
        """boto3's ``client.exceptions``: ``except client.exceptions.ThrottlingException``
        catches our ``ThrottlingError`` (each modeled code names our class for it)."""
        return _EXCEPTIONS


class Exceptions:
    """The modeled errors of Bedrock Runtime by boto3's names, as our classes."""

    ClientError = errors.ServiceError
    AccessDeniedException = errors.AccessDeniedError
    InternalServerException = errors.InternalServerError
    ModelErrorException = errors.ModelError
    ModelNotReadyException = errors.ModelNotReadyError
    ModelStreamErrorException = errors.ModelStreamError
    ModelTimeoutException = errors.ModelTimeoutError
    ResourceNotFoundException = errors.ResourceNotFoundError
    ServiceQuotaExceededException = errors.ServiceQuotaExceededError
    ServiceUnavailableException = errors.ServiceUnavailableError
    ThrottlingException = errors.ThrottlingError
    ValidationException = errors.ValidationError


_EXCEPTIONS = Exceptions()
