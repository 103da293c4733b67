"""Knowledge grounding: passages retrieved for each user message go to the model with it.

::

    def search(query: str) -> list[str]:          # or async, or (query, conversation)
        return index.top(query)

    conv = client.create_conversation("Answer from the passages.", grounding=search)
    reply = conv.send("How long is the warranty?")
    reply.sources          # [Source(index=1, title=..., source=..., content=...), ...]

``Grounding`` is a hook (``on_turn_start``): the passages go to the model as the turn's
context (``send(..., context=...)``), numbered so that the model can cite them, on every
request of the turn, and are never kept in the history. A retriever that fails or is slower
than ``timeout`` leaves the turn without passages (``reply.grounding_error`` says why),
unless ``required=True``: then the turn fails with ``GroundingError`` before any request.
"""

from __future__ import annotations

from _collections_abc import Mapping

from fastconverse.errors import GroundingError

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine
    from typing import Any

    from fastconverse.hooks import Hooks, TurnStart

__all__ = ["Grounding", "Source"]

# Plain retrievals of one ``Grounding`` that may still run past their timeout: threads that
# cannot be stopped, so a retriever that hangs for good would otherwise leave one more
# behind at every turn. Past this many, a turn gets no passages (``grounding_error`` says
# why) until one of them ends.
MAX_OVERRUNNING = 8


class Source:
    """A passage given to the model: its number in the turn's context (``[1]``), text and,
    when the retriever gave them, title, source (a URL, a path) and score."""

    __slots__ = ("content", "index", "score", "source", "title")

    def __init__(
        self,
        content: str,
        *,
        index: int = 0,
        title: str | None = None,
        source: str | None = None,
        score: float | None = None,
    ) -> None:
        self.content = content
        self.index = index
        self.title = title
        self.source = source
        self.score = score

    @classmethod
    def of(cls, item: Any, at: str) -> Source:
        """A retriever's passage: text, or a dict or object with ``content`` (and optional
        ``title``, ``source`` or ``id``, ``score`` or ``relevance_score``)."""
        if isinstance(item, str):
            return cls(item)
        get: Callable[[str], Any] = (
            item.get if isinstance(item, Mapping) else lambda name: getattr(item, name, None)
        )
        content = get("content")
        if not isinstance(content, str):
            raise TypeError(
                f"{at}: expected text, or a dict or object with a str `content`, got "
                f"{type(item).__name__}" + ("" if content is None else f" with {content!r}")
            )
        # (the names other retrievers use too: an ``id`` for the source, a ``relevance_score``)
        title = get("title")
        source = get("source") if get("source") is not None else get("id")
        score = get("score") if get("score") is not None else get("relevance_score")
        return cls(
            content,
            title=None if title is None else str(title),
            source=None if source is None else str(source),
            score=None if score is None else float(score),
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("index", "title", "source", "score", "content")}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Source):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{k}={v!r}" for k, v in self.to_dict().items() if v is not None and k != "content"
        )
        text = self.content if len(self.content) <= 60 else self.content[:57] + "..."
        return f"Source({fields}, content={text!r})"


def _text(message: Mapping[str, Any] | None) -> str:
    """The user's text in a turn's first message ('' for tool results)."""
    if not message:
        return ""
    parts = [b["text"] for b in message.get("content") or [] if "text" in b]
    return "\n".join(p for p in parts if isinstance(p, str)).strip()


def _search_results(sources: list[Source]) -> list[dict[str, Any]]:
    """The passages as ``searchResult`` blocks with citations on: the model cites them
    itself (``reply.citations``, search result locations). A blank source or title is
    named by the passage's number."""
    from fastconverse._content.citable import search_result

    return [
        search_result(
            (s.source or "").strip() or f"passage {s.index}",
            (s.title or "").strip() or f"Passage {s.index}",
            s.content,
            citations=True,
        )
        for s in sources
    ]


def _block(sources: list[Source]) -> dict[str, str]:
    lines = ["Passages retrieved for the user's message (cite them by number where used):"]
    for s in sources:
        head = f"[{s.index}]"
        if s.title:
            head += f" {s.title}"
        if s.source:
            head += f" ({s.source})"
        lines.append(f"{head}\n{s.content}")
    return {"text": "\n\n".join(lines)}


class Grounding:
    """Retrieves passages for each user message (a hook: ``create_conversation(grounding=
    ...)`` adds one, or give it in ``hooks=``).

    ``retriever(query)`` or ``retriever(query, conversation)``, plain or ``async``, returns
    passages: text, or dicts or objects with ``content`` and optional ``title``,
    ``source``, ``score``; the first ``top_k`` are given. A plain retriever runs on a worker
    thread, so that ``timeout`` (seconds) holds; one that overruns goes on running there,
    its answer unused (while ``MAX_OVERRUNNING`` such threads run, turns get no passages
    rather than leave one more behind). ``skip_seen`` leaves out passages given earlier in
    the conversation (by ``source``, else text): they are not in the history, so the model
    no longer sees them, which suits retrievers that return the same passages turn after
    turn. ``citations=True`` gives the passages as ``searchResult`` blocks with citations
    on, for models that cite them (``reply.citations``), instead of numbered text.
    """

    def __init__(
        self,
        retriever: Callable[..., Any],
        *,
        top_k: int = 5,
        timeout: float | None = 10.0,
        required: bool = False,
        skip_seen: bool = False,
        citations: bool = False,
    ) -> None:
        if not callable(retriever):
            raise TypeError(f"grounding: expected a callable, got {type(retriever).__name__}")
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"top_k: expected a whole number of at least 1, got {top_k!r}")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0
        ):
            raise ValueError(f"timeout: expected seconds > 0 or None, got {timeout!r}")
        import inspect  # (here: only conversations with grounding pay for it)

        self.retriever = retriever
        self.top_k = top_k
        self.timeout = None if timeout is None else float(timeout)
        self.required = required
        self.skip_seen = skip_seen
        if not isinstance(citations, bool):
            raise TypeError(f"citations: expected True or False, got {citations!r}")
        self.citations = citations
        call = retriever if inspect.isroutine(retriever) else type(retriever).__call__
        self._async = inspect.iscoroutinefunction(call)
        try:
            params = inspect.signature(retriever).parameters.values()
            positional = [
                p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
            self._with_conversation = len(positional) >= 2 or any(
                p.kind == p.VAR_POSITIONAL for p in params
            )
        except (TypeError, ValueError):  # (a builtin without a signature)
            self._with_conversation = False
        import weakref

        self._seen: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
        from _thread import allocate_lock

        self._lock = allocate_lock()
        self._overrunning = 0  # (retriever threads still running past their timeout)

    def _args(self, query: str, conversation: Any) -> tuple[Any, ...]:
        return (query, conversation) if self._with_conversation else (query,)

    def on_turn_start(self, event: TurnStart) -> Coroutine[Any, Any, None] | None:
        query = _text(event.message)
        if not query:  # (a turn that answers tool calls: nothing to look up)
            return None
        if self._async:
            return self._fetch_async(event, query)
        if _loop_running():
            return self._fetch_in_executor(event, query)
        self._fetch(event, query)
        return None

    def _start(
        self, query: str, conversation: Any, done: Callable[[bool, Any], None]
    ) -> list[bool] | None:
        """Runs the plain retriever on a daemon thread of its own (one that overruns must
        not hold up the program's exit, nor an event loop's executor at its shutdown). Its
        state for ``_overran``: ``[finished, overran]``; None, without a thread, when
        ``MAX_OVERRUNNING`` earlier ones still run past their timeout."""
        import threading

        with self._lock:
            if self._overrunning >= MAX_OVERRUNNING:
                return None
        state = [False, False]

        def work() -> None:
            try:
                value = self.retriever(*self._args(query, conversation))
            except BaseException as exc:  # (reported to the caller)
                done(False, exc)
            else:
                done(True, value)
            finally:
                with self._lock:
                    state[0] = True
                    if state[1]:
                        self._overrunning -= 1

        threading.Thread(target=work, name="fastconverse-grounding", daemon=True).start()
        return state

    def _overran(self, state: list[bool]) -> TimeoutError:
        """The retrieval's timeout passed: its thread, if it still runs, counts as left."""
        with self._lock:
            if not state[0] and not state[1]:
                state[1] = True
                self._overrunning += 1
        return TimeoutError(f"the retriever took over {self.timeout:g} s")

    def _too_many(self) -> RuntimeError:
        return RuntimeError(
            f"{MAX_OVERRUNNING} earlier retrievals still run past their timeout; no other "
            "starts until one of them ends"
        )

    def _fetch(self, event: TurnStart, query: str) -> None:
        import threading

        finished = threading.Event()
        outcome: list[tuple[bool, Any]] = []

        def done(ok: bool, value: Any) -> None:
            outcome.append((ok, value))
            finished.set()

        state = self._start(query, event.conversation, done)
        if state is None:
            self._give(event, None, self._too_many())
            return
        if not finished.wait(self.timeout):
            self._give(event, None, self._overran(state))
            return
        ok, value = outcome[0]
        self._give(event, value if ok else None, None if ok else value)

    async def _fetch_in_executor(self, event: TurnStart, query: str) -> None:
        import asyncio
        import contextlib

        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def settle(ok: bool, value: Any) -> None:
            if not future.done():
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

        def done(ok: bool, value: Any) -> None:
            # (a closed loop raises RuntimeError: nobody waits any more)
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, ok, value)

        state = self._start(query, event.conversation, done)
        if state is None:
            self._give(event, None, self._too_many())
            return
        await self._settle(event, future, state)

    async def _fetch_async(self, event: TurnStart, query: str) -> None:
        await self._settle(event, self.retriever(*self._args(query, event.conversation)))

    async def _settle(self, event: TurnStart, work: Any, state: list[bool] | None = None) -> None:
        import asyncio

        try:
            value = await asyncio.wait_for(work, self.timeout)
        except asyncio.TimeoutError:
            timed_out = TimeoutError(f"the retriever took over {self.timeout:g} s")
            self._give(event, None, self._overran(state) if state is not None else timed_out)
        except Exception as exc:
            self._give(event, None, exc)
        else:
            self._give(event, value, None)

    def _give(self, event: TurnStart, value: Any, error: BaseException | None) -> None:
        """The passages as the turn's context and its reply's sources, or the failure."""
        sources: list[Source] = []
        if error is None:
            try:
                sources = self._sources(value)
            except (TypeError, ValueError) as exc:
                error = exc
        if error is not None:
            why = f"{type(error).__name__}: {error}".rstrip(": ")
            if self.required:
                raise GroundingError(f"grounding failed, and it is required: {why}") from error
            event.grounding_error = why
            return
        if self.skip_seen:
            seen = self._seen.get(event.conversation, ())
            sources = [s for s in sources if (s.source or s.content) not in seen]
        if self.citations:  # (a search result without text is refused by Bedrock)
            sources = [s for s in sources if s.content.strip()]
        # (numbered after what other groundings of the turn gave, so citations stay apart)
        for i, s in enumerate(sources, len(event.sources) + 1):
            s.index = i
        event.sources.extend(sources)
        if sources:
            event.add_context(*(_search_results(sources) if self.citations else [_block(sources)]))

    def on_commit(self, event: Any) -> None:
        """With ``skip_seen``, the passages of a turn that was kept count as given (a failed
        turn's never reached the history's model)."""
        if self.skip_seen and event.reply.sources:
            seen = self._seen.setdefault(event.conversation, set())
            seen.update(s.source or s.content for s in event.reply.sources)

    def _sources(self, value: Any) -> list[Source]:
        if value is None:
            return []
        if isinstance(value, (str, Mapping)) or not hasattr(value, "__iter__"):
            raise TypeError(
                f"the retriever returned {type(value).__name__}; expected a list of passages"
            )
        sources: list[Source] = []
        for i, item in enumerate(value):
            if len(sources) == self.top_k:
                break
            sources.append(Source.of(item, f"the retriever's passage {i}"))
        return sources

    def __repr__(self) -> str:
        name = getattr(self.retriever, "__qualname__", type(self.retriever).__name__)
        return f"Grounding({name}, top_k={self.top_k}, timeout={self.timeout})"


def _loop_running() -> bool:
    import sys

    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and asyncio._get_running_loop() is not None


def grounding_hook(grounding: Any) -> Grounding:
    """``create_conversation(grounding=...)``: a ``Grounding``, or a retriever for one."""
    return grounding if isinstance(grounding, Grounding) else Grounding(grounding)


def conversation_hooks(hooks: Any, grounding: Any) -> Hooks | None:
    """A conversation's own hooks (``hooks=``), its grounding's first (``grounding=``: a
    retriever or a ``Grounding``)."""
    from fastconverse.hooks import Hooks, compile_hooks

    own = compile_hooks(hooks, "hooks")
    if grounding is None:
        return own
    return Hooks([grounding_hook(grounding)]) + own
