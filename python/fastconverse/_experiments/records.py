"""What an experiment keeps of each of its conversations, and the hook that gathers it.

The figures live in the conversation's own metadata (``metadata["experiment_figures"]``,
beside ``"experiment"`` and ``"variant"``): a store keeps metadata with the conversation and
``list_conversations(metadata={"experiment": name})`` finds them, so every process that
shares the store sees every conversation's figures, and the figures go where the
conversation goes (deleted with it, expired with it by a Redis ``ttl``).

The hook counts what each request and turn reports (``after_response``, ``on_commit``,
``on_failure``) into a pending delta per conversation, and writes it at the end of each
turn: the store's newest metadata, plus the delta. A write that cannot happen now (the store
is down, a turn is under way) keeps the delta for the next one.
"""

from __future__ import annotations

import weakref
from _thread import allocate_lock

from fastconverse import _core
from fastconverse.errors import ConversationBusyError, ConversationConflictError, ConverseError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    from fastconverse.conversation import Conversation
    from fastconverse.hooks import Response, TurnCommitted, TurnFailed

EXPERIMENT = "experiment"
VARIANT = "variant"
FIGURES = "experiment_figures"
# Samples kept per list and conversation (the newest): a conversation's record stays a few
# tens of kilobytes however long it runs.
MAX_SAMPLES = 1000
_COUNTS = ("turns", "failed", "requests", "throttles")
_SAMPLES = ("latency", "ttft", "input_tokens", "output_tokens", "feedback")
_TALLIES = ("stop_reasons", "error_codes")


def new_figures() -> dict[str, Any]:
    figures: dict[str, Any] = dict.fromkeys(_COUNTS, 0)
    figures.update({name: [] for name in _SAMPLES})
    figures.update({name: {} for name in _TALLIES})
    figures["usage"] = {}
    return figures


def merged(record: Any, delta: Mapping[str, Any], usage: Any = None) -> dict[str, Any]:
    """``record`` (as stored: anything a store gave back) with ``delta`` added; ``usage``
    (the conversation's tokens by model, when known) replaces the stored one."""
    out = new_figures()
    if isinstance(record, dict):
        for name in _COUNTS:
            if isinstance(record.get(name), int):
                out[name] = record[name]
        for name in _SAMPLES:
            if isinstance(record.get(name), list):
                out[name] = [x for x in record[name] if isinstance(x, (int, float))]
        for name in _TALLIES:
            if isinstance(record.get(name), dict):
                out[name] = {str(k): v for k, v in record[name].items() if isinstance(v, int)}
        if isinstance(record.get("usage"), dict):
            out["usage"] = record["usage"]
    for name in _COUNTS:
        out[name] += delta[name]
    for name in _SAMPLES:
        out[name] = (out[name] + delta[name])[-MAX_SAMPLES:]
    for name in _TALLIES:
        for key, n in delta[name].items():
            out[name][key] = out[name].get(key, 0) + n
    if usage is not None:
        out["usage"] = usage
    return out


def usage_json(by_model: Mapping[str, _core.Usage]) -> dict[str, list[int]]:
    return {
        model: [
            u.input_tokens,
            u.output_tokens,
            u.cache_read_input_tokens,
            u.cache_write_input_tokens,
        ]
        for model, u in by_model.items()
    }


def usage_of(figures: Mapping[str, Any]) -> dict[str, _core.Usage]:
    """The stored tokens by model as ``Usage`` objects (what ``cost`` takes)."""
    out = {}
    for model, counts in figures.get("usage", {}).items():
        if isinstance(counts, list) and len(counts) == 4:
            i, o, r, w = (int(c) for c in counts)
            out[str(model)] = _core.Usage(i, o, None, r, w)
    return out


def write(conv: Conversation, delta: Mapping[str, Any], *, usage: bool) -> dict[str, Any] | None:
    """Adds ``delta`` to the conversation's stored figures (with its usage now, when
    ``usage``): the figures written, or None while a turn is under way. A store that
    refuses the write raises its error."""
    for _ in range(5):
        conv._core.sync()  # (the store's newest metadata: another process may have added)
        metadata = conv.metadata
        figures = merged(
            metadata.get(FIGURES), delta, usage_json(conv.usage_by_model) if usage else None
        )
        metadata[FIGURES] = figures
        try:
            conv.metadata = metadata
        except ConversationConflictError:
            continue  # (another process wrote meanwhile: add to what it wrote)
        except ConversationBusyError:
            return None
        return figures
    raise ConversationConflictError(
        f"experiment figures of {conv.id!r}: the store changed at each of 5 writes"
    )


class FiguresHook:
    """The hook an experiment gives its conversations. ``written(conv, figures)`` hears
    each write (the experiment keeps them when there is no store)."""

    def __init__(self, written: Callable[[Conversation, dict[str, Any]], None]) -> None:
        self._written = written
        self._lock = allocate_lock()
        # (weakly: a stream dropped before its end reports neither commit nor failure)
        self._pending: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()

    def _delta(self, conv: Any) -> dict[str, Any]:
        with self._lock:
            delta = self._pending.get(conv)
            if delta is None:
                delta = self._pending[conv] = new_figures()
            return delta

    def add_feedback(self, conv: Conversation, score: float) -> None:
        """Feedback for a conversation: written now, or with its turn when one is under way."""
        delta = new_figures()
        delta["feedback"].append(score)
        if conv.busy or write(conv, delta, usage=False) is None:
            self._delta(conv)["feedback"].append(score)
        else:
            self._written(conv, conv.metadata[FIGURES])

    def after_response(self, event: Response) -> None:
        if event.kind != "turn":  # (a summary's request is the memory policy's, not the prompt's)
            return
        delta = self._delta(event.conversation)
        delta["requests"] += 1
        throttled = [r for r in event.retries if r.reason == "ThrottlingException"]
        delta["throttles"] += len(throttled) + (event.error_code == "ThrottlingException")
        if event.error_code is not None:
            codes = delta["error_codes"]
            codes[event.error_code] = codes.get(event.error_code, 0) + 1
        elif event.error is None and event.elapsed is not None:
            delta["latency"].append(round(event.elapsed, 6))
            if event.time_to_first_token is not None:
                delta["ttft"].append(round(event.time_to_first_token, 6))

    def on_commit(self, event: TurnCommitted) -> None:
        delta = self._delta(event.conversation)
        delta["turns"] += 1
        reply = event.reply
        stops = delta["stop_reasons"]
        stops[reply.stop_reason] = stops.get(reply.stop_reason, 0) + 1
        delta["input_tokens"].append(reply.usage.input_tokens)
        delta["output_tokens"].append(reply.usage.output_tokens)
        self._flush(event.conversation)

    def on_failure(self, event: TurnFailed) -> None:
        if isinstance(event.error, Exception):  # (a cancellation or Ctrl-C is no error)
            self._delta(event.conversation)["failed"] += 1
        self._flush(event.conversation)

    def _flush(self, conv: Any) -> None:
        with self._lock:
            delta = self._pending.pop(conv, None)
        if delta is None:
            return
        try:
            figures = write(conv, delta, usage=True)
        except ConverseError:  # (the store is down: the turn's own write failed as well)
            figures = None
        if figures is None:
            with self._lock:  # (kept: the next turn's write adds it)
                self._pending[conv] = merged(self._pending.get(conv), delta)
        else:
            self._written(conv, figures)
