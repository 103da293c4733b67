"""Hooks: one that logs each request's latency, tokens and retries, and one that grounds
each turn in a small FAQ by adding context the history never keeps.

    python examples/hooks.py            # offline, FakeBedrock (--fake)
    python examples/hooks.py --aws --region us-west-2
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from example_support import parse_args, run
from fastconverse import ConverseClient, Hook
from fastconverse.hooks import Response, TurnCommitted, TurnStart
from fastconverse.testing import FakeBedrock

FAQ = {
    "opening hours": "The shop opens 9:00-18:00, Monday to Saturday.",
    "returns": "Items can be returned within 30 days with the receipt.",
}


class LogLatency(Hook):
    """Prints one line per request and per committed turn."""

    def after_response(self, event: Response) -> None:
        tokens = event.usage.total_tokens if event.usage is not None else 0
        elapsed = (event.elapsed or 0.0) * 1000
        first = event.time_to_first_token
        ttft = f", first token {first * 1000:.0f} ms" if first is not None else ""
        n = len(event.retries)
        retries = f", {n} {'retry' if n == 1 else 'retries'}" if n else ""
        outcome = event.stop_reason if event.ok else f"failed: {event.error_code}"
        print(
            f"  [request {event.request_id}: {elapsed:.0f} ms{ttft}, {tokens} tokens"
            f"{retries}, {outcome}]"
        )

    def on_commit(self, event: TurnCommitted) -> None:
        print(f"  [turn committed: {len(event.messages)} messages added]")


class Grounding(Hook):
    """Adds the FAQ entries a question mentions, for this turn only."""

    def on_turn_start(self, event: TurnStart) -> None:
        message = event.message or {"content": []}
        text = " ".join(b.get("text", "") for b in message["content"]).lower()
        facts = [answer for topic, answer in FAQ.items() if topic.split()[0] in text]
        if facts:
            event.add_context("Use these facts if they help:\n" + "\n".join(facts))


def script(fake: FakeBedrock) -> None:
    fake.enqueue_error("ThrottlingException")  # retried inside the SDK, then reported
    fake.enqueue_text("We open at 9:00 and close at 18:00, Monday to Saturday.")
    fake.enqueue_text("Yes: within 30 days, with your receipt.")


def main(client: ConverseClient) -> None:
    conv = client.create_conversation(
        "You are a shop assistant. Be brief.", hooks=[LogLatency(), Grounding()]
    )
    for question in ["What are your opening hours?", "Can I make returns?"]:
        print(f"user: {question}")
        reply = conv.send(question)  # (the hooks print as the turn goes)
        print(f"assistant: {reply.text}")
    stored = conv.messages[0]["content"]
    print(f"\nThe history keeps only what the user wrote: {stored}")


def cli(argv: Sequence[str] | None = None) -> int:
    return run(main, parse_args(__doc__, argv), script)


if __name__ == "__main__":
    sys.exit(cli())
