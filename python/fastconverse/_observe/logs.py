"""Logging, as a hook: ``logging.getLogger("fastconverse")``.

INFO once per turn (model, conversation, request ids, time, tokens, stop reason, tools,
retries, the version stored); DEBUG once per request and per tool call; WARNING for what a
user should act on (a summary that failed, a prompt over the context window, a tool that
failed or timed out, a guardrail that intervened). Message text, tool inputs and results
are logged only on opt-in: ``ConverseClient(log_content=True)`` or the environment variable
``FASTCONVERSE_LOG_CONTENT=1``. Credentials never appear: nothing here reads them.

The hook is part of a turn only while the logger takes records (INFO, or WARNING once a
handler is set up; the conversation asks at each turn start), so a turn pays nothing for
logging that is off, and a program that never set logging up hears nothing from us. Records are made
on the caller's thread, as every hook runs; their times were measured where the work
happened (the native side's clock of each request).
"""

from __future__ import annotations

import logging
import os
import weakref
from typing import Any

from fastconverse.hooks import (
    Response,
    ToolCallResult,
    TurnCommitted,
    TurnFailed,
    TurnStart,
)

LOG = logging.getLogger("fastconverse")


def content_wanted(client_says: bool) -> bool:
    """Whether message text may go into records: the client's `log_content`, or the
    environment's ``FASTCONVERSE_LOG_CONTENT`` (1, true, yes)."""
    if client_says:
        return True
    return os.environ.get("FASTCONVERSE_LOG_CONTENT", "").lower() in ("1", "true", "yes")


def _error(error: BaseException, content: bool) -> str:
    """An error for a record: its class, and its text only on opt-in (a tool's error, a
    hook's, a structured output's may quote what the model or the user wrote). A service
    error's code says what the service refused without it."""
    name = type(error).__name__
    if content:
        return f"{name}: {error}"
    code = getattr(error, "code", None)
    return f"{name} ({code})" if code else name


def _clip(value: Any, limit: int = 2000) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


class _Turn:
    """What one turn's records gather before its INFO line."""

    __slots__ = ("request_ids", "requests", "retries", "seconds", "tools")

    def __init__(self) -> None:
        self.requests = 0
        self.request_ids: list[str] = []
        self.retries = 0
        self.seconds = 0.0
        self.tools: list[str] = []


class LogHook:
    """The hook that writes the records (one per client setting of `log_content`)."""

    def __init__(self, log_content: bool = False) -> None:
        self.log_content = log_content
        # A conversation runs one turn at a time: its turn's records, by the conversation.
        # (weakly: a stream closed early ends its turn with neither a commit nor a failure,
        # and what it left goes with its conversation, or at its next turn)
        self._turns: weakref.WeakKeyDictionary[Any, _Turn] = weakref.WeakKeyDictionary()

    def _turn(self, conversation: Any) -> _Turn:
        turn = self._turns.get(conversation)
        if turn is None:
            turn = self._turns[conversation] = _Turn()
        return turn

    def on_turn_start(self, event: TurnStart) -> None:
        self._turns[event.conversation] = _Turn()
        if event.message is not None and LOG.isEnabledFor(logging.DEBUG):
            conv = event.conversation
            if content_wanted(self.log_content):
                LOG.debug(
                    "turn starts: conversation=%s model=%s message=%s",
                    conv.id,
                    conv.model_id,
                    _clip(event.message["content"]),
                )
            else:
                LOG.debug("turn starts: conversation=%s model=%s", conv.id, conv.model_id)

    def after_response(self, event: Response) -> None:
        turn = self._turn(event.conversation)
        turn.requests += 1
        turn.seconds += event.elapsed or 0.0
        turn.retries += len(event.retries)
        if event.request_id:
            turn.request_ids.append(event.request_id)
        error = event.error
        content = content_wanted(self.log_content)
        if error is None and event.error_code is not None:
            # (the one failure a turn recovers from: a prompt over the context window)
            LOG.warning(
                "the prompt was over the context window of %s (%s): conversation=%s; "
                "the turn cut its history and sent it again",
                event.model_id,
                event.error_code,
                event.conversation.id,
            )
        if error is not None:
            name = type(error).__name__
            if event.kind == "summary":
                LOG.warning(
                    "a summary request failed (%s): conversation=%s model=%s; "
                    "the turn goes on without it",
                    _error(error, content),
                    event.conversation.id,
                    event.model_id,
                )
            elif name == "ContextWindowExceededError":
                LOG.warning(
                    "the prompt is over the context window of %s: conversation=%s "
                    "(a memory policy that cuts the history lets a turn recover)",
                    event.model_id,
                    event.conversation.id,
                )
        if LOG.isEnabledFor(logging.DEBUG):
            usage = event.usage
            LOG.debug(
                "request %s: conversation=%s model=%s request_id=%s %.3f s%s %s%s%s",
                event.kind,
                event.conversation.id,
                event.model_id,
                event.request_id,
                event.elapsed or 0.0,
                ""
                if event.time_to_first_token is None
                else f" (first token {event.time_to_first_token:.3f} s)",
                f"failed: {_error(error, content)}"
                if error is not None
                else f"stop={event.stop_reason}",
                ""
                if usage is None
                else f" tokens in={usage.input_tokens} out={usage.output_tokens}",
                "".join(f" retry({r.reason}, waited {r.waited:.3f} s)" for r in event.retries),
            )

    def after_tool_call(self, event: ToolCallResult) -> None:
        result = event.result
        self._turn(event.conversation).tools.append(result.name)
        if result.status == "error":
            # (what the model was told may quote its input: the text only on opt-in)
            told = (
                f": {result.error}"
                if content_wanted(self.log_content)
                else " (its error text may quote the input: log_content=True shows it)"
            )
            LOG.warning(
                "tool %s failed%s (conversation=%s tool_use_id=%s, %.3f s)",
                result.name,
                told,
                event.conversation.id,
                result.tool_use_id,
                result.duration,
            )
        elif LOG.isEnabledFor(logging.DEBUG):
            if content_wanted(self.log_content):
                LOG.debug(
                    "tool %s: %.3f s input=%s result=%s",
                    result.name,
                    result.duration,
                    _clip(result.input),
                    _clip(result.content),
                )
            else:
                LOG.debug("tool %s: %.3f s", result.name, result.duration)

    def on_commit(self, event: TurnCommitted) -> None:
        turn = self._turns.pop(event.conversation, None) or _Turn()
        reply, conv = event.reply, event.conversation
        usage = reply.usage
        cache = ""
        if usage.cache_read_input_tokens or usage.cache_write_input_tokens:
            cache = (
                f" cache_read={usage.cache_read_input_tokens}"
                f" cache_write={usage.cache_write_input_tokens}"
            )
        LOG.info(
            "turn: conversation=%s model=%s requests=%d request_ids=%s %.3f s "
            "tokens in=%d out=%d%s stop=%s tools=%s retries=%d%s",
            conv.id,
            reply.model_id,
            turn.requests,
            ",".join(turn.request_ids) or "-",
            turn.seconds,
            usage.input_tokens,
            usage.output_tokens,
            cache,
            reply.stop_reason,
            ",".join(turn.tools) or "-",
            turn.retries,
            "" if event.version is None else f" version={event.version}",
        )
        if reply.stop_reason == "guardrail_intervened":
            LOG.warning("a guardrail intervened: conversation=%s model=%s", conv.id, reply.model_id)
        if content_wanted(self.log_content) and LOG.isEnabledFor(logging.DEBUG):
            LOG.debug("reply: conversation=%s text=%s", conv.id, _clip(reply.text))

    def on_failure(self, event: TurnFailed) -> None:
        turn = self._turns.pop(event.conversation, None) or _Turn()
        LOG.info(
            "turn failed: conversation=%s model=%s requests=%d request_ids=%s %s "
            "(the history is as it was)",
            event.conversation.id,
            event.conversation.model_id,
            turn.requests,
            ",".join(turn.request_ids) or "-",
            _error(event.error, content_wanted(self.log_content)),
        )


_HOOKS: dict[bool, LogHook] = {}


def log_hook(log_content: bool) -> LogHook:
    """The log's hook (one per setting of `log_content`)."""
    log = _HOOKS.get(log_content)
    if log is None:
        log = _HOOKS[log_content] = LogHook(log_content)
    return log
