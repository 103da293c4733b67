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


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return number


def _count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 0, got {value!r}")
    return number


def _temperature(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0.0 <= number <= 1.0:  # also rejects nan
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {value!r}")
    return number


def _variable(value: str) -> tuple[str, str]:
    name, sep, text = value.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {value!r}")
    return name, text


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level(value: str) -> str:
    if value.upper() not in _LOG_LEVELS:
        raise argparse.ArgumentTypeError(
            f"expected one of {', '.join(_LOG_LEVELS)} (any case), got {value!r}"
        )
    return value.upper()


def _chat_conflicts(args: argparse.Namespace) -> str | None:
    """What is wrong with this combination of options, if anything."""
    if args.fake and (args.endpoint_url or args.profile):
        return "--fake cannot be combined with --endpoint-url or --profile"
    if args.template is not None and args.system is not None:
        return "--template and --system both set the system prompt: give one"
    if args.var and args.template is None:
        return "--var fills in the fields of a --template: give one"
    names = [name for name, _ in args.var]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        return f"--var: {', '.join(twice)} given more than once"
    if args.conversation is not None:
        if args.store is None:
            return "--conversation continues a conversation kept in a --store: give one"
        settings = [
            option
            for option, value in (
                ("--system", args.system),
                ("--template", args.template),
                ("--max-tokens", args.max_tokens),
                ("--temperature", args.temperature),
            )
            if value is not None
        ]
        if settings:
            return (
                f"--conversation keeps the settings it was created with; leave out "
                f"{', '.join(settings)}"
            )
    return None


def _chat(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from fastconverse.chat import ChatOptions, run

    conflict = _chat_conflicts(args)
    if conflict is not None:
        parser.error(conflict)
    return run(
        ChatOptions(
            model=args.model,
            system=args.system,
            region=args.region,
            profile=args.profile,
            endpoint_url=args.endpoint_url,
            max_tokens=args.max_tokens,
            temperature=args.temperature,
            max_attempts=args.max_attempts,
            resume=args.resume,
            fake=args.fake,
            template=args.template,
            variables=tuple(args.var),
            tools=tuple(args.tools),
            store=args.store,
            conversation=args.conversation,
            log_level=args.log_level,
            prices=args.prices,
        )
    )


def _add_chat(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    from fastconverse.chat import DEFAULT_MODEL, MODEL_ENV

    chat = commands.add_parser(
        "chat",
        help="chat with a model in the terminal, replies streamed",
        description="Chat with a Bedrock model; replies stream as they are generated. "
        "With piped input each line is one turn and only the replies go to stdout.",
        epilog="Commands: /reset /usage /history /cost /save [PATH] /model [NAME] /help "
        "/exit. At a terminal replies show as Markdown when rich is installed "
        "(pip install 'fastconverse[chat]'). Exit status: 0, 1 when a piped turn failed, "
        "2 for bad options or no usable region.",
    )
    chat.add_argument(
        "--model",
        metavar="MODEL_ID",
        help=f"model or inference profile id (default: ${MODEL_ENV} or {DEFAULT_MODEL}; "
        "with --conversation, the conversation's own)",
    )
    chat.add_argument("--system", metavar="TEXT", help="system prompt")
    chat.add_argument("--region", help="AWS region (default: AWS_REGION or the profile's)")
    chat.add_argument("--profile", help="AWS shared-config profile (SSO profiles included)")
    chat.add_argument("--endpoint-url", metavar="URL", help="another endpoint, e.g. FakeBedrock's")
    chat.add_argument("--max-tokens", type=_positive_int, metavar="N", help="reply length limit")
    chat.add_argument("--temperature", type=_temperature, metavar="T", help="0 to 1")
    chat.add_argument(
        "--max-attempts",
        type=_positive_int,
        default=3,
        metavar="N",
        help="attempts per turn, retries of throttling and the like included (default: 3)",
    )
    chat.add_argument(
        "--resume",
        type=_count,
        default=2,
        metavar="N",
        help="times a reply cut midway is continued where it stopped (default: 2; 0: never)",
    )
    chat.add_argument(
        "--fake",
        action="store_true",
        help="start FakeBedrock in this process and chat with it: no AWS account needed",
    )
    chat.add_argument(
        "--template",
        metavar="NAME_OR_FILE_OR_MODULE:ATTR",
        help="the system prompt as a fastconverse.Template: a built-in template's name "
        "(customer_service, technical_expert, educational_tutor), a file holding its text, "
        "or module:attr naming a Template or a str (a file that exists wins)",
    )
    chat.add_argument(
        "--var",
        type=_variable,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="fill in the template's field NAME (repeatable; each field needs one)",
    )
    chat.add_argument(
        "--tools",
        action="append",
        default=[],
        metavar="MODULE:ATTR",
        help="tools the model may call: a @tool function, a typed function or a list of "
        "them, imported from MODULE (repeatable; the current folder is searched first)",
    )
    chat.add_argument(
        "--store",
        metavar="PATH_OR_URL",
        help="keep the conversation in a SQLite file or a redis:// URL",
    )
    chat.add_argument(
        "--conversation",
        metavar="ID",
        help="continue the conversation with this id from --store (its id is shown when "
        "it starts, and by /save)",
    )
    chat.add_argument(
        "--log-level",
        type=_log_level,
        metavar="LEVEL",
        help="write the fastconverse logger's records from LEVEL up to stderr "
        "(DEBUG, INFO, WARNING, ERROR)",
    )
    chat.add_argument(
        "--prices",
        metavar="FILE",
        help='JSON prices for /cost: {"MODEL_ID": {"input": 0.0008, "output": 0.004}}, '
        "dollars per 1,000 tokens (cache_read and cache_write too, when used)",
    )
    return chat


def _serve(args: argparse.Namespace) -> int:
    from fastconverse.testing import FakeBedrock

    fake = FakeBedrock(
        host=args.host,
        port=args.port,
        credentials=args.credentials or None,
        api_keys=args.api_key or None,
        models=args.model or None,
        context_windows=dict(args.context_window) or None,
        max_recorded=args.max_recorded,
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
    chat = _add_chat(commands)
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
    serve.add_argument(
        "--max-recorded",
        type=int,
        default=1000,
        help="received requests kept in memory (the newest; default 1000)",
    )
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
    if args.command == "chat":
        return _chat(args, chat)
    if args.command == "serve":
        return _serve(args)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
