"""What kind of image, document, video or audio some bytes are: Bedrock's format names, told from
magic bytes first and the file name's extension second, and the check that an image is whole.

Magic bytes win over the extension: a PNG saved as ``cat.jpg`` is sent as the PNG it is,
since the model decodes the bytes by the format we name.
"""

from __future__ import annotations

import io

__all__ = [
    "AUDIO_FORMATS",
    "DOCUMENT_FORMATS",
    "IMAGE_FORMATS",
    "VIDEO_FORMATS",
    "Kind",
    "check_whole_image",
    "choose_format",
    "detect",
    "detect_audio",
    "format_from_name",
    "normalize_format",
]

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from typing import Literal

    Kind = Literal["image", "document", "video", "audio"]


def __getattr__(name: str) -> object:
    # Note: ``Kind`` is built on first use: a ``typing.Literal`` needs typing, which would be
    # most of the cost of ``import fastconverse``.
    if name == "Kind":
        from typing import Literal

        kind = Literal["image", "document", "video", "audio"]  # (as above)
        globals()["Kind"] = kind
        return kind
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Bedrock's ImageFormat, DocumentFormat, VideoFormat and AudioFormat enums (botocore's model).
IMAGE_FORMATS = ("png", "jpeg", "gif", "webp")
DOCUMENT_FORMATS = ("pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md")
VIDEO_FORMATS = ("mkv", "mov", "mp4", "webm", "flv", "mpeg", "mpg", "wmv", "three_gp")
AUDIO_FORMATS = (
    "mp3", "opus", "wav", "aac", "flac", "mp4", "ogg", "mkv", "mka", "x-aac", "m4a", "mpeg",
    "mpga", "pcm", "webm",
)  # fmt: skip

FORMATS: dict[Kind, tuple[str, ...]] = {
    "image": IMAGE_FORMATS,
    "document": DOCUMENT_FORMATS,
    "video": VIDEO_FORMATS,
    "audio": AUDIO_FORMATS,
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
    # (audio's: none of these names a format of another kind)
    "wave": "wav",
    "oga": "ogg",
    "weba": "webm",
    "m4b": "m4a",
    "mp2": "mpga",
    "adts": "aac",
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
        if brand in _AUDIO_BRANDS:
            return "audio", "m4a"
        if brand == b"qt  ":
            return "video", "mov"
        if brand.startswith(b"3g"):
            return "video", "three_gp"
        return "video", "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska, or its WebM profile
        return "video", "webm" if _ebml_doctype(head) == b"webm" else "mkv"
    if head.startswith(b"FLV\x01"):
        return "video", "flv"
    if head.startswith((b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")):
        return "video", "mpeg"
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):  # the ASF header object's GUID
        return "video", "wmv"
    heard = _audio_only(head)
    if heard is not None:
        return "audio", heard
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html")):
        return "document", "html"
    return None


def detect_audio(data: bytes, named: str | None = None) -> str | None:
    """The audio format the magic bytes say, or None. Containers that also hold video
    (Matroska, WebM, MP4) count as audio here, since ``audio()`` was asked for; ``named``
    (the extension's format) tells mka from mkv, m4a from mp4 and opus from ogg, which share
    their bytes.
    Raw PCM has no header: it is never detected, only given (``format="pcm"``)."""
    head = data[:64]
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        if _ebml_doctype(head) == b"webm":
            return "webm"
        return named if named in ("mka", "mkv") else "mkv"
    if head.startswith(b"OggS"):
        return "opus" if named == "opus" else "ogg"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _STILL_BRANDS:
            return None  # (a photo: detect() says so)
        if brand in _AUDIO_BRANDS or named == "m4a":
            return "m4a"
        return "mp4"
    return _audio_only(head)


# ISO-BMFF brands of audio-only MP4 files (iTunes audio, audiobooks, protected audio).
_AUDIO_BRANDS = (b"M4A ", b"M4B ", b"M4P ")


def _audio_only(head: bytes) -> str | None:
    """Formats only audio comes in: ID3-tagged or frame-synced MPEG audio, ADTS AAC, WAV,
    FLAC and Ogg."""
    if head.startswith(b"ID3"):  # an ID3v2 tag, in front of MP3 frames
        return "mp3"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"OggS"):
        return "ogg"
    if len(head) >= 3 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        layer = (head[1] >> 1) & 3
        if layer == 0:  # ADTS: a 12-bit sync, layer 00
            return "aac" if head[1] & 0xF0 == 0xF0 else None
        # An MPEG audio frame header: a bitrate index of 15 or a sample rate index of 3
        # is invalid, which keeps random bytes from passing as MP3.
        if head[2] >> 4 == 15 or (head[2] >> 2) & 3 == 3 or (head[1] >> 3) & 3 == 1:
            return None
        # (layer III is MP3; layers I and II are Bedrock's "mpga", MPEG-1/2 audio)
        return "mp3" if layer == 1 else "mpga"
    return None


def _ebml_doctype(head: bytes) -> bytes | None:
    """The DocType of an EBML header (b"webm", b"matroska"), or None when it is not within
    ``head``."""
    at = head.find(b"\x42\x82")
    if at < 0 or at + 3 > len(head):
        return None
    size_byte = head[at + 2]
    width = 8 - size_byte.bit_length() + 1  # an EBML variable-length integer
    if not 1 <= width <= 8:
        return None
    size = size_byte & ((1 << (8 - width)) - 1)
    for b in head[at + 3 : at + 2 + width]:
        size = size << 8 | b
    start = at + 2 + width
    return head[start : start + size].rstrip(b"\x00") or None


# Audio formats that name the same bytes: a format given from one family is taken for
# bytes detected as another of it (an .mka is Matroska, an .m4a an MP4, x-aac is aac).
_AUDIO_FAMILIES = (
    frozenset({"mkv", "mka", "webm"}),
    frozenset({"mp4", "m4a"}),
    frozenset({"aac", "x-aac"}),
    frozenset({"mp3", "mpeg", "mpga"}),
    frozenset({"ogg", "opus"}),
)


def choose_format(kind: Kind, data: bytes, path: str | None, given: str | None, where: str) -> str:
    """The format of ``data`` as ``kind``: the one ``given`` (checked against the bytes),
    else the bytes', else the name's; a ``ValueError`` naming the argument otherwise."""
    found = detect(data)
    named = format_from_name(path, kind) if path else None
    if kind == "audio":
        heard = detect_audio(data, named)
        if heard is not None:
            found = ("audio", heard)
    if found is not None and found[0] == "image" and found[1] not in FORMATS["image"]:
        raise ValueError(
            f"source: {where} is a {found[1].upper()} image, which Bedrock does not take "
            f"(it takes {', '.join(FORMATS['image'])}); convert it, e.g. with PIL: "
            "Image.open(path).convert('RGB') passed to fastconverse.image(...)"
        )
    if found is not None and found[0] != kind:
        raise ValueError(
            f"source: {where} is {_a(found[0])} ({found[1]}), not {_a(kind)}; "
            f"use fastconverse.{found[0]}(...)"
        )
    if found is not None and found[1] == "html" and named in ("txt", "md", "csv"):
        found = None  # markup in a text file is text: the name says what the writer meant
    if given is not None:
        fmt = normalize_format(given, kind)
        # (html is told from text, which a caller may mean as txt or md; mpeg is mpg)
        seen = found[1] if found is not None else fmt
        if kind == "audio" and any({fmt, seen} <= family for family in _AUDIO_FAMILIES):
            return fmt
        if seen not in (fmt, "html") and {fmt, seen} != {"mpeg", "mpg"}:
            raise ValueError(f"format: {fmt!r} given, but {where} is {seen}")
        return fmt
    if found is not None:
        return "mpg" if found[1] == "mpeg" and named == "mpg" else found[1]
    if kind == "document" and is_ole(data):
        if named in ("doc", "xls"):
            return named
        raise ValueError(
            f"source: {where} is an Office 97-2003 file (doc or xls); pass format='doc' or "
            "format='xls'"
        )
    if named is not None and kind == "image":
        raise ValueError(f"source: {where} is named .{named} but its bytes are not a {named}")
    if named is not None and named not in ("doc", "xls", "docx", "xlsx", "pdf"):
        return named  # text formats have no magic bytes
    if named is not None:
        raise ValueError(f"source: {where} is named .{named} but its bytes are not a {named}")
    pcm = " (raw PCM has no header: pass format='pcm')" if kind == "audio" else ""
    raise ValueError(
        f"source: cannot tell the format of {where} (not {_a(kind)} format Bedrock takes: "
        f"{', '.join(FORMATS[kind])}); pass format=...{pcm}"
    )


def _a(kind: str) -> str:
    return f"an {kind}" if kind in ("image", "audio") else f"a {kind}"


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
