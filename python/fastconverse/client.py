"""``ConverseClient``: the native client, with coroutines for its async methods and the
conversations it keeps by id."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

from fastconverse import _core
from fastconverse.conversation import Conversation

if TYPE_CHECKING:
    from fastconverse.memory import MemoryPolicy

    Memory = Union[_core.SlidingWindow, _core.TokenBudget, _core.Summarizing, MemoryPolicy, None]

__all__ = ["ConverseClient"]

# An AWS region name (us-east-1, us-gov-west-1, eu-central-2...), as boto3 users pass second.
_REGION = re.compile(r"[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+")


class ConverseClient(_core.ConverseClient):
    """A client of Bedrock Runtime's Converse API.

    Args:
        model_id: Default model of calls without ``modelId`` (and of new conversations).
        profile_name: Shared-config profile to use (SSO profiles included).
        region_name: AWS region; otherwise from the environment or profile.
        endpoint_url: Another endpoint, e.g. a VPC endpoint or ``FakeBedrock().url``.
        aws_access_key_id: Explicit credentials (with ``aws_secret_access_key``), instead of
            the default chain (environment, profiles, SSO, container and instance roles).
        aws_secret_access_key: See ``aws_access_key_id``.
        aws_session_token: For temporary credentials.
        max_attempts: Attempts per call, the first included (the SDK's standard retries).
        connect_timeout: Seconds to wait for a connection.
        read_timeout: Seconds to wait for a response to start, and for each stream event.
        max_conversations: How many conversations the client keeps by id
            (``get_conversation``). Beyond it, creating one forgets the least recently
            active conversation that is not in a turn; a conversation you hold keeps working.
    """

    def __init__(
        self,
        model_id: str | None = None,
        profile_name: str | None = None,
        region_name: str | None = None,
        *,
        endpoint_url: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        max_attempts: int = 3,
        connect_timeout: float = 10.0,
        read_timeout: float = 300.0,
        max_conversations: int = 1000,
    ) -> None:
        if profile_name is not None and region_name is None and _REGION.fullmatch(profile_name):
            raise ValueError(
                f"profile_name: {profile_name!r} looks like an AWS region; the positional order "
                f"is (model_id, profile_name, region_name): pass region_name={profile_name!r}"
            )
        # Note: the native object is built uninitialised and configured here, so that a
        # subclass may take arguments of its own and call super().__init__(model_id, ...).
        self._configure(
            model_id,
            profile_name,
            region_name,
            endpoint_url=endpoint_url,
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=aws_secret_access_key,
            aws_session_token=aws_session_token,
            max_attempts=max_attempts,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_conversations=max_conversations,
        )
        self._conversations: OrderedDict[str, Conversation] = OrderedDict()
        self._registry_lock = threading.Lock()

    async def converse_async(self, **kwargs: Any) -> dict[str, Any]:
        """``converse`` as a coroutine; the HTTP request runs without holding the GIL."""
        return await super().converse_async(**kwargs)

    async def converse_stream_async(self, **kwargs: Any) -> dict[str, Any]:
        """``converse_stream`` as a coroutine; iterate ``["stream"]`` with ``async for``."""
        return await super().converse_stream_async(**kwargs)

    def create_conversation(
        self,
        system_prompt: str | Sequence[Mapping[str, Any]] | None = None,
        *,
        conversation_id: str | None = None,
        model_id: str | None = None,
        inference_config: Mapping[str, Any] | None = None,
        additional_model_request_fields: Mapping[str, Any] | None = None,
        messages: Sequence[Mapping[str, Any]] | None = None,
        tools: Sequence[Any] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        max_tool_rounds: int = 16,
        max_tool_concurrency: int = 8,
        tool_timeout: float | None = None,
        raise_tool_errors: bool = False,
        memory: Memory = None,
        cache: str | Sequence[str] | None = None,
    ) -> Conversation:
        """Starts a conversation, kept in this client under its id (see ``max_conversations``).

        With ``tools`` (``@tool`` functions, ``Tool`` objects, plain typed functions or
        boto3 toolSpec dicts), ``send``, ``send_async`` and ``stream`` call the tools the
        model asks for and send their results back until it answers; see the README.

        ``memory`` keeps the history inside the context window (``SlidingWindow``,
        ``TokenBudget``, ``Summarizing`` or your ``MemoryPolicy``); ``cache`` places prompt
        cache points: ``"system"``, ``"tools"``, ``"history"``, several joined by ``"+"``
        or ``"all"``.
        """
        self._registry()  # (an initialised client)
        toolbox = None
        if tools is not None:
            from fastconverse._tools import ToolBox

            toolbox = ToolBox(
                tools,
                tool_choice=tool_choice,
                max_tool_rounds=max_tool_rounds,
                max_tool_concurrency=max_tool_concurrency,
                tool_timeout=tool_timeout,
                raise_tool_errors=raise_tool_errors,
            )
        elif tool_choice is not None:
            raise ValueError("tool_choice: this conversation has no tools; pass tools=[...] too")
        existing = self._registry().get(conversation_id) if conversation_id is not None else None
        if existing is not None:
            # As the reference tutorial's client: an existing id retrieves that conversation.
            # Settings given with it would be silently dropped: refuse them instead.
            given = [
                name
                for name, value, default in (
                    ("system_prompt", system_prompt, None),
                    ("model_id", model_id, None),
                    ("inference_config", inference_config, None),
                    ("additional_model_request_fields", additional_model_request_fields, None),
                    ("messages", messages, None),
                    ("tools", tools, None),
                    ("tool_choice", tool_choice, None),
                    ("max_tool_rounds", max_tool_rounds, 16),
                    ("max_tool_concurrency", max_tool_concurrency, 8),
                    ("tool_timeout", tool_timeout, None),
                    ("raise_tool_errors", raise_tool_errors, False),
                    ("memory", memory, None),
                    ("cache", cache, None),
                )
                if value is not default and value != default
            ]
            if given:
                raise ValueError(
                    f"conversation_id: {conversation_id!r} exists, and its settings are the "
                    f"ones it was created with; leave out {', '.join(given)} to retrieve it "
                    f"(or pick a new id)"
                )
            return existing
        core = self._new_conversation(
            system_prompt,
            conversation_id=conversation_id,
            model_id=model_id,
            inference_config=inference_config,
            additional_model_request_fields=additional_model_request_fields,
            messages=messages,
            tools=toolbox.specs if toolbox is not None else None,
            callable=toolbox.callable_names if toolbox is not None else [],
            max_tool_rounds=toolbox.max_tool_rounds if toolbox is not None else 0,
            tool_choice=toolbox.tool_choice if toolbox is not None else None,
            memory=memory,
            cache=cache,
        )
        conv = Conversation(core, toolbox)
        with self._registry_lock:
            if core.id in self._conversations:  # created meanwhile by another thread
                return self._conversations[core.id]
            self._conversations[core.id] = conv
            self._evict(keep=conv)
        return conv

    def _registry(self) -> OrderedDict[str, Conversation]:
        try:
            return self._conversations
        except AttributeError:
            raise RuntimeError(
                "this ConverseClient is not initialised: a subclass's __init__ must call "
                "super().__init__(model_id, ...)"
            ) from None

    def _evict(self, keep: Conversation) -> None:
        """Forgets the least recently active conversations beyond ``max_conversations``,
        never ``keep`` (the new one) nor one in a turn (the count may then stay above)."""
        extra = len(self._conversations) - self.max_conversations
        if extra <= 0:
            return
        by_age = sorted(self._conversations.values(), key=lambda c: c._core.last_active)
        for conv in by_age:
            if extra <= 0:
                break
            if conv is not keep and not conv.busy:
                del self._conversations[conv.id]
                extra -= 1

    def get_conversation(self, conversation_id: str | Conversation) -> Conversation:
        """The conversation with this id (or this conversation); ``KeyError`` when there is
        none (or it was forgotten to stay within ``max_conversations``)."""
        key = _conversation_key(conversation_id)
        try:
            return self._registry()[key]
        except KeyError:
            raise KeyError(f"no conversation with id {key!r}") from None

    def list_conversations(self, max_results: int = 20) -> list[Conversation]:
        """Conversations, the most recently active first."""
        registry = self._registry()
        with self._registry_lock:
            convs = list(registry.values())
        convs.sort(key=lambda c: c._core.last_active, reverse=True)
        return convs[:max_results]

    def delete_conversation(self, conversation_id: str | Conversation) -> bool:
        """Forgets a conversation (by id or itself) and returns True; ``KeyError`` when there
        is none."""
        key = _conversation_key(conversation_id)
        registry = self._registry()
        with self._registry_lock:
            if registry.pop(key, None) is None:
                raise KeyError(f"no conversation with id {key!r}")
        return True


def _conversation_key(conversation: str | Conversation) -> str:
    """A conversation's id, from the id or the conversation."""
    if isinstance(conversation, Conversation):
        return conversation.id
    if not isinstance(conversation, str):
        raise TypeError(
            f"conversation_id: expected a conversation id (str) or a Conversation, got "
            f"{type(conversation).__name__}"
        )
    return conversation
