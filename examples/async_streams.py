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

import argparse
import asyncio
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from fastconverse import ConverseClient, Reply, TextDelta, Usage, errors
from fastconverse.testing import FakeBedrock

DEFAULT_MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"

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


@contextmanager
def open_client(args: argparse.Namespace) -> Iterator[ConverseClient]:
    """A client of Amazon Bedrock (``--aws``), or of a local FakeBedrock."""
    if args.aws:
        yield ConverseClient(args.model, region_name=args.region)
        return
    with FakeBedrock() as fake:
        yield ConverseClient(
            args.model,
            endpoint_url=fake.url,
            region_name=args.region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )


async def run(args: argparse.Namespace) -> int:
    with open_client(args) as client:
        code = await triage(client)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Several conversations streamed at once.")
    parser.add_argument(
        "--aws",
        action="store_true",
        default=os.environ.get("FASTCONVERSE_EXAMPLES_AWS") == "1",
        help="call Amazon Bedrock (default: a local FakeBedrock)",
    )
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model or inference profile id")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(run(args))
    except errors.ConverseError as exc:
        print(f"failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
