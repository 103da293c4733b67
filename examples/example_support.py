"""What the example scripts share: their command line and a client of Bedrock or FakeBedrock.

Each example runs offline by default (``--fake``) against ``FakeBedrock``, which plays the
replies the example scripts; ``--aws`` (or ``FASTCONVERSE_EXAMPLES_AWS=1``) talks to Amazon
Bedrock with your usual AWS credentials instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from fastconverse import Conversation, ConverseClient, Reply, TextDelta, ToolResult, errors
from fastconverse.testing import FakeBedrock

DEFAULT_MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"


def parse_args(description: str | None, argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--fake",
        dest="aws",
        action="store_false",
        help="use a local FakeBedrock with scripted replies (the default)",
    )
    where.add_argument("--aws", dest="aws", action="store_true", help="call Amazon Bedrock")
    parser.set_defaults(aws=os.environ.get("FASTCONVERSE_EXAMPLES_AWS") == "1")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model or inference profile id")
    return parser.parse_args(argv)


@contextmanager
def open_client(
    args: argparse.Namespace, script: Callable[[FakeBedrock], None]
) -> Iterator[ConverseClient]:
    """A client of Amazon Bedrock (``--aws``), or of a FakeBedrock that ``script`` set up."""
    if args.aws:
        yield ConverseClient(args.model, region_name=args.region)
        return
    with FakeBedrock() as fake:
        script(fake)
        yield ConverseClient(
            args.model,
            endpoint_url=fake.url,
            region_name=args.region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )


def stream_turn(conv: Conversation, text: str, who: str = "user") -> Reply:
    """Sends one turn and prints it as it streams, tool calls included."""
    print(f"{who}: {text}")
    line_open = False
    with conv.stream(text) as stream:
        for event in stream:
            if isinstance(event, TextDelta):
                if not line_open:
                    print("assistant: ", end="")
                    line_open = True
                print(event.text, end="", flush=True)
            elif isinstance(event, ToolResult):
                if line_open:
                    print()
                    line_open = False
                print(f"  [{describe_call(event)}]", flush=True)
        reply = stream.reply
    if line_open:
        print()
    return reply


def describe_call(result: ToolResult) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in sorted(result.input.items()))
    error = " ".join((result.error or "").split())
    outcome = "ok" if result.status == "success" else f"error: {error}"
    return f"{result.name}({args}) -> {outcome}"


def print_metrics(conv: Conversation) -> None:
    usage = conv.usage
    print(
        f"\n{len(conv)} messages; tokens: {usage.input_tokens} in, {usage.output_tokens} out, "
        f"{usage.total_tokens} total"
    )
    for name, stats in sorted(conv.tool_metrics.items()):
        print(f"tool {name}: {stats.calls} calls, {stats.errors} errors")


def run(
    main: Callable[[ConverseClient], int | None],
    args: argparse.Namespace,
    script: Callable[[FakeBedrock], None] = lambda fake: None,
) -> int:
    """Runs an example (its exit code: what ``main`` returns, else 0); AWS problems end it
    with a message and exit code 1."""
    try:
        with open_client(args, script) as client:
            code = main(client)
    except errors.CredentialsError as exc:
        print(f"\nNo AWS credentials: {exc}", file=sys.stderr)
        return 1
    except errors.AccessDeniedError as exc:
        print(f"\nAccess denied (is the model enabled in this region?): {exc}", file=sys.stderr)
        return 1
    except errors.ConverseError as exc:
        print(f"\nThe conversation failed: {exc}", file=sys.stderr)
        return 1
    return code or 0
