"""Logs and traces of a conversation with a tool: the `fastconverse` logger at INFO, and
OpenTelemetry spans collected in memory and printed as a tree (needs opentelemetry-sdk).

    python examples/observability.py            # offline, FakeBedrock (--fake)
    python examples/observability.py --aws --region us-west-2
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from example_support import parse_args, run
from fastconverse import ConverseClient, tool
from fastconverse.testing import FakeBedrock
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

SPANS = InMemorySpanExporter()


@tool
def opening_hours(day: str) -> str:
    """The shop's opening hours on a day of the week."""
    return "closed" if day.lower() == "sunday" else "9:00-18:00"


def script(fake: FakeBedrock) -> None:
    fake.enqueue_tool_use("opening_hours", {"day": "Saturday"})
    fake.enqueue_text("On Saturday we open 9:00-18:00.")


def print_tree(spans: Sequence[ReadableSpan]) -> None:
    """Each span under its parent, with its duration and a few attributes."""
    children: dict[int | None, list[ReadableSpan]] = {}
    ids = {s.context.span_id for s in spans}
    for s in sorted(spans, key=lambda s: s.start_time or 0):
        parent = s.parent.span_id if s.parent is not None else None
        children.setdefault(parent if parent in ids else None, []).append(s)

    def show(span: ReadableSpan, depth: int) -> None:
        attrs = span.attributes or {}
        ms = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
        tokens = ""
        if "gen_ai.usage.input_tokens" in attrs:
            used = (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"])
            tokens = f" tokens in={used[0]} out={used[1]}"
        print(f"{'  ' * depth}{span.name} [{span.kind.name}]{tokens} ({ms:.1f} ms)")
        for child in children.get(span.context.span_id, []):
            show(child, depth + 1)

    for root in children.get(None, []):
        show(root, 0)


def main(client: ConverseClient) -> None:
    conv = client.create_conversation("You are a shop assistant.", tools=[opening_hours])
    with trace.get_tracer("example").start_as_current_span("handle question"):
        reply = conv.send("When are you open on Saturday?")
    print(f"assistant: {reply.text}")
    print("\ntrace:")
    print_tree(SPANS.get_finished_spans())


def cli(argv: Sequence[str] | None = None) -> int:
    # Logs: one INFO line per turn (on stdout here, to show them beside the trace).
    logging.basicConfig(level=logging.INFO, format="log: %(message)s", stream=sys.stdout)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(SPANS))
    trace.set_tracer_provider(provider)
    return run(main, parse_args(__doc__, argv), script)


if __name__ == "__main__":
    sys.exit(cli())
