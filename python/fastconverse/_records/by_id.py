"""The reference tutorial's conversation-id API on ``ConverseClient``: ``send_message``,
``send_message_streaming``, ``send_message_with_image``, ``get_conversation_details``. Each
takes a conversation id (or the ``Conversation``), so that a web worker can continue any
conversation it is given: with a store, one it does not hold is loaded first."""

from __future__ import annotations

import os
from _collections_abc import Mapping, Sequence  # (collections.abc's, without collections)

from fastconverse.content import image
from fastconverse.events import TextDelta

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator
    from typing import Any

    from fastconverse.conversation import Conversation

__all__ = ["ConversationsById", "split_params"]

# The keys of boto3's inferenceConfig; any other parameter is model-specific.
_INFERENCE_KEYS = ("maxTokens", "temperature", "topP", "stopSequences")


def split_params(
    params: Mapping[str, Any] | None,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """``additional_model_params`` as (inferenceConfig, additionalModelRequestFields): the
    inferenceConfig keys go to the first, everything else to the model's own fields."""
    if params is None:
        return None, None
    if not isinstance(params, Mapping):
        raise TypeError(
            f"additional_model_params: expected a dict such as {{'temperature': 0.2, "
            f"'maxTokens': 512}}, got {type(params).__name__}"
        )
    inference = {k: v for k, v in params.items() if k in _INFERENCE_KEYS}
    fields = {k: v for k, v in params.items() if k not in _INFERENCE_KEYS}
    return inference or None, fields or None


class ConversationsById:
    """Mixed into ``ConverseClient``."""

    if TYPE_CHECKING:

        def get_conversation(
            self, conversation_id: str | Conversation, *, tools: Sequence[Any] | None = None
        ) -> Conversation: ...

    def send_message(
        self,
        conversation_id: str | Conversation,
        message: Any,
        additional_model_params: Mapping[str, Any] | None = None,
    ) -> str:
        """Sends ``message`` in the conversation and returns the reply's text.
        ``additional_model_params`` applies to this turn only: ``maxTokens``,
        ``temperature``, ``topP`` and ``stopSequences`` override the conversation's
        inference settings, other keys go to the model as additional request fields."""
        inference, fields = split_params(additional_model_params)
        conv = self.get_conversation(conversation_id)
        return conv.send(
            message, inference_config=inference, additional_model_request_fields=fields
        ).text

    async def send_message_async(
        self,
        conversation_id: str | Conversation,
        message: Any,
        additional_model_params: Mapping[str, Any] | None = None,
    ) -> str:
        """``send_message`` as a coroutine."""
        inference, fields = split_params(additional_model_params)
        conv = self.get_conversation(conversation_id)
        reply = await conv.send_async(
            message, inference_config=inference, additional_model_request_fields=fields
        )
        return reply.text

    def send_message_with_image(
        self,
        conversation_id: str | Conversation,
        message: str,
        image_path: str | os.PathLike[str],
        additional_model_params: Mapping[str, Any] | None = None,
    ) -> str:
        """Sends ``message`` with the image at ``image_path`` (png, jpeg, gif or webp, at most
        3.75 MB) and returns the reply's text; ``additional_model_params`` as in
        ``send_message``."""
        return self.send_message(
            conversation_id, [message, image(image_path)], additional_model_params
        )

    async def send_message_with_image_async(
        self,
        conversation_id: str | Conversation,
        message: str,
        image_path: str | os.PathLike[str],
        additional_model_params: Mapping[str, Any] | None = None,
    ) -> str:
        """``send_message_with_image`` as a coroutine."""
        return await self.send_message_async(
            conversation_id, [message, image(image_path)], additional_model_params
        )

    def send_message_streaming(
        self,
        conversation_id: str | Conversation,
        message: Any,
        additional_model_params: Mapping[str, Any] | None = None,
    ) -> Iterator[str]:
        """Sends ``message`` and yields the reply's text as it arrives. The turn is kept
        when the stream ends; closing the iterator early (or an error) keeps nothing."""
        inference, fields = split_params(additional_model_params)
        conv = self.get_conversation(conversation_id)
        stream = conv.stream(
            message, inference_config=inference, additional_model_request_fields=fields
        )
        return _texts(stream)

    def send_message_streaming_async(
        self,
        conversation_id: str | Conversation,
        message: Any,
        additional_model_params: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[str]:
        """``send_message_streaming`` for ``async for``."""
        inference, fields = split_params(additional_model_params)
        conv = self.get_conversation(conversation_id)
        stream = conv.stream(
            message, inference_config=inference, additional_model_request_fields=fields
        )
        return _texts_async(stream)

    def send_message_with_tools(
        self,
        conversation_id: str | Conversation,
        message: Any,
        tools: Sequence[Any],
        tool_handler: Callable[[str, dict[str, Any]], Any] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        additional_model_params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Sends ``message`` with ``tools`` (``@tool`` functions, boto3 toolSpec dicts, or
        the tutorial's ``{"type": "function", "function": {...}}`` dicts), which stay with
        the conversation for later turns. With ``tool_handler(name, input) -> result``
        (or functions among the tools), the model's tool calls are answered until it
        replies; otherwise the reply's ``tool_calls`` wait for ``send_tool_results``.
        Returns ``{"message", "stop_reason", "tool_calls", "usage"}``."""
        from fastconverse._tools.toolbox import ToolBox

        box = ToolBox(
            [_tool(t, tool_handler, f"tools[{i}]") for i, t in enumerate(_listed(tools))],
            tool_choice=tool_choice,
        )
        conv = self.get_conversation(conversation_id, tools=box.declared)
        conv._use_tools(box)
        inference, fields = split_params(additional_model_params)
        reply = conv.send(
            message, inference_config=inference, additional_model_request_fields=fields
        )
        return _outcome(conv, reply)

    def send_tool_results(
        self,
        conversation_id: str | Conversation,
        tool_results: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    ) -> dict[str, Any]:
        """Answers the tool calls ``send_message_with_tools`` returned: ``{tool_use_id:
        result}``, or the tutorial's list of ``{"tool_call_id", "function_response"}``.
        Returns what ``send_message_with_tools`` returns."""
        if isinstance(tool_results, Mapping):
            results = dict(tool_results)
        elif isinstance(tool_results, Sequence) and not isinstance(tool_results, (str, bytes)):
            results = {}
            for i, r in enumerate(tool_results):
                if not (isinstance(r, Mapping) and "tool_call_id" in r):
                    raise TypeError(
                        f"tool_results[{i}]: expected {{'tool_call_id': ..., "
                        f"'function_response': ...}}, got {r!r}"
                    )
                results[r["tool_call_id"]] = r.get("function_response")
        else:
            raise TypeError(
                f"tool_results: expected {{tool_use_id: result}} or a list of "
                f"{{'tool_call_id', 'function_response'}} dicts, got {type(tool_results).__name__}"
            )
        conv = self.get_conversation(conversation_id)
        return _outcome(conv, conv.send_tool_results(results))

    def get_conversation_details(self, conversation_id: str | Conversation) -> dict[str, Any]:
        """The conversation as a dict: ``conversationId``, ``modelId``, ``systemPrompt``,
        ``messages`` (the whole transcript, boto3 message dicts), ``usage``, ``metadata``,
        ``createdAt``, ``updatedAt`` (seconds since the epoch), ``version``, and the
        template it was created from: ``templateName``, ``templateVars`` (or None)."""
        conv = self.get_conversation(conversation_id)
        conv._core.sync()  # (another worker may have written since this one loaded it)
        info = conv._info()
        return {
            "conversationId": conv.id,
            "modelId": conv.model_id,
            "systemPrompt": conv.system_prompt,
            "messages": conv.transcript,
            "summary": conv.summary,
            "usage": conv.usage.to_dict(),  # (boto3's shape, cache tokens included)
            "metadata": info.metadata,
            "createdAt": info.created_at,
            "updatedAt": info.updated_at,
            "version": info.version,
            "templateName": conv.template_name,
            "templateVars": conv.template_vars,
        }


def _listed(tools: Any) -> Sequence[Any]:
    if isinstance(tools, (str, bytes, Mapping)) or not isinstance(tools, Sequence):
        raise TypeError(f"tools: expected a list of tools, got {type(tools).__name__}")
    return tools


def _tool(value: Any, handler: Callable[[str, dict[str, Any]], Any] | None, arg: str) -> Any:
    """A tool of ``send_message_with_tools``: with a handler, a spec (a toolSpec or the
    tutorial's function dict, which ``Tool`` reads) becomes a tool the loop calls."""
    import inspect  # here, not at the top: it costs a third of the package's import time

    from fastconverse.tools import Tool

    if isinstance(value, Mapping) and handler is not None and "systemTool" not in value:
        try:
            name = Tool(value).name
        except ValueError as exc:
            raise ValueError(f"{arg}: {exc}") from None
        if inspect.iscoroutinefunction(handler):

            async def call_async(**kwargs: Any) -> Any:
                return await handler(name, kwargs)

            return Tool(value, call_async)

        def call(**kwargs: Any) -> Any:
            return handler(name, kwargs)

        return Tool(value, call)
    return value


def _outcome(conv: Conversation, reply: Any) -> dict[str, Any]:
    """A turn as ``send_message_with_tools`` returns it; ``tool_calls`` in the tutorial's
    shape (``arguments`` as JSON text) with ``toolUse`` beside it."""
    import json  # (here, not at the top: only tool calls need it)

    calls = [
        {
            "type": "function",
            "id": use["toolUseId"],
            "function": {
                "name": use["name"],
                "arguments": json.dumps(use["input"]),
                "tool_call_id": use["toolUseId"],
            },
            "toolUse": use,
        }
        for use in conv.pending_tool_calls
    ]
    return {
        "message": reply.text,
        "stop_reason": reply.stop_reason,
        "tool_calls": calls,
        "usage": reply.usage.to_dict(),  # (boto3's shape, cache tokens included)
    }


def _texts(stream: Any) -> Iterator[str]:
    with stream:
        for event in stream:
            if isinstance(event, TextDelta) and event.text:
                yield event.text


async def _texts_async(stream: Any) -> AsyncIterator[str]:
    async with _closing(stream):
        async for event in stream:
            if isinstance(event, TextDelta) and event.text:
                yield event.text


class _closing:
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aenter__(self) -> Any:
        return self._stream

    async def __aexit__(self, *exc: object) -> None:
        self._stream.close()
