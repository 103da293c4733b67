"""The boto3-shaped calls of ``ConverseClient`` that need Python: coroutines for the async
twins, boto3's body objects for InvokeModel, and ``client.exceptions``."""

from __future__ import annotations

from fastconverse import _core, errors

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Boto3Calls"]


class Boto3Calls(_core.ConverseClient):
    """The native client's boto3-shaped calls, as ``ConverseClient`` inherits them
    (``converse``, ``converse_stream`` and ``count_tokens`` are the native ones; their errors
    name the operation they came from)."""

    async def converse_async(self, **kwargs: Any) -> dict[str, Any]:
        """``converse`` as a coroutine; the HTTP request runs without holding the GIL."""
        return await super().converse_async(**kwargs)

    async def converse_stream_async(self, **kwargs: Any) -> dict[str, Any]:
        """``converse_stream`` as a coroutine; iterate ``["stream"]`` with ``async for``."""
        return await super().converse_stream_async(**kwargs)

    def invoke_model(self, **kwargs: Any) -> dict[str, Any]:
        """boto3's ``invoke_model``: the model's own body format (FakeBedrock speaks
        Anthropic's); ``["body"].read()`` gives the answer's bytes."""
        from fastconverse._boto3.invoke import StreamingBody

        out = _core._invoke_model(self, **kwargs)
        out["body"] = StreamingBody(out["body"])
        return out

    def invoke_model_with_response_stream(self, **kwargs: Any) -> dict[str, Any]:
        """boto3's ``invoke_model_with_response_stream``: ``["body"]`` yields
        ``{"chunk": {"bytes": ...}}`` (``for`` or ``async for``)."""
        from fastconverse._boto3.invoke import ChunkEvents

        out = _core._invoke_model_with_response_stream(self, **kwargs)
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
