"""``python -m fastconverse chat``: a streaming chat with a Bedrock model in the terminal.

At a terminal it prompts with ``you> `` and streams each reply as it arrives, rendered as
Markdown when ``rich`` is installed (``pip install 'fastconverse[chat]'``); tool calls show
as they happen. Ctrl-C stops a reply (the turn is dropped, the history stays as it was) and
Ctrl-C or Ctrl-D at the prompt exits. With piped input every non-empty line is one turn and
only the replies are written to stdout, as plain text, one per turn; notes (tool calls
included) and errors go to stderr. Lines starting with ``/`` are commands.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastconverse import Conversation, ConverseClient, errors
from fastconverse._chat import options as load
from fastconverse._chat.commands import Commands
from fastconverse._chat.output import make_output
from fastconverse._chat.session import Session

__all__ = ["DEFAULT_MODEL", "MODEL_ENV", "ChatOptions", "default_model", "run"]

DEFAULT_MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
MODEL_ENV = "FASTCONVERSE_MODEL"


def default_model() -> str:
    """``$FASTCONVERSE_MODEL`` when set, else Claude 3.5 Haiku's US inference profile."""
    return os.environ.get(MODEL_ENV) or DEFAULT_MODEL


@dataclass(frozen=True)
class ChatOptions:
    """Settings of one chat session (the command's options)."""

    model: str | None = None
    """None: ``default_model()`` for a new conversation; a continued one keeps its own."""
    system: str | None = None
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    max_attempts: int = 3
    resume: int = 2
    """How many times a reply cut midway is continued (the client's ``resume``)."""
    fake: bool = False
    template: str | None = None
    """A file holding a ``Template``'s text, or ``module:attr`` naming a Template or str:
    the system prompt, filled in from ``variables``."""
    variables: tuple[tuple[str, str], ...] = ()
    tools: tuple[str, ...] = ()
    """``module:attr`` references, each to a tool or a list of tools."""
    store: str | None = None
    """A SQLite file path or a ``redis://`` URL: the conversation outlives the process."""
    conversation: str | None = None
    """The id of a conversation in ``store`` to continue."""
    log_level: str | None = None
    prices: str | None = None
    """A JSON file of prices per 1,000 tokens by model, for /cost."""


def run(options: ChatOptions) -> int:
    """Runs the chat on stdin/stdout/stderr; returns the process exit code.

    0 when the chat ends normally, 1 when a piped turn failed, 2 when no client could be made
    (bad settings, no region, an option naming what cannot be loaded), 130 when piped input
    is interrupted with Ctrl-C.
    """
    _tolerant_streams()
    if options.log_level is not None:
        load.configure_logging(options.log_level)
    with contextlib.ExitStack() as cleanup:
        banner: list[str] = []
        try:
            prices = load.prices(options.prices) if options.prices is not None else None
            client, conv = _start(options, cleanup, banner)
        except (errors.ConverseError, ValueError, TypeError) as err:
            print(f"fastconverse chat: error: {err}", file=sys.stderr)
            if isinstance(err, errors.CredentialsError):
                print(
                    "fastconverse chat: the options --region and --profile choose where to "
                    "connect; --fake needs no AWS account",
                    file=sys.stderr,
                )
            return 2
        output = make_output(sys.stdout, sys.stderr)
        commands = Commands(client, conv, output, prices, options.store)
        interactive = sys.stdin.isatty()
        if not interactive:  # (at a terminal they open the banner)
            for line in banner:
                output.note(line)
        session = Session(conv, commands, output, sys.stdin, interactive)
        try:
            return session.loop(banner)
        except BrokenPipeError:
            # The reader of our stdout went away (e.g. `| head -1`): stop quietly. Pointing
            # stdout at devnull keeps Python's final flush from failing again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1


def _tolerant_streams() -> None:
    # A reply may hold characters the terminal's encoding lacks; stray input bytes may not
    # decode. Neither should end the session.
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")


def _start(
    options: ChatOptions, cleanup: contextlib.ExitStack, banner: list[str]
) -> tuple[ConverseClient, Conversation]:
    settings: dict[str, Any] = {
        "max_attempts": options.max_attempts,
        "resume": options.resume,
        "store": options.store,
    }
    model = options.model or default_model()
    if options.fake:
        from fastconverse.testing import FakeBedrock

        fake = cleanup.enter_context(FakeBedrock())
        print(
            f"--fake: talking to FakeBedrock at {fake.url}, started in this process "
            "(no AWS account needed; its default model echoes what you say)",
            file=sys.stderr,
        )
        client = ConverseClient(
            model,
            region_name=options.region or "us-east-1",
            endpoint_url=fake.url,
            aws_access_key_id="fake",
            aws_secret_access_key="fake",
            **settings,
        )
    else:
        client = ConverseClient(
            model,
            region_name=options.region,
            profile_name=options.profile,
            endpoint_url=options.endpoint_url,
            **settings,
        )
    tools = load.tools(options.tools) or None
    if options.conversation is not None:
        return client, _continued(client, options, tools, banner)
    inference: dict[str, int | float] = {}
    if options.max_tokens is not None:
        inference["maxTokens"] = options.max_tokens
    if options.temperature is not None:
        inference["temperature"] = options.temperature
    system: Any = options.system or None
    variables: Mapping[str, str] | None = None
    if options.template is not None:
        system = load.template(options.template)
        variables = dict(options.variables)
    try:
        conv = client.create_conversation(
            system, prompt_variables=variables, inference_config=inference or None, tools=tools
        )
    except ValueError as err:
        if variables is not None and str(err).startswith("prompt_variables"):
            raise ValueError(f"--var: {err}") from None
        raise
    if options.store is not None:
        banner.append(
            f"(conversation {conv.id}, kept in {options.store}; /save shows how to continue it)"
        )
    return client, conv


def _continued(
    client: ConverseClient, options: ChatOptions, tools: list[Any] | None, banner: list[str]
) -> Conversation:
    conversation_id = options.conversation
    assert conversation_id is not None
    try:
        conv = client.get_conversation(conversation_id, tools=tools)
    except KeyError:
        raise ValueError(
            f"--conversation {conversation_id}: no such conversation in {options.store}"
        ) from None
    except ValueError as err:
        hint = " (give them with --tools module:attr)" if str(err).startswith("tools:") else ""
        raise ValueError(f"--conversation {conversation_id}: {err}{hint}") from None
    if options.model is not None:
        conv.model_id = options.model
    count = len(conv)
    banner.append(
        f"(continuing conversation {conv.id} from {options.store}: "
        f"{count} message{'' if count == 1 else 's'})"
    )
    return conv
