"""The boto3-shaped calls of ``ConverseClient``, naming their operation on the errors they
raise, as botocore's ``ClientError.operation_name`` (the native errors do not say it yet)."""

from __future__ import annotations

from fastconverse import _core, errors
from fastconverse.errors import ConverseError, _during

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Boto3Calls"]


class Boto3Calls(_core.ConverseClient):
    """The native client's boto3-shaped calls, as ``ConverseClient`` inherits them."""

    def converse(self, **kwargs: Any) -> dict[str, Any]:
        """boto3's ``converse``: same keyword arguments, same returned dict."""
        try:
            return super().converse(**kwargs)
        except ConverseError as error:
            _during(error, "Converse")
            raise

    def converse_stream(self, **kwargs: Any) -> dict[str, Any]:
        """boto3's ``converse_stream``; ``["stream"]`` is an ``EventStream``."""
        try:
            return super().converse_stream(**kwargs)
        except ConverseError as error:
            _during(error, "ConverseStream")
            raise

    def count_tokens(self, **kwargs: Any) -> dict[str, Any]:
        """boto3's ``count_tokens``."""
        try:
            return super().count_tokens(**kwargs)
        except ConverseError as error:
            _during(error, "CountTokens")
            raise

    async def converse_async(self, **kwargs: Any) -> dict[str, Any]:
        """``converse`` as a coroutine; the HTTP request runs without holding the GIL."""
        try:
            return await super().converse_async(**kwargs)
        except ConverseError as error:
            _during(error, "Converse")
            raise

    async def converse_stream_async(self, **kwargs: Any) -> dict[str, Any]:
        """``converse_stream`` as a coroutine; iterate ``["stream"]`` with ``async for``."""
        try:
            return await super().converse_stream_async(**kwargs)
        except ConverseError as error:
            _during(error, "ConverseStream")
            raise

    def invoke_model(self, **kwargs: Any) -> dict[str, Any]:
        """boto3's ``invoke_model``: the model's own body format (FakeBedrock speaks
        Anthropic's); ``["body"].read()`` gives the answer's bytes."""
        from fastconverse._invoke import StreamingBody

        try:
            out = _core._invoke_model(self, **kwargs)
        except ConverseError as error:
            _during(error, "InvokeModel")
            raise
        out["body"] = StreamingBody(out["body"])
        return out

    def invoke_model_with_response_stream(self, **kwargs: Any) -> dict[str, Any]:
        """boto3's ``invoke_model_with_response_stream``: ``["body"]`` yields
        ``{"chunk": {"bytes": ...}}`` (``for`` or ``async for``)."""
        from fastconverse._invoke import STREAM_OPERATION, ChunkEvents

        try:
            out = _core._invoke_model_with_response_stream(self, **kwargs)
        except ConverseError as error:
            _during(error, STREAM_OPERATION)
            raise
        out["body"] = ChunkEvents(out["body"])
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
