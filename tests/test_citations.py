"""Citations and search results (issue 26): documents from text or chunks of text,
``search_result(...)`` blocks in messages and tool results, a reply's ``citations`` and
its text read whole, a stream's ``CitationDelta`` events assembled into the same block, the
history and stores keeping cited blocks as Bedrock needs them back, FakeBedrock citing what
it is given, and the boto3-shaped layer sending and reading what boto3 does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastconverse
import pytest
from botocore.exceptions import ClientError
from conftest import boto3_client, fc_boto3, fc_client, user
from fastconverse import Citation, CitationDelta, SQLiteStore, TextDelta, document, search_result
from fastconverse.testing import FakeBedrock

POLICY = "Refunds take five days. Shipping is free on orders over ten euros."


def policy(**kwargs: Any) -> dict[str, Any]:
    return document(text=POLICY, name="Refund policy", citations=True, **kwargs)


# --- the blocks ---------------------------------------------------------------------------


def test_documents_from_text_and_from_chunks() -> None:
    assert policy() == {
        "document": {
            "format": "txt",
            "name": "Refund policy",
            "source": {"text": POLICY},
            "citations": {"enabled": True},
        }
    }
    chunks = document(content=["First part.", {"text": "Second part."}], name="notes.md")
    assert chunks == {
        "document": {
            "format": "txt",
            "name": "notes",
            "source": {"content": [{"text": "First part."}, {"text": "Second part."}]},
        }
    }
    assert document(text="x", format="md")["document"]["format"] == "md"
    with pytest.raises(ValueError, match="text: must not be blank"):
        document(text="  ")
    with pytest.raises(ValueError, match=r"content\[1\]: must not be blank"):
        document(content=["a", ""])
    with pytest.raises(ValueError, match="only one"):
        document(b"%PDF-1.4", text="x")
    with pytest.raises(ValueError, match="not both"):
        document(text="x", content=["y"])
    with pytest.raises(TypeError, match="citations: expected True, False"):
        document(text="x", citations="yes")  # type: ignore[arg-type]


def test_search_result_blocks() -> None:
    block = search_result("https://example.com/a", "Page A", "Alpha. Beta.", citations=True)
    assert block == {
        "searchResult": {
            "source": "https://example.com/a",
            "title": "Page A",
            "content": [{"text": "Alpha. Beta."}],
            "citations": {"enabled": True},
        }
    }
    assert fastconverse.search_result("s", "t", ["a", "b"])["searchResult"]["content"] == [
        {"text": "a"},
        {"text": "b"},
    ]
    with pytest.raises(ValueError, match="title: must not be blank"):
        search_result("s", " ", "a")
    with pytest.raises(TypeError, match="source: expected a str"):
        search_result(1, "t", "a")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="content: must hold at least one text"):
        search_result("s", "t", [])


def test_bad_blocks_are_refused_before_any_request(fake_bedrock: FakeBedrock) -> None:
    client = fc_client(fake_bedrock)
    bad = {"searchResult": {"source": "s", "title": "t", "content": [{"txt": "a"}]}}
    with pytest.raises(ValueError, match=r"message\[1\]\.searchResult\.content\[0\]"):
        client.create_conversation().send(["hi", bad])
    cited = {
        "citationsContent": {
            "content": [{"text": "x"}],
            "citations": [{"location": {"documentChar": {"documentIndex": -1}}}],
        }
    }
    with pytest.raises(ValueError, match=r"documentChar\.documentIndex: expected 0 or more"):
        client.converse(messages=[user("hi"), {"role": "assistant", "content": [cited]}, user("a")])
    assert fake_bedrock.requests == []


# --- replies ------------------------------------------------------------------------------


def test_a_cited_reply_reads_whole_and_lists_its_citations(fake_bedrock: FakeBedrock) -> None:
    conv = fc_client(fake_bedrock).create_conversation()
    reply = conv.send(["How long do refunds take?", policy()])
    assert reply.text == (
        "You said: How long do refunds take? According to Refund policy: Refunds take five days."
    )
    assert str(reply) == reply.text
    (citation,) = reply.citations
    assert isinstance(citation, Citation)
    assert citation.text == citation.quote == "Refunds take five days."
    assert (citation.title, citation.source, citation.kind) == (
        "Refund policy",
        None,
        "documentChar",
    )
    assert (citation.index, citation.start, citation.end) == (0, 0, len("Refunds take five days."))
    assert POLICY[citation.start : citation.end] == citation.quote
    assert citation.location == {"documentChar": {"documentIndex": 0, "start": 0, "end": 23}}
    assert citation.to_dict() == {
        "title": "Refund policy",
        "sourceContent": [{"text": "Refunds take five days."}],
        "location": citation.location,
    }
    assert reply.content[1] == {
        "citationsContent": {
            "content": [{"text": "Refunds take five days."}],
            "citations": [citation.to_dict()],
        }
    }
    assert "Citation(quote='Refunds take five days.'" in repr(citation)
    # the document went out as text, its citations enabled
    sent = fake_bedrock.requests[-1].body["messages"][0]["content"][1]["document"]
    assert sent["source"] == {"text": POLICY} and sent["citations"] == {"enabled": True}


def test_each_kind_of_source_is_cited_where_it_points(fake_bedrock: FakeBedrock) -> None:
    client = fc_client(fake_bedrock)

    def cite(*blocks: Any) -> Citation:
        (citation,) = client.create_conversation().send(["Answer from these.", *blocks]).citations
        return citation

    chunks = cite(document(content=["Chunk one.", "Chunk two."], name="notes", citations=True))
    assert (chunks.kind, chunks.index, chunks.start, chunks.end) == ("documentChunk", 0, 0, 1)
    assert chunks.quote == "Chunk one."
    found = cite(
        search_result("https://a.example", "A", "Not cited.", citations=False),
        search_result("https://b.example/page", "B", ["Bee facts.", "More."], citations=True),
    )
    assert (found.kind, found.index, found.start, found.end) == ("searchResultLocation", 1, 0, 1)
    assert (found.source, found.title, found.quote) == ("https://b.example/page", "B", "Bee facts.")
    pdf = cite(document(b"%PDF-1.4 not really", name="scan", citations=True))
    assert (pdf.kind, pdf.start, pdf.end, pdf.quote) == ("documentPage", 1, 2, "")
    # without citations enabled the default model answers as usual
    plain = client.create_conversation().send(["Hi", document(text=POLICY, name="p")])
    assert plain.citations == [] and plain.text == "You said: Hi"


def test_scripted_citations(fake_bedrock: FakeBedrock) -> None:
    block = {
        "citationsContent": {
            "content": [{"text": "It is on page two."}],
            "citations": [
                {
                    "title": "Manual",
                    "sourceContent": [{"text": "Reset: hold the button."}],
                    "location": {"documentPage": {"documentIndex": 0, "start": 2, "end": 3}},
                },
                {
                    "source": "https://example.com",
                    "location": {"web": {"url": "https://example.com/x", "domain": "example.com"}},
                },
            ],
        }
    }
    conv = fc_client(fake_bedrock).create_conversation()
    fake_bedrock.enqueue_turn([{"text": "See: "}, block])
    reply = conv.send("How do I reset it?")
    assert reply.text == "See: It is on page two."
    assert reply.content == [{"text": "See: "}, block]
    page, web = reply.citations
    assert (page.kind, page.start, page.quote) == ("documentPage", 2, "Reset: hold the button.")
    assert (web.kind, web.url, web.domain, web.index, web.quote) == (
        "web",
        "https://example.com/x",
        "example.com",
        None,
        "",
    )


# --- streams ------------------------------------------------------------------------------


def test_a_stream_yields_citations_and_assembles_the_same_block(fake_bedrock: FakeBedrock) -> None:
    client = fc_client(fake_bedrock)
    question = [
        "What is free?",
        search_result("kb://7", "Shipping", "Shipping is free.", citations=True),
    ]
    sent = client.create_conversation().send(question)
    stream = client.create_conversation().stream(question)
    events = list(stream)
    cited = [e for e in events if isinstance(e, CitationDelta)]
    assert len(cited) == 1 and cited[0].index == 1
    assert cited[0].citation.to_dict() == sent.citations[0].to_dict()
    assert cited[0].citation.text == ""
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == sent.text
    assert cited[0].to_dict() == {
        "contentBlockDelta": {
            "contentBlockIndex": 1,
            "delta": {"citation": sent.citations[0].to_dict()},
        }
    }
    assert stream.reply.message == sent.message
    assert stream.reply.citations == sent.citations
    assert repr(cited[0]).startswith("CitationDelta(citation=Citation(quote='Shipping is free.'")


def test_citation_deltas_match_boto3s_events(fake_bedrock: FakeBedrock) -> None:
    request: dict[str, Any] = dict(
        modelId="m",
        messages=[
            {
                "role": "user",
                "content": [{"text": "Sum up."}, policy()],
            }
        ],
    )
    theirs = list(boto3_client(fake_bedrock).converse_stream(**request)["stream"])
    ours = list(fc_client(fake_bedrock).converse_stream(**request)["stream"])
    assert ours == theirs
    assert any("citation" in e.get("contentBlockDelta", {}).get("delta", {}) for e in ours)


# --- history and stores -------------------------------------------------------------------


def test_the_history_sends_cited_blocks_back_unchanged(fake_bedrock: FakeBedrock) -> None:
    conv = fc_client(fake_bedrock).create_conversation()
    reply = conv.send(["Refunds?", policy()])
    conv.send("Thanks")
    body = fake_bedrock.requests[-1].body
    assert body["messages"][1] == {"role": "assistant", "content": reply.content}
    assert body["messages"][1]["content"][1]["citationsContent"]["citations"][0]["location"] == {
        "documentChar": {"documentIndex": 0, "start": 0, "end": 23}
    }


def test_a_store_keeps_cited_blocks_and_search_results(
    fake_bedrock: FakeBedrock, tmp_path: Path
) -> None:
    db = tmp_path / "c.db"
    conv = fc_client(fake_bedrock, store=SQLiteStore(db)).create_conversation()
    conv.send(["Refunds?", policy(), search_result("kb://1", "FAQ", ["Q.", "A."], citations=True)])
    conv.send(["More", document(content=["c1", "c2"], name="chunks", citations=False)])
    loaded = fc_client(fake_bedrock, store=SQLiteStore(db)).get_conversation(conv.id)
    assert loaded.messages == conv.messages
    assert "citationsContent" in loaded.messages[1]["content"][1]
    loaded.send("And?")  # what was loaded is what Bedrock takes back
    assert fake_bedrock.requests[-1].body["messages"][:4] == conv.messages


# --- tools --------------------------------------------------------------------------------


def test_tools_return_search_results_the_model_cites(fake_bedrock: FakeBedrock) -> None:
    @fastconverse.tool
    def search(query: str) -> list[dict[str, Any]]:
        """Searches the knowledge base."""
        return [
            search_result("kb://doc/1", "Opening hours", "We open at nine.", citations=True),
            search_result("kb://doc/2", "Prices", "Tea costs two euros.", citations=True),
        ]

    conv = fc_client(fake_bedrock).create_conversation(tools=[search])
    fake_bedrock.enqueue_tool_use("search", {"query": "hours"})
    reply = conv.send("When do you open?")
    result = reply.tool_results[0]
    assert [b["searchResult"]["title"] for b in result["content"]] == ["Opening hours", "Prices"]
    (citation,) = reply.citations
    assert (citation.kind, citation.index, citation.source) == (
        "searchResultLocation",
        0,
        "kb://doc/1",
    )
    assert reply.text.endswith("According to Opening hours: We open at nine.")
    sent = fake_bedrock.requests[-1].body["messages"][2]["content"][0]["toolResult"]["content"]
    assert sent[1]["searchResult"]["citations"] == {"enabled": True}


# --- FakeBedrock's checks and the boto3-shaped layer -------------------------------------


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            {"searchResult": {"source": "s", "title": " ", "content": [{"text": "a"}]}},
            "The title field in the SearchResultBlock object at "
            "messages.0.content.1.searchResult is blank.",
        ),
        (
            {"searchResult": {"source": "s", "title": "t", "content": []}},
            "The content field in the SearchResultBlock object at "
            "messages.0.content.1.searchResult is empty.",
        ),
        (
            {"document": {"format": "txt", "name": "d", "source": {"text": " "}}},
            "The text field in the DocumentSource object at "
            "messages.0.content.1.document.source is blank.",
        ),
    ],
)
def test_fake_bedrock_refuses_empty_sources(
    fake_bedrock: FakeBedrock, block: dict[str, Any], message: str
) -> None:
    request = dict(modelId="m", messages=[{"role": "user", "content": [{"text": "hi"}, block]}])
    with pytest.raises(ClientError) as caught:
        boto3_client(fake_bedrock).converse(**request)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert caught.value.response["Error"]["Message"].startswith(message)


def test_the_boto3_layer_sends_and_reads_what_boto3_does(fake_bedrock: FakeBedrock) -> None:
    request: dict[str, Any] = dict(
        modelId="m",
        messages=[
            {
                "role": "user",
                "content": [
                    {"text": "Answer from these."},
                    document(content=["One.", "Two."], name="chunks", citations=True),
                    policy(context="The 2024 policy"),
                    search_result("kb://1", "FAQ", ["Q.", "A."], citations=True),
                ],
            },
            {
                "role": "assistant",
                "content": [{"toolUse": {"toolUseId": "t1", "name": "s", "input": {}}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "toolResult": {
                            "toolUseId": "t1",
                            "content": [
                                search_result("kb://2", "Hit", "Found it.", citations=True)
                            ],
                        }
                    }
                ],
            },
        ],
        toolConfig={
            "tools": [{"toolSpec": {"name": "s", "inputSchema": {"json": {"type": "object"}}}}]
        },
    )
    theirs = boto3_client(fake_bedrock).converse(**request)
    sent_by_boto3 = fake_bedrock.requests[-1].body
    ours = fc_boto3(fake_bedrock).converse(**request)
    assert fake_bedrock.requests[-1].body == sent_by_boto3
    for response in (theirs, ours):
        response.pop("ResponseMetadata")
    assert ours == theirs
    cited = ours["output"]["message"]["content"][1]["citationsContent"]
    assert cited["citations"][0]["location"] == {
        "searchResultLocation": {"searchResultIndex": 1, "start": 0, "end": 1}
    }


def test_a_before_request_hook_sees_and_sends_cited_blocks(fake_bedrock: FakeBedrock) -> None:
    seen: list[list[dict[str, Any]]] = []

    class Watch:
        def before_request(self, request: Any) -> None:
            seen.append(request.messages)

    conv = fc_client(fake_bedrock).create_conversation(hooks=[Watch()])
    reply = conv.send(["Refunds?", policy()])
    conv.send("Thanks")
    assert seen[1][1] == {"role": "assistant", "content": reply.content}
    assert fake_bedrock.requests[-1].body["messages"][1] == seen[1][1]
