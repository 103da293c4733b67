"""Small real media files for the content tests, built in memory (PIL for images)."""

from __future__ import annotations

import base64
import io
import zipfile
from typing import Any

from fastconverse.testing import FakeBedrock
from PIL import Image

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm" + b"\x00" * 32
MPEG = b"\x00\x00\x01\xba" + b"\x44" * 60
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def picture(fmt: str = "PNG", size: tuple[int, int] = (8, 6), color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def big_png(megabytes: float) -> bytes:
    """A PNG-shaped blob of about ``megabytes`` MB (whole: it ends with IEND)."""
    head = picture()[: -len(PNG_END)]
    return head + b"\x00" * int(megabytes * 1_000_000) + PNG_END


def office(kind: str) -> bytes:
    """A minimal docx ("word") or xlsx ("xl") ZIP container."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr(f"{kind}/document.xml", "<doc/>")
    return buffer.getvalue()


def sent_content(fake: FakeBedrock, index: int = -1) -> list[dict[str, Any]]:
    """The last user message's content of request ``index`` as FakeBedrock received it."""
    content: list[dict[str, Any]] = fake.requests[index].body["messages"][-1]["content"]
    return content


def sent_bytes(block: dict[str, Any]) -> bytes:
    (body,) = block.values()
    return base64.b64decode(body["source"]["bytes"])


def document_names(fake: FakeBedrock, index: int = -1) -> list[str]:
    """Every document name in request ``index``, in order, tool results' included."""
    names = []
    for message in fake.requests[index].body["messages"]:
        for block in message["content"]:
            inner = block.get("toolResult", {}).get("content", [block])
            names += [b["document"]["name"] for b in inner if "document" in b]
    return names
