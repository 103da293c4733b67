"""The one driver of a turn: ``steps`` walks the native turn machine (``_core._Turn``) and
the hooks around it, and says what to wait for; thin runners wait for it: ``run`` (a
``send``), ``run_async`` (``send_async``) and the two iterators of ``ReplyStream``.

``steps`` is a generator of operations (``REQUEST``, ``SUMMARY``, ``Tools``, ``CallHook``,
``Notify``, ``Show``); a runner does each and sends its result back, or throws its exception in. So
the order of a turn (turn start, each request with its hooks, tool rounds with theirs,
structured output's second try, commit) is written once, whatever the runner.
"""

from __future__ import annotations

import sys

from fastconverse import _core
from fastconverse._content.user_content import unique_result_names
from fastconverse.errors import HookError, TurnKeptInterrupt
from fastconverse.events import OutputRetry
from fastconverse.hooks import (
    Request,
    Response,
    ToolCall,
    ToolCallResult,
    TurnCommitted,
    TurnFailed,
    TurnStart,
)

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Sequence
    from typing import Any, Union

    from fastconverse._tools.structured import Output
    from fastconverse._tools.toolbox import ToolBox, _Outcome
    from fastconverse._turn.conversation_like import ConversationLike
    from fastconverse.hooks import Hooks

    Op = Union[int, "Tools", "CallHook", "Notify", "Show"]
    Steps = Generator[Op, Any, "_core.Reply"]
    Sub = Generator[Op, Any, None]

REQUEST = 0  # make the due request (a stream's runner streams it)
SUMMARY = 1  # make the due request, never streamed (a summary of older turns)


class Tools:
    """Run ``calls`` (toolUse dicts); ``done``: outcomes hooks answered already, which a
    stream reports as well. The runner sends back the outcomes of ``calls``, in order."""

    __slots__ = ("calls", "done")

    def __init__(self, calls: list[dict[str, Any]], done: list[_Outcome]) -> None:
        self.calls = calls
        self.done = done


class CallHook:
    """Call ``fn(event)`` (await it when it is a coroutine) and send back what it returned;
    an exception fails the turn as ``HookError``."""

    __slots__ = ("event", "fn")

    def __init__(self, fn: Callable[[Any], Any], event: Any) -> None:
        self.fn = fn
        self.event = event

    def failed(self, exc: BaseException) -> HookError:
        if isinstance(exc, HookError):  # (one of ours, e.g. GroundingError: as it is)
            return exc
        error = HookError(_name(self.fn), exc)
        error.__cause__ = exc
        return error


class Notify(CallHook):
    """Call ``fn(event)`` after the fact: what it raises changes nothing (it goes to
    ``sys.unraisablehook``); an async one in async code runs as a task of its own."""

    __slots__ = ()

    def unraisable(self, exc: BaseException) -> None:
        args = type("UnraisableHookArgs", (), {})()
        args.exc_type, args.exc_value, args.exc_traceback = type(exc), exc, exc.__traceback__
        args.err_msg = f"Exception ignored in hook {_name(self.fn)}"
        args.object = self.fn
        try:
            sys.unraisablehook(args)
        except Exception:
            # (CPython's own hook takes only its own argument type: print as it would)
            import traceback

            print(f"{args.err_msg}:", file=sys.stderr)
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)


class Show(CallHook):
    """An event only a stream shows (a structured output's retry): a stream's runner yields
    ``event``; ``send``'s runners call the hook, which does nothing."""

    __slots__ = ()

    def __init__(self, event: Any) -> None:
        super().__init__(_nothing, event)


def _nothing(event: Any) -> None:
    return None


def _name(fn: Callable[[Any], Any]) -> str:
    owner = getattr(fn, "__self__", None)
    name = getattr(fn, "__name__", repr(fn))
    return f"{type(owner).__name__}.{name}" if owner is not None else name


def steps(
    conv: ConversationLike,
    turn: _core._Turn,
    hooks: Hooks | None,
    box: ToolBox | None,
    history: Callable[[], list[dict[str, Any]]],
    wanted: Output | None = None,
) -> Steps:
    """The turn, from its start to its commit. ``history``: the messages a request carries
    besides the turn's own."""
    try:
        with turn:  # ends the turn however this ends; counts a failure in the metrics
            if hooks is not None and hooks.on_turn_start:
                yield from _turn_start(conv, turn, hooks)
            tries = 0
            while True:
                step = turn.next()
                if step is _core.REQUEST or step is _core.SUMMARY:
                    kind = "turn" if step is _core.REQUEST else "summary"
                    if hooks is not None and hooks.before_request:
                        yield from _before_request(conv, turn, hooks, kind)
                    try:
                        yield REQUEST if step is _core.REQUEST else SUMMARY
                    except Exception as error:
                        if hooks is not None and hooks.after_response:
                            yield from _after_response(conv, turn, hooks, kind, error)
                        raise
                    if hooks is not None and hooks.after_response:
                        yield from _after_response(conv, turn, hooks, kind, None)
                elif step is _core.DONE and wanted is not None and wanted.native:
                    # A native structured output: a valid answer ends the turn; an invalid
                    # one is answered with its errors, once (then StructuredOutputError).
                    added = turn.messages
                    waiting = _caller_calls(added)
                    if waiting:  # (the answer would come after the caller's results)
                        raise wanted.not_answered(waiting)
                    exchange = turn.last_exchange or {}
                    answer = wanted.check_text(added, str(exchange.get("stop_reason") or ""), tries)
                    if isinstance(answer, str):
                        turn.retry_output(answer)
                        tries += 1
                        yield Show(OutputRetry(tries, answer))
                        continue
                    turn.finish_output(answer[1], answer[0])
                    return _commit(conv, turn)
                elif type(step) is _core._RunTools and wanted is not None and not wanted.native:
                    # Structured output: a valid call ends the turn; an invalid one is
                    # answered with its errors, once (then StructuredOutputError).
                    checked = wanted.check(step.calls, tries)
                    if isinstance(checked, tuple):
                        value, text = checked
                        turn.finish_output(text, value)
                        return _commit(conv, turn)
                    turn.add_results(checked)
                    tries += 1
                    yield Show(OutputRetry(tries, checked[0]["toolResult"]["content"][0]["text"]))
                elif type(step) is _core._RunTools:
                    assert box is not None  # (the machine asks for tools only when there are)
                    outcomes = yield from _tool_round(conv, hooks, box, step.calls)
                    turn.add_results(result_blocks(outcomes, history))
                else:
                    # Note: the commit is the last step; its hooks run in the runner after
                    # `steps` returned (`committed`), so nothing can fail a kept turn.
                    return _commit(conv, turn)
    except BaseException as error:
        # (a stream closed, from another thread too, ends quietly: neither commit nor failure;
        # and a turn that was kept did not fail, whatever interrupted the caller after it)
        quiet = isinstance(error, GeneratorExit) or turn.closed or turn.committed
        if hooks is not None and hooks.on_failure and not quiet:
            event = TurnFailed(conv, error)
            for fn in hooks.on_failure:
                yield Notify(fn, event)
        raise


def _caller_calls(messages: list[dict[str, Any]]) -> list[str]:
    """The names of the tools the answer (the last of ``messages``) calls and the caller
    answers (``send_tool_results``): not a system tool's, which the service ran."""
    if not messages:
        return []
    uses = (b["toolUse"] for b in messages[-1]["content"] if "toolUse" in b)
    return [u["name"] for u in uses if u.get("type") != "server_tool_use"]


def _commit(conv: ConversationLike, turn: _core._Turn) -> _core.Reply:
    """The turn's commit. A Ctrl-C that came during the store write is raised from it with
    the turn kept: the caller hears both, as ``TurnKeptInterrupt``; the runner then runs
    the commit hooks as for any kept turn. (Another signal's exception, a SIGTERM handler's
    ``SystemExit``, goes through as it is, without hooks.)"""
    try:
        return turn.commit()
    except KeyboardInterrupt as interrupt:
        if not turn.committed:
            raise
        raise TurnKeptInterrupt(conv.last_reply) from interrupt


def with_turn(
    history: Callable[[], list[dict[str, Any]]], turn: _core._Turn
) -> Callable[[], list[dict[str, Any]]]:
    """The messages of the turn's next request: ``history`` and what the turn added."""
    return lambda: history() + turn.messages


def result_blocks(
    outcomes: Sequence[_Outcome], history: Callable[[], list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The toolResult blocks of a round, in tool-use order, their documents' names unique in
    the request (``history``: its other messages). Note: a ``ToolResult`` event already
    yielded keeps the name the tool gave."""
    return unique_result_names([o.event.to_dict() for o in outcomes], history)


def _turn_start(conv: ConversationLike, turn: _core._Turn, hooks: Hooks) -> Sub:
    added = turn.messages  # (empty while tool calls a results turn answers still run)
    event = TurnStart(conv, added[0] if added else None)
    for fn in hooks.on_turn_start:
        yield CallHook(fn, event)
    if event.context:
        turn.add_context(event.context)
    if event.sources or event.grounding_error is not None:
        turn.set_grounding(list(event.sources), event.grounding_error)


def _before_request(conv: ConversationLike, turn: _core._Turn, hooks: Hooks, kind: str) -> Sub:
    event = Request(conv, kind, turn.request_view())
    for fn in hooks.before_request:
        yield CallHook(fn, event)
    turn.set_request(event.to_dict())


def _after_response(
    conv: ConversationLike, turn: _core._Turn, hooks: Hooks, kind: str, error: BaseException | None
) -> Sub:
    facts = turn.last_exchange
    if facts is None:  # (it failed before it was sent: nothing to report)
        return
    event = Response(conv, kind, error, **facts)
    for fn in hooks.after_response:
        yield CallHook(fn, event)


def _tool_round(
    conv: ConversationLike, hooks: Hooks | None, box: ToolBox, calls: list[dict[str, Any]]
) -> Generator[Op, Any, list[_Outcome]]:
    """One round of calls with its hooks: the outcomes, in the calls' order."""
    if hooks is None or not (hooks.before_tool_call or hooks.after_tool_call):
        outcomes: list[_Outcome] = yield Tools(calls, [])
        return outcomes
    answered: dict[int, _Outcome] = {}
    to_run: list[dict[str, Any]] = []
    for i, call in enumerate(calls):
        event = ToolCall(conv, call)
        for before in hooks.before_tool_call:
            yield CallHook(before, event)
        if event.input is not call["input"]:
            call = dict(call, input=event.input)
        if event.answered:
            answered[i] = box.answered(call, event._answer)
        else:
            to_run.append(call)
    ran = iter((yield Tools(to_run, list(answered.values()))))
    outcomes = [answered[i] if i in answered else next(ran) for i in range(len(calls))]
    for outcome in outcomes:
        done = ToolCallResult(conv, outcome.event)
        for after in hooks.after_tool_call:
            yield CallHook(after, done)
    return outcomes


def committed(
    conv: ConversationLike, hooks: Hooks | None, reply: _core.Reply, in_loop: bool
) -> None:
    """Runs the ``on_commit`` hooks of a kept turn: never a failure of it. ``in_loop``: an
    async one runs as a task of its own (no await between a commit and its caller)."""
    if hooks is None or not hooks.on_commit:
        return
    event = TurnCommitted(conv, reply)
    for fn in hooks.on_commit:
        op = Notify(fn, event)
        if in_loop:
            _notify_in_loop(op)
        else:
            call_hook(op)


# --- the runners -------------------------------------------------------------------------------


def call_hook(op: CallHook) -> Any:
    """A hook's call in sync code: an ``async def`` hook runs on the private loop."""
    try:
        result = op.fn(op.event)
        if result is not None and hasattr(result, "__await__"):
            from fastconverse._tools.threads import run_coroutine

            result = run_coroutine(result)
    except Exception as exc:
        if isinstance(op, Notify):
            op.unraisable(exc)
            return None
        raise op.failed(exc) from exc
    return result


def _notify_in_loop(op: Notify) -> None:
    """A notification in async code, without suspending: an async hook is detached."""
    try:
        result = op.fn(op.event)
        if result is not None and hasattr(result, "__await__"):
            _detach(op, result)
    except Exception as exc:
        op.unraisable(exc)


async def call_hook_async(op: CallHook) -> Any:
    """A hook's call in async code: awaited, or (``Notify``) run as a task of its own."""
    if isinstance(op, Notify):
        _notify_in_loop(op)
        return None
    try:
        result = op.fn(op.event)
        if result is not None and hasattr(result, "__await__"):
            result = await result
    except Exception as exc:
        raise op.failed(exc) from exc
    return result


_detached: set[Any] = set()


def _detach(op: Notify, awaitable: Any) -> None:
    import asyncio

    async def run() -> None:
        try:
            await awaitable
        except Exception as exc:
            op.unraisable(exc)

    task = asyncio.ensure_future(run())
    _detached.add(task)  # (held until done: the loop keeps only weak references)
    task.add_done_callback(_detached.discard)


def run(steps: Steps, turn: _core._Turn, box: ToolBox | None) -> _core.Reply:
    """Drives ``steps`` in the caller's thread (GIL released while waiting, Ctrl-C aware)."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            op = steps.send(value) if error is None else steps.throw(error)
        except StopIteration as stop:
            reply: _core.Reply = stop.value
            return reply
        value = error = None
        try:
            if op is REQUEST or op is SUMMARY:
                turn.request()
            elif type(op) is Tools:
                assert box is not None
                outcomes: list[Any] = [None] * len(op.calls)
                for i, outcome in box.run(op.calls):
                    outcomes[i] = outcome
                value = outcomes
            else:
                value = call_hook(op)  # type: ignore[arg-type]
        except BaseException as exc:  # (thrown in: the turn's failure hooks see it)
            error = exc


async def run_async(steps: Steps, turn: _core._Turn, box: ToolBox | None) -> _core.Reply:
    """Drives ``steps`` in the awaiting task; a cancel aborts the request under way."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            op = steps.send(value) if error is None else steps.throw(error)
        except StopIteration as stop:
            # Note: no await between the commit and this return: a cancel lands before.
            reply: _core.Reply = stop.value
            return reply
        value = error = None
        try:
            if op is REQUEST or op is SUMMARY:
                await turn.request_async()
            elif type(op) is Tools:
                assert box is not None
                outcomes: list[Any] = [None] * len(op.calls)
                async for i, outcome in box.run_async(op.calls):
                    outcomes[i] = outcome
                value = outcomes
            else:
                value = await call_hook_async(op)  # type: ignore[arg-type]
        except BaseException as exc:
            error = exc
