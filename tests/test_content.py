"""image(), document(), video(), guard_content() and lists of content in conv.send, checked
by what FakeBedrock received over real HTTP."""

from __future__ import annotations

import asyncio
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import fc_client
from content_files import (
    MP4,
    MPEG,
    OLE,
    PDF,
    WEBM,
    big_png,
    document_names,
    office,
    picture,
    sent_bytes,
    sent_content,
)
from fastconverse import ConverseClient, TextDelta, document, guard_content, image, video
from fastconverse.testing import FakeBedrock
from PIL import Image

# Bedrock's rule for document names (DocumentBlock.name in the API reference).
BEDROCK_NAME = re.compile(r"(?!.*\s\s)[A-Za-z0-9\s\-()\[\]]{1,200}")


@pytest.fixture
def client(fake_bedrock: FakeBedrock) -> ConverseClient:
    return fc_client(fake_bedrock, max_attempts=1)


# --- images -----------------------------------------------------------------------------------


def test_image_from_path_str_and_bytes_arrives_intact(
    client: ConverseClient, fake_bedrock: FakeBedrock, tmp_path: Path
) -> None:
    png = picture("PNG")
    (tmp_path / "cat.png").write_bytes(png)
    conv = client.create_conversation()
    sources = [
        tmp_path / "cat.png",
        str(tmp_path / "cat.png"),
        png,
        bytearray(png),
        memoryview(png),
    ]
    reply = conv.send(["Describe these", *[image(s) for s in sources]])
    assert reply.text == "You said: Describe these"
    content = sent_content(fake_bedrock)
    assert content[0] == {"text": "Describe these"}
    for block in content[1:]:
        assert block["image"]["format"] == "png"
        assert sent_bytes(block) == png
    assert len(conv.messages) == 2


def test_format_comes_from_magic_bytes_before_the_extension(tmp_path: Path) -> None:
    (tmp_path / "really_a_png.jpg").write_bytes(picture("PNG"))
    assert image(tmp_path / "really_a_png.jpg")["image"]["format"] == "png"
    for fmt, name in (("JPEG", "jpeg"), ("GIF", "gif"), ("WEBP", "webp")):
        assert image(picture(fmt))["image"]["format"] == name
    assert image(picture("JPEG"), format="JPG")["image"]["format"] == "jpeg"


def test_bad_image_formats_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"format: Bedrock accepts image formats png, jpeg, gif"):
        image(picture("PNG"), format="bmp")
    with pytest.raises(
        ValueError, match=r"format: 'jpeg' given, but the source \(\d+ bytes\) is png"
    ):
        image(picture("PNG"), format="jpeg")
    with pytest.raises(
        ValueError, match=r"cannot tell the format of the source \(5 bytes\).*png, jpeg"
    ):
        image(b"hello")
    with pytest.raises(
        ValueError, match=r"is a document \(pdf\), not an image.*document\(\.\.\.\)"
    ):
        image(PDF)
    (tmp_path / "fake.png").write_bytes(b"not a png at all")
    with pytest.raises(ValueError, match=r"fake\.png' is named \.png but its bytes are not a png"):
        image(tmp_path / "fake.png")
    with pytest.raises(TypeError, match="source: expected a path, bytes or a PIL image, got int"):
        image(42)
    with pytest.raises(TypeError, match=r"image: give a source .* or s3_uri="):
        image()


def test_truncated_images_are_refused_before_any_request(
    client: ConverseClient, fake_bedrock: FakeBedrock, tmp_path: Path
) -> None:
    png, jpeg, gif = picture("PNG"), picture("JPEG"), picture("GIF")
    with pytest.raises(
        ValueError, match=r"source: the source \(\d+ bytes\) is a PNG without its IEND chunk"
    ):
        image(png[:-12])
    with pytest.raises(ValueError, match="a JPEG without its end marker FF D9"):
        image(jpeg[:-2])
    with pytest.raises(ValueError, match="a GIF without its trailer"):
        image(gif[:-1])
    webp = picture("WEBP")
    with pytest.raises(ValueError, match=r"a WEBP of \d+ bytes whose header says \d+"):
        image(webp[:-10])
    (tmp_path / "cut.png").write_bytes(png[: len(png) // 2])
    conv = client.create_conversation()
    with pytest.raises(ValueError, match=r"message\[1\]: source: '.*cut\.png' is a PNG without"):
        conv.send(["Look", tmp_path / "cut.png"])
    assert fake_bedrock.requests == [] and conv.messages == []


def test_unreadable_files_name_the_argument_and_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.png"
    with pytest.raises(
        ValueError, match=r"source: cannot read image file '.*nowhere\.png': No such"
    ):
        image(missing)
    with pytest.raises(ValueError, match=r"cannot read document file '.*': Is a directory"):
        document(tmp_path)
    with pytest.raises(ValueError, match=r"cannot read video file 'iVBORw0K': .*pass bytes"):
        video("iVBORw0K")


def test_pil_images_keep_their_format_or_become_png(
    client: ConverseClient, fake_bedrock: FakeBedrock
) -> None:
    photo = Image.open(io.BytesIO(picture("JPEG", (16, 16))))
    drawn = Image.new("RGBA", (5, 5), (0, 255, 0, 128))
    conv = client.create_conversation()
    conv.send(["Two pictures", photo, image(drawn)])
    content = sent_content(fake_bedrock)
    assert [b["image"]["format"] for b in content[1:]] == ["jpeg", "png"]
    assert Image.open(io.BytesIO(sent_bytes(content[1]))).size == (16, 16)
    assert Image.open(io.BytesIO(sent_bytes(content[2]))).getpixel((0, 0)) == (0, 255, 0, 128)
    conv.send(drawn)  # a lone PIL image is a message of one image
    assert [next(iter(b)) for b in sent_content(fake_bedrock)] == ["image"]


def test_image_size_limit_names_limit_and_value(
    client: ConverseClient, fake_bedrock: FakeBedrock
) -> None:
    with pytest.raises(ValueError, match=r"is 5\.1 MB; Bedrock accepts at most 3\.75 MB per image"):
        image(big_png(5.1))
    image(big_png(3.7))  # under the limit
    conv = client.create_conversation()
    conv.send("Hello")
    raw = {"image": {"format": "png", "source": {"bytes": big_png(5.1)}}}
    small = image(picture())
    with pytest.raises(
        ValueError, match=r"message: image 2 of 3 is 5\.1 MB; Bedrock accepts at most 3\.75 MB"
    ):
        conv.send(["Three images", small, raw, small])
    assert len(fake_bedrock.requests) == 1 and len(conv.messages) == 2


def test_image_count_includes_the_history(
    client: ConverseClient, fake_bedrock: FakeBedrock
) -> None:
    one = image(picture())
    conv = client.create_conversation()
    with pytest.raises(ValueError, match="21 images in this message and 0 in the conversation"):
        conv.send(["Many", *[one] * 21])
    conv.send(["Fifteen", *[one] * 15])
    with pytest.raises(
        ValueError,
        match=r"6 images in this message and 15 in the conversation's history make 21 in one "
        r"request; Bedrock accepts at most 20 images per request",
    ):
        conv.send(["Six more", *[one] * 6])
    assert len(fake_bedrock.requests) == 1 and len(conv.messages) == 2
    conv.send(["Five more", *[one] * 5])
    assert len(sent_content(fake_bedrock)) == 6


# --- documents --------------------------------------------------------------------------------


def test_document_formats_from_bytes_and_extension(tmp_path: Path) -> None:
    (tmp_path / "table.csv").write_text("a,b\n1,2\n")
    (tmp_path / "notes.MD").write_text("# Notes\n<html> in markdown stays markdown\n")
    (tmp_path / "sheet.xls").write_bytes(OLE)
    cases = {
        tmp_path / "table.csv": "csv",
        tmp_path / "notes.MD": "md",
        tmp_path / "sheet.xls": "xls",
    }
    for path, fmt in cases.items():
        assert document(path)["document"]["format"] == fmt
    assert document(PDF)["document"] == {
        "format": "pdf",
        "name": "document",
        "source": {"bytes": PDF},
    }
    assert document(office("word"))["document"]["format"] == "docx"
    assert document(office("xl"))["document"]["format"] == "xlsx"
    assert document(b"<!DOCTYPE html><p>hi</p>")["document"]["format"] == "html"
    assert document(b"plain words", format="txt")["document"]["format"] == "txt"
    with pytest.raises(ValueError, match=r"Office 97-2003 file.*format='doc' or format='xls'"):
        document(OLE)
    with pytest.raises(
        ValueError, match=r"cannot tell the format of the source \(11 bytes\).*pass format="
    ):
        document(b"plain words")
    with pytest.raises(
        ValueError, match=r"format: 'docx' given, but the source \(\d+ bytes\) is pdf"
    ):
        document(PDF, format="docx")
    with pytest.raises(ValueError, match=r"is an image \(png\), not a document"):
        document(picture())
    too_big = b"%PDF-1.4\n" + b" " * 4_999_991
    with pytest.raises(ValueError, match=r"is 5 MB; Bedrock accepts at most 4\.5 MB per document"):
        document(too_big)


def test_document_names_are_made_valid_and_unique(
    client: ConverseClient, fake_bedrock: FakeBedrock, tmp_path: Path
) -> None:
    (tmp_path / "Q3 report_final.v2 (draft).pdf").write_bytes(PDF)
    (tmp_path / "a.b.pdf").write_bytes(PDF)
    (tmp_path / "a_b.pdf").write_bytes(PDF)
    conv = client.create_conversation()
    conv.send(
        [
            "Compare",
            document(tmp_path / "Q3 report_final.v2 (draft).pdf"),
            tmp_path / "a.b.pdf",
            document(tmp_path / "a_b.pdf"),
            document(PDF, name="Résumé   2024!!"),
        ]
    )
    names = document_names(fake_bedrock)
    assert names == ["Q3 report final v2 (draft)", "a b", "a b (2)", "Resume 2024"]
    # A later message's documents are unique against the history too (Bedrock checks the
    # whole request); a raw block's name is made valid as well.
    raw = {"document": {"format": "pdf", "name": "a.b", "source": {"bytes": PDF}}}
    conv.send(["Again", raw])
    assert document_names(fake_bedrock) == [*names, "a b (3)"]
    assert all(BEDROCK_NAME.fullmatch(n) for n in document_names(fake_bedrock))
    assert conv.messages[2]["content"][1]["document"]["name"] == "a b (3)"
    assert raw["document"]["name"] == "a.b"  # the caller's dict is not changed


def test_document_count_includes_the_history(
    client: ConverseClient, fake_bedrock: FakeBedrock
) -> None:
    conv = client.create_conversation()
    conv.send(["Four", *[document(PDF, name=f"doc {i}") for i in range(4)]])
    before = conv.messages
    with pytest.raises(
        ValueError,
        match=r"message: 2 documents in this message and 4 in the conversation's history make 6 "
        r"in one request; Bedrock accepts at most 5 documents per request",
    ):
        conv.send(["Two more", document(PDF), document(PDF)])
    assert len(fake_bedrock.requests) == 1 and conv.messages == before
    conv.send(["One more", document(PDF, name="doc 0")])
    assert document_names(fake_bedrock)[-1] == "doc 0 (2)"


def test_document_context_and_citations_pass_through(
    client: ConverseClient, fake_bedrock: FakeBedrock
) -> None:
    block = document(PDF, name="policy", context="The 2024 policy", citations=True)
    assert block["document"]["citations"] == {"enabled": True}
    client.create_conversation().send(["Cite it", block])
    sent = sent_content(fake_bedrock)[1]["document"]
    assert sent["context"] == "The 2024 policy" and sent["citations"] == {"enabled": True}
    with pytest.raises(TypeError, match=r"citations: expected True, False or \{'enabled': bool\}"):
        document(PDF, citations="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="name: expected a str, got int"):
        document(PDF, name=3)  # type: ignore[arg-type]


# --- video, S3, guard content -----------------------------------------------------------------


def test_video_formats_and_limit(
    client: ConverseClient, fake_bedrock: FakeBedrock, tmp_path: Path
) -> None:
    (tmp_path / "clip.mpg").write_bytes(MPEG)
    (tmp_path / "phone.3gp").write_bytes(b"\x00\x00\x00\x14ftyp3gp4" + b"\x00" * 20)
    assert video(MP4)["video"]["format"] == "mp4"
    assert video(WEBM)["video"]["format"] == "webm"
    assert video(tmp_path / "clip.mpg")["video"]["format"] == "mpg"
    assert video(tmp_path / "phone.3gp")["video"]["format"] == "three_gp"
    assert video(b"\x00" * 8, format="3gp")["video"]["format"] == "three_gp"
    with pytest.raises(ValueError, match=r"at most 18\.75 MB per video .*video\(s3_uri=\.\.\.\)"):
        video(MP4 + b"\x00" * 19_000_000)
    conv = client.create_conversation()
    conv.send(["Watch", tmp_path / "clip.mpg", video(MP4)])
    content = sent_content(fake_bedrock)
    assert [b["video"]["format"] for b in content[1:]] == ["mpg", "mp4"]
    assert sent_bytes(content[1]) == MPEG


def test_s3_sources(client: ConverseClient, fake_bedrock: FakeBedrock) -> None:
    blocks = [
        image(s3_uri="s3://pics/cats/tabby.JPG", bucket_owner="123456789012"),
        document(s3_uri="s3://docs/2024/annual_report.pdf"),
        video(s3_uri="s3://vids/clip", format="mov"),
    ]
    client.create_conversation().send(["From S3", *blocks])
    assert sent_content(fake_bedrock)[1:] == [
        {
            "image": {
                "format": "jpeg",
                "source": {
                    "s3Location": {"uri": "s3://pics/cats/tabby.JPG", "bucketOwner": "123456789012"}
                },
            }
        },
        {
            "document": {
                "format": "pdf",
                "name": "annual report",
                "source": {"s3Location": {"uri": "s3://docs/2024/annual_report.pdf"}},
            }
        },
        {"video": {"format": "mov", "source": {"s3Location": {"uri": "s3://vids/clip"}}}},
    ]
    with pytest.raises(ValueError, match=r"s3_uri: expected 's3://bucket/key', got 'https://x/y'"):
        image(s3_uri="https://x/y")
    with pytest.raises(ValueError, match="bucket_owner: expected a 12-digit AWS account id"):
        image(s3_uri="s3://b/k.png", bucket_owner="me")
    with pytest.raises(ValueError, match="bucket_owner: only goes with s3_uri="):
        image(picture(), bucket_owner="123456789012")
    with pytest.raises(ValueError, match="image: give a source or s3_uri=, not both"):
        image(picture(), s3_uri="s3://b/k.png")
    with pytest.raises(ValueError, match=r"format: cannot tell the video format from 's3://b/k'"):
        video(s3_uri="s3://b/k")


def test_guard_content(client: ConverseClient, fake_bedrock: FakeBedrock) -> None:
    block = guard_content("The capital is Paris.", ["grounding_source"])
    assert block["guardContent"]["text"]["qualifiers"] == ["grounding_source"]
    client.create_conversation().send(["Where is the capital?", block, guard_content("Q", "query")])
    assert sent_content(fake_bedrock)[1:] == [
        {
            "guardContent": {
                "text": {"text": "The capital is Paris.", "qualifiers": ["grounding_source"]}
            }
        },
        {"guardContent": {"text": {"text": "Q", "qualifiers": ["query"]}}},
    ]
    with pytest.raises(ValueError, match="qualifiers: expected some of grounding_source, query"):
        guard_content("x", ["source"])
    with pytest.raises(ValueError, match="text: must not be blank"):
        guard_content("  ")


# --- the ways in: lists, stream, async, plain messages ----------------------------------------


def test_stream_and_send_async_take_mixed_lists(
    client: ConverseClient, fake_bedrock: FakeBedrock, tmp_path: Path
) -> None:
    (tmp_path / "chart.png").write_bytes(picture())
    (tmp_path / "data.csv").write_text("x,y\n1,2\n")
    conv = client.create_conversation()
    stream = conv.stream(["Explain", tmp_path / "chart.png", tmp_path / "data.csv"])
    text = "".join(e.text for e in stream if isinstance(e, TextDelta))
    assert text == "You said: Explain"
    assert fake_bedrock.requests[-1].operation == "ConverseStream"
    kinds = [next(iter(b)) for b in sent_content(fake_bedrock)]
    assert kinds == ["text", "image", "document"]
    assert sent_content(fake_bedrock)[2]["document"]["name"] == "data"

    async def send() -> str:
        reply = await conv.send_async(("And this?", image(picture("GIF"))))
        return reply.text

    assert asyncio.run(send()) == "You said: And this?"
    assert sent_content(fake_bedrock)[1]["image"]["format"] == "gif"
    # Refused at once, before any await, and nothing was sent.
    with pytest.raises(TypeError, match=r"message\[1\]: expected a str, a content block dict"):
        conv.send_async(["Bad", 3.5])
    assert len(fake_bedrock.requests) == 2


def test_plain_text_and_message_dicts_still_work(
    client: ConverseClient, fake_bedrock: FakeBedrock
) -> None:
    conv = client.create_conversation()
    conv.send("Hello")
    conv.send({"role": "user", "content": [{"text": "Hi"}, image(picture())]})
    assert [next(iter(b)) for b in sent_content(fake_bedrock)] == ["text", "image"]
    with pytest.raises(ValueError, match="must not be blank"):
        conv.send("  ")


def test_importing_fastconverse_does_not_import_pil() -> None:
    code = "import sys, fastconverse; fastconverse.image; print('PIL' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_phone_photos_are_told_apart_from_video_and_trailers_are_kept() -> None:
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    with pytest.raises(ValueError, match="is a HEIC image, which Bedrock does not take"):
        image(heic)
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "JPEG")
    motion = buf.getvalue() + b"\x00\x00\x00\x18ftypmp42" + b"v" * 64  # a "motion photo"
    assert image(motion)["image"]["format"] == "jpeg"
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(buf, "PNG")
    assert image(buf.getvalue() + b"trailer")["image"]["format"] == "png"


def test_a_given_document_name_loses_its_extension() -> None:
    assert document(b"%PDF-1.4\n%%EOF", name="Q3 report.pdf")["document"]["name"] == "Q3 report"
    assert document(b"%PDF-1.4\n%%EOF", name="v1.2 notes")["document"]["name"] == "v1 2 notes"


def test_message_dicts_with_media_are_checked_before_any_request(
    fake_bedrock: FakeBedrock,
) -> None:
    conv = fc_client(fake_bedrock).create_conversation()
    pdf = b"%PDF-1.4\n%%EOF"
    twice = [{"text": "x"}, document(pdf, name="a"), document(pdf, name="a")]
    conv.send({"role": "user", "content": twice})
    sent = fake_bedrock.requests[0].body["messages"][0]["content"]
    assert [b["document"]["name"] for b in sent[1:]] == ["a", "a (2)"]
    six = [{"text": "x"}, *(document(pdf, name=f"d{i}") for i in range(6))]
    with pytest.raises(ValueError, match=r"message\.content: "):
        conv.send({"role": "user", "content": six})
    assert len(fake_bedrock.requests) == 1
    assert twice[2]["document"]["name"] == "a"  # the caller's dict is not changed
