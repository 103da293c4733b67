"""``python -m fastconverse``: command-line entry points."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence


def _credentials(value: str) -> tuple[str, str]:
    key, sep, secret = value.partition(":")
    if not sep or not key or not secret:
        raise argparse.ArgumentTypeError("expected ACCESS_KEY_ID:SECRET_ACCESS_KEY")
    return key, secret


def _window(value: str) -> tuple[str, int]:
    model, sep, tokens = value.rpartition("=")
    if not sep or not model or not tokens.isdigit():
        raise argparse.ArgumentTypeError("expected MODEL_ID=TOKENS")
    return model, int(tokens)


def _serve(args: argparse.Namespace) -> int:
    from fastconverse.testing import FakeBedrock

    fake = FakeBedrock(
        host=args.host,
        port=args.port,
        credentials=args.credentials or None,
        api_keys=args.api_key or None,
        models=args.model or None,
        context_windows=dict(args.context_window) or None,
    )
    print(f"FakeBedrock listening on {fake.url}", flush=True)
    print("Point a client at it with endpoint_url; Ctrl-C stops it.", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    fake.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fastconverse")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run FakeBedrock, a local Bedrock Runtime")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    serve.add_argument(
        "--credentials",
        type=_credentials,
        action="append",
        metavar="KEY:SECRET",
        help="verify SigV4 signatures made with these credentials (repeatable)",
    )
    serve.add_argument("--api-key", action="append", help="accept this Bearer API key")
    serve.add_argument("--model", action="append", help="serve only these model ids")
    serve.add_argument(
        "--context-window",
        type=_window,
        action="append",
        default=[],
        metavar="MODEL=TOKENS",
        help="context window of a model",
    )
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
