"""Our errors as botocore's, for code written against boto3, without depending on botocore.

``except botocore.exceptions.ClientError`` matches on the real class hierarchy, so our
service errors must inherit from ``ClientError`` — but importing ``botocore.exceptions``
costs about a quarter of ``import fastconverse`` (it pulls in ``logging`` and botocore's
vendored requests), and most users of fastconverse never import botocore at all.

Note: so nothing is imported here. ``ServiceError`` gains ``ClientError`` as a base as soon
as botocore turns out to be loaded: when ``fastconverse.errors`` is imported, and again
whenever an error is built (a dict lookup until then). That is always in time for an
``except ClientError`` clause: the clause can only name ``ClientError`` once
``botocore.exceptions`` is imported, and the error it meets is built after that. An error
the service sent inside a stream is built as a subclass of its class and of botocore's
``EventStreamError``, as boto3 raises it.
"""

from __future__ import annotations

import sys
from _thread import allocate_lock  # (threading's Lock, without importing threading)

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = [
    "adopt",
    "client_error_text",
    "error_response",
    "in_botocore_words",
    "in_use_for",
    "public_class",
]

_lock = allocate_lock()
_service_base: type[BaseException] | None = None
_event_stream_error: type[BaseException] | None = None
# In-stream variants: public class -> variant, and back.
_variants: dict[type[BaseException], type[BaseException]] = {}
_public: dict[type[BaseException], type[BaseException]] = {}


def adopt(service_base: type[BaseException]) -> None:
    """Makes ``service_base`` (and so its subclasses) a ``ClientError`` once botocore is
    loaded: now if it already is."""
    global _service_base
    _service_base = service_base
    _bridge()


def _bridge() -> bool:
    """Whether the service errors are botocore's (adding ``ClientError`` to their bases the
    first time botocore is seen loaded)."""
    global _event_stream_error
    if _event_stream_error is not None:
        return True
    module = sys.modules.get("botocore.exceptions")
    if module is None or _service_base is None:  # (None also when blocked on purpose)
        return False
    client_error = getattr(module, "ClientError", None)
    stream_error = getattr(module, "EventStreamError", None)
    if not (
        isinstance(client_error, type)
        and isinstance(stream_error, type)
        and issubclass(client_error, Exception)
        and issubclass(stream_error, client_error)
    ):
        return False  # a botocore we do not understand: stay as we are
    with _lock:
        if _event_stream_error is None:
            if not issubclass(_service_base, client_error):
                _service_base.__bases__ = (*_service_base.__bases__, client_error)
            _event_stream_error = stream_error
    return True


def in_use_for(cls: type[BaseException], code: Any, status_code: Any) -> type[BaseException]:
    """The class to build for an error of class ``cls``: with botocore in use, an error the
    service sent inside a stream (a code on an HTTP 200) is also an ``EventStreamError``."""
    if not _bridge() or code is None or status_code != 200:
        return cls
    assert _service_base is not None and _event_stream_error is not None
    if not issubclass(cls, _service_base) or issubclass(cls, _event_stream_error):
        return cls
    variant = _variants.get(cls)
    if variant is None:
        with _lock:
            variant = _variants.get(cls)
            if variant is None:
                # Same name and module as the public class: tracebacks and reprs read as
                # usual, and ``except ThrottlingError`` still matches.
                namespace = {
                    "__module__": cls.__module__,
                    "__qualname__": cls.__qualname__,
                    "__doc__": cls.__doc__,
                }
                variant = type(cls.__name__, (cls, _event_stream_error), namespace)
                _variants[cls] = variant
                _public[variant] = cls
    return variant


def public_class(cls: type[BaseException]) -> type[BaseException]:
    """The public class of a possibly in-stream variant (the one pickle can find)."""
    return _public.get(cls, cls)


def error_response(
    code: str,
    message: str,
    *,
    status_code: int | None,
    request_id: str | None,
    in_stream: bool,
    http_headers: Mapping[str, str] | None,
    retry_attempts: int | None,
) -> dict[str, Any]:
    """botocore's ``ClientError.response`` for an error.

    As boto3 gives it: an in-stream error's code is the frame's ``:exception-type``
    (``throttlingException``), and an HTTP error also carries its modeled ``message``
    member at the top level. Ours adds ``ResponseMetadata`` to in-stream errors too.
    """
    if in_stream:
        code = code[:1].lower() + code[1:]
    if http_headers is not None:
        headers = {k.lower(): v for k, v in http_headers.items()}
    else:
        # Note: the native side reports only the request id so far (Bedrock sends it as
        # x-amzn-RequestId, WIRE.md); the other headers are not known here.
        headers = {"x-amzn-requestid": request_id} if request_id else {}
    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {
            "RequestId": request_id or "",
            "HTTPStatusCode": status_code,
            "HTTPHeaders": headers,
            "RetryAttempts": retry_attempts if retry_attempts is not None else 0,
        },
    }
    if status_code is not None and not in_stream:
        response["message"] = message
    return response


def client_error_text(response: Mapping[str, Any], operation_name: str | None) -> str:
    """``str()`` of botocore's ``ClientError(response, operation_name)``: its
    ``MSG_TEMPLATE``, and `` (reached max retries: N)`` when the response metadata says the
    last attempt was used (``MaxAttemptsReached``; an in-stream error has none)."""
    retry_info = ""
    metadata = response.get("ResponseMetadata")
    if (
        metadata is not None
        and metadata.get("MaxAttemptsReached", False)
        and "RetryAttempts" in metadata
    ):
        retry_info = f" (reached max retries: {metadata['RetryAttempts']})"
    error = response.get("Error", {})
    return (
        f"An error occurred ({error.get('Code', 'Unknown')}) when calling the "
        f"{operation_name} operation{retry_info}: {error.get('Message', 'Unknown')}"
    )


# What botocore's legacy retry mode retries (its data/_retry.json, __default__ policies).
_LEGACY_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504, 509})
_LEGACY_RETRIED_400_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "ProvisionedThroughputExceededException",
    }
)


def in_botocore_words(error: Any, retries: tuple[str, int]) -> None:
    """Makes a service error (one with a ``code``) read as botocore's ``ClientError``.

    ``retries`` is the client's botocore retry mode and total attempts. An HTTP error of
    the last allowed attempt gets ``MaxAttemptsReached`` in its response metadata as
    botocore's retry handler sets it: in standard (and adaptive) mode whatever the error,
    in legacy mode only for an error that mode retries. Errors of ours alone (no code, e.g.
    credentials or connections) are left as they are: botocore raises no ``ClientError``
    for those.
    """
    if error.code is None:
        return
    metadata = error.response.get("ResponseMetadata")
    if not error.in_stream and metadata is not None:
        mode, max_attempts = retries
        status = error.status_code
        if metadata.get("RetryAttempts", 0) + 1 >= max_attempts and (
            mode != "legacy"
            or status in _LEGACY_RETRIED_STATUSES
            or (status == 400 and error.code in _LEGACY_RETRIED_400_CODES)
        ):
            metadata["MaxAttemptsReached"] = True
    error._botocore_words = True
