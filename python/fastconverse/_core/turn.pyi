"""A turn's state machine, its steps and its streamed requests."""

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any

from typing_extensions import Self

from .events import StreamEvent
from .reply import Reply, Usage
from .runtime import Bridge

# --- turn/ ---------------------------------------------------------------------------------

class _Turn:
    """One turn, as a state machine the one driver (``fastconverse._turn.driver``) runs."""

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Ends the turn; an exception ending an uncommitted turn counts as a failure."""

    def next(self) -> _Step | _RunTools:
        """``REQUEST``, ``SUMMARY`` (a request never streamed), a ``_RunTools`` or
        ``DONE``: compare the constants by identity."""
    def request(self) -> None: ...
    def request_async(self) -> Bridge: ...
    def stream(self, resume: int | None = None) -> _RequestStream:
        """The due request, streamed; ``resume``: how many times a stream cut after content
        resumes (None: the client's)."""
    def add_results(self, content: Sequence[Mapping[str, Any]]) -> None: ...
    def finish_output(self, text: str, value: Any = None) -> None:
        """Ends the turn with its structured output's JSON (the output tool's call) and its
        validated value (the reply's ``output``); natively, ``text`` is the answer as the
        model wrote it, and the attempts that failed (``retry_output``) are dropped."""
    def retry_output(self, errors: str) -> None:
        """A native structured output's answer did not validate: it stays in the turn,
        followed by a user message with ``errors``, and the turn asks again."""
    def add_context(self, content: Sequence[Mapping[str, Any]]) -> None:
        """Blocks this turn's requests carry in its first message, never kept."""
    def set_grounding(self, sources: list[Any], error: str | None = None) -> None:
        """What grounding gave the turn (``Source`` objects), for its reply."""
    def request_view(self) -> dict[str, Any]:
        """The due request as Converse's keyword arguments (a copy)."""
    def set_request(self, view: Mapping[str, Any]) -> None:
        """Replaces the due request with ``view`` (for that request only)."""
    @property
    def last_exchange(self) -> dict[str, Any] | None:
        """What the last request came to: ``fastconverse.hooks.Response``'s keywords."""
    def commit(self) -> Reply: ...
    def close(self) -> None: ...
    @property
    def messages(self) -> list[dict[str, Any]]: ...
    @property
    def usage(self) -> Usage: ...
    @property
    def rounds(self) -> int: ...
    @property
    def committed(self) -> bool:
        """Whether the turn is in the history."""
    @property
    def closed(self) -> bool:
        """Whether it was closed before a commit (a stream's ``close()``)."""
    @property
    def ended(self) -> bool: ...
    @property
    def model_id(self) -> str: ...

class _Step:
    """A step without data (``REQUEST``, ``SUMMARY``, ``DONE``)."""

    @property
    def name(self) -> str: ...

class _RunTools:
    """A round of tool calls to run."""

    @property
    def calls(self) -> list[dict[str, Any]]:
        """The toolUse dicts, in the model's order."""

REQUEST: _Step
SUMMARY: _Step
DONE: _Step

class _RequestStream:
    """One streamed request of a turn, as typed events."""

    def __iter__(self) -> Iterator[StreamEvent]: ...
    def __next__(self) -> StreamEvent: ...
    def __aiter__(self) -> AsyncIterator[StreamEvent]: ...
    def __anext__(self) -> Bridge: ...
    def close(self) -> None: ...
    @property
    def done(self) -> bool: ...
