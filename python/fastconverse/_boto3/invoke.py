"""InvokeModel's answers in boto3's shapes: ``body`` a readable ``StreamingBody``, and the
stream's ``body`` an iterable (and async-iterable) of ``{"chunk": {"bytes": ...}}``."""

from __future__ import annotations

import io
from typing import Any

from fastconverse import _core

__all__ = ["ChunkEvents", "StreamingBody"]

TYPE_CHECKING = False  # (mypy takes this name as true)
if TYPE_CHECKING:
    from collections.abc import Iterator

    from typing_extensions import Self


class StreamingBody:
    """The answer's bytes, read like botocore's ``StreamingBody`` (``read``,
    ``iter_lines``, ``iter_chunks``; the bytes are already here, nothing blocks)."""

    __slots__ = ("_raw",)

    def __init__(self, data: bytes) -> None:
        self._raw = io.BytesIO(data)

    def read(self, amt: int | None = None) -> bytes:
        return self._raw.read(amt)

    def readlines(self) -> list[bytes]:
        return self._raw.readlines()

    def iter_chunks(self, chunk_size: int = 1024) -> Iterator[bytes]:
        while chunk := self._raw.read(chunk_size):
            yield chunk

    def iter_lines(self, chunk_size: int = 1024, keepends: bool = False) -> Iterator[bytes]:
        yield from self._raw.read().splitlines(keepends)

    def __iter__(self) -> Iterator[bytes]:
        return self.iter_chunks()

    def close(self) -> None:
        self._raw.close()

    def __repr__(self) -> str:
        return f"StreamingBody({len(self._raw.getbuffer())} bytes)"


class ChunkEvents:
    """``response["body"]`` of ``invoke_model_with_response_stream``: ``for`` or
    ``async for`` yields ``{"chunk": {"bytes": b"..."}}``; an error in the stream is raised
    as boto3 raises it (``EventStreamError`` when botocore is in use)."""

    __slots__ = ("_native",)

    def __init__(self, native: _core.EventStream) -> None:
        self._native = native

    # Note: an iterator object, not a generator: a read cancelled or interrupted leaves
    # the stream readable, with the chunk it was about to take still first in line (a
    # generator would be closed by the exception thrown into it).

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> dict[str, Any]:
        event: dict[str, Any] = self._native.__next__()
        return event

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> dict[str, Any]:
        event: dict[str, Any] = await self._native.__anext__()
        return event

    def close(self) -> None:
        """Stops reading and closes the connection."""
        self._native.close()
