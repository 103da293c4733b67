"""InvokeModel's answer in boto3's shape: ``body`` a readable ``StreamingBody`` (the stream's
``body`` is an ``EventStream``, see event_stream.py)."""

from __future__ import annotations

import io

__all__ = ["StreamingBody"]

TYPE_CHECKING = False  # (mypy takes this name as true)
if TYPE_CHECKING:
    from collections.abc import Iterator


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
