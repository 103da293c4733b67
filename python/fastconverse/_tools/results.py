"""A tool's return value as ``toolResult`` content blocks."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from pydantic_core import to_jsonable_python

from fastconverse.content import bytes_block, pil_image_bytes

JsonDict = dict[str, Any]

# The members of Bedrock's ToolResultContentBlock union: a dict with exactly one of these
# keys is already a content block and is passed through unchanged.
_CONTENT_BLOCK_KEYS = frozenset({"text", "json", "image", "document", "video", "searchResult"})


def result_content(value: Any) -> list[JsonDict]:
    """A tool's return value as the ``content`` of a Bedrock ``toolResult``.

    - ``str``: ``[{"text": value}]`` (a blank string as ``{"json": {"result": value}}``,
      because Bedrock rejects blank text blocks);
    - ``dict``, TypedDict, dataclass, pydantic model: ``[{"json": {...}}]``;
    - ``list``, ``tuple``, ``set`` (anything JSON turns into an array):
      ``[{"json": {"result": [...]}}]``, since a json block must hold an object;
    - ``None``, ``int``, ``float``, ``bool``: ``[{"json": {"result": value}}]``;
    - other objects pydantic serialises to a string (datetime, UUID, Path, ...): text;
    - ``bytes`` of a PNG, JPEG, GIF or WEBP image: an image block; of a PDF: a document
      block named "document"; other bytes raise ``ValueError``;
    - a PIL image (when Pillow is installed): an image block, in the image's own format
      when Bedrock takes it, else PNG;
    - a content block dict (``{"text"|"json"|"image"|"document"|"video"|"searchResult":
      ...}``, such as ``image(...)``, ``document(...)`` and ``search_result(...)`` give) or a
      list of them: passed through unchanged (a search tool returns ``search_result``
      blocks, which the model can cite when their ``citations`` are enabled);
    - a list (or tuple) holding images, documents or search results among other values: a
      block per item, each as above (``["The chart:", image("chart.png")]``), blank text
      left out.

    Values JSON cannot hold (inside containers) become their ``str()``. An ``audio(...)``
    block raises ``ValueError``: Bedrock's ToolResultContentBlock has no audio member.
    """
    if isinstance(value, str):
        return [{"text": value}] if value.strip() else [{"json": {"result": value}}]
    if type(value) is dict:
        # (what most tools return: of the checks below, only a content block's says yes)
        if _is_content_block(value):
            return [dict(value)]
        return [{"json": to_jsonable_python(value, fallback=str)}]
    if _is_content_block(value):
        return [dict(value)]
    if isinstance(value, list) and value and all(_is_content_block(b) for b in value):
        return [dict(b) for b in value]
    if isinstance(value, (list, tuple)) and any(_is_media(b) for b in value):
        return _mixed(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return [_bytes_block(bytes(value))]
    image = _pil_image_block(value)
    if image is not None:
        return [image]
    data = to_jsonable_python(value, fallback=str)
    if isinstance(data, dict):
        return [{"json": data}]
    if isinstance(data, str) and data.strip():
        return [{"text": data}]
    return [{"json": {"result": data}}]


# --- result content -------------------------------------------------------------------------


def _is_content_block(value: Any) -> bool:
    if (type(value) is not dict and not isinstance(value, Mapping)) or len(value) != 1:
        return False
    (key, body) = next(iter(value.items()))
    if key == "audio" and isinstance(body, Mapping):
        raise ValueError(
            "a tool result cannot carry audio (Bedrock's tool results take text, json, image, "
            "document, video and searchResult blocks); send the clip in a user message instead"
        )
    if key == "text":
        return isinstance(body, str)
    return key in _CONTENT_BLOCK_KEYS and isinstance(body, Mapping)


_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)


def _bytes_block(data: bytes) -> JsonDict:
    for magic, fmt in _IMAGE_MAGIC:
        if data.startswith(magic):
            return {"image": {"format": fmt, "source": {"bytes": data}}}
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return {"image": {"format": "webp", "source": {"bytes": data}}}
    if data.startswith(b"%PDF-"):
        return {"document": {"format": "pdf", "name": "document", "source": {"bytes": data}}}
    raise ValueError(
        f"cannot tell the format of {len(data)} bytes returned by a tool (not PNG, JPEG, GIF, "
        'WEBP or PDF); return a content block instead, e.g. {"document": {"format": "csv", '
        '"name": "data", "source": {"bytes": ...}}}'
    )


def _pil_image_block(value: Any) -> JsonDict | None:
    encoded = pil_image_bytes(value)
    if encoded is None:
        return None
    data, fmt = encoded
    return bytes_block("image", data, None, fmt)


def _is_media(value: Any) -> bool:
    """An image, document, video or search result block, or a PIL image (only imported if
    already loaded)."""
    if isinstance(value, Mapping):
        return _is_content_block(value) and next(iter(value)) in (
            "image",
            "document",
            "video",
            "searchResult",
        )
    pil = sys.modules.get("PIL.Image")
    return pil is not None and isinstance(value, pil.Image)


def _mixed(values: list[Any] | tuple[Any, ...]) -> list[JsonDict]:
    blocks: list[JsonDict] = []
    for i, value in enumerate(values):
        if isinstance(value, str) and not value.strip():
            continue  # Bedrock rejects blank text; beside an image it says nothing anyway
        try:
            blocks.extend(result_content(value))
        except ValueError as exc:
            raise ValueError(f"item {i} of the list: {exc}") from None
    return blocks
