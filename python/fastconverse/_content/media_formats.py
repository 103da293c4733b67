"""What kind of image, document or video some bytes are: Bedrock's format names, told from
magic bytes first and the file name's extension second, and the check that an image is whole.

Magic bytes win over the extension: a PNG saved as ``cat.jpg`` is sent as the PNG it is,
since the model decodes the bytes by the format we name.
"""

from __future__ import annotations

import io

__all__ = [
    "DOCUMENT_FORMATS",
    "IMAGE_FORMATS",
    "VIDEO_FORMATS",
    "Kind",
    "check_whole_image",
    "detect",
    "format_from_name",
    "normalize_format",
]

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from typing import Literal

    Kind = Literal["image", "document", "video"]


def __getattr__(name: str) -> object:
    # Note: ``Kind`` is built on first use: a ``typing.Literal`` needs typing, which would be
    # most of the cost of ``import fastconverse``.
    if name == "Kind":
        from typing import Literal

        kind = Literal["image", "document", "video"]  # (as above)
        globals()["Kind"] = kind
        return kind
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Bedrock's ImageFormat, DocumentFormat and VideoFormat enums (API reference, Converse).
IMAGE_FORMATS = ("png", "jpeg", "gif", "webp")
DOCUMENT_FORMATS = ("pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md")
VIDEO_FORMATS = ("mkv", "mov", "mp4", "webm", "flv", "mpeg", "mpg", "wmv", "three_gp")

FORMATS: dict[Kind, tuple[str, ...]] = {
    "image": IMAGE_FORMATS,
    "document": DOCUMENT_FORMATS,
    "video": VIDEO_FORMATS,
}

# Other spellings people (and file extensions) use for Bedrock's formats.
_ALIASES = {
    "jpg": "jpeg",
    "jpe": "jpeg",
    "jfif": "jpeg",
    "htm": "html",
    "markdown": "md",
    "text": "txt",
    "3gp": "three_gp",
    "3g2": "three_gp",
    "3gpp": "three_gp",
    "m4v": "mp4",
    "qt": "mov",
}


def normalize_format(value: object, kind: Kind, arg: str = "format") -> str:
    """An explicit ``format=``, checked against Bedrock's list for ``kind`` (case and the
    common aliases such as ``jpg`` forgiven)."""
    if not isinstance(value, str):
        raise TypeError(f"{arg}: expected a str such as {FORMATS[kind][0]!r}, got {value!r}")
    fmt = value.strip().lower().lstrip(".")
    fmt = _ALIASES.get(fmt, fmt)
    if fmt not in FORMATS[kind]:
        raise ValueError(
            f"{arg}: Bedrock accepts {kind} formats {', '.join(FORMATS[kind])}; got {value!r}"
        )
    return fmt


def format_from_name(name: str, kind: Kind) -> str | None:
    """The format a file name's (or S3 key's) extension says, when it is one of ``kind``'s."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    if "." not in base:
        return None
    ext = base.rsplit(".", 1)[1].lower()
    ext = _ALIASES.get(ext, ext)
    return ext if ext in FORMATS[kind] else None


def detect(data: bytes) -> tuple[Kind, str] | None:
    """The kind and format the magic bytes say, or None when they say nothing (text
    formats such as csv, txt and md have none; doc and xls share one, see ``_ole_format``)."""
    head = data[:64]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image", "jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image", "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", "webp"
    if head.startswith(b"%PDF-"):
        return "document", "pdf"
    if head.startswith(b"PK\x03\x04"):
        office = _zip_format(data)
        return ("document", office) if office else None
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _STILL_BRANDS:
            # HEIC/AVIF photos (phones' default) share MP4's box format: not a video.
            return "image", brand.decode("ascii").strip()
        if brand in (b"M4A ", b"M4B ", b"M4P "):
            return None  # audio in an MP4 box
        if brand == b"qt  ":
            return "video", "mov"
        if brand.startswith(b"3g"):
            return "video", "three_gp"
        return "video", "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska, or its WebM profile
        return "video", "webm" if b"webm" in head else "mkv"
    if head.startswith(b"FLV\x01"):
        return "video", "flv"
    if head.startswith((b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")):
        return "video", "mpeg"
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):  # the ASF header object's GUID
        return "video", "wmv"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html")):
        return "document", "html"
    return None


def is_ole(data: bytes) -> bool:
    """An OLE2 compound file: a ``doc`` or an ``xls`` (the extension must say which)."""
    return data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


def _zip_format(data: bytes) -> str | None:
    """docx or xlsx by the parts the ZIP holds; None for any other ZIP."""
    import zipfile

    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if any(n.startswith("word/") for n in names):
        return "docx"
    if any(n.startswith("xl/") for n in names):
        return "xlsx"
    return None


# ISO-BMFF brands of still images (HEIF/HEIC, AVIF), which Bedrock does not take.
_STILL_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis")


def check_whole_image(data: bytes, fmt: str) -> str | None:
    """Why the image is cut short, or None when it ends as its format says it must.

    Bedrock answers a truncated image with a vague ValidationException (or the model sees
    half a picture), and a cut download or upload is the usual cause: worth saying here."""
    if fmt == "png":
        # Every PNG ends with the IEND chunk: length 0, type, CRC.
        # Note: present, not last: tools may append data after IEND, and decoders (and
        # Bedrock) take such files.
        if b"\x00\x00\x00\x00IEND\xaeB`\x82" not in data:
            return "a PNG without its IEND chunk (the file is cut short)"
    elif fmt == "jpeg":
        # Note: present, not last: phones append a trailer or a whole video after the end
        # marker ("motion photos"), and decoders (and Bedrock) take such files.
        if b"\xff\xd9" not in data[2:]:
            return "a JPEG without its end marker FF D9 (the file is cut short)"
    elif fmt == "gif":
        if not data.rstrip(b"\x00").endswith(b";"):
            return "a GIF without its trailer byte 3B (the file is cut short)"
    elif fmt == "webp":
        declared = int.from_bytes(data[4:8], "little") + 8
        if len(data) < declared:
            return f"a WEBP of {len(data)} bytes whose header says {declared} (cut short)"
    return None
