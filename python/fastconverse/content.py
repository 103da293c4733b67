"""Rich content as one line: ``image``, ``document``, ``video``, ``audio``,
``guard_content`` and ``search_result``.

    from fastconverse import image, document
    conv.send(["What is in this picture?", image("cat.png")])
    conv.send(["Summarise the report", document("Q3 report.pdf")])
    conv.send(["And this one?", image(s3_uri="s3://bucket/dog.jpeg")])
    conv.send(["What does it say?", document(text=policy, name="Policy", citations=True)])

Each returns the boto3-shaped content block (``{"image": {"format": "png", "source":
{"bytes": b"..."}}}``), so the result goes anywhere a content block goes: ``conv.send``,
``client.converse(messages=...)``, a tool's return value, or boto3 itself. The format comes
from the magic bytes, else from the file's extension; sizes are checked against Bedrock's
limits here, so a request that would be refused is never sent.
"""

from __future__ import annotations

import os
import sys
from _collections_abc import Mapping, Sequence  # (collections.abc's, without collections)

from fastconverse._content.citable import citations_config, search_result, text_source
from fastconverse._content.media_formats import (
    FORMATS,
    check_whole_image,
    choose_format,
    format_from_name,
    normalize_format,
)

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from typing import Any, Union

    from fastconverse._content.media_formats import Kind

    ContentBlock = dict[str, Any]
    Source = Union[str, "os.PathLike[str]", "os.PathLike[bytes]", bytes, bytearray, memoryview]

__all__ = [
    "AUDIO_MAX_BYTES",
    "DOCUMENT_MAX_BYTES",
    "IMAGE_MAX_BYTES",
    "MAX_DOCUMENTS",
    "MAX_IMAGES",
    "VIDEO_MAX_BYTES",
    "audio",
    "document",
    "guard_content",
    "image",
    "search_result",
    "video",
]

_MIB = 1_000_000
# Bedrock's limits, from the Converse API reference (ImageBlock, DocumentBlock). Note: the
# reference does not say whether its "MB" is decimal or binary; we read it as decimal (the
# stricter reading, and FakeBedrock's), so nothing checked here is refused for its size.
IMAGE_MAX_BYTES = int(3.75 * _MIB)
DOCUMENT_MAX_BYTES = int(4.5 * _MIB)
MAX_IMAGES = 20  # per request
MAX_DOCUMENTS = 5  # per request
# VideoSource (Converse API reference): "You can upload a smaller video as a base64-encoded
# string as long as the encoded file is less than 25MB" (S3 sources may be up to 1 GB);
# 25 MB of base64 holds 3/4 of it in bytes.
VIDEO_MAX_BYTES = 25 * _MIB * 3 // 4
# Note: ours: Bedrock documents no limit for AudioSource bytes (botocore's model says only
# "Audio data encoded in base64"), so audio takes video's; FakeBedrock checks the same.
AUDIO_MAX_BYTES = VIDEO_MAX_BYTES

_MAX_BYTES: dict[Kind, int] = {
    "image": IMAGE_MAX_BYTES,
    "document": DOCUMENT_MAX_BYTES,
    "video": VIDEO_MAX_BYTES,
    "audio": AUDIO_MAX_BYTES,
}

_GUARD_QUALIFIERS = ("grounding_source", "query", "guard_content")


def image(
    source: Any = None,
    format: str | None = None,
    *,
    s3_uri: str | None = None,
    bucket_owner: str | None = None,
) -> ContentBlock:
    """An image content block from a path, bytes, a PIL image, or an S3 object.

    ``format`` (png, jpeg, gif, webp) is detected from the bytes when not given; a PIL image
    is encoded in its own format when Bedrock takes it, else as PNG. Raises ``ValueError``
    for an unknown format, a truncated image, an unreadable file, or an image over 3.75 MB.
    """
    if s3_uri is not None or bucket_owner is not None:
        return _s3_block("image", source, format, s3_uri, bucket_owner)
    encoded = pil_image_bytes(source)
    if encoded is not None:
        data, fmt = encoded
        _check_size("image", data, "the PIL image")
        return {"image": {"format": fmt, "source": {"bytes": data}}}
    data, path = read_source(source, "image")
    return bytes_block("image", data, path, format)


def document(
    source: Any = None,
    name: str | None = None,
    format: str | None = None,
    *,
    s3_uri: str | None = None,
    bucket_owner: str | None = None,
    context: str | None = None,
    citations: bool | Mapping[str, Any] | None = None,
    text: str | None = None,
    content: str | Sequence[str | Mapping[str, Any]] | None = None,
) -> ContentBlock:
    """A document content block from a path, bytes, an S3 object, or text.

    ``format`` (pdf, csv, doc, docx, xls, xlsx, html, txt, md) comes from the bytes or the
    extension when not given. ``name`` defaults to the file's name without its extension,
    and is made valid for Bedrock (letters, digits, single spaces, hyphens, parentheses and
    square brackets); ``conv.send`` also makes names unique within a request. ``context``
    is passed through; ``citations=True`` lets the model cite the document (the reply's
    ``citations``).

    ``text=`` gives the document as plain text, and ``content=`` as a list of chunks of
    text, which citations point into by index (both with format txt unless told).
    """
    if text is not None or content is not None:
        if source is not None or s3_uri is not None or bucket_owner is not None:
            raise ValueError("document: give a source, s3_uri=, text= or content=, only one")
        # Note: txt unless told: the Rust SDK sends its model's default format, "txt", for a
        # document without one, so the block says what goes on the wire.
        fmt = normalize_format(format, "document") if format is not None else "txt"
        block: ContentBlock = {
            "document": {"format": fmt, "name": "document", "source": text_source(text, content)}
        }
        origin: str | None = None
    elif s3_uri is not None or bucket_owner is not None:
        block = _s3_block("document", source, format, s3_uri, bucket_owner)
        origin = s3_uri
    else:
        data, origin = read_source(source, "document")
        block = bytes_block("document", data, origin, format)
    body = block["document"]
    if name is not None:
        if not isinstance(name, str):
            raise TypeError(f"name: expected a str, got {type(name).__name__}")
        body["name"] = valid_document_name(_without_extension(name))
    else:
        body["name"] = document_name(origin)
    if context is not None:
        if not isinstance(context, str):
            raise TypeError(f"context: expected a str, got {type(context).__name__}")
        body["context"] = context
    if citations is not None:
        body["citations"] = citations_config(citations)
    return block


def video(
    source: Any = None,
    format: str | None = None,
    *,
    s3_uri: str | None = None,
    bucket_owner: str | None = None,
) -> ContentBlock:
    """A video content block from a path, bytes, or an S3 object (the way to send videos
    over 18.75 MB: Bedrock takes up to 1 GB from S3). ``format`` (mkv, mov, mp4, webm, flv,
    mpeg, mpg, wmv, three_gp) comes from the bytes or the extension when not given."""
    if s3_uri is not None or bucket_owner is not None:
        return _s3_block("video", source, format, s3_uri, bucket_owner)
    data, path = read_source(source, "video")
    return bytes_block("video", data, path, format)


def audio(
    source: Any = None,
    format: str | None = None,
    *,
    s3_uri: str | None = None,
    bucket_owner: str | None = None,
) -> ContentBlock:
    """An audio content block from a path, bytes, or an S3 object.

    ``format`` (mp3, opus, wav, aac, flac, mp4, ogg, mkv, mka, x-aac, m4a, mpeg, mpga, pcm,
    webm) comes from the bytes or the extension when not given; raw PCM has no header, so
    it must be named (``format="pcm"`` or a ``.pcm`` file). Inline audio is held to 18.75 MB
    (our limit, video's: Bedrock documents none for audio); larger clips go by S3."""
    if s3_uri is not None or bucket_owner is not None:
        return _s3_block("audio", source, format, s3_uri, bucket_owner)
    data, path = read_source(source, "audio")
    return bytes_block("audio", data, path, format)


def guard_content(text: str, qualifiers: str | Sequence[str] | None = None) -> ContentBlock:
    """A ``guardContent`` block: text a guardrail evaluates. ``qualifiers`` (some of
    ``"grounding_source"``, ``"query"``, ``"guard_content"``) tell a contextual grounding
    check which part of the prompt ``text`` is."""
    if not isinstance(text, str):
        raise TypeError(f"text: expected a str, got {type(text).__name__}")
    if not text.strip():
        raise ValueError("text: must not be blank (Bedrock rejects blank text)")
    body: dict[str, Any] = {"text": text}
    if qualifiers is not None:
        listed = [qualifiers] if isinstance(qualifiers, str) else qualifiers
        if not isinstance(listed, Sequence):
            raise TypeError(f"qualifiers: expected a list of str, got {type(qualifiers).__name__}")
        for q in listed:
            if q not in _GUARD_QUALIFIERS:
                raise ValueError(
                    f"qualifiers: expected some of {', '.join(_GUARD_QUALIFIERS)}, got {q!r}"
                )
        body["qualifiers"] = list(listed)
    return {"guardContent": {"text": body}}


# --- building blocks (shared with conv.send and tool results) --------------------------------


def read_source(source: Any, kind: Kind | None) -> tuple[bytes, str | None]:
    """The bytes of ``source`` (a path or bytes) and the path they came from, if any. A file
    over the limit of ``kind`` (None: any kind's) is refused from its size alone, before it
    is read."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), None
    noun = f"{kind} file" if kind else "file"
    if isinstance(source, (str, os.PathLike)):
        path = os.fsdecode(os.fspath(source))
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                _check_size(kind or "video", size, repr(path))
                return f.read(), path
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            hint = "; pass bytes for data in memory" if isinstance(source, str) else ""
            raise ValueError(f"source: cannot read {noun} {path!r}: {reason}{hint}") from exc
    if source is None:
        raise TypeError(f"{kind}: give a source (a path or bytes) or s3_uri='s3://bucket/key'")
    expected = "a path, bytes or a PIL image" if kind == "image" else "a path or bytes"
    raise TypeError(f"source: expected {expected}, got {type(source).__name__}")


def bytes_block(kind: Kind, data: bytes, path: str | None, format: str | None) -> ContentBlock:
    """A block of ``kind`` holding ``data``, its format checked or detected, its size checked."""
    where = repr(path) if path else f"the source ({len(data)} bytes)"
    if not data:
        raise ValueError(f"source: {where} is empty; Bedrock rejects an empty {kind}")
    fmt = choose_format(kind, data, path, format, where)
    if kind == "image":
        why = check_whole_image(data, fmt)
        if why:
            raise ValueError(f"source: {where} is {why}")
    _check_size(kind, data, where)
    if kind == "document":
        return {"document": {"format": fmt, "name": "document", "source": {"bytes": data}}}
    return {kind: {"format": fmt, "source": {"bytes": data}}}


def pil_image_bytes(value: Any) -> tuple[bytes, str] | None:
    """A PIL image encoded in its own format when Bedrock takes it (a JPEG photo stays a
    JPEG, not a PNG several times its size), else as PNG; None for anything else."""
    # Only when the caller already imported Pillow: no import cost, and no dependency.
    pil = sys.modules.get("PIL.Image")
    if pil is None or not isinstance(value, pil.Image):
        return None
    import io

    own = str(value.format or "").lower()
    fmt = own if own in FORMATS["image"] else "png"
    buffer = io.BytesIO()
    try:
        animated = fmt in ("gif", "webp") and bool(getattr(value, "is_animated", False))
        value.save(buffer, format=fmt.upper(), save_all=animated)
    except (OSError, ValueError, KeyError):  # e.g. an RGBA image from a JPEG, after edits
        buffer = io.BytesIO()
        fmt = "png"
        try:
            value.save(buffer, format="PNG")
        except (OSError, ValueError, KeyError):  # modes PNG cannot hold, such as CMYK
            value.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue(), fmt


def valid_document_name(name: str) -> str:
    """``name`` as Bedrock accepts it: accents dropped, other characters than letters,
    digits, hyphens, parentheses and square brackets become spaces, runs of whitespace one
    space, at most 200 characters; "document" when nothing is left."""
    import re  # (here, not at the top: most programs never name a document)
    import unicodedata

    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    spaced = re.sub(r"[^A-Za-z0-9\-()\[\]]+", " ", ascii_name).strip()
    return spaced[:200].rstrip() or "document"


def mb(size: int, limit: int) -> str:
    """``size`` in MB for an error next to ``limit``, precise enough to tell them apart."""
    text = f"{size / _MIB:.2f}".rstrip("0").rstrip(".")
    if text == f"{limit / _MIB:.2f}".rstrip("0").rstrip("."):
        return f"{text} MB ({size:,} bytes)"
    return f"{text} MB"


def limit_text(kind: Kind) -> str:
    return f"Bedrock accepts at most {mb(_MAX_BYTES[kind], 0)}"


# --- helpers ---------------------------------------------------------------------------------


def _check_size(kind: Kind, data: bytes | int, where: str) -> None:
    size = data if isinstance(data, int) else len(data)
    if size > _MAX_BYTES[kind]:
        tail = f" (S3 sources may be larger: {kind}(s3_uri=...))" if kind in _BY_S3 else ""
        raise ValueError(
            f"source: {where} is {mb(size, _MAX_BYTES[kind])}; {limit_text(kind)} per {kind}{tail}"
        )


_BY_S3 = ("video", "audio")  # (the kinds Bedrock takes larger from S3)


def _s3_block(
    kind: Kind, source: Any, format: str | None, uri: str | None, owner: str | None
) -> ContentBlock:
    if uri is None:
        raise ValueError("bucket_owner: only goes with s3_uri='s3://bucket/key'")
    if source is not None:
        raise ValueError(f"{kind}: give a source or s3_uri=, not both")
    import re  # (here, not at the top: most programs never send from S3)

    if not isinstance(uri, str) or not re.fullmatch(r"s3://[^/]+/.+", uri):
        raise ValueError(f"s3_uri: expected 's3://bucket/key', got {uri!r}")
    location = {"uri": uri}
    if owner is not None:
        if not isinstance(owner, str) or not re.fullmatch(r"[0-9]{12}", owner):
            raise ValueError(f"bucket_owner: expected a 12-digit AWS account id, got {owner!r}")
        location["bucketOwner"] = owner
    if format is not None:
        fmt = normalize_format(format, kind)
    else:
        named = format_from_name(uri, kind)
        if named is None:
            raise ValueError(
                f"format: cannot tell the {kind} format from {uri!r}; pass format= (one of "
                f"{', '.join(FORMATS[kind])})"
            )
        fmt = named
    return {kind: {"format": fmt, "source": {"s3Location": location}}}


def _without_extension(name: str) -> str:
    """``name`` without a document format's extension ("Q3 report.pdf" -> "Q3 report"):
    the format travels in its own field, and a dot is not allowed in a name."""
    stem, dot, ext = name.rpartition(".")
    return stem if dot and stem and ext.lower() in FORMATS["document"] else name


def document_name(path: str | None) -> str:
    """The name of a document from ``path`` (its file name without the extension), valid."""
    return valid_document_name(_stem(path) if path else "document")


def _stem(path: str) -> str:
    base = path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
