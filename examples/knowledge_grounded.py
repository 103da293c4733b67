"""A support assistant that answers from a folder of documents (knowledge grounding).

The retriever is BM25 over the paragraphs of ``examples/knowledge/*.txt`` (the ``bm25s``
package: ``pip install bm25s``). For each user message the best passages go to the model
with it, numbered so that the answer can cite them; ``reply.sources`` lists them, and the
history keeps only what the user wrote.

    python examples/knowledge_grounded.py             # offline, FakeBedrock (--fake)
    python examples/knowledge_grounded.py --aws       # Amazon Bedrock
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import bm25s  # type: ignore[import-untyped]
from example_support import parse_args, run
from fastconverse import ConverseClient, Grounding, Source
from fastconverse.testing import FakeBedrock

KNOWLEDGE = Path(__file__).resolve().parent / "knowledge"
QUESTIONS = [
    "How long is the warranty on a tent?",
    "Can I send back boots I never wore?",
    "Is the Ridge 2 waterproof?",
]
# What the fake model says (it reads no passages): a real model writes these itself.
SCRIPTED = [
    "Tents have a two-year warranty from the date on your receipt [1].",
    "Yes: unused items can be returned within 30 days for a full refund [1].",
    "Yes, its flysheet is waterproof to 3000 mm and the floor to 5000 mm [1].",
]


class FolderIndex:
    """BM25 over the paragraphs of the text files in a folder."""

    def __init__(self, folder: Path) -> None:
        self.passages: list[Source] = []
        for path in sorted(folder.glob("*.txt")):
            title, _, body = path.read_text(encoding="utf-8").partition("\n\n")
            for paragraph in body.split("\n\n"):
                text = " ".join(paragraph.split())
                if text:
                    self.passages.append(Source(text, title=title.strip(), source=path.name))
        self.bm25 = bm25s.BM25()
        self.bm25.index(self._tokens([p.content for p in self.passages]), show_progress=False)

    @staticmethod
    def _tokens(texts: list[str]) -> Any:
        return bm25s.tokenize(texts, stopwords="en", show_progress=False)

    def search(self, query: str) -> list[Source]:
        k = min(3, len(self.passages))
        found, scores = self.bm25.retrieve(self._tokens([query]), k=k, show_progress=False)
        return [
            Source(
                self.passages[i].content,
                title=self.passages[i].title,
                source=self.passages[i].source,
                score=float(score),
            )
            for i, score in zip(found[0], scores[0])
            if score > 0
        ]


def script(fake: FakeBedrock) -> None:
    for text in SCRIPTED:
        fake.enqueue_text(text)


def main(client: ConverseClient) -> None:
    index = FolderIndex(KNOWLEDGE)
    conv = client.create_conversation(
        "You answer customers of Trailhead Gear from the numbered passages given with each "
        "message, citing them like [1]. If they do not say, say you do not know.",
        grounding=Grounding(index.search, top_k=2),
    )
    for question in QUESTIONS:
        reply = conv.send(question)
        print(f"customer:  {question}")
        print(f"assistant: {reply.text}")
        for source in reply.sources:
            print(f"  [{source.index}] {source.source} ({source.title}, score {source.score:.2f})")
    kept = conv.messages[0]["content"]
    print(f"kept in the history: {kept}")


def cli(argv: Sequence[str] | None = None) -> int:
    return run(main, parse_args(__doc__, argv), script)


if __name__ == "__main__":
    sys.exit(cli())
