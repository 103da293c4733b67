"""Running a conversation's tools: the calls the turn asks for, with their results and the
events a stream reports. The turn (``_core._Turn``) decides when tools run and what happens
with their results; this module decides how they run (threads, the caller's event loop or a
private one), how many at once, and what the model is told when a call fails.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextvars
import functools
import inspect
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any

from fastconverse._core import _check_block
from fastconverse._tools.stats import ToolStats
from fastconverse._tools.system import SystemTool
from fastconverse._tools.system import from_dict as _system_tool_from_dict
from fastconverse._tools.threads import (
    _caught,
    _own_thread,
    _pool,
    _private_loop,
    run_coroutine,
)
from fastconverse.errors import ToolTimeoutError, UnknownToolError
from fastconverse.events import ToolResult, tool_result_block
from fastconverse.tools import Tool, ToolInputError, _check_timeout, result_content

JsonDict = dict[str, Any]
Call = Mapping[str, Any]  # a toolUse block: {"toolUseId", "name", "input"}
# What most tools return: never awaitable, so inspect's slower check is skipped for them.
_PLAIN = frozenset({dict, list, str, int, float, bool, type(None), bytes})


class _Outcome:
    """A finished call: the event the stream yields, and the exception behind an error."""

    __slots__ = ("event", "exception")

    def __init__(self, event: ToolResult, exception: BaseException | None) -> None:
        self.event = event
        self.exception = exception


class ToolBox:
    """A conversation's tools and the settings of its tool loop."""

    def __init__(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: str | Mapping[str, Any] | None = None,
        max_tool_rounds: int = 16,
        max_tool_concurrency: int = 8,
        tool_timeout: float | None = None,
        raise_tool_errors: bool = False,
    ) -> None:
        if isinstance(tools, (str, bytes, Mapping)) or not isinstance(tools, Sequence):
            raise TypeError(
                f"tools: expected a list of tools (@tool functions, Tool objects or toolSpec "
                f"dicts), got {type(tools).__name__}"
            )
        if not tools:
            raise ValueError("tools: expected at least one tool (or leave tools out)")
        # Everything declared, in the order given: the conversation's own tools and the
        # system tools the service runs (those only go in the request's toolConfig).
        self.declared: list[Tool[..., Any] | SystemTool] = [
            _as_tool(t, f"tools[{i}]") for i, t in enumerate(tools)
        ]
        self.tools: list[Tool[..., Any]] = [t for t in self.declared if isinstance(t, Tool)]
        self._by_name: dict[str, Tool[..., Any]] = {}
        names: set[str] = set()
        for i, t in enumerate(self.declared):
            if t.name in names:
                raise ValueError(f"tools[{i}]: a tool named {t.name!r} is already in the list")
            names.add(t.name)
            if isinstance(t, Tool):
                self._by_name[t.name] = t
        self.specs = [t.to_dict() for t in self.declared]
        self.tool_choice = self.choice(tool_choice, "tool_choice")
        self.max_tool_rounds = _count(max_tool_rounds, "max_tool_rounds", minimum=0)
        self.max_tool_concurrency = _count(max_tool_concurrency, "max_tool_concurrency", minimum=1)
        self.tool_timeout = _check_timeout(tool_timeout, "tool_timeout")
        if not isinstance(raise_tool_errors, bool):
            raise TypeError(f"raise_tool_errors: expected a bool, got {raise_tool_errors!r}")
        self.raise_tool_errors = raise_tool_errors
        self._stats: dict[str, ToolStats] = {}
        self._stats_lock = threading.Lock()

    # --- settings ----------------------------------------------------------------------------

    def choice(self, value: str | Mapping[str, Any] | None, arg: str) -> JsonDict | None:
        """boto3's ``toolChoice`` for "auto", "any", a tool name, a toolChoice dict or None."""
        if value is None:
            return None
        if isinstance(value, Mapping):
            if len(value) == 1:
                key, inner = next(iter(value.items()))
                if key in ("auto", "any") and isinstance(inner, Mapping) and not inner:
                    return {key: {}}
                name = inner.get("name") if key == "tool" and isinstance(inner, Mapping) else None
                if isinstance(name, str) and name in self._by_name:
                    return {"tool": {"name": name}}
        elif value in ("auto", "any"):
            return {value: {}}
        elif isinstance(value, str) and value in self._by_name:
            return {"tool": {"name": value}}
        names = ", ".join(repr(n) for n in self._by_name)
        raise ValueError(
            f'{arg}: expected "auto", "any", None or the name of one of the tools ({names}), '
            f"got {value!r}"
        )

    # --- metrics -----------------------------------------------------------------------------

    def metrics(self) -> dict[str, ToolStats]:
        with self._stats_lock:
            return {n: ToolStats(s.calls, s.errors, s.seconds) for n, s in self._stats.items()}

    def _count(self, name: str, duration: float, failed: bool) -> None:
        with self._stats_lock:
            stats = self._stats.get(name)
            if stats is None:
                stats = self._stats[name] = ToolStats()
            stats.calls += 1
            stats.errors += failed
            stats.seconds += duration

    # --- sync ----------------------------------------------------------------------------------

    def run(self, calls: Sequence[Call]) -> Iterator[tuple[int, _Outcome]]:
        """Runs the calls, at most ``max_tool_concurrency`` at once, and yields each outcome
        with the call's index as it finishes. Sync functions run in a thread pool, coroutine
        functions on a private event loop (so this works inside a running loop too)."""
        queue = collections.deque(enumerate(calls))
        ready: collections.deque[tuple[int, _Outcome]] = collections.deque()
        running: dict[concurrent.futures.Future[_Outcome], tuple[int, Call, float | None]] = {}
        # One call at a time, from a thread without a running event loop: a sync function
        # without a timeout runs right here, sparing the hand-off to the pool and back (most
        # of a tool round trip's own cost). Inside a running loop (a notebook), it still runs
        # in the pool, where it may start an event loop of its own.
        inline = (
            len(calls) == 1 or self.max_tool_concurrency == 1
        ) and asyncio._get_running_loop() is None
        if inline and len(calls) == 1:
            # The common round, one sync call: it has finished when `_start` returns.
            started = self._start(calls[0], inline)
            if isinstance(started, _Outcome):
                yield 0, self._checked(started)
                return
            queue.clear()
            running[started[0]] = (0, calls[0], started[1])
        try:
            while queue or running or ready:
                while queue and len(running) < self.max_tool_concurrency:
                    i, call = queue.popleft()
                    started = self._start(call, inline)
                    if isinstance(started, _Outcome):
                        ready.append((i, started))
                    else:
                        running[started[0]] = (i, call, started[1])
                if ready:
                    i, outcome = ready.popleft()
                    yield i, self._checked(outcome)
                    continue
                deadlines = [d for _, _, d in running.values() if d is not None]
                timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
                done, _ = concurrent.futures.wait(
                    running, timeout=timeout, return_when=concurrent.futures.FIRST_COMPLETED
                )
                now = time.monotonic()
                for future, (i, call, deadline) in list(running.items()):
                    if future in done:
                        del running[future]
                        ready.append((i, future.result()))
                    elif deadline is not None and now >= deadline:
                        # Note: a thread cannot be stopped; the call goes on, its result unused.
                        del running[future]
                        ready.append((i, self._timed_out(call)))
        finally:
            for future in running:
                future.cancel()

    def _start(
        self, call: Call, inline: bool
    ) -> _Outcome | tuple[concurrent.futures.Future[_Outcome], float | None]:
        prepared = self._prepare(call)
        if isinstance(prepared, _Outcome):
            return prepared
        tool, args, kwargs, timeout = prepared
        fn = tool._callable()
        if tool.is_async:
            coro = self._invoke_async(call, tool, args, kwargs, timeout)
            return asyncio.run_coroutine_threadsafe(coro, _private_loop()), None
        if inline and timeout is None:
            return contextvars.copy_context().run(self._invoke_sync, call, tool, fn, args, kwargs)
        job = functools.partial(
            contextvars.copy_context().run, self._invoke_sync, call, tool, fn, args, kwargs
        )
        if timeout is None:
            return _pool().submit(job), None
        return _own_thread(job), time.monotonic() + timeout

    def _invoke_sync(
        self,
        call: Call,
        tool: Tool[..., Any],
        fn: Callable[..., Any],
        args: list[Any],
        kwargs: JsonDict,
    ) -> _Outcome:
        start = time.perf_counter()
        try:
            value = fn(*args, **kwargs)
            if type(value) not in _PLAIN and inspect.isawaitable(value):
                value = run_coroutine(value)
        except Exception as exc:
            return self._failed(call, exc, time.perf_counter() - start)
        return self._succeeded(call, value, time.perf_counter() - start)

    # --- async ---------------------------------------------------------------------------------

    async def run_async(self, calls: Sequence[Call]) -> AsyncIterator[tuple[int, _Outcome]]:
        """Runs the calls as tasks on the running loop, at most ``max_tool_concurrency`` at
        once: coroutine functions are awaited there, sync ones run in its default executor.
        Yields each outcome with the call's index as it finishes."""
        limit = asyncio.Semaphore(self.max_tool_concurrency)

        async def one(i: int, call: Call) -> tuple[int, _Outcome]:
            prepared = self._prepare(call)
            if isinstance(prepared, _Outcome):
                return i, prepared
            tool, args, kwargs, timeout = prepared
            async with limit:
                return i, await self._invoke_async(call, tool, args, kwargs, timeout)

        tasks = [asyncio.ensure_future(one(i, c)) for i, c in enumerate(calls)]
        try:
            for next_done in asyncio.as_completed(tasks):
                i, outcome = await next_done
                yield i, self._checked(outcome)
        finally:
            for task in tasks:
                task.cancel()

    async def _invoke_async(
        self,
        call: Call,
        tool: Tool[..., Any],
        args: list[Any],
        kwargs: JsonDict,
        timeout: float | None,
    ) -> _Outcome:
        fn = tool._callable()
        start = time.perf_counter()
        try:
            if tool.is_async:
                work: Awaitable[Any] = fn(*args, **kwargs)
            else:
                job = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
                if timeout is None:
                    work = asyncio.get_running_loop().run_in_executor(None, job)
                else:
                    # A thread of its own, as in sync code: one that never returns must not
                    # keep a place in the loop's default executor.
                    work = asyncio.wrap_future(_own_thread(job))
            if timeout is None:
                value = await work
            else:
                # (the tool's own exceptions, its own TimeoutError included, come back as
                # values: only wait_for's TimeoutError is the tool's timeout)
                raised, value = await asyncio.wait_for(_caught(work), timeout)
                if raised:
                    return self._failed(call, value, time.perf_counter() - start)
        except asyncio.TimeoutError as exc:
            if timeout is None:  # (the tool's own: there is no wait_for on this path)
                return self._failed(call, exc, time.perf_counter() - start)
            return self._timed_out(call)
        except Exception as exc:
            return self._failed(call, exc, time.perf_counter() - start)
        return self._succeeded(call, value, time.perf_counter() - start)

    # --- shared ------------------------------------------------------------------------------

    def _prepare(
        self, call: Call
    ) -> _Outcome | tuple[Tool[..., Any], list[Any], JsonDict, float | None]:
        """The tool and its arguments for a call, or the error the model gets instead."""
        tool = self._by_name.get(call["name"])
        if tool is None or tool.fn is None:
            names = ", ".join(repr(n) for n, t in self._by_name.items() if t.fn is not None)
            error = UnknownToolError(
                f"Unknown tool {call['name']!r}. The tools you can call are: {names}."
            )
            return self._failed(call, error, 0.0)
        try:
            args, kwargs = tool.arguments(call["input"])
        except ToolInputError as exc:
            return self._failed(call, exc, 0.0)
        timeout = tool.timeout if tool.timeout is not None else self.tool_timeout
        return tool, args, kwargs, timeout

    def _succeeded(self, call: Call, value: Any, duration: float) -> _Outcome:
        try:
            content = result_content(value)
            _check_block(tool_result_block(call["toolUseId"], content))
        except Exception as exc:
            return self._failed(call, exc, duration, returned=True)
        self._count(call["name"], duration, failed=False)
        event = ToolResult(
            tool_use_id=call["toolUseId"],
            name=call["name"],
            input=call["input"],
            status="success",
            content=content,
            duration=duration,
        )
        return _Outcome(event, None)

    def _failed(
        self, call: Call, exc: BaseException, duration: float, *, returned: bool = False
    ) -> _Outcome:
        name = call["name"]
        if isinstance(exc, (ToolInputError, UnknownToolError)):
            text = str(exc)
        elif returned:
            text = f"Tool {name!r} returned a value that cannot be sent back: {exc}"
        else:
            text = f"Tool {name!r} failed with {type(exc).__name__}: {exc}".rstrip(": ")
        self._count(name, duration, failed=True)
        event = ToolResult(
            tool_use_id=call["toolUseId"],
            name=name,
            input=call["input"],
            status="error",
            content=[{"text": text}],
            duration=duration,
            error=text,
        )
        return _Outcome(event, exc)

    def _timed_out(self, call: Call) -> _Outcome:
        tool = self._by_name[call["name"]]
        timeout = tool.timeout if tool.timeout is not None else self.tool_timeout
        error = ToolTimeoutError(
            f"Tool {call['name']!r} did not finish within {timeout:g} seconds."
        )
        outcome = self._failed(call, error, timeout or 0.0)
        outcome.event.error = outcome.event.content[0]["text"] = error.message
        return outcome

    def answered(self, call: Call, value: Any) -> _Outcome:
        """The outcome of a call a hook answered with ``value`` (an exception: an error)."""
        if isinstance(value, BaseException):
            return self._checked(self._failed(call, value, 0.0))
        return self._checked(self._succeeded(call, value, 0.0))

    @property
    def callable_names(self) -> list[str]:
        """Names of the tools whose calls the loop runs (the others wait for the caller)."""
        return [t.name for t in self.tools if t.fn is not None]

    def _checked(self, outcome: _Outcome) -> _Outcome:
        if self.raise_tool_errors and outcome.exception is not None:
            raise outcome.exception
        return outcome


def given_result(tool_use_id: str, value: Any) -> JsonDict:
    """A result the caller gave: a value (as a tool's return value) or an exception (an
    error result with its text)."""
    if isinstance(value, BaseException):
        text = str(value) or type(value).__name__
        return tool_result_block(tool_use_id, [{"text": text}], error=True)
    try:
        content = result_content(value)
    except ValueError as exc:
        raise ValueError(f"results[{tool_use_id!r}]: {exc}") from None
    return tool_result_block(tool_use_id, content)


def _as_tool(value: Any, arg: str) -> Tool[..., Any] | SystemTool:
    if isinstance(value, (Tool, SystemTool)):
        return value
    if isinstance(value, Mapping) and "systemTool" in value:
        return _system_tool_from_dict(value, arg)
    if isinstance(value, Mapping):
        try:
            return Tool(value)
        except ValueError as exc:
            raise ValueError(f"{arg}: {exc}") from None
    if callable(value):
        return Tool.from_function(value)
    raise TypeError(
        f"{arg}: expected a @tool function, a Tool, a plain function, a toolSpec dict, "
        f"a {{'type': 'function', 'function': {{...}}}} dict or a system_tool(...), "
        f"got {type(value).__name__}"
    )


def _count(value: Any, arg: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{arg}: expected an int >= {minimum}, got {value!r}")
    return value
