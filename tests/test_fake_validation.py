"""FakeBedrock validates like the real service. Texts WIRE.md records from the service are
reproduced exactly; the others are ours (each is marked "ours" in src/fake/validate.rs)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import Raw, assistant, user
from fastconverse.testing import FakeBedrock

TOOLS = {"tools": [{"toolSpec": {"name": "t", "inputSchema": {"json": {"type": "object"}}}}]}


def tool_use(*ids: str) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": [{"toolUse": {"toolUseId": i, "name": "t", "input": {}}} for i in ids],
    }


def tool_results(*ids: str, **extra: Any) -> dict[str, Any]:
    return {
        "role": "user",
        "content": [
            {"toolResult": {"toolUseId": i, "content": [{"text": "ok"}], **extra}} for i in ids
        ],
    }


BAD_NAME = (
    "The document file name can only contain alphanumeric characters, whitespace characters, "
    "hyphens, parentheses, and square brackets. The name can't contain more than one "
    "consecutive whitespace character. Check that the file name conforms to these restrictions "
    "and retry your request."
)


def doc(name: str) -> dict[str, Any]:
    return {"format": "txt", "name": name, "source": {"bytes": base64.b64encode(b"hi").decode()}}


def rejected(raw: Raw, body: dict[str, Any], model: str = "m") -> str:
    status, headers, payload = raw.converse(body, model=model)
    assert status == 400, payload
    assert headers["x-amzn-errortype"].startswith("ValidationException:")
    assert set(payload) == {"message"}
    return str(payload["message"])


CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "first message from the assistant",
        {"messages": [assistant("hi"), user("yo")]},
        "A conversation must start with a user message. Try again with a conversation that "
        "starts with a user message.",
    ),
    (
        "two user messages in a row",
        {"messages": [user("a"), user("b")]},
        "A conversation must alternate between user and assistant roles. Make sure the "
        "conversation alternates between user and assistant roles and try again.",
    ),
    (
        "blank text",
        {
            "messages": [
                user("ok"),
                assistant("sure"),
                {"role": "user", "content": [{"text": "x"}, {"text": " \n"}]},
            ]
        },
        "The text field in the ContentBlock object at messages.2.content.1 is blank. Add text to "
        "the text field, and try again.",
    ),
    (
        "empty content",
        {"messages": [user("ok"), {"role": "assistant", "content": []}]},
        "The content field in the Message object at messages.1 is empty. Add a ContentBlock "
        "object to the content field and try again.",
    ),
    (
        "more tool results than tool uses",
        {"messages": [user("go"), tool_use("a"), tool_results("a", "b")], "toolConfig": TOOLS},
        "The number of toolResult blocks at messages.2.content exceeds the number of toolUse "
        "blocks of previous turn.",
    ),
    (
        "tool uses left without results",
        {"messages": [user("go"), tool_use("a", "b", "c"), tool_results("b")], "toolConfig": TOOLS},
        "Expected toolResult blocks at messages.2.content for the following Ids: a, c",
    ),
    (
        "tool use answered by plain text",
        {"messages": [user("go"), tool_use("a"), user("never mind")], "toolConfig": TOOLS},
        "Expected toolResult blocks at messages.2.content for the following Ids: a",
    ),
    (
        "tool blocks without toolConfig",
        {"messages": [user("go"), tool_use("a"), tool_results("a")]},
        "The toolConfig field must be defined when using toolUse and toolResult content blocks.",
    ),
    (
        "error tool result without content",
        {
            "messages": [
                user("go"),
                tool_use("a"),
                {
                    "role": "user",
                    "content": [
                        {"toolResult": {"toolUseId": "a", "content": [], "status": "error"}}
                    ],
                },
            ],
            "toolConfig": TOOLS,
        },
        "The content field at messages.2.content.0.toolResult cannot be empty when status value "
        "is error.",
    ),
    (
        "tool result json that is not an object",
        {
            "messages": [
                user("go"),
                tool_use("a"),
                {
                    "role": "user",
                    "content": [
                        {
                            "toolResult": {
                                "toolUseId": "a",
                                "content": [{"text": "x"}, {"json": [1, 2]}],
                            }
                        }
                    ],
                },
            ],
            "toolConfig": TOOLS,
        },
        "The format of the value at messages.2.content.0.toolResult.content.1.json is invalid. "
        "Provide a json object for the field and try again.",
    ),
    (
        "two keys in one content block",
        {"messages": [{"role": "user", "content": [{"text": "hi", "image": {"format": "png"}}]}]},
        "The ContentBlock object at messages.0.content.0 must contain exactly one of the following "
        "fields, but it contains 2: text, image. Set exactly one field and try again.",
    ),
    (
        "an unknown role",
        {"messages": [{"role": "system", "content": [{"text": "hi"}]}]},
        "The role field in the Message object at messages.0 must be one of: user, assistant.",
    ),
    (
        "too many images",
        {
            "messages": [
                {
                    "role": "user",
                    "content": [{"image": {"format": "png", "source": {"bytes": "aGk="}}}] * 21,
                }
            ]
        },
        "The request contains 21 images, but at most 20 images are allowed per request. Remove "
        "some images and try again.",
    ),
    (
        "an image over 3.75 MB",
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "image": {
                                "format": "png",
                                "source": {"bytes": base64.b64encode(b"x" * 3_750_001).decode()},
                            }
                        }
                    ],
                }
            ]
        },
        "The size of the value at messages.0.content.0.image.source.bytes exceeds the maximum of "
        "3.75 MB. Reduce its size and try again.",
    ),
    (
        "too many documents",
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "document": {
                                "format": "txt",
                                "name": f"doc {i}",
                                "source": {"bytes": "aGk="},
                            }
                        }
                        for i in range(6)
                    ]
                    + [{"text": "summarise"}],
                }
            ]
        },
        "You can't include more than 5 documents in a request.",
    ),
    (
        "documents counted in tool results too",
        {
            "messages": [
                user("go"),
                tool_use("a"),
                {
                    "role": "user",
                    "content": [
                        {
                            "toolResult": {
                                "toolUseId": "a",
                                "content": [{"document": doc(f"r{i}")} for i in range(3)],
                            }
                        },
                        *({"document": doc(f"u{i}")} for i in range(3)),
                    ],
                },
            ],
            "toolConfig": TOOLS,
        },
        "You can't include more than 5 documents in a request.",
    ),
    *(
        (
            f"document name {name!r}",
            {"messages": [{"role": "user", "content": [{"document": doc(name)}]}]},
            BAD_NAME,
        )
        for name in ["report.pdf", "two  spaces", "tab\there", "r\u00e9sum\u00e9", "", "x" * 201]
    ),
    (
        "a document name used twice in the request",
        {
            "messages": [
                {"role": "user", "content": [{"document": doc("Report (1)")}]},
                assistant("ok"),
                {"role": "user", "content": [{"document": doc("Report (1)")}]},
            ]
        },
        "Messages can't contain duplicate document names. Rename the document and retry your "
        "request.",
    ),
    (
        "an unknown image format",
        {
            "messages": [
                {
                    "role": "user",
                    "content": [{"image": {"format": "bmp", "source": {"bytes": "AAAA"}}}],
                }
            ]
        },
        "Value 'bmp' at 'messages.0.content.0.image.format' failed to satisfy constraint: "
        "Member must satisfy enum value set: [png, jpeg, gif, webp]",
    ),
    (
        "an unknown video format",
        {
            "messages": [
                {
                    "role": "user",
                    "content": [{"video": {"format": "avi", "source": {"bytes": "AAAA"}}}],
                }
            ]
        },
        "Value 'avi' at 'messages.0.content.0.video.format' failed to satisfy constraint: "
        "Member must satisfy enum value set: [mkv, mov, mp4, webm, flv, mpeg, mpg, wmv, three_gp]",
    ),
    (
        "a document over 4.5 MB",
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "document": {
                                "format": "txt",
                                "name": "big",
                                "source": {"bytes": base64.b64encode(b"x" * 4_500_001).decode()},
                            }
                        }
                    ],
                }
            ]
        },
        "The size of the value at messages.0.content.0.document.source.bytes exceeds the maximum "
        "of 4.5 MB. Reduce its size and try again.",
    ),
    (
        "maxTokens below 1",
        {"messages": [user("hi")], "inferenceConfig": {"maxTokens": 0}},
        "The value at inferenceConfig.maxTokens must be an integer greater than or equal to 1, "
        "but was 0.",
    ),
    (
        "temperature above 1",
        {"messages": [user("hi")], "inferenceConfig": {"temperature": 1.5}},
        "The value at inferenceConfig.temperature must be a number between 0 and 1, but was 1.5.",
    ),
    (
        "a bad tool name",
        {
            "messages": [user("hi")],
            "toolConfig": {"tools": [{"toolSpec": {"name": "get weather"}}]},
        },
        "Value 'get weather' at 'toolConfig.tools.0.member.toolSpec.name' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+ and length "
        "between 1 and 64",
    ),
]


@pytest.mark.parametrize(("body", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_answers_with_the_service_text(raw: Raw, body: dict[str, Any], message: str) -> None:
    assert rejected(raw, body) == message


def test_valid_document_names_pass(raw: Raw) -> None:
    names = ["Q3 report", "notes-v2 (final) [draft]", "snake_case_is_accepted", "x" * 200]
    body = {"messages": [{"role": "user", "content": [{"document": doc(n)} for n in names]}]}
    status, _, payload = raw.converse(body, model="m")
    assert status == 200, payload


def test_valid_tool_round_trip_passes(raw: Raw) -> None:
    body = {
        "messages": [
            user("go"),
            tool_use("a", "b"),
            tool_results("b", "a"),
            assistant("done"),
            user("thanks"),
        ],
        "toolConfig": TOOLS,
    }
    status, _, payload = raw.converse(body)
    assert status == 200, payload


def test_limits_are_inclusive(raw: Raw) -> None:
    images = [
        {
            "image": {
                "format": "png",
                "source": {"bytes": base64.b64encode(b"x" * 3_750_000).decode()},
            }
        }
    ]
    status, _, payload = raw.converse(
        {"messages": [{"role": "user", "content": images + images[:1] * 19}]}
    )
    assert status == 200, payload


def test_unknown_model_with_an_allow_list(make_fake: Any) -> None:
    fake = make_fake(models=["amazon.nova-micro-v1:0"])
    raw = Raw(fake)
    assert raw.converse({"messages": [user("hi")]}, model="amazon.nova-micro-v1:0")[0] == 200
    assert rejected(raw, {"messages": [user("hi")]}, model="amazon.nova-nano") == (
        "The provided model identifier is invalid."
    )


def test_context_window_overflow_wordings(make_fake: Any) -> None:
    fake = make_fake(context_windows={"small": 5}, default_context_window=1000)
    raw = Raw(fake)
    six_words = {"messages": [user("one two three four five six")]}
    assert rejected(raw, six_words, model="small") == "Input is too long for requested model."
    four_words = {"messages": [user("one two three four")], "inferenceConfig": {"maxTokens": 2}}
    assert rejected(raw, four_words, model="small") == (
        "input length and `max_tokens` exceed context limit: 4 + 2 > 5, decrease input length or "
        "`max_tokens` and try again"
    )
    assert raw.converse(six_words, model="big")[0] == 200


def test_malformed_json_and_unknown_paths(raw: Raw, fake_bedrock: FakeBedrock) -> None:
    status, headers, payload = raw.post("m", "converse", b"{not json")
    assert status == 400
    assert payload == {
        "message": "Malformed input request, please reformat your input and try again."
    }
    assert headers["x-amzn-errortype"].startswith("ValidationException:")
    status, headers, _ = raw.post("m", "no-such-operation", {})
    assert status == 404
    assert headers["x-amzn-errortype"].startswith("UnknownOperationException:")
    assert fake_bedrock.requests[-1].operation == "no-such-operation"


def test_validation_message_reaches_boto3(bedrock: Any) -> None:
    with pytest.raises(ClientError) as info:
        bedrock.converse(modelId="m", messages=[user("a"), user("b")])
    assert info.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": CASES[1][2],
    }


def test_count_tokens_validates_too(raw: Raw) -> None:
    status, _, payload = raw.post(
        "m", "count-tokens", {"input": {"converse": {"messages": [assistant("x")]}}}
    )
    assert (status, payload["message"]) == (400, CASES[0][2])


def test_more_than_four_cache_points_are_refused(bedrock: Any) -> None:
    point = {"cachePoint": {"type": "default"}}
    system = [{"text": "a"}, point, {"text": "b"}, point]
    messages = [{"role": "user", "content": [{"text": "c"}, point, {"text": "d"}, point]}]
    out = bedrock.converse(modelId="m", system=system, messages=messages)
    assert out["usage"]["cacheWriteInputTokens"] > 0
    messages[0]["content"].append(point)
    with pytest.raises(ClientError) as info:
        bedrock.converse(modelId="m", system=system, messages=messages)
    assert info.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "A maximum of 4 blocks with cache_control may be provided. Found 5.",
    }
