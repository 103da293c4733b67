"""``Conversation``: the history of one chat and its turns, sync, async and streamed.

Each method here begins one native turn (``_core._Turn``), a state machine that says what
to do next (make a request, run tool calls, done) and takes in what happened, and hands it
to the one driver (``_turn.driver.steps``, with the hooks) and its runner for how it waits.
Every step that changes the turn runs in the caller's context, and the commit is the last of
them: a turn that fails, is cancelled or is interrupted leaves the history as it was.
"""

from __future__ import annotations

from _collections_abc import Mapping, Sequence  # (collections.abc's, without collections)

from fastconverse import _core
from fastconverse._content.user_content import (
    context_blocks as _context_blocks,
)
from fastconverse._content.user_content import has_media, unique_result_names, user_content
from fastconverse._observe.switches import logging_on, observed, tracing_on
from fastconverse._records.conversation_record import ConversationRecord
from fastconverse._records.settings import ConversationInfo
from fastconverse._tools.structured import Output
from fastconverse._tools.structured import wanted as _wanted
from fastconverse._turn import driver as _driver
from fastconverse.errors import TurnKeptInterrupt
from fastconverse.stream import ReplyStream, check_resume
from fastconverse.template import Template, render_system_prompt

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Coroutine
    from typing import Any, Union

    from fastconverse._tools.stats import ToolStats
    from fastconverse._tools.system import SystemTool
    from fastconverse._tools.toolbox import ToolBox
    from fastconverse._turn.driver import Steps
    from fastconverse.hooks import Hooks
    from fastconverse.tools import Tool

    # A list may mix text, content block dicts (``image()``, ``document()``...), paths and
    # PIL images; a lone path or PIL image is a message of one block.
    UserInput = Union[str, Sequence[Any], Mapping[str, Any], os.PathLike[str]]
    ToolChoice = Union[str, Mapping[str, Any], None]

__all__ = ["Conversation", "ReplyStream"]


class Conversation(ConversationRecord):
    """A multi-turn conversation with one model at a time; create it with
    ``ConverseClient.create_conversation``. The history changes only when a turn completes."""

    __slots__ = ("__weakref__", "_core", "_hooks", "_log_content", "_logged", "_template", "_tools")

    def __init__(
        self,
        core: _core.ConversationCore,
        tools: ToolBox | None,
        hooks: Hooks | None = None,
        log_content: bool = False,
        template: Mapping[str, Any] | None = None,
    ) -> None:
        self._core = core
        self._tools = tools
        self._hooks = hooks
        self._log_content = log_content
        # (``{"name", "variables"}`` of the Template it was created from, as a store keeps it)
        self._template = template
        # (the hooks with the observers', made at first use, with what they were made from)
        self._logged: tuple[Hooks | None, tuple[bool, bool], Hooks] | None = None

    def _turn_hooks(self) -> Hooks | None:
        """The hooks of the turn that begins: the observers' too (logs, traces) while they
        are on, asked once per turn, so that observing that is off costs a turn nothing."""
        log, tracing = logging_on(), tracing_on()
        if not (log or tracing):
            return self._hooks
        cached = self._logged
        if cached is None or cached[0] is not self._hooks or cached[1] != (log, tracing):
            hooks = observed(self._hooks, log, tracing, self._log_content)
            cached = self._logged = (self._hooks, (log, tracing), hooks)
        return cached[2]

    # --- the turns -------------------------------------------------------------------------

    def send(
        self,
        message: UserInput,
        *,
        tool_choice: ToolChoice = None,
        inference_config: Mapping[str, Any] | None = None,
        additional_model_request_fields: Mapping[str, Any] | None = None,
        model_id: str | None = None,
        additional_model_response_field_paths: Sequence[str] | None = None,
        output: Any = None,
        output_mode: str = "auto",
        system: str | Template | Sequence[Mapping[str, Any]] | None = None,
        context: Sequence[Any] | str | None = None,
        service_tier: str | None = None,
        performance_config: Mapping[str, Any] | None = None,
        request_metadata: Mapping[str, str] | None = None,
    ) -> _core.Reply:
        """Sends one user turn and waits for the whole reply (GIL released, Ctrl-C aware).
        With tools, the model's tool uses are answered by calling them until it replies.
        ``inference_config``, ``additional_model_request_fields`` (each key over the
        conversation's own), ``model_id``, ``additional_model_response_field_paths`` and
        ``system`` (a system prompt instead of the conversation's), ``service_tier``,
        ``performance_config`` and ``request_metadata`` apply to this turn only.
        ``context`` (text or content blocks, e.g. retrieved passages or ``document()``s)
        goes to the model before the message, on every request of this turn, and is never
        kept in the history.

        ``output`` (a pydantic model, dataclass or TypedDict class) asks for a value of
        that type: it is on ``reply.output``, validated, and ``reply.text`` is its JSON. A
        value that does not validate is sent back once with the errors; then
        ``errors.StructuredOutputError`` (the turn is not kept). ``output_mode``: "native"
        (Bedrock's structured output, ``outputConfig``), "tool" (a forced tool call), or
        "auto": native for the models Bedrock documents it for, else the tool."""
        wanted = self._output(output, output_mode, additional_model_request_fields, model_id)
        blocks = _context_blocks(context)
        turn = self._core.begin(
            message if type(message) is str else self._content(message),
            self._choice(tool_choice),
            inference_config,
            additional_model_request_fields,
            model_id=model_id,
            additional_model_response_field_paths=additional_model_response_field_paths,
            output=wanted.spec if wanted is not None else None,
            system=render_system_prompt(system, None),
            service_tier=service_tier,
            performance_config=performance_config,
            request_metadata=request_metadata,
        )
        return self._drive(_with_context(turn, blocks), wanted)

    def send_async(
        self,
        message: UserInput,
        *,
        tool_choice: ToolChoice = None,
        inference_config: Mapping[str, Any] | None = None,
        additional_model_request_fields: Mapping[str, Any] | None = None,
        model_id: str | None = None,
        additional_model_response_field_paths: Sequence[str] | None = None,
        output: Any = None,
        output_mode: str = "auto",
        system: str | Template | Sequence[Mapping[str, Any]] | None = None,
        context: Sequence[Any] | str | None = None,
        service_tier: str | None = None,
        performance_config: Mapping[str, Any] | None = None,
        request_metadata: Mapping[str, str] | None = None,
    ) -> Coroutine[Any, Any, _core.Reply]:
        """``send`` as a coroutine; cancelling the awaiting task aborts the request, and a
        cancelled turn never commits. Bad input is refused at once, before any await."""
        wanted = self._output(output, output_mode, additional_model_request_fields, model_id)
        blocks = _context_blocks(context)
        # The turn begins when awaited: overlapping awaits are refused in the order they happen.
        start = self._core.prepare(
            message if type(message) is str else self._content(message),
            self._choice(tool_choice),
            inference_config,
            additional_model_request_fields,
            model_id=model_id,
            additional_model_response_field_paths=additional_model_response_field_paths,
            output=wanted.spec if wanted is not None else None,
            system=render_system_prompt(system, None),
            service_tier=service_tier,
            performance_config=performance_config,
            request_metadata=request_metadata,
        )
        return self._drive_async(lambda: _with_context(start.begin(), blocks), wanted)

    def stream(
        self,
        message: UserInput,
        *,
        tool_choice: ToolChoice = None,
        inference_config: Mapping[str, Any] | None = None,
        additional_model_request_fields: Mapping[str, Any] | None = None,
        model_id: str | None = None,
        additional_model_response_field_paths: Sequence[str] | None = None,
        output: Any = None,
        output_mode: str = "auto",
        system: str | Template | Sequence[Mapping[str, Any]] | None = None,
        context: Sequence[Any] | str | None = None,
        service_tier: str | None = None,
        performance_config: Mapping[str, Any] | None = None,
        request_metadata: Mapping[str, str] | None = None,
        resume: int | None = None,
    ) -> ReplyStream:
        """Sends one user turn and streams the reply as typed events (``for`` or ``async
        for``); with tools, through the tool calls, each reported by a ``ToolResult``.

        A stream cut after some of the answer (a throttle, a 5xx, a dropped connection, a
        read timeout, an in-stream error) resumes: the model is asked to continue the answer
        so far, and the stream goes on with the new text only, after a ``Resumed`` event.
        ``resume``: how many times each request may resume (None: the client's ``resume``;
        0: never, the stream fails as it was cut).

        ``output`` and ``output_mode`` as for ``send``: the JSON streams as text events
        (either way), the validated value is ``stream.reply.output``. A retry is an
        ``events.OutputRetry`` event: the answer then streams again from its start."""
        if resume is not None:
            resume = check_resume(resume)
        wanted = self._output(output, output_mode, additional_model_request_fields, model_id)
        blocks = _context_blocks(context)
        turn = self._core.begin(
            message if type(message) is str else self._content(message),
            self._choice(tool_choice),
            inference_config,
            additional_model_request_fields,
            model_id=model_id,
            additional_model_response_field_paths=additional_model_response_field_paths,
            output=wanted.spec if wanted is not None else None,
            system=render_system_prompt(system, None),
            service_tier=service_tier,
            performance_config=performance_config,
            request_metadata=request_metadata,
        )
        _with_context(turn, blocks)
        hooks = self._turn_hooks()
        return ReplyStream(
            turn,
            self._tools,
            self._steps(turn, hooks, wanted),
            lambda reply, in_loop: _driver.committed(self, hooks, reply, in_loop),
            resume,
            wanted.name if wanted is not None and not wanted.native else None,
        )

    def send_tool_results(
        self, results: Mapping[str, Any], *, tool_choice: ToolChoice = None
    ) -> _core.Reply:
        """Answers the last reply's tool uses (``{tool_use_id: result}``; an exception is an
        error result) and waits for the next reply; tools with a function that ``results``
        leaves out are called."""
        return self._drive(self._results_starter(results, tool_choice)())

    def send_tool_results_async(
        self, results: Mapping[str, Any], *, tool_choice: ToolChoice = None
    ) -> Coroutine[Any, Any, _core.Reply]:
        """``send_tool_results`` as a coroutine."""
        begin = self._results_starter(results, tool_choice)
        return self._drive_async(begin)

    def _steps(self, turn: _core._Turn, hooks: Hooks | None, wanted: Output | None = None) -> Steps:
        return _driver.steps(
            self, turn, hooks, self._tools, _driver.with_turn(self._history, turn), wanted
        )

    def _drive(self, turn: _core._Turn, wanted: Output | None = None) -> _core.Reply:
        hooks = self._turn_hooks()
        try:
            reply = _driver.run(self._steps(turn, hooks, wanted), turn, self._tools)
        except TurnKeptInterrupt as kept:
            _driver.committed(self, hooks, kept.reply, in_loop=False)
            raise
        _driver.committed(self, hooks, reply, in_loop=False)
        return reply

    async def _drive_async(
        self, begin: Callable[[], _core._Turn], wanted: Output | None = None
    ) -> _core.Reply:
        turn = begin()
        hooks = self._turn_hooks()
        try:
            reply = await _driver.run_async(self._steps(turn, hooks, wanted), turn, self._tools)
        except TurnKeptInterrupt as kept:
            _driver.committed(self, hooks, kept.reply, in_loop=True)
            raise
        _driver.committed(self, hooks, reply, in_loop=True)  # (no await: no cancel here)
        return reply

    def _output(
        self, output: Any, mode: str, fields: Mapping[str, Any] | None, model_id: str | None
    ) -> Output | None:
        """A turn's structured output (None: none asked for), checked before the request."""
        return _wanted(
            output, self.additional_model_request_fields, fields, mode, model_id or self.model_id
        )

    def _content(self, message: UserInput) -> Any:
        """A list of text, blocks, paths and images as content blocks, checked against the
        request's limits with the history it goes with. Text and message dicts go to the
        native layer untouched: their checks are there, and cost nothing in Python."""
        if type(message) is dict and "role" in message and not has_media(message):
            return message
        return user_content(message, self._history)

    def _history(self) -> list[dict[str, Any]]:
        return self._core.messages

    def _box(self) -> ToolBox:
        if self._tools is None:  # the machine asks for tools only of conversations with tools
            raise RuntimeError("this conversation has no tools to run")
        return self._tools

    def _choice(self, tool_choice: ToolChoice) -> dict[str, Any] | None:
        if tool_choice is None:
            return None
        if self._tools is None:
            raise ValueError(
                "tool_choice: this conversation has no tools; pass tools=[...] to "
                "create_conversation"
            )
        return self._tools.choice(tool_choice, "tool_choice")

    def _results_starter(
        self, results: Mapping[str, Any], tool_choice: ToolChoice
    ) -> Callable[[], _core._Turn]:
        if self._tools is None:
            raise ValueError(
                "results: this conversation has no tools; pass tools=[...] to create_conversation"
            )
        if not isinstance(results, Mapping):
            raise TypeError(
                f"results: expected a dict of tool use id -> result, got {type(results).__name__}"
            )
        from fastconverse._tools.toolbox import given_result

        given = {key: given_result(key, value) for key, value in results.items()}
        named = unique_result_names(list(given.values()), self._history)
        given = dict(zip(given, named))
        choice = self._choice(tool_choice)
        return lambda: self._core.begin_results(given, choice)

    # --- state -----------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._core.id

    @property
    def model_id(self) -> str:
        """The model of the next turn; assign to switch models mid-conversation."""
        return self._core.model_id

    @model_id.setter
    def model_id(self, value: str) -> None:
        self._core.model_id = value

    @property
    def tools(self) -> list[Tool[..., Any] | SystemTool]:
        """The conversation's tools (``Tool`` objects, and ``SystemTool`` ones for the tools
        the service runs), in the order given."""
        return list(self._tools.declared) if self._tools is not None else []

    @property
    def tool_metrics(self) -> dict[str, ToolStats]:
        """Calls, errors and seconds per tool name, over this conversation's tool calls."""
        return self._tools.metrics() if self._tools is not None else {}

    def _add_hooks(self, own: Hooks) -> None:
        """These hooks for this and later turns, after the ones it has (``get_conversation(
        ..., hooks=...)``); a hook object it has already is not added twice."""
        have = self._hooks.objects if self._hooks is not None else ()
        new = [h for h in own.objects if not any(h is o for o in have)]
        if new:
            from fastconverse.hooks import Hooks

            self._hooks = Hooks(new) if self._hooks is None else self._hooks + Hooks(new)

    def _use_tools(self, box: ToolBox) -> None:
        """These tools for this and later turns (``send_message_with_tools``)."""
        self._core.use_tools(box.specs, box.callable_names, box.max_tool_rounds, box.tool_choice)
        self._tools = box

    def _info(self) -> ConversationInfo:
        version, created, updated, metadata, count = self._core.stamp
        return ConversationInfo.of(
            self.id, version, created, updated, self.model_id, count, metadata
        )

    def reset(self) -> None:
        """Forgets the history (and the last reply); usage keeps counting."""
        self._core.reset()

    def __len__(self) -> int:
        return len(self._core)

    def __str__(self) -> str:
        """The id: what the id-based methods take (``print(f"started {conv}")``)."""
        return self.id

    def __repr__(self) -> str:
        return (
            f"Conversation(id={self.id!r}, model_id={self.model_id!r}, messages={len(self._core)})"
        )


def _with_context(turn: _core._Turn, blocks: list[Any]) -> _core._Turn:
    """The turn, with ``blocks`` (``_context_blocks``) added; content the turn refuses
    ends it (the conversation is left as it was) and is raised."""
    if blocks:
        try:
            turn.add_context(blocks)
        except BaseException:
            turn.close()
            raise
    return turn
