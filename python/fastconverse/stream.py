"""``ReplyStream``: a streamed turn, as typed events, for ``for`` and ``async for``.

The stream drives the same native turn as ``Conversation.send``: its generators make the
requests, run the tool calls and commit at the end; a stream closed early, dropped, or
failed ends the turn with the history as it was.
"""

from __future__ import annotations

from fastconverse import _core
from fastconverse._user_content import unique_result_names
from fastconverse.errors import ConverseError, _during

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Callable, Generator, Iterator, Sequence
    from types import TracebackType
    from typing import Any

    from typing_extensions import Self

    from fastconverse._tools import ToolBox
    from fastconverse.events import Event

__all__ = ["ReplyStream"]


class _Run:
    """What a ``ReplyStream`` and its generators share. The generators must not hold the
    stream: dropping an unfinished stream then drops them, which ends the turn at once."""

    __slots__ = ("closed", "current", "history", "reply", "tools", "turn")

    def __init__(
        self,
        turn: _core._Turn,
        tools: ToolBox | None,
        history: Callable[[], list[dict[str, Any]]],
    ) -> None:
        self.turn = turn
        self.tools = tools
        self.history = history
        self.current: _core._RequestStream | None = None
        self.reply: _core.Reply | None = None
        self.closed = False

    def close(self) -> None:
        self.closed = True
        self.turn.close()  # first: whatever interrupts what follows, the turn has ended
        if self.current is not None:
            self.current.close()


def _events(run: _Run) -> Generator[Event, None, None]:
    turn = run.turn
    try:
        with turn:  # counts a failure in the metrics
            while not run.closed:  # close() ends the stream quietly, between any two events
                step = _next(run)
                if step is None:
                    return
                action, calls, current = step
                if current is not None:
                    yield from current
                elif action == "summary":  # a summary is not the reply: it is not streamed
                    turn.request()
                elif action == "tools":
                    assert run.tools is not None
                    outcomes: list[Any] = [None] * len(calls)
                    for i, outcome in run.tools.run(calls):
                        outcomes[i] = outcome
                        yield outcome.event
                    if not run.closed:
                        turn.add_results(_blocks(outcomes, run.history))
                else:
                    _commit(run)
                    return
    except ConverseError as error:
        _during(error, "ConverseStream")  # (botocore's operation_name)
        raise
    finally:
        run.close()


async def _events_async(run: _Run) -> AsyncGenerator[Event, None]:
    turn = run.turn
    try:
        with turn:  # counts a failure in the metrics
            while not run.closed:
                step = _next(run)
                if step is None:
                    return
                action, calls, current = step
                if current is not None:
                    async for event in current:
                        yield event
                elif action == "summary":
                    await turn.request_async()
                elif action == "tools":
                    assert run.tools is not None
                    outcomes: list[Any] = [None] * len(calls)
                    async for i, outcome in run.tools.run_async(calls):
                        outcomes[i] = outcome
                        yield outcome.event
                    if not run.closed:
                        turn.add_results(_blocks(outcomes, run.history))
                else:
                    _commit(run)
                    return
    except ConverseError as error:
        _during(error, "ConverseStream")  # (botocore's operation_name)
        raise
    finally:
        run.close()


def _next(run: _Run) -> tuple[str, Any, _core._RequestStream | None] | None:
    """The turn's next action (with the stream of a request); None when the stream was
    closed from another thread just now, which ends it quietly."""
    try:
        action, calls = run.turn.next()
        if action == "request":
            run.current = run.turn.stream()
            return action, calls, run.current
        return action, calls, None
    except RuntimeError:
        if run.closed:
            return None
        raise


def _commit(run: _Run) -> None:
    try:
        run.reply = run.turn.commit()
    except RuntimeError:
        if not run.closed:  # closed from another thread just now: a quiet stop
            raise


class ReplyStream:
    """The reply of ``Conversation.stream`` as typed events: ``for`` and ``async for`` both
    work. Once it is read to its end, ``reply`` is the finished ``Reply`` and the turn is in
    the history; closing or dropping it before then leaves the history as it was."""

    __slots__ = ("_async", "_run", "_sync")

    def __init__(
        self,
        turn: _core._Turn,
        tools: ToolBox | None,
        history: Callable[[], list[dict[str, Any]]] | None = None,
    ) -> None:
        """``history``: the messages a request of the turn carries besides the turn's own
        (for unique document names in tool results); none when not given."""
        self._run = _Run(turn, tools, _with_turn(history, turn))
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


def _with_turn(
    history: Callable[[], list[dict[str, Any]]] | None, turn: _core._Turn
) -> Callable[[], list[dict[str, Any]]]:
    """The messages of the turn's next request: ``history`` and what the turn added."""
    if history is None:
        return lambda: turn.messages
    return lambda: history() + turn.messages


def _blocks(
    outcomes: Sequence[Any], history: Callable[[], list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The toolResult blocks of a round, in tool-use order, their documents' names unique in
    the request (``history``: its other messages). Note: a ``ToolResult`` event already
    yielded keeps the name the tool gave."""
    return unique_result_names([o.event.to_dict() for o in outcomes if o is not None], history)
