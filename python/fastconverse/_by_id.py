"""The reference tutorial's conversation-id API on ``ConverseClient``: ``send_message``,
``send_message_streaming``, ``get_conversation_details``. Each takes a conversation id (or
the ``Conversation``), so that a web worker can continue any conversation it is given: with
a store, one it does not hold is loaded first."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from fastconverse.events import TextDelta

if TYPE_CHECKING:
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

        def get_conversation(self, conversation_id: str | Conversation) -> Conversation: ...

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

    def get_conversation_details(self, conversation_id: str | Conversation) -> dict[str, Any]:
        """The conversation as a dict: ``conversationId``, ``modelId``, ``systemPrompt``,
        ``messages`` (the whole transcript, boto3 message dicts), ``usage``, ``metadata``,
        ``createdAt``, ``updatedAt`` (seconds since the epoch) and ``version``."""
        conv = self.get_conversation(conversation_id)
        info = conv._info()
        usage = conv.usage
        return {
            "conversationId": conv.id,
            "modelId": conv.model_id,
            "systemPrompt": conv.system_prompt,
            "messages": conv.transcript,
            "summary": conv.summary,
            "usage": {
                "inputTokens": usage.input_tokens,
                "outputTokens": usage.output_tokens,
                "totalTokens": usage.total_tokens,
            },
            "metadata": info.metadata,
            "createdAt": info.created_at,
            "updatedAt": info.updated_at,
            "version": info.version,
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
