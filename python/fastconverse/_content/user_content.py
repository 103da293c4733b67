"""A user message given as a list (text, blocks, ``image()`` results, paths, PIL images) as
the content blocks the native layer takes, checked against Bedrock's per-request limits.

``conv.send("text")`` and ``conv.send({"role": "user", ...})`` never come here: those go to
the native layer as they are, at full speed.
"""

from __future__ import annotations

import os
from _collections_abc import Mapping, Sequence  # (collections.abc's, without collections)

from fastconverse._content.media_formats import detect, format_from_name
from fastconverse.content import (
    _MAX_BYTES,
    MAX_DOCUMENTS,
    MAX_IMAGES,
    bytes_block,
    document_name,
    limit_text,
    mb,
    pil_image_bytes,
    read_source,
    valid_document_name,
)

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

    from fastconverse._content.media_formats import Kind

    Block = dict[str, Any]

__all__ = ["check_request_media", "history_media", "unique_result_names", "user_content"]

_MEDIA: tuple[Kind, ...] = ("image", "document", "video", "audio")


def user_content(message: Any, history: Callable[[], list[dict[str, Any]]]) -> Any:
    """``message`` as a list of content blocks, or unchanged when it is not a list (a message
    dict, or something the native layer refuses with its own error). ``history`` gives the
    messages the request will also carry; it is only called when the message holds images
    or documents."""
    if isinstance(message, Mapping):
        if "role" in message:
            return _message_dict(message, history)
        items: Iterable[Any] = [message]
    elif isinstance(message, (list, tuple)):
        items = message
    elif isinstance(message, (os.PathLike, bytes, bytearray, memoryview)) or _is_pil(message):
        items = [message]
    else:
        return message
    blocks = [_block(item, f"message[{i}]") for i, item in enumerate(items)]
    check_request_media(blocks, history, "message")
    return blocks


def has_media(message: Mapping[str, Any]) -> bool:
    """Whether a boto3 message dict carries images, documents, video or audio (then it is
    checked like a list; otherwise it goes to the native layer as it is)."""
    content = message.get("content")
    return isinstance(content, list) and any(
        isinstance(b, Mapping) and not b.keys().isdisjoint(_MEDIA) for b in content
    )


def _message_dict(message: Mapping[str, Any], history: Callable[[], list[dict[str, Any]]]) -> Any:
    if not has_media(message):
        return message
    blocks = [dict(b) if isinstance(b, Mapping) else b for b in message["content"]]
    check_request_media(blocks, history, "message.content")
    return {**message, "content": blocks}


def _block(item: Any, arg: str) -> Block:
    if isinstance(item, str):
        return {"text": item}
    if isinstance(item, Mapping):
        return dict(item)  # a content block: the native layer checks its shape
    try:
        encoded = pil_image_bytes(item)
        if encoded is not None:
            data, fmt = encoded
            return bytes_block("image", data, None, fmt)
        if isinstance(item, (os.PathLike, bytes, bytearray, memoryview)):
            return _detected_block(item)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"{arg}: {exc}") from exc.__cause__
    raise TypeError(
        f"{arg}: expected a str, a content block dict (e.g. image(...), document(...)), a "
        f"pathlib.Path or a PIL image, got {type(item).__name__}"
    )


def _detected_block(source: Any) -> Block:
    """A path or bytes as the image, document, video or audio its bytes (or name) say it is."""
    data, path = read_source(source, None)
    found = detect(data)
    if found is not None:
        kind: Kind = found[0]
    elif path is not None and format_from_name(path, "video") is not None:
        kind = "video"
    elif path is not None and format_from_name(path, "audio") is not None:
        kind = "audio"
    else:
        kind = "document"
    block = bytes_block(kind, data, path, None)
    if kind == "document":
        block["document"]["name"] = document_name(path)
    return block


def _is_pil(value: Any) -> bool:
    return type(value).__module__.startswith("PIL.")


# --- the checks of a whole request -----------------------------------------------------------


def check_request_media(
    blocks: list[Block], history: Callable[[], list[dict[str, Any]]], arg: str
) -> None:
    """Refuses what Bedrock would refuse for this request, before it is made: an image or
    document over its size limit, more than 20 images or 5 documents in the request (this
    message plus the history), and makes document names valid and unique (renaming a
    block in ``blocks``: ``report``, ``report (2)``), since Bedrock refuses a request
    where two documents share a name anywhere in its messages."""
    new = list(_media(blocks))
    if not new:
        return
    for kind in _MEDIA:
        of_kind = [b for k, b in new if k == kind]
        for n, body in enumerate(of_kind, 1):
            size = _size(body)
            if size is not None and size > _MAX_BYTES[kind]:
                raise ValueError(
                    f"{arg}: {kind} {n} of {len(of_kind)} is {mb(size, _MAX_BYTES[kind])}; "
                    f"{limit_text(kind)}"
                )
    images = sum(1 for k, _ in new if k == "image")
    documents = sum(1 for k, _ in new if k == "document")
    if not (images or documents):
        return
    # Note: the history is what the conversation holds now; a memory policy may send fewer
    # messages, so this may refuse a request Bedrock would take. Bedrock counts per request,
    # and the history is the most this request can carry.
    old_images, old_names = history_media(history())
    for noun, count, old, most in (
        ("images", images, old_images, MAX_IMAGES),
        ("documents", documents, len(old_names), MAX_DOCUMENTS),
    ):
        if count + old > most:
            raise ValueError(
                f"{arg}: {count} {noun} in this message and {old} in the conversation's "
                f"history make {count + old} in one request; Bedrock accepts at most {most} "
                f"{noun} per request"
            )
    taken = {name.casefold() for name in old_names}
    blocks[:] = [_renamed(block, taken) for block in blocks]


def unique_result_names(
    blocks: list[Block], history: Callable[[], list[dict[str, Any]]]
) -> list[Block]:
    """Tool results' documents named valid and unique against ``history`` (the messages the
    next request carries) and one another: two tools that both return ``document(...,
    name="report")``, or one called twice, must not get the request refused."""
    if not _has_document(blocks):
        return blocks
    taken = {name.casefold() for name in history_media(history())[1]}
    return [_renamed(block, taken) for block in blocks]


def _has_document(blocks: list[Any]) -> bool:
    """Whether a document is among ``blocks``, tool results' included (``_media``'s answer,
    without its generators: asked of every round of tool results)."""
    for block in blocks:
        if type(block) is not dict and not isinstance(block, Mapping):
            continue
        doc = block.get("document")
        if doc is not None and isinstance(doc, Mapping):
            return True
        result = block.get("toolResult")
        if result is not None and isinstance(result, Mapping):
            content = result.get("content")
            if isinstance(content, list) and _has_document(content):
                return True
    return False


def _renamed(block: Block, taken: set[str]) -> Block:
    """``block`` with its document's name (or its tool result's) valid and not in ``taken``,
    which it joins; a copy when renamed, never the caller's dict changed."""
    doc = block.get("document")
    if isinstance(doc, Mapping) and isinstance(doc.get("name"), str):
        name = _unique(valid_document_name(doc["name"]), taken)
        taken.add(name.casefold())
        return block if name == doc["name"] else {**block, "document": {**doc, "name": name}}
    result = block.get("toolResult")
    if isinstance(result, Mapping) and isinstance(result.get("content"), list):
        content = [_renamed(b, taken) if isinstance(b, dict) else b for b in result["content"]]
        if any(a is not b for a, b in zip(content, result["content"])):
            return {**block, "toolResult": {**result, "content": content}}
    return block


def history_media(messages: list[dict[str, Any]]) -> tuple[int, list[str]]:
    """The number of images and the names of the documents in ``messages``."""
    images = 0
    names: list[str] = []
    for message in messages:
        for kind, body in _media(message.get("content") or []):
            if kind == "image":
                images += 1
            elif kind == "document" and isinstance(body.get("name"), str):
                names.append(body["name"])
    return images, names


def _media(blocks: Iterable[Any]) -> Iterable[tuple[Kind, Mapping[str, Any]]]:
    """The image, document, video and audio bodies among ``blocks``, tool results' included."""
    for block in blocks:
        if not isinstance(block, Mapping):
            continue
        for kind in _MEDIA:
            body = block.get(kind)
            if isinstance(body, Mapping):
                yield kind, body
        result = block.get("toolResult")
        if isinstance(result, Mapping) and isinstance(result.get("content"), list):
            yield from _media(result["content"])


def _size(body: Mapping[str, Any]) -> int | None:
    source = body.get("source")
    data = source.get("bytes") if isinstance(source, Mapping) else None
    if isinstance(data, (bytes, bytearray)):
        return len(data)
    if isinstance(data, memoryview):
        return data.nbytes
    if isinstance(data, str):  # sent as its UTF-8 bytes, as boto3 sends a str blob
        return len(data.encode())
    return None  # an S3 location: Bedrock reads it, up to its own larger limits


def _unique(name: str, taken: set[str]) -> str:
    if name.casefold() not in taken:
        return name
    n = 2
    while True:
        suffix = f" ({n})"
        candidate = name[: 200 - len(suffix)].rstrip() + suffix
        if candidate.casefold() not in taken:
            return candidate
        n += 1


def context_blocks(context: Sequence[Any] | str | None) -> list[Any]:
    """``context=``: text or content blocks, checked for their kind here (their contents
    when the turn takes them)."""
    if context is None:
        return []
    items = [context] if isinstance(context, (str, Mapping)) else context
    if not isinstance(items, Sequence):
        raise TypeError(
            f"context: expected text, a content block or a list of them, got "
            f"{type(context).__name__}"
        )
    blocks: list[Any] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            blocks.append({"text": item})
        elif isinstance(item, Mapping):
            blocks.append(item)
        else:
            raise TypeError(
                f"context[{i}]: expected text or a content block dict (image(), document(), "
                f"...), got {type(item).__name__}"
            )
    return blocks
