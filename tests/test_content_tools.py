"""Images and documents from tools, the tutorial's send_message_with_image, and boto3's own
validation of the blocks image() / document() / video() / guard_content() build."""

from __future__ import annotations

import asyncio
import base64
import io
from pathlib import Path
from typing import Any

import pytest
from conftest import boto3_client, fc_client
from content_files import MP4, PDF, document_names, picture, sent_bytes, sent_content
from fastconverse import ConverseClient, ToolResult, document, guard_content, image, tool, video
from fastconverse.testing import FakeBedrock
from PIL import Image

PNG = picture("PNG", (3, 3), "blue")


@tool
def chart(title: str) -> list[Any]:
    """Draw a chart.

    Args:
        title: The chart's title.
    """
    return [f"The chart {title}:", image(PNG), "", {"json": {"points": 3}}]


@tool
def snapshot() -> Any:
    """Take a snapshot of the screen."""
    return Image.new("RGB", (4, 2), "white")


@tool
def report(quarter: str) -> Any:
    """Fetch a quarterly report.

    Args:
        quarter: e.g. Q3
    """
    return document(PDF, name=f"{quarter}.report")


@pytest.fixture
def client(fake_bedrock: FakeBedrock) -> ConverseClient:
    return fc_client(fake_bedrock, max_attempts=1)


def tool_result(fake: FakeBedrock) -> dict[str, Any]:
    """The tool result the last request carried."""
    (block,) = sent_content(fake)
    result: dict[str, Any] = block["toolResult"]
    return result


def test_tool_returns_text_an_image_and_json(
    client: ConverseClient, fake_bedrock: FakeBedrock
) -> None:
    fake_bedrock.enqueue_tool_use("chart", {"title": "sales"}, tool_use_id="c1")
    fake_bedrock.enqueue_text("A rising line.")
    conv = client.create_conversation(tools=[chart])
    assert conv.send("Draw the sales chart").text == "A rising line."
    result = tool_result(fake_bedrock)
    assert result["toolUseId"] == "c1" and result.get("status", "success") == "success"
    text, picture_block, data = result["content"]
    assert text == {"text": "The chart sales:"}  # the blank string left out
    assert picture_block["image"]["format"] == "png" and sent_bytes(picture_block) == PNG
    assert data == {"json": {"points": 3}}


def test_tool_returns_pil_image_and_document_streamed(
    client: ConverseClient, fake_bedrock: FakeBedrock
) -> None:
    fake_bedrock.enqueue_tool_uses([("snapshot", {}, "s1"), ("report", {"quarter": "Q3"}, "r1")])
    fake_bedrock.enqueue_text("Done.")
    conv = client.create_conversation(tools=[snapshot, report])
    results = [e for e in conv.stream("Show me") if isinstance(e, ToolResult)]
    assert [r.status for r in results] == ["success", "success"]
    shot, doc = (block["toolResult"]["content"] for block in sent_content(fake_bedrock))
    assert shot[0]["image"]["format"] == "png"
    assert Image.open(io.BytesIO(sent_bytes(shot[0]))).size == (4, 2)
    assert doc[0]["document"]["name"] == "Q3 report"
    assert base64.b64decode(doc[0]["document"]["source"]["bytes"]) == PDF


def test_documents_from_tools_get_names_unique_in_the_request(
    client: ConverseClient, fake_bedrock: FakeBedrock
) -> None:
    conv = client.create_conversation(tools=[report])
    conv.send(["Last year's", document(PDF, name="Q3 report")])
    twice = [("report", {"quarter": "Q3"}, "r1"), ("report", {"quarter": "Q3"}, "r2")]
    fake_bedrock.enqueue_tool_uses(twice)
    fake_bedrock.enqueue_text("Same numbers.")
    conv.send("Compare with this year's, twice")
    assert document_names(fake_bedrock) == ["Q3 report", "Q3 report (2)", "Q3 report (3)"]
    fake_bedrock.enqueue_tool_uses(twice)
    fake_bedrock.enqueue_text("Same again.")
    events = list(conv.stream("Once more, streamed"))
    names = document_names(fake_bedrock)
    assert names[-2:] == ["Q3 report (4)", "Q3 report (5)"] and len(set(names)) == 5
    # the event tells what the tool returned; the history what was sent
    assert [e.content[0]["document"]["name"] for e in events if isinstance(e, ToolResult)] == [
        "Q3 report",
        "Q3 report",
    ]
    assert conv.messages[-2]["content"][1]["toolResult"]["content"][0]["document"]["name"] == (
        "Q3 report (5)"
    )
    # the caller's results too, against every name the request carries
    spec = {"toolSpec": {"name": "fetch", "inputSchema": {"json": {"type": "object"}}}}
    conv = client.create_conversation(tools=[spec])
    conv.send(["Keep this", document(PDF, name="notes")])
    fake_bedrock.reset()
    fake_bedrock.enqueue_tool_use("fetch", {}, tool_use_id="f1")
    conv.send("Fetch the notes")
    conv.send_tool_results({"f1": document(PDF, name="notes")})
    assert document_names(fake_bedrock) == ["notes", "notes (2)"]


def test_tool_result_given_by_the_caller_may_be_an_image(
    client: ConverseClient, fake_bedrock: FakeBedrock
) -> None:
    fake_bedrock.enqueue_tool_use("screenshot", {}, tool_use_id="t1")
    fake_bedrock.enqueue_text("I see it.")
    spec = {"toolSpec": {"name": "screenshot", "inputSchema": {"json": {"type": "object"}}}}
    conv = client.create_conversation(tools=[spec])
    conv.send("Take a screenshot")
    reply = conv.send_tool_results({"t1": ["Here it is", image(picture("JPEG"))]})
    assert reply.text == "I see it."
    content = tool_result(fake_bedrock)["content"]
    assert content[0] == {"text": "Here it is"} and content[1]["image"]["format"] == "jpeg"


def test_send_message_with_image(
    client: ConverseClient, fake_bedrock: FakeBedrock, tmp_path: Path
) -> None:
    path = tmp_path / "receipt.jpeg"
    path.write_bytes(picture("JPEG"))
    conv = client.create_conversation()
    answer = client.send_message_with_image(conv.id, "What is the total?", str(path))
    assert answer == "You said: What is the total?"
    text, picture_block = sent_content(fake_bedrock)
    assert text == {"text": "What is the total?"}
    assert picture_block["image"]["format"] == "jpeg"
    assert sent_bytes(picture_block) == path.read_bytes()

    answer = client.send_message_with_image(
        conv, "And now?", path, additional_model_params={"maxTokens": 2}
    )
    assert answer == "You said:" and len(conv.messages) == 4
    assert fake_bedrock.requests[-1].body["inferenceConfig"] == {"maxTokens": 2}

    async def later() -> str:
        return await client.send_message_with_image_async(conv.id, "Async?", path)

    assert asyncio.run(later()) == "You said: Async?"
    with pytest.raises(ValueError, match=r"cannot read image file '.*missing\.png'"):
        client.send_message_with_image(conv.id, "Where?", tmp_path / "missing.png")
    assert len(fake_bedrock.requests) == 3 and len(conv.messages) == 6


def test_boto3_accepts_the_blocks_we_build(fake_bedrock: FakeBedrock) -> None:
    bedrock = boto3_client(fake_bedrock)
    content = [
        {"text": "All of these"},
        image(PNG),
        image(s3_uri="s3://b/cat.webp", bucket_owner="123456789012"),
        document(PDF, name="a.b", context="ctx", citations={"enabled": True}),
        document(s3_uri="s3://b/notes.md"),
        video(MP4),
        video(s3_uri="s3://b/clip.mkv"),
        guard_content("Paris is the capital.", ["grounding_source", "query"]),
    ]
    response = bedrock.converse(modelId="m", messages=[{"role": "user", "content": content}])
    answer = response["output"]["message"]["content"]
    # (the PDF's citations are enabled: FakeBedrock's model cites its first page)
    assert answer[0] == {"text": "You said: All of these According to a b: "}
    assert answer[1]["citationsContent"]["citations"][0]["location"] == {
        "documentPage": {"documentIndex": 0, "start": 1, "end": 2}
    }
    received = sent_content(fake_bedrock)
    assert received[1]["image"]["format"] == "png" and sent_bytes(received[1]) == PNG
    assert received[3]["document"]["name"] == "a b"
    assert received[5]["video"]["format"] == "mp4" and sent_bytes(received[5]) == MP4
    assert received[7] == content[7]
