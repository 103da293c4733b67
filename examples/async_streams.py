"""Several conversations streamed at once, with asyncio.

Each support ticket gets its own conversation; ``asyncio.gather`` runs them together and
``async for`` reads each reply as it streams, so the deltas of different tickets can arrive
interleaved, all on one thread. A ticket that fails does not stop the others.

By default it runs offline against ``FakeBedrock``, whose default model answers
"You said: <question>" one word at a time. ``--aws`` (or ``FASTCONVERSE_EXAMPLES_AWS=1``)
talks to Amazon Bedrock instead::

    python examples/async_streams.py
    python examples/async_streams.py --aws --region us-east-1
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from example_support import parse_args, run
from fastconverse import ConverseClient, Reply, TextDelta, Usage, errors

SYSTEM_PROMPT = "You triage support tickets of an outdoor-gear shop. Reply in one sentence."

TICKETS = {
    "TH-1042": "My tent has not arrived yet.",
    "TH-1077": "The zip of my sleeping bag broke after two nights.",
    "TH-1101": "Can I change the size of the boots I ordered yesterday?",
}


async def stream_ticket(client: ConverseClient, ticket: str, question: str) -> Reply:
    """Streams the answer to one ticket, printing each text delta as it arrives."""
    conv = client.create_conversation(
        SYSTEM_PROMPT, conversation_id=ticket, inference_config={"maxTokens": 200}
    )
    stream = conv.stream(question)
    async for event in stream:
        if isinstance(event, TextDelta):
            print(f"  {ticket} +{event.text!r}", flush=True)
    return stream.reply


async def triage(client: ConverseClient) -> int:
    print(f"streaming {len(TICKETS)} conversations at once with {client.model_id}")
    results = await asyncio.gather(
        *(stream_ticket(client, ticket, question) for ticket, question in TICKETS.items()),
        return_exceptions=True,
    )

    failures = 0
    total = Usage()
    print()
    for ticket, result in zip(TICKETS, results):
        if isinstance(result, errors.ConverseError):
            failures += 1
            print(f"{ticket}: failed: {result}")
        elif isinstance(result, BaseException):
            raise result
        else:
            total += result.usage
            print(f"{ticket}: {result.text}")

    print(
        f"\n{len(TICKETS) - failures} tickets answered, {failures} failed; tokens: "
        f"{total.input_tokens} in, {total.output_tokens} out, {total.total_tokens} total"
    )
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args("Several conversations streamed at once.", argv)
    return run(lambda client: asyncio.run(triage(client)), args)


if __name__ == "__main__":
    sys.exit(main())
