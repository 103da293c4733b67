"""Knowledge grounding (issue 25): a retriever's passages go to the model with each user
message, are listed on ``reply.sources`` and never kept; sync, async, failing, slow and empty
retrievers; all against FakeBedrock over real HTTP."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import fc_client
from fastconverse import Conversation, Grounding, Source, errors
from fastconverse.testing import FakeBedrock

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def opening(fake: FakeBedrock, request: int = -1) -> list[dict[str, Any]]:
    """The content of the turn's user message in a request FakeBedrock received."""
    messages = fake.requests[request].body["messages"]
    users = [m for m in messages if m["role"] == "user" and "text" in m["content"][-1]]
    return list(users[-1]["content"])


def test_passages_go_with_the_message_and_are_listed_but_not_kept(
    fake_bedrock: FakeBedrock,
) -> None:
    asked: list[str] = []

    def search(query: str) -> list[Any]:
        asked.append(query)
        return [
            {"content": "Tents carry a two-year warranty.", "title": "Warranty", "score": 2.5},
            "Returns within 30 days.",
            {"content": "Never given: past top_k."},
        ]

    conv = fc_client(fake_bedrock).create_conversation(
        "Answer from the passages.", grounding=Grounding(search, top_k=2)
    )
    reply = conv.send("How long is the warranty?")

    assert asked == ["How long is the warranty?"]
    assert reply.sources == [
        Source("Tents carry a two-year warranty.", index=1, title="Warranty", score=2.5),
        Source("Returns within 30 days.", index=2),
    ]
    assert reply.grounding_error is None
    passages, question = opening(fake_bedrock)
    assert question == {"text": "How long is the warranty?"}
    assert "[1] Warranty\nTents carry a two-year warranty." in passages["text"]
    assert "[2]\nReturns within 30 days." in passages["text"]
    assert "Never given" not in passages["text"]
    assert conv.messages[0] == {"role": "user", "content": [{"text": "How long is the warranty?"}]}
    assert conv.last_reply is not None and conv.last_reply.sources == reply.sources

    conv.send("Thanks")  # the next turn: its own passages; the old ones are not in the history
    first = fake_bedrock.requests[-1].body["messages"][0]
    assert first == {"role": "user", "content": [{"text": "How long is the warranty?"}]}


def test_an_async_retriever_given_the_conversation_works_in_every_kind_of_turn(
    fake_bedrock: FakeBedrock,
) -> None:
    seen: list[tuple[str, str]] = []

    async def search(query: str, conversation: Conversation) -> list[str]:
        await asyncio.sleep(0)
        seen.append((query, conversation.id))
        return [f"about {query}"]

    conv = fc_client(fake_bedrock).create_conversation(grounding=search)
    assert conv.send("one").sources[0].content == "about one"
    assert asyncio.run(conv.send_async("two")).sources[0].content == "about two"
    stream = conv.stream("three")
    stream.until_done()
    assert stream.reply.sources[0].content == "about three"
    assert opening(fake_bedrock)[0]["text"].endswith("[1]\nabout three")
    assert seen == [("one", conv.id), ("two", conv.id), ("three", conv.id)]


def test_a_plain_retriever_in_async_code_leaves_the_loop_free(fake_bedrock: FakeBedrock) -> None:
    release = threading.Event()

    def search(query: str) -> list[str]:
        release.wait()
        return ["slow but sure"]

    conv = fc_client(fake_bedrock).create_conversation(grounding=search)

    async def main() -> str:
        turn = asyncio.ensure_future(conv.send_async("q"))
        await asyncio.sleep(0.05)
        assert not turn.done()
        release.set()  # (the loop ran this while the retriever was waiting)
        return (await turn).sources[0].content

    assert asyncio.run(main()) == "slow but sure"


@pytest.mark.parametrize(
    ("retriever", "why"),
    [
        (lambda q: (_ for _ in ()).throw(RuntimeError("index down")), "RuntimeError: index down"),
        (lambda q: "one passage", "TypeError: the retriever returned str; expected a list"),
        (lambda q: [{"title": "no content"}], "TypeError: the retriever's passage 0: expected"),
    ],
    ids=["raises", "not-a-list", "no-content"],
)
def test_a_failing_retriever_leaves_the_turn_without_passages(
    fake_bedrock: FakeBedrock, retriever: Any, why: str
) -> None:
    conv = fc_client(fake_bedrock).create_conversation(grounding=retriever)
    reply = conv.send("hi")
    assert reply.sources == []
    assert reply.grounding_error is not None and reply.grounding_error.startswith(why)
    assert opening(fake_bedrock) == [{"text": "hi"}]
    assert len(conv.messages) == 2


def test_a_slow_retriever_times_out_and_a_required_one_fails_the_turn(
    fake_bedrock: FakeBedrock,
) -> None:
    never = threading.Event()

    def stuck(query: str) -> list[str]:
        if query != "first":
            never.wait(30)
        return ["late"]

    conv = fc_client(fake_bedrock).create_conversation(grounding=Grounding(stuck, timeout=0.05))
    reply = conv.send("hi")
    assert reply.grounding_error == "TimeoutError: the retriever took over 0.05 s"
    assert reply.sources == []

    strict = fc_client(fake_bedrock).create_conversation(
        grounding=Grounding(stuck, timeout=0.05, required=True),
        messages=[
            {"role": "user", "content": [{"text": "first"}]},
            {"role": "assistant", "content": [{"text": "noted"}]},
        ],
    )
    before, sent = strict.messages, len(fake_bedrock.requests)
    with pytest.raises(errors.GroundingError, match="required: TimeoutError") as caught:
        strict.send("second")
    assert isinstance(caught.value, errors.HookError)
    assert strict.messages == before and len(fake_bedrock.requests) == sent  # no request
    with pytest.raises(errors.GroundingError):
        asyncio.run(strict.send_async("third"))
    assert strict.messages == before and not strict.busy
    never.set()


def test_empty_results_tool_result_turns_and_seen_passages(fake_bedrock: FakeBedrock) -> None:
    calls: list[str] = []

    def search(query: str) -> list[dict[str, str]]:
        calls.append(query)
        return [] if query == "nothing" else [{"content": "the policy", "source": "kb/policy"}]

    conv = fc_client(fake_bedrock).create_conversation(
        grounding=Grounding(search, skip_seen=True), tools=[{"toolSpec": _spec()}]
    )
    empty = conv.send("nothing")
    assert empty.sources == [] and empty.grounding_error is None
    assert opening(fake_bedrock) == [{"text": "nothing"}]

    assert [s.source for s in conv.send("policy?").sources] == ["kb/policy"]
    assert conv.send("policy again?").sources == []  # given before: left out

    fake_bedrock.enqueue_tool_use("lookup", {"q": "x"}, tool_use_id="t1")
    conv.send("use the tool")
    asked = len(calls)
    conv.send_tool_results({"t1": "done"})  # (answers tool calls: nothing to look up)
    assert len(calls) == asked


def _spec() -> dict[str, Any]:
    return {
        "name": "lookup",
        "description": "Looks up.",
        "inputSchema": {"json": {"type": "object", "properties": {"q": {"type": "string"}}}},
    }


def test_bad_grounding_arguments_are_refused(fake_bedrock: FakeBedrock) -> None:
    client = fc_client(fake_bedrock)
    with pytest.raises(TypeError, match="grounding: expected a callable, got int"):
        client.create_conversation(grounding=42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="top_k: expected a whole number of at least 1"):
        Grounding(lambda q: [], top_k=0)
    with pytest.raises(ValueError, match="timeout: expected seconds > 0 or None"):
        Grounding(lambda q: [], timeout=-1)


def test_the_knowledge_grounded_example(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "knowledge_grounded.py"), "--fake"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    # BM25 over examples/knowledge/ ranks the file that answers each question first.
    firsts = [lines[i + 2] for i, line in enumerate(lines) if line.startswith("customer:")]
    assert [f.split()[1] for f in firsts] == ["warranty.txt", "returns.txt", "tents.txt"]
    assert lines[-1] == "kept in the history: [{'text': 'How long is the warranty on a tent?'}]"


def test_grounding_and_hooks_reopen_a_stored_conversation(
    fake_bedrock: FakeBedrock, tmp_path: Path
) -> None:
    from fastconverse import SQLiteStore

    def search(query: str) -> list[str]:
        return [f"kb says {query}"]

    class Count:
        turns = 0

        def on_commit(self, event: Any) -> None:
            Count.turns += 1

    first = fc_client(fake_bedrock, store=SQLiteStore(tmp_path / "c.db"))
    conv = first.create_conversation(grounding=search)
    conv.send("one")
    # Code is not stored: another worker gives it again when it reopens the conversation.
    other = fc_client(fake_bedrock, store=SQLiteStore(tmp_path / "c.db"))
    again = other.get_conversation(conv.id, grounding=search, hooks=[Count()])
    assert again.send("two").sources[0].content == "kb says two"
    assert Count.turns == 1
    # Given for a conversation the client holds: they join its hooks (once).
    counter = Count()
    held = other.get_conversation(conv.id, hooks=[counter])
    assert other.get_conversation(conv.id, hooks=[counter]) is held is again
    held.send("three")
    assert Count.turns == 3  # (the first Count, and the one added)
    with pytest.raises(TypeError, match="grounding: expected a callable"):
        other.get_conversation(conv.id, grounding="not a retriever")


def test_two_groundings_number_apart_and_seen_passages_count_once_kept(
    fake_bedrock: FakeBedrock,
) -> None:
    client = fc_client(fake_bedrock, hooks=[Grounding(lambda q: [{"content": "from the client"}])])
    conv = client.create_conversation(
        grounding=Grounding(lambda q: [{"content": "policy", "source": "kb/p"}], skip_seen=True)
    )
    reply = conv.send("hi")
    assert [(s.index, s.content) for s in reply.sources] == [
        (1, "from the client"),
        (2, "policy"),
    ]
    passages = opening(fake_bedrock)
    assert "[1]\nfrom the client" in passages[0]["text"]
    assert "[2] (kb/p)\npolicy" in passages[1]["text"]
    assert conv.send("again").sources[1:] == []  # (kept once: not given again)

    # A failed turn's passages were never kept: the next turn still gets them.
    fresh = fc_client(fake_bedrock, max_attempts=1).create_conversation(
        grounding=Grounding(lambda q: [{"content": "policy", "source": "kb/p"}], skip_seen=True)
    )
    fake_bedrock.enqueue_error("ThrottlingException", "slow down")
    with pytest.raises(errors.ThrottlingError):
        fresh.send("hi")
    assert [s.source for s in fresh.send("hi").sources] == ["kb/p"]


def test_the_tutorials_knowledge_base_ports_in_one_line(fake_bedrock: FakeBedrock) -> None:
    class KnowledgeBase:  # (the tutorial's shape: id, title, content, relevance_score)
        def search(self, query: str, limit: int = 5) -> list[dict[str, Any]]:
            hits = [
                {"id": f"doc-{i}", "title": f"On {query}", "content": f"Fact {i} about {query}"}
                for i in range(5)
            ]
            return [{**h, "relevance_score": 0.9 - i / 10} for i, h in enumerate(hits)][:limit]

    kb = KnowledgeBase()
    client = fc_client(fake_bedrock)
    conv = client.create_conversation(
        "Use the passages.", grounding=lambda q: kb.search(q, limit=3)
    )
    client.send_message(conv.id, "returns")
    sources = conv.last_reply.sources if conv.last_reply is not None else []
    assert [(s.index, s.source, s.score) for s in sources] == [
        (1, "doc-0", 0.9),
        (2, "doc-1", 0.8),
        (3, "doc-2", 0.7),
    ]


def test_retrievals_left_running_are_capped_and_counted_down_as_they_end(
    fake_bedrock: FakeBedrock,
) -> None:
    from fastconverse.grounding import MAX_OVERRUNNING

    release = threading.Event()
    ended = threading.Semaphore(0)

    def hangs(query: str) -> list[str]:
        try:
            if query.startswith("hang"):
                release.wait()
            return [f"passage for {query}"]
        finally:
            ended.release()

    grounding = Grounding(hangs, timeout=0.01)
    conv = fc_client(fake_bedrock).create_conversation(grounding=grounding)
    earlier = set(threading.enumerate())
    for i in range(MAX_OVERRUNNING):
        assert conv.send(f"hang {i}").grounding_error == (
            "TimeoutError: the retriever took over 0.01 s"
        )
    # one more would be left behind too: the turn goes on without passages, and no thread
    started = threading.active_count()
    reply = conv.send("hang again")
    assert (
        reply.grounding_error is not None
        and f"{MAX_OVERRUNNING} earlier retrievals still run" in reply.grounding_error
    )
    assert threading.active_count() == started and reply.sources == []

    async def in_a_loop() -> Any:  # (the executor path counts the same)
        return await conv.send_async("hang in a loop")

    assert "still run past their timeout" in asyncio.run(in_a_loop()).grounding_error
    release.set()
    for _ in range(MAX_OVERRUNNING):
        ended.acquire()  # (each left thread has ended...)
    for thread in set(threading.enumerate()) - earlier:
        if thread.name == "fastconverse-grounding":
            thread.join()  # (... and let its count go)
    reply = conv.send("fine now")
    assert reply.grounding_error is None and [s.content for s in reply.sources] == [
        "passage for fine now"
    ]


def test_with_citations_the_passages_go_as_search_results_the_model_cites(
    fake_bedrock: FakeBedrock,
) -> None:
    def search(query: str) -> list[dict[str, str]]:
        return [
            {
                "content": "The tent is waterproof to 3000 mm.",
                "title": "Tent manual",
                "source": "kb://tent",
            },
            {"content": "Poles are aluminium.", "title": "  "},
            {"content": "   ", "title": "blank"},  # (no text: left out, Bedrock refuses it)
        ]

    conv = fc_client(fake_bedrock).create_conversation(grounding=Grounding(search, citations=True))
    reply = conv.send("Is the tent waterproof?")
    first = fake_bedrock.requests[0].body["messages"][0]["content"]
    assert first[0] == {
        "searchResult": {
            "source": "kb://tent",
            "title": "Tent manual",
            "content": [{"text": "The tent is waterproof to 3000 mm."}],
            "citations": {"enabled": True},
        }
    }
    assert first[1]["searchResult"]["source"] == "passage 2"  # (named by number otherwise)
    assert first[1]["searchResult"]["title"] == "Passage 2"
    assert first[2] == {"text": "Is the tent waterproof?"}
    (cited,) = reply.citations
    assert (
        cited.kind == "searchResultLocation" and cited.quote == "The tent is waterproof to 3000 mm."
    )
    assert [s.source for s in reply.sources] == ["kb://tent", None]  # (not the blank one)
    # the passages are not kept; the cited answer is, and goes back as it came
    assert conv.messages[0] == {"role": "user", "content": [{"text": "Is the tent waterproof?"}]}
    conv.send("thanks")
    assert fake_bedrock.requests[-1].body["messages"][1] == conv.messages[1]
    with pytest.raises(TypeError, match="citations: expected True or False"):
        Grounding(search, citations="yes")  # type: ignore[arg-type]
