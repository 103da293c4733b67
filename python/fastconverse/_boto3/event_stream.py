"""``EventStream``: the events of a boto3-shaped stream as boto3 yields them, and its errors as
botocore words them when the client is the boto3-shaped one."""

from __future__ import annotations

from fastconverse import _core, errors
from fastconverse._boto3.botocore_errors import in_botocore_words

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from typing import Any

    from typing_extensions import Self

__all__ = ["EventStream"]


class EventStream:
    """``response["stream"]`` of ``converse_stream`` (event dicts) or ``response["body"]`` of
    ``invoke_model_with_response_stream`` (``{"chunk": {"bytes": b"..."}}``): ``for`` or
    ``async for``. An error in the stream is raised as boto3 raises it (``EventStreamError``
    when botocore is in use), in botocore's words when ``retries`` (the client's botocore
    retry settings) is given."""

    __slots__ = ("_native", "_retries")

    def __init__(self, native: _core.EventStream, retries: tuple[str, int] | None) -> None:
        self._native = native
        self._retries = retries

    # Note: an iterator object, not a generator: a read cancelled or interrupted leaves
    # the stream readable, with the event it was about to take still first in line (a
    # generator would be closed by the exception thrown into it).

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> dict[str, Any]:
        try:
            event: dict[str, Any] = self._native.__next__()
        except errors.ServiceError as error:
            if self._retries is not None:
                in_botocore_words(error, self._retries)
            raise
        return event

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> dict[str, Any]:
        try:
            event: dict[str, Any] = await self._native.__anext__()
        except errors.ServiceError as error:
            if self._retries is not None:
                in_botocore_words(error, self._retries)
            raise
        return event

    def close(self) -> None:
        """Stops reading and closes the connection."""
        self._native.close()

    def __repr__(self) -> str:
        return repr(self._native)
