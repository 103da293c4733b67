"""Images a model answers with (issue 26): streamed as ``contentBlockStart.image`` and
``delta.image`` pieces, assembled into the reply's message; the boto3 layer yields the
events boto3 yields. Scripted on FakeBedrock, checked over real HTTP."""

from __future__ import annotations

import base64
from typing import Any

from conftest import boto3_client, fc_client
from fastconverse import ImageDelta, ImageStart, SQLiteStore
from fastconverse.testing import FakeBedrock

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3 + b"\x00\x00\x00\x00IEND\xaeB`\x82"
ANSWER = [
    {"text": "Here is your picture:"},
    {"image": {"format": "png", "source": {"bytes": PNG}}},
]


def boto3_events(stream: Any) -> list[dict[str, Any]]:
    events = [dict(e) for e in stream]
    for event in events:  # (latency differs from run to run)
        event.get("metadata", {}).pop("metrics", None)
    return events


def test_a_streamed_image_is_assembled_into_the_reply(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_turn(ANSWER, chunks=4)
    conv = fc_client(fake_bedrock, max_attempts=1).create_conversation()
    stream = conv.stream("Draw a cat")
    events = list(stream)
    reply = stream.reply
    assert reply.message["content"] == ANSWER
    assert reply.text == "Here is your picture:"
    assert conv.messages[-1] == {"role": "assistant", "content": ANSWER}
    (start,) = [e for e in events if isinstance(e, ImageStart)]
    assert (start.format, start.index) == ("png", 1)
    assert repr(start) == "ImageStart(format='png', index=1)"
    pieces = [e for e in events if isinstance(e, ImageDelta)]
    assert len(pieces) == 4 and b"".join(p.data for p in pieces) == PNG
    assert {p.index for p in pieces} == {1} and pieces[0].error is None
    assert pieces[0].to_dict() == {
        "contentBlockDelta": {
            "contentBlockIndex": 1,
            "delta": {"image": {"source": {"bytes": pieces[0].data}}},
        }
    }
    assert start.to_dict() == {
        "contentBlockStart": {"contentBlockIndex": 1, "start": {"image": {"format": "png"}}}
    }


def test_a_converse_reply_with_an_image_too(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_turn(ANSWER)
    conv = fc_client(fake_bedrock, max_attempts=1).create_conversation()
    assert conv.send("Draw a cat").message["content"] == ANSWER


def test_the_boto3_layer_streams_images_as_boto3_does(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_turn(ANSWER, chunks=3)
    theirs = boto3_events(
        boto3_client(fake_bedrock).converse_stream(
            modelId="m", messages=[{"role": "user", "content": [{"text": "Draw"}]}]
        )["stream"]
    )
    fake_bedrock.enqueue_turn(ANSWER, chunks=3)
    ours = boto3_events(
        fc_client(fake_bedrock, max_attempts=1).converse_stream(
            modelId="m", messages=[{"role": "user", "content": [{"text": "Draw"}]}]
        )["stream"]
    )
    assert ours == theirs
    starts = [e["contentBlockStart"] for e in ours if "contentBlockStart" in e]
    assert starts == [{"contentBlockIndex": 1, "start": {"image": {"format": "png"}}}]
    pieces = [
        e["contentBlockDelta"]["delta"]["image"]["source"]["bytes"]
        for e in ours
        if "image" in e.get("contentBlockDelta", {}).get("delta", {})
    ]
    assert len(pieces) == 3 and b"".join(pieces) == PNG  # each piece whole bytes


def test_fake_bedrock_sends_whole_base64_pieces(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_turn(
        [{"image": {"format": "jpeg", "source": {"bytes": base64.b64encode(b"abcdefg").decode()}}}]
    )
    answer = boto3_client(fake_bedrock).converse(
        modelId="m", messages=[{"role": "user", "content": [{"text": "Draw"}]}]
    )
    assert answer["output"]["message"]["content"] == [
        {"image": {"format": "jpeg", "source": {"bytes": b"abcdefg"}}}
    ]


def test_a_generated_image_is_kept_by_a_store(fake_bedrock: FakeBedrock, tmp_path: Any) -> None:
    fake_bedrock.enqueue_turn(ANSWER, chunks=2)
    db = tmp_path / "c.db"
    conv = fc_client(fake_bedrock, store=SQLiteStore(db)).create_conversation()
    list(conv.stream("Draw a cat"))
    loaded = fc_client(fake_bedrock, store=SQLiteStore(db)).get_conversation(conv.id)
    assert loaded.messages[-1]["content"] == ANSWER
