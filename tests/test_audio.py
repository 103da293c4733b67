"""audio(): formats from magic bytes or names, limits checked before sending, S3 sources, and
the audio block through conversations, the boto3 layer, a store, FakeBedrock's validation
and the notebook, checked by what FakeBedrock received over real HTTP."""

from __future__ import annotations

import base64
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import Raw, boto3_client, fc_client, user
from content_files import sent_bytes, sent_content
from fastconverse import SQLiteStore, audio, estimate_tokens, hooks, tool
from fastconverse.testing import FakeBedrock

# Small byte strings with each format's real header (what the detection reads).
ID3_MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10 + b"\xff\xfb\x90\x64" + b"\x00" * 64
FRAME_MP3 = b"\xff\xfb\x90\x64" + b"\x00" * 64  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz
LAYER2 = b"\xff\xfd\x90\x04" + b"\x00" * 64  # MPEG-1 layer II
WAV = (
    b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x44\xac\x00\x00"
    b"\x88\x58\x01\x00\x02\x00\x10\x00data\x00\x00\x00\x00"
)
FLAC = b"fLaC\x00\x00\x00\x22" + b"\x00" * 34
OGG = b"OggS\x00\x02" + b"\x00" * 22 + b"\x13OpusHead\x01\x02" + b"\x00" * 16
EBML = b"\x1a\x45\xdf\xa3"
WEBM = EBML + b"\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm\x42\x87\x81\x04" + b"\x00" * 16
MATROSKA = EBML + b"\xa3\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x88matroska\x42\x87\x81\x04"
M4A = b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00M4A isommp42" + b"\x00" * 16
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isommp42" + b"\x00" * 16
ADTS = b"\xff\xf1\x50\x80\x02\x1f\xfc" + b"\x00" * 32  # AAC LC, 44.1 kHz, stereo
PCM = bytes(range(256)) * 4  # raw samples: no header at all
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16 + b"\x00\x00\x00\x00IEND\xaeB`\x82"

LIMIT = 25_000_000 * 3 // 4  # ours (video's): Bedrock documents none for audio


@pytest.fixture
def client(fake_bedrock: FakeBedrock) -> Any:
    return fc_client(fake_bedrock, max_attempts=1)


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (ID3_MP3, "mp3"),
        (FRAME_MP3, "mp3"),
        (LAYER2, "mpga"),
        (WAV, "wav"),
        (FLAC, "flac"),
        (OGG, "ogg"),
        (WEBM, "webm"),
        (MATROSKA, "mkv"),
        (M4A, "m4a"),
        (MP4, "mp4"),
        (ADTS, "aac"),
    ],
)
def test_each_format_is_told_from_its_magic_bytes(data: bytes, fmt: str) -> None:
    assert audio(data) == {"audio": {"format": fmt, "source": {"bytes": data}}}
    assert audio(bytearray(data))["audio"]["format"] == fmt


def test_the_extension_decides_what_the_bytes_cannot(tmp_path: Path) -> None:
    files = {
        "voice.pcm": PCM,  # no header: the name says it
        "song.MP3": b"\x00" * 32,  # (a header we cannot read: the name is trusted, as video's)
        "track.mka": MATROSKA,  # Matroska audio shares mkv's bytes
        "talk.m4a": MP4,  # an m4a with a generic brand
        "note.opus": OGG,  # Ogg Opus shares ogg's bytes
        "clip.weba": WEBM,
        "wrong.flac": WAV,  # the bytes win over a wrong name
    }
    found = {}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        found[name] = audio(tmp_path / name)["audio"]["format"]
    assert found == {
        "voice.pcm": "pcm",
        "song.MP3": "mp3",
        "track.mka": "mka",
        "talk.m4a": "m4a",
        "note.opus": "opus",
        "clip.weba": "webm",
        "wrong.flac": "wav",
    }
    assert audio(str(tmp_path / "voice.pcm"))["audio"]["source"]["bytes"] == PCM


def test_an_explicit_format_is_checked_against_the_bytes() -> None:
    assert audio(PCM, format="pcm")["audio"]["format"] == "pcm"
    assert audio(WAV, format="WAV")["audio"]["format"] == "wav"
    assert audio(ADTS, "x-aac")["audio"]["format"] == "x-aac"  # one family of formats
    assert audio(M4A, format="mp4")["audio"]["format"] == "mp4"
    assert audio(MATROSKA, format="mka")["audio"]["format"] == "mka"
    assert audio(FRAME_MP3, format="mpeg")["audio"]["format"] == "mpeg"
    with pytest.raises(
        ValueError, match=r"format: 'mp3' given, but the source \(\d+ bytes\) is wav"
    ):
        audio(WAV, format="mp3")
    with pytest.raises(
        ValueError, match=r"format: Bedrock accepts audio formats mp3, opus, .*'aiff'"
    ):
        audio(PCM, format="aiff")
    with pytest.raises(TypeError, match="format: expected a str"):
        audio(PCM, format=3)  # type: ignore[arg-type]


def test_bad_input_is_refused_before_any_request(
    client: Any, fake_bedrock: FakeBedrock, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=r"source: cannot tell the format of .*format='pcm'"):
        audio(PCM)
    with pytest.raises(ValueError, match=r"source: the source \(0 bytes\) is empty"):
        audio(b"")
    with pytest.raises(
        ValueError, match=r"source: .* is 18\.75 MB .*at most 18\.75 MB per audio .*audio\(s3_uri="
    ):
        audio(WAV + b"\x00" * (LIMIT + 1 - len(WAV)))
    assert audio(WAV + b"\x00" * (LIMIT - len(WAV)))["audio"]["format"] == "wav"  # inclusive
    big = tmp_path / "long.wav"
    big.write_bytes(WAV + b"\x00" * LIMIT)
    with pytest.raises(ValueError, match=r"source: '.*long\.wav' is 18\.75 MB"):
        audio(big)
    with pytest.raises(
        ValueError, match=r"is an image \(png\), not an audio; use fastconverse\.image"
    ):
        audio(PNG)
    with pytest.raises(ValueError, match=r"cannot read audio file"):
        audio(tmp_path / "missing.mp3")
    with pytest.raises(TypeError, match=r"audio: give a source"):
        audio()
    # a hand-made block over the limit, in a message, is refused by conv.send
    conv = client.create_conversation()
    oversize = {"audio": {"format": "wav", "source": {"bytes": b"\x00" * (LIMIT + 1)}}}
    with pytest.raises(ValueError, match=r"message: audio 1 of 1 is 18\.75 MB"):
        conv.send(["Listen", oversize])
    # and a format the SDK does not know is refused... by the service: FakeBedrock says so
    assert fake_bedrock.requests == []
    assert conv.messages == []


def test_s3_sources() -> None:
    assert audio(s3_uri="s3://talks/2024/keynote.m4a", bucket_owner="123456789012") == {
        "audio": {
            "format": "m4a",
            "source": {
                "s3Location": {"uri": "s3://talks/2024/keynote.m4a", "bucketOwner": "123456789012"}
            },
        }
    }
    assert audio(s3_uri="s3://b/raw", format="pcm")["audio"]["format"] == "pcm"
    assert audio(s3_uri="s3://b/x.oga")["audio"]["format"] == "ogg"
    with pytest.raises(ValueError, match=r"format: cannot tell the audio format from 's3://b/k'"):
        audio(s3_uri="s3://b/k")
    with pytest.raises(ValueError, match="audio: give a source or s3_uri=, not both"):
        audio(WAV, s3_uri="s3://b/k.wav")
    with pytest.raises(ValueError, match="bucket_owner: only goes with s3_uri="):
        audio(WAV, bucket_owner="123456789012")


def test_audio_travels_through_a_conversation(
    client: Any, fake_bedrock: FakeBedrock, tmp_path: Path
) -> None:
    (tmp_path / "memo.flac").write_bytes(FLAC)
    (tmp_path / "raw.pcm").write_bytes(PCM)
    conv = client.create_conversation()
    reply = conv.send(
        ["Transcribe these", audio(WAV), tmp_path / "memo.flac", tmp_path / "raw.pcm", ADTS]
    )
    assert reply.text == "You said: Transcribe these"
    content = sent_content(fake_bedrock)
    assert [b["audio"]["format"] for b in content[1:]] == ["wav", "flac", "pcm", "aac"]
    assert [sent_bytes(b) for b in content[1:]] == [WAV, FLAC, PCM, ADTS]
    assert conv.messages[0]["content"][1] == {"audio": {"format": "wav", "source": {"bytes": WAV}}}
    s3 = audio(s3_uri="s3://b/call.mp3")
    conv.send(["And this call?", s3])
    assert sent_content(fake_bedrock)[1] == s3
    # the estimate counts a clip like a picture (ours: 1,600); FakeBedrock's rule, 100
    assert estimate_tokens({"role": "user", "content": [s3]}) == 1_600 + 4
    assert fake_bedrock.requests[-1].body["messages"][-1]["content"][1] == s3
    assert conv.usage.input_tokens > 4 * 100


BOTO3_MESSAGES = [
    {
        "role": "user",
        "content": [
            {"text": "What is said?"},
            {"audio": {"format": "mp3", "source": {"bytes": ID3_MP3}}},
            {"audio": {"format": "x-aac", "source": {"bytes": ADTS}}},
            {
                "audio": {
                    "format": "wav",
                    "source": {
                        "s3Location": {"uri": "s3://b/a.wav", "bucketOwner": "111122223333"}
                    },
                }
            },
        ],
    }
]


def test_the_boto3_layer_sends_what_boto3_sends(fake_bedrock: FakeBedrock) -> None:
    theirs = boto3_client(fake_bedrock).converse(modelId="m", messages=BOTO3_MESSAGES)
    sent_by_boto3 = fake_bedrock.requests[-1].body
    ours = fc_client(fake_bedrock, max_attempts=1).converse(modelId="m", messages=BOTO3_MESSAGES)
    assert fake_bedrock.requests[-1].body == sent_by_boto3
    assert ours["output"] == theirs["output"]
    assert sent_by_boto3["messages"][0]["content"][1]["audio"]["source"]["bytes"] == (
        base64.b64encode(ID3_MP3).decode()
    )
    stream = fc_client(fake_bedrock, max_attempts=1).converse_stream(
        modelId="m", messages=BOTO3_MESSAGES
    )
    assert [e for e in stream["stream"]][-1].keys() == {"metadata"}
    assert fake_bedrock.requests[-1].body == sent_by_boto3


def test_a_tool_cannot_return_audio(client: Any, fake_bedrock: FakeBedrock) -> None:
    # Bedrock's ToolResultContentBlock has no audio member (botocore's model): a tool that
    # returns a clip fails with why, and the model hears the error instead.
    @tool
    def record() -> Any:
        """Records a clip."""
        return audio(WAV)

    conv = client.create_conversation(tools=[record])
    fake_bedrock.enqueue_tool_use("record", {})
    fake_bedrock.enqueue_text("ok")
    conv.send("Record something")
    (result,) = fake_bedrock.requests[-1].body["messages"][-1]["content"]
    assert result["toolResult"]["status"] == "error"
    assert "a tool result cannot carry audio" in result["toolResult"]["content"][0]["text"]
    # a hand-written tool result with audio: refused by the codec, naming where, unsent
    sent = len(fake_bedrock.requests)
    messages = [
        user("go"),
        {
            "role": "assistant",
            "content": [{"toolUse": {"toolUseId": "t", "name": "record", "input": {}}}],
        },
        {
            "role": "user",
            "content": [{"toolResult": {"toolUseId": "t", "content": [audio(WAV)]}}],
        },
    ]
    spec = {
        "tools": [{"toolSpec": {"name": "record", "inputSchema": {"json": {"type": "object"}}}}]
    }
    with pytest.raises(ValueError, match=r"messages\[2\]\.content\[0\]\.toolResult\.content\[0\]"):
        client.converse(modelId="m", messages=messages, toolConfig=spec)
    assert len(fake_bedrock.requests) == sent


def test_a_store_keeps_audio(fake_bedrock: FakeBedrock, tmp_path: Path) -> None:
    store = tmp_path / "conversations.db"
    conv = fc_client(fake_bedrock, store=SQLiteStore(store)).create_conversation()
    conv.send(
        ["Hear this", audio(OGG), audio(s3_uri="s3://b/long.flac", bucket_owner="123456789012")]
    )
    loaded = fc_client(fake_bedrock, store=SQLiteStore(store)).get_conversation(conv.id)
    assert loaded.messages == conv.messages
    assert loaded.messages[0]["content"][1] == {
        "audio": {"format": "ogg", "source": {"bytes": OGG}}
    }
    loaded.send("Again?")  # and it goes out as it came in
    assert sent_bytes(fake_bedrock.requests[-1].body["messages"][0]["content"][1]) == OGG


def test_fake_bedrock_refuses_what_bedrock_refuses(raw: Raw, fake_bedrock: FakeBedrock) -> None:
    def body(block: dict[str, Any], *, in_result: bool = False) -> dict[str, Any]:
        if not in_result:
            return {"messages": [{"role": "user", "content": [{"text": "x"}, block]}]}
        use = {"toolUse": {"toolUseId": "t", "name": "f", "input": {}}}
        result = {"toolResult": {"toolUseId": "t", "content": [block]}}
        return {
            "messages": [
                user("x"),
                {"role": "assistant", "content": [use]},
                {"role": "user", "content": [result]},
            ],
            "toolConfig": {"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {}}}}]},
        }

    def wav(size: int, fmt: str = "wav") -> dict[str, Any]:
        data = base64.b64encode(b"\x00" * size).decode()
        return {"audio": {"format": fmt, "source": {"bytes": data}}}

    status, _, answer = raw.converse(body(wav(4, "aiff")))
    assert status == 400
    assert answer["message"].startswith(
        "Value 'aiff' at 'messages.0.content.1.audio.format' failed to satisfy constraint: "
        "Member must satisfy enum value set: [mp3, opus, wav, aac, flac, mp4, ogg, mkv, mka, "
        "x-aac, m4a, mpeg, mpga, pcm, webm]"
    )
    status, _, answer = raw.converse(body(wav(LIMIT + 1)))
    assert (status, answer["message"]) == (
        400,
        "The size of the value at messages.0.content.1.audio.source.bytes exceeds the maximum of "
        "25 MB as base64. Reduce its size and try again.",
    )
    assert raw.converse(body(wav(LIMIT)))[0] == 200
    status, _, answer = raw.converse(body(wav(4), in_result=True))
    assert status == 400 and "unsupported field: audio" in answer["message"]
    # boto3 hears the same
    bad = [{"role": "user", "content": [{"audio": {"format": "aiff", "source": {"bytes": b"x"}}}]}]
    where = r"Value 'aiff' at 'messages\.0\.content\.0\.audio\.format'"
    with pytest.raises(ClientError, match=where):
        boto3_client(fake_bedrock).converse(modelId="m", messages=bad)


class _Tags(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_notebook_plays_small_audio_and_names_the_rest(client: Any) -> None:
    messages = [
        {
            "role": "user",
            "content": [
                {"text": "Listen"},
                audio(ID3_MP3),
                audio(PCM, format="pcm"),
                audio(s3_uri='s3://b/<script>alert("x")</script>.wav'),
                {"audio": {"format": '"><script>x()</script>', "source": {"bytes": b"<b>"}}},
            ],
        },
        {"role": "assistant", "content": [{"text": "Heard."}]},
    ]
    html = client.create_conversation(messages=messages).to_html()
    tags = _Tags(html)
    names = [t for t, _ in tags.tags]
    assert "script" not in names
    (player,) = [a for t, a in tags.tags if t == "audio"]
    assert "controls" in player
    assert player["src"] == "data:audio/mpeg;base64," + base64.b64encode(ID3_MP3).decode()
    text = "".join(tags.text)
    assert f"[audio (pcm), {len(PCM):,} bytes]" in text  # no header: named, not played
    assert '[audio (wav) s3://b/<script>alert("x")</script>.wav]' in text  # as text
    assert '[audio ("><script>x()</script>), 3 bytes]' in text


def test_hooks_see_audio_and_may_add_it(fake_bedrock: FakeBedrock) -> None:
    seen: list[Any] = []

    class Listen:
        def before_request(self, event: hooks.Request) -> None:
            seen.append([dict(b) for b in event.messages[-1]["content"]])
            event.messages[-1]["content"].append(audio(FLAC))

    conv = fc_client(fake_bedrock, max_attempts=1).create_conversation(hooks=[Listen()])
    conv.send(["Hear", audio(WAV)])
    assert seen == [[{"text": "Hear"}, {"audio": {"format": "wav", "source": {"bytes": WAV}}}]]
    assert [sent_bytes(b) for b in sent_content(fake_bedrock)[1:]] == [WAV, FLAC]
    assert len(conv.messages[0]["content"]) == 2  # (the hook's change was for that request)
