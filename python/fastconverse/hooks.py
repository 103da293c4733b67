"""Hooks: the one extension point around a turn.

A hook is any object with one or more of these methods, plain or ``async def``, each taking
one event::

    class LogLatency:
        def after_response(self, event: Response) -> None:
            print(event.model_id, event.request_id, event.elapsed, event.usage)

    client = ConverseClient(..., hooks=[LogLatency()])
    conv = client.create_conversation(..., hooks=[AddContext()])   # after the client's

============================  ==================  =============================================
method                        event               what it may do
============================  ==================  =============================================
``on_turn_start``             ``TurnStart``       ``event.add_context(...)``: content for this
                                                  turn's requests that the history never keeps
``before_request``            ``Request``         change the request (a copy), for it only
``after_response``            ``Response``        read: request id, usage, latency, time to
                                                  first token, retries, the error
``before_tool_call``          ``ToolCall``        change ``event.input``, or ``event.answer()``
``after_tool_call``           ``ToolCallResult``  read: result, duration, error
``on_commit``                 ``TurnCommitted``   read: reply, messages added, version written
``on_failure``                ``TurnFailed``      read: the error; the history as it was
============================  ==================  =============================================

Hooks run in the caller's thread or task, never on a runtime worker: in ``send`` and a
``for`` loop, an ``async def`` hook runs on fastconverse's private event loop; in
``send_async`` and ``async for``, it is awaited. A hook that raises fails the turn with
``HookError`` (its exception as ``__cause__``) and the history as it was. ``on_commit`` and
``on_failure`` report what already happened: what they raise goes to
``sys.unraisablehook`` and changes nothing, and in async code an ``async def`` one runs as
a task of its own (the reply is never held behind it). With no hooks, a turn pays nothing.
"""

from __future__ import annotations

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from fastconverse._core import Reply, Usage
    from fastconverse._turn.conversation_like import ConversationLike
    from fastconverse.events import ToolResult

__all__ = [
    "Hook",
    "Request",
    "Response",
    "Retry",
    "ToolCall",
    "ToolCallResult",
    "TurnCommitted",
    "TurnFailed",
    "TurnStart",
]

METHODS = (
    "on_turn_start",
    "before_request",
    "after_response",
    "before_tool_call",
    "after_tool_call",
    "on_commit",
    "on_failure",
)


class Hook:
    """An optional base class: subclass it and define the methods you need (the others are
    never called). Any object with these method names works as well."""


def _repr(obj: object, names: Sequence[str]) -> str:
    fields = ", ".join(f"{n}={getattr(obj, n)!r}" for n in names)
    return f"{type(obj).__name__}({fields})"


class TurnStart:
    """A turn begins (``send``, ``send_async``, ``stream``, ``send_tool_results``)."""

    __slots__ = ("context", "conversation", "grounding_error", "message", "sources")

    def __init__(self, conversation: ConversationLike, message: dict[str, Any] | None) -> None:
        self.conversation = conversation
        self.message = message
        """The turn's first message, boto3-shaped: the user's, or the tool results given to
        ``send_tool_results`` (None there while some of its calls have yet to run)."""
        self.context: list[Any] = []
        """What ``add_context`` added so far."""
        self.sources: list[Any] = []
        """The passages given with the context (``fastconverse.grounding.Source``): the
        reply's ``sources``."""
        self.grounding_error: str | None = None
        """Why the passages could not be had (the reply's ``grounding_error``)."""

    def add_context(self, *content: Any) -> None:
        """Adds text or content blocks (``image()``, ``document()``, dicts) that go to the
        model in this turn's first message, before the user's own content, on every request
        of the turn, and are never kept in the history."""
        for item in content:
            self.context.append({"text": item} if isinstance(item, str) else item)

    def __repr__(self) -> str:
        return _repr(self, ("message", "context"))


class Request:
    """A request the turn is about to make: Converse's arguments, as a copy that the hook
    may change for this request only. ``kind`` is ``"turn"`` (each request of the turn:
    tool rounds, a retry after a context overflow) or ``"summary"`` (``Summarizing``)."""

    __slots__ = (
        "additional_model_request_fields",
        "conversation",
        "inference_config",
        "kind",
        "messages",
        "model_id",
        "output_config",
        "performance_config",
        "request_metadata",
        "service_tier",
        "system",
        "tool_config",
    )

    def __init__(self, conversation: ConversationLike, kind: str, view: dict[str, Any]) -> None:
        self.conversation = conversation
        self.kind = kind
        self.model_id: str = view["modelId"]
        self.messages: list[dict[str, Any]] = view["messages"]
        self.system: list[dict[str, Any]] = view["system"]
        self.inference_config: dict[str, Any] | None = view["inferenceConfig"]
        self.tool_config: dict[str, Any] | None = view["toolConfig"]
        self.additional_model_request_fields: Any = view["additionalModelRequestFields"]
        # (a structured output asked for natively; how Bedrock is to serve the request)
        self.output_config: dict[str, Any] | None = view["outputConfig"]
        self.service_tier: dict[str, str] | None = view["serviceTier"]
        self.performance_config: dict[str, str] | None = view["performanceConfig"]
        self.request_metadata: dict[str, str] | None = view["requestMetadata"]

    def to_dict(self) -> dict[str, Any]:
        """The request as boto3's ``converse`` keyword arguments (None: not sent)."""
        return {
            "modelId": self.model_id,
            "messages": self.messages,
            "system": self.system,
            "inferenceConfig": self.inference_config,
            "toolConfig": self.tool_config,
            "additionalModelRequestFields": self.additional_model_request_fields,
            "outputConfig": self.output_config,
            "serviceTier": self.service_tier,
            "performanceConfig": self.performance_config,
            "requestMetadata": self.request_metadata,
        }

    def __repr__(self) -> str:
        return _repr(self, ("kind", "model_id", "messages"))


class Retry:
    """One retry inside a request (the SDK's, or a restarted stream): why the attempt
    before it failed, and the seconds waited before trying again."""

    __slots__ = ("reason", "waited")

    def __init__(self, reason: str, waited: float) -> None:
        self.reason = reason
        self.waited = waited

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Retry) and (self.reason, self.waited) == (
            other.reason,
            other.waited,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return _repr(self, ("reason", "waited"))


class Response:
    """A request of the turn ended, with a reply or an error, reported after the fact.
    ``elapsed`` and ``time_to_first_token`` (streams) are seconds measured by the client;
    ``latency_ms`` is the service's own figure. A failure the turn recovered from (a
    context overflow) has ``error_code`` but no ``error``."""

    __slots__ = (
        "conversation",
        "elapsed",
        "error",
        "error_code",
        "kind",
        "latency_ms",
        "model_id",
        "request_id",
        "retries",
        "stop_reason",
        "time_to_first_token",
        "usage",
    )

    def __init__(
        self,
        conversation: ConversationLike,
        kind: str,
        error: BaseException | None,
        *,
        model_id: str,
        request_id: str | None,
        usage: Usage | None,
        stop_reason: str | None,
        latency_ms: int | None,
        elapsed: float | None,
        time_to_first_token: float | None,
        retries: list[dict[str, Any]],
        error_code: str | None,
    ) -> None:
        self.conversation = conversation
        self.kind = kind
        self.model_id = model_id
        self.request_id = request_id
        self.usage = usage
        self.stop_reason = stop_reason
        self.latency_ms = latency_ms
        self.elapsed = elapsed
        self.time_to_first_token = time_to_first_token
        self.retries = [Retry(**r) for r in retries]
        self.error = error
        self.error_code = error_code

    @property
    def ok(self) -> bool:
        """Whether the request got a reply."""
        return self.error_code is None and self.error is None

    def __repr__(self) -> str:
        return _repr(self, ("kind", "model_id", "request_id", "stop_reason", "error_code"))


class ToolCall:
    """The model asked for a tool call. Set ``input`` to call the tool with other input, or
    ``answer(result)`` to answer the call without calling the function."""

    __slots__ = ("_answer", "answered", "conversation", "input", "name", "tool_use_id")

    def __init__(self, conversation: ConversationLike, call: dict[str, Any]) -> None:
        self.conversation = conversation
        self.name: str = call["name"]
        self.tool_use_id: str = call["toolUseId"]
        self.input: Any = call["input"]
        self.answered = False
        self._answer: Any = None

    def answer(self, result: Any) -> None:
        """The call's result, as a tool would return it (an exception is an error result)."""
        self.answered = True
        self._answer = result

    def __repr__(self) -> str:
        return _repr(self, ("name", "tool_use_id", "input", "answered"))


class ToolCallResult:
    """A tool call finished: ``result`` is the ``ToolResult`` the model gets back."""

    __slots__ = ("conversation", "result")

    def __init__(self, conversation: ConversationLike, result: ToolResult) -> None:
        self.conversation = conversation
        self.result = result

    name = property(lambda self: self.result.name)
    tool_use_id = property(lambda self: self.result.tool_use_id)
    input = property(lambda self: self.result.input)
    status = property(lambda self: self.result.status)
    duration = property(lambda self: self.result.duration)
    error = property(lambda self: self.result.error)

    def __repr__(self) -> str:
        return _repr(self, ("name", "tool_use_id", "status", "duration", "error"))


class TurnCommitted:
    """A turn is in the history: ``messages`` are what it added, ``version`` the store's
    version written (None without a store)."""

    __slots__ = ("_messages", "conversation", "reply", "version")

    def __init__(self, conversation: ConversationLike, reply: Reply) -> None:
        self.conversation = conversation
        self.reply = reply
        self._messages: list[dict[str, Any]] | None = None
        self.version: int | None = conversation.version if conversation._core.store else None

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The messages the turn added (made into dicts when first read)."""
        if self._messages is None:
            self._messages = self.reply.messages
        return self._messages

    def __repr__(self) -> str:
        return _repr(self, ("messages", "version"))


class TurnFailed:
    """A turn failed, was cancelled or was interrupted: the history is as it was. (A
    stream closed or dropped before its end reports neither this nor a commit.)"""

    __slots__ = ("conversation", "error")

    def __init__(self, conversation: ConversationLike, error: BaseException) -> None:
        self.conversation = conversation
        self.error = error

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The history, unchanged by the turn."""
        return self.conversation.messages

    def __repr__(self) -> str:
        return _repr(self, ("error",))


class Hooks:
    """Hook objects compiled to a list of bound methods per point (the client's first)."""

    __slots__ = (*METHODS, "objects")

    on_turn_start: tuple[Callable[[TurnStart], Any], ...]
    before_request: tuple[Callable[[Request], Any], ...]
    after_response: tuple[Callable[[Response], Any], ...]
    before_tool_call: tuple[Callable[[ToolCall], Any], ...]
    after_tool_call: tuple[Callable[[ToolCallResult], Any], ...]
    on_commit: tuple[Callable[[TurnCommitted], Any], ...]
    on_failure: tuple[Callable[[TurnFailed], Any], ...]

    def __init__(self, objects: Sequence[Any]) -> None:
        self.objects = tuple(objects)
        for name in METHODS:
            methods: list[Callable[[Any], Any]] = []
            for obj in self.objects:
                method = getattr(obj, name, None)
                if method is not None:
                    if not callable(method):
                        raise TypeError(f"hooks: {type(obj).__name__}.{name} is not callable")
                    methods.append(method)
            setattr(self, name, tuple(methods))

    def __add__(self, other: Hooks | None) -> Hooks:
        return self if other is None else Hooks(self.objects + other.objects)


def compile_hooks(hooks: Any, arg: str = "hooks") -> Hooks | None:
    """A list of hook objects as ``Hooks``, None when there are none; bad input is refused
    with the argument's name."""
    if hooks is None:
        return None
    if isinstance(hooks, (str, bytes, dict)) or not hasattr(hooks, "__iter__"):
        raise TypeError(f"{arg}: expected a list of hook objects, got {type(hooks).__name__}")
    objects = list(hooks)
    for i, obj in enumerate(objects):
        if not any(callable(getattr(obj, name, None)) for name in METHODS):
            raise TypeError(
                f"{arg}[{i}]: {type(obj).__name__} has none of the hook methods "
                f"({', '.join(METHODS)})"
            )
    return Hooks(objects) if objects else None
