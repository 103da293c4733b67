"""``ReplyStream``: a streamed turn, as typed events, for ``for`` and ``async for``.

The stream runs the same steps as ``Conversation.send`` (``_turn.driver.steps``): its generators
stream the requests, run the tool calls and yield their results; the steps commit at the
end. A stream closed early, dropped, or failed ends the turn with the history as it was.
"""

from __future__ import annotations

from fastconverse import _core
from fastconverse._turn.driver import REQUEST, SUMMARY, Show, Tools, call_hook, call_hook_async
from fastconverse.errors import TurnKeptInterrupt

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Callable, Generator, Iterator
    from types import TracebackType
    from typing import Any

    from typing_extensions import Self

    from fastconverse._tools.toolbox import ToolBox
    from fastconverse._turn.driver import Steps
    from fastconverse.events import Event

__all__ = ["ReplyStream", "check_resume"]


MAX_RESUMES = 100  # (a stream that needs more is not coming back)


def check_resume(resume: object) -> int:
    """``resume=``: how many times a stream cut after content resumes (0: never)."""
    if type(resume) is not int:
        raise TypeError(f"resume: expected an int >= 0, got {type(resume).__name__}")
    if not 0 <= resume <= MAX_RESUMES:
        raise ValueError(f"resume: expected an int from 0 to {MAX_RESUMES}, got {resume}")
    return resume


class _Run:
    """What a ``ReplyStream`` and its generators share. The generators must not hold the
    stream: dropping an unfinished stream then drops them, which ends the turn at once."""

    __slots__ = (
        "as_text",
        "closed",
        "committed",
        "current",
        "reply",
        "resume",
        "steps",
        "tools",
        "turn",
    )

    def __init__(
        self,
        turn: _core._Turn,
        tools: ToolBox | None,
        steps: Steps,
        committed: Callable[[_core.Reply, bool], None],
        resume: int | None = None,
        as_text: str | None = None,
    ) -> None:
        self.turn = turn
        self.as_text = as_text  # (a structured output's tool: its input streams as text)
        self.resume = resume  # (None: the client's)
        self.tools = tools
        self.steps = steps
        self.committed = committed  # (the commit hooks, run once the reply is set)
        self.current: _core._RequestStream | None = None
        self.reply: _core.Reply | None = None
        self.closed = False

    def close(self) -> None:
        self.closed = True
        self.turn.close()  # first: whatever interrupts what follows, the turn has ended
        if self.current is not None:
            self.current.close()

    def advance(self, value: Any, error: BaseException | None, in_loop: bool) -> Any:
        """The turn's next operation (``_turn.driver.steps``); None once it is over: its reply
        taken, or closed from another thread just now, which ends the stream quietly."""
        try:
            return self.steps.send(value) if error is None else self.steps.throw(error)
        except StopIteration as stop:
            self.reply = stop.value
            self.committed(stop.value, in_loop)
        except TurnKeptInterrupt as kept:  # (the turn was kept: its reply is the stream's)
            self.reply = kept.reply
            self.committed(kept.reply, in_loop)
            raise
        except RuntimeError:
            if not self.closed:
                raise
        return None


def _quiet_end(run: _Run, error: BaseException | None) -> bool:
    """Whether the stream ends here, quietly: ``close()`` ends it between any two events,
    and an ``Exception`` the close caused (the read it cut) with it. A cancellation or a
    Ctrl-C that came meanwhile is the caller's all the same: it goes on into the steps,
    which end the closed turn quietly and raise it, as they would without the close."""
    return run.closed and (error is None or isinstance(error, Exception))


class _AsText:
    """A structured output by a tool streams as text: its ``ToolUseStart`` is not shown and
    its ``ToolUseDelta``s are ``TextDelta``s of the same block (the reply still holds the
    call until the output is checked)."""

    __slots__ = ("index", "tool")

    def __init__(self, tool: str) -> None:
        self.tool = tool
        self.index = -1

    def shown(self, event: Any) -> Any:
        kind = type(event)
        if kind is _core.ToolUseStart and event.name == self.tool:
            self.index = event.index
            return None
        if kind is _core.ToolUseDelta and event.index == self.index:
            return _core._text_delta(event.index, event.input)
        return event


def _as_text(events: Iterator[Any], tool: str) -> Iterator[Any]:
    text = _AsText(tool)
    for event in events:
        shown = text.shown(event)
        if shown is not None:
            yield shown


# Note: the two runners of ``_turn.driver.steps`` for streams, beside ``run`` and ``run_async``
# there: the same operations, with the request streamed and each tool result yielded.


def _events(run: _Run) -> Generator[Event, None, None]:
    turn = run.turn
    value: Any = None
    error: BaseException | None = None
    try:
        while not _quiet_end(run, error):
            op = run.advance(value, error, False)
            if op is None:
                return
            value = error = None
            try:
                if op is REQUEST:
                    current = run.current = turn.stream(run.resume)
                    if run.as_text is None:
                        yield from current
                    else:
                        yield from _as_text(current, run.as_text)
                elif op is SUMMARY:  # a summary is not the reply: it is not streamed
                    turn.request()
                elif type(op) is Tools:
                    assert run.tools is not None
                    for done in op.done:
                        yield done.event
                    outcomes: list[Any] = [None] * len(op.calls)
                    for i, outcome in run.tools.run(op.calls):
                        outcomes[i] = outcome
                        yield outcome.event
                    value = outcomes
                elif type(op) is Show:
                    yield op.event
                else:
                    value = call_hook(op)
            except GeneratorExit:
                raise
            except BaseException as exc:  # (thrown in: the turn's failure hooks see it)
                error = exc
    finally:
        run.close()
        run.steps.close()


async def _events_async(run: _Run) -> AsyncGenerator[Event, None]:
    turn = run.turn
    value: Any = None
    error: BaseException | None = None
    try:
        while not _quiet_end(run, error):
            op = run.advance(value, error, True)
            if op is None:
                return
            value = error = None
            try:
                if op is REQUEST:
                    current = run.current = turn.stream(run.resume)
                    if run.as_text is None:
                        async for event in current:
                            yield event
                    else:
                        text = _AsText(run.as_text)
                        async for event in current:
                            shown = text.shown(event)
                            if shown is not None:
                                yield shown
                elif op is SUMMARY:
                    await turn.request_async()
                elif type(op) is Tools:
                    assert run.tools is not None
                    for done in op.done:
                        yield done.event
                    outcomes: list[Any] = [None] * len(op.calls)
                    async for i, outcome in run.tools.run_async(op.calls):
                        outcomes[i] = outcome
                        yield outcome.event
                    value = outcomes
                elif type(op) is Show:
                    yield op.event
                else:
                    value = await call_hook_async(op)
            except GeneratorExit:
                raise
            except BaseException as exc:
                error = exc
    finally:
        run.close()
        run.steps.close()


class ReplyStream:
    """The reply of ``Conversation.stream`` as typed events: ``for`` and ``async for`` both
    work. Once it is read to its end, ``reply`` is the finished ``Reply`` and the turn is in
    the history; closing or dropping it before then leaves the history as it was."""

    __slots__ = ("_async", "_run", "_sync")

    def __init__(
        self,
        turn: _core._Turn,
        tools: ToolBox | None,
        steps: Steps,
        committed: Callable[[_core.Reply, bool], None],
        resume: int | None = None,
        as_text: str | None = None,
    ) -> None:
        """``steps``: the turn's ``_turn.driver.steps``, which this stream runs; ``committed``:
        what runs once the turn is kept (its hooks), given the reply and whether in a loop;
        ``resume``: how many times each request's stream resumes (None: the client's);
        ``as_text``: a structured output's tool, whose input streams as text."""
        self._run = _Run(turn, tools, steps, committed, resume, as_text)
        self._sync: Generator[Event, None, None] | None = None
        self._async: AsyncGenerator[Event, None] | None = None

    def __iter__(self) -> Iterator[Event]:
        if self._sync is None:
            if self._async is not None:
                raise RuntimeError("this stream is being read with `async for`; keep to it")
            self._sync = _events(self._run)
        # Note: the generator itself, so that `for` pays no extra call per event.
        return self._sync

    def __next__(self) -> Event:
        return next(self.__iter__())

    def __aiter__(self) -> Self:
        return self

    def __anext__(self) -> Any:
        agen = self._async
        if agen is None:
            if self._sync is not None:
                raise RuntimeError("this stream is being read with `for`; keep to it")
            agen = self._async = _events_async(self._run)
            return self._first(agen)
        return agen.__anext__()

    async def _first(self, agen: AsyncGenerator[Event, None]) -> Event:
        # The first read holds the stream until the generator runs (`await anext(stream)` of
        # a stream nobody keeps); later reads find it running, and `__del__` lets them be.
        return await agen.__anext__()

    @property
    def reply(self) -> _core.Reply:
        """The finished reply; ``RuntimeError`` until the stream was read to its end."""
        if self._run.reply is None:
            raise RuntimeError(
                "the stream ended without a reply: it failed or was closed "
                "(the history is unchanged)"
                if self.done
                else "the stream is not finished: read it to the end (or call until_done()) first"
            )
        return self._run.reply

    @property
    def done(self) -> bool:
        """Whether the stream ended (completed, failed or closed)."""
        return self._run.reply is not None or self._run.turn.ended

    def until_done(self) -> _core.Reply:
        """Reads the rest of the stream and returns the finished reply."""
        for _ in self.__iter__():
            pass
        return self.reply

    def display(self) -> _core.Reply:
        """Reads the stream while showing it, and returns the finished reply.

        In a notebook one output area shows the text as it arrives (Markdown), each tool
        call as it runs, and then the reply's own display; elsewhere the text is written to
        stdout as it arrives. A failure shows in the output, then is raised."""
        from fastconverse._observe.live import Live

        live = Live()
        try:
            for event in self.__iter__():
                live.event(event)
        except BaseException as error:
            live.failed(error)
            raise
        live.done(self.reply)
        return self.reply

    async def display_async(self) -> _core.Reply:
        """``display()`` with ``async for``: the event loop stays free while it runs."""
        from fastconverse._observe.live import Live

        live = Live()
        try:
            async for event in self:
                live.event(event)
        except BaseException as error:
            live.failed(error)
            raise
        live.done(self.reply)
        return self.reply

    def _ipython_display_(self) -> None:
        # A stream as a cell's value shows live (``display()``); a finished one, its reply;
        # one that failed, or that `async for` reads, its repr (and how to show it live).
        from IPython.display import display

        if self._run.reply is not None:
            display(self._run.reply)  # type: ignore[no-untyped-call]
        elif self.done:
            display({"text/plain": repr(self)}, raw=True)  # type: ignore[no-untyped-call]
        elif self._async is not None:
            hint = "read with `async for`: `await stream.display_async()` shows it live"
            display({"text/plain": f"{self!r} ({hint})"}, raw=True)  # type: ignore[no-untyped-call]
        else:
            self.display()

    def close(self) -> None:
        """Stops the stream and closes its connection; an unfinished turn is dropped and the
        history is unchanged."""
        self._run.close()
        if self._sync is not None and not getattr(self._sync, "gi_running", False):
            # (read from another thread right now: it stops at its next step)
            self._sync.close()

    def __del__(self) -> None:
        # An `async for` left early drops its stream: end the turn now, not when the loop
        # gets round to closing the async generator. (A `for` loop holds the generator,
        # which ends the turn itself when it is dropped.)
        run = getattr(self, "_run", None)
        if run is None or run.reply is not None or getattr(self, "_sync", None) is not None:
            return
        agen = getattr(self, "_async", None)
        if agen is not None and agen.ag_running:
            # A read is under way (`await anext(conv.stream(...))`): let it finish; the
            # generator, once dropped, is closed by the loop and ends the turn then.
            return
        run.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ReplyStream(model_id={self._run.turn.model_id!r}, done={self.done})"
