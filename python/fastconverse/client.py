"""``ConverseClient``: the native client, with coroutines for its async methods and the
conversations it keeps by id."""

from __future__ import annotations

import os
from _thread import allocate_lock  # (threading's Lock, without importing threading)

from fastconverse import _core
from fastconverse._boto3.aws_names import check_service, is_region_name, is_service_name
from fastconverse._boto3.calls import Boto3Calls
from fastconverse._records import settings as _stored
from fastconverse._records.by_id import ConversationsById
from fastconverse._records.settings import ConversationInfo
from fastconverse.conversation import Conversation
from fastconverse.template import Template, render_system_prompt

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any, Union

    from fastconverse._tools.toolbox import ToolBox
    from fastconverse.hooks import Hooks
    from fastconverse.memory import MemoryPolicy

    Memory = Union[_core.SlidingWindow, _core.TokenBudget, _core.Summarizing, MemoryPolicy, None]

__all__ = ["ConverseClient"]


def _with_tools(found: Conversation, tools: Any) -> None:
    """``tools`` given for a conversation this client holds are its tools from now on (as
    when it is loaded from a store with them), with its tool loop's settings kept."""
    from fastconverse._tools.toolbox import ToolBox

    held = found._tools
    if held is None:
        box = ToolBox(tools)
    else:
        box = ToolBox(
            tools,
            max_tool_rounds=held.max_tool_rounds,
            max_tool_concurrency=held.max_tool_concurrency,
            tool_timeout=held.tool_timeout,
            raise_tool_errors=held.raise_tool_errors,
        )
    found._use_tools(box)


def _compile_hooks(hooks: Any, arg: str) -> Hooks | None:
    if hooks is None:
        return None
    from fastconverse.hooks import compile_hooks

    return compile_hooks(hooks, arg)


class ConverseClient(ConversationsById, Boto3Calls):
    """A client of Bedrock Runtime's Converse API.

    ``ConverseClient("bedrock-runtime", region_name=...)`` and ``service_name=`` work as in
    ``boto3.client`` (see also ``fastconverse.client``); a service name is never taken for a
    model id, and any service but Bedrock Runtime is refused.

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
            With a store, a forgotten conversation is loaded again when asked for.
        store: Where conversations outlive the process: a SQLite file path (or
            ``SQLiteStore(path)``), a ``redis://`` URL (or ``RedisStore(url, ...)``), or
            None to keep them in memory only. See "Conversations that last" in the README.
        rate_limit: A ``RateLimit`` (your Bedrock quota: requests and tokens per minute)
            that every request of this client waits for; clients given the same one share
            it, and with ``redis_url=`` so do processes and machines.
        service_name: ``"bedrock-runtime"`` (boto3's first argument), the only one accepted.
        guardrail_config: boto3's ``guardrailConfig`` for the conversations this client
            creates (each may give its own).
        hooks: Objects with hook methods (``on_turn_start``, ``before_request``,
            ``after_response``, ``before_tool_call``, ``after_tool_call``, ``on_commit``,
            ``on_failure``) run around every turn of this client's conversations, before
            each conversation's own; see ``fastconverse.hooks``.
        log_content: Whether ``logging.getLogger("fastconverse")``'s DEBUG records may
            carry message text, tool inputs and results (also on with the environment
            variable ``FASTCONVERSE_LOG_CONTENT=1``); credentials never appear in a record.
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
        store: str | os.PathLike[str] | _core.Store | None = None,
        rate_limit: _core.RateLimit | None = None,
        service_name: str | None = None,
        guardrail_config: Mapping[str, Any] | None = None,
        hooks: Sequence[Any] | None = None,
        log_content: bool = False,
    ) -> None:
        if not isinstance(log_content, bool):
            raise TypeError(f"log_content: expected a bool, got {type(log_content).__name__}")
        if service_name is not None:
            check_service(service_name)
        if isinstance(model_id, str) and is_service_name(model_id):
            check_service(model_id, "model_id")  # (an AWS service, never a model)
            model_id = None
            # boto3's positional order follows: (service_name, region_name)
            if profile_name is not None and region_name is None and is_region_name(profile_name):
                region_name, profile_name = profile_name, None
        if profile_name is not None and region_name is None and is_region_name(profile_name):
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
            rate_limit=rate_limit,
        )
        self._store = _core._store_from(store)
        self._hooks = _compile_hooks(hooks, "hooks")
        # (message text in log records: off unless asked for, here or in the environment)
        self._log_content = log_content
        # (checked with each conversation's settings: a bad one names guardrail_config)
        self._guardrail = dict(guardrail_config) if guardrail_config is not None else None
        # (a dict keeps the order conversations were added in: all an OrderedDict gave here)
        self._conversations: dict[str, Conversation] = {}
        self._registry_lock = allocate_lock()
        self._evict_from = 0  # the registry size at which eviction looks again

    @property
    def store(self) -> _core.Store | None:
        """Where this client's conversations are kept (None: in memory only)."""
        return self._kept()

    def _kept(self) -> _core.Store | None:
        self._registry()  # (an initialised client)
        return self._store

    def create_conversation(
        self,
        system_prompt: str | Template | Sequence[Mapping[str, Any]] | None = None,
        *,
        prompt_variables: Mapping[str, Any] | None = None,
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
        metadata: Mapping[str, Any] | None = None,
        guardrail_config: Mapping[str, Any] | None = None,
        hooks: Sequence[Any] | None = None,
    ) -> Conversation:
        """Starts a conversation, kept in this client under its id (see ``max_conversations``).

        With ``tools`` (``@tool`` functions, ``Tool`` objects, plain typed functions or
        boto3 toolSpec dicts or OpenAI-style ``{"type": "function", "function": {...}}``
        dicts), ``send``, ``send_async`` and ``stream`` call the tools the
        model asks for and send their results back until it answers; see the README.

        ``memory`` keeps the history inside the context window (``SlidingWindow``,
        ``TokenBudget``, ``Summarizing`` or your ``MemoryPolicy``); ``cache`` places prompt
        cache points: ``"system"``, ``"tools"``, ``"history"``, several joined by ``"+"``
        or ``"all"``.

        ``guardrail_config`` (boto3's ``guardrailConfig``: ``guardrailIdentifier``,
        ``guardrailVersion``, ``trace``) checks every request of the conversation; a turn
        the guardrail stopped has ``stop_reason == "guardrail_intervened"`` and the trace on
        ``reply.trace``, and a user message it blocked is kept as a placeholder, so that the
        next turns are not blocked by it again. Default: the client's.

        A ``Template`` system prompt is filled in from ``prompt_variables`` now (a missing
        or unused variable is a ``ValueError``); the text is what is sent and kept.

        ``metadata`` is a dict of JSON values kept with the conversation (a user id, tags):
        ``list_conversations(metadata=...)`` finds conversations by it. With a store, the
        conversation is written there at once, and each turn when it commits.

        ``hooks`` run around this conversation's turns, after the client's (see
        ``fastconverse.hooks``).
        """
        self._registry()  # (an initialised client)
        own_hooks = _compile_hooks(hooks, "hooks")
        system_prompt = render_system_prompt(system_prompt, prompt_variables)
        guardrail = dict(guardrail_config) if guardrail_config is not None else self._guardrail
        toolbox = None
        if tools is not None:
            from fastconverse._tools.toolbox import ToolBox

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
        store = self._kept()
        stored = None
        if existing is None and conversation_id is not None and store is not None:
            stored = store._load(conversation_id)
        if existing is not None or stored is not None:
            # (a stored conversation is reopened with its code: tools and memory policy)
            code = ("tools", "memory") if existing is None else ()
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
                    ("metadata", metadata, None),
                    ("guardrail_config", guardrail_config, None),
                    ("hooks", hooks, None),
                )
                if value is not default and value != default and name not in code
            ]
            if given:
                raise ValueError(
                    f"conversation_id: {conversation_id!r} exists, and its settings are the "
                    f"ones it was created with; leave out {', '.join(given)} to retrieve it "
                    f"(or pick a new id)"
                )
            if existing is None and stored is not None:
                existing = self._reopen(str(conversation_id), stored, tools, memory)
            assert existing is not None
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
            store=store,
            settings=self._settings(
                system_prompt,
                inference_config,
                additional_model_request_fields,
                toolbox,
                max_tool_rounds,
                memory,
                cache,
                guardrail,
            )
            if store is not None
            else None,
            metadata=metadata,
            guardrail_config=guardrail,
        )
        return self._keep(
            Conversation(
                core, toolbox, self._hooks_with(own_hooks), getattr(self, "_log_content", False)
            )
        )

    def _settings(
        self,
        system_prompt: Any,
        inference_config: Any,
        fields: Any,
        toolbox: ToolBox | None,
        max_tool_rounds: int,
        memory: Any,
        cache: Any,
        guardrail: Any,
    ) -> str:
        return _stored.settings_json(
            system_prompt=system_prompt
            if isinstance(system_prompt, (str, type(None)))
            else list(system_prompt),
            inference_config=dict(inference_config) if inference_config is not None else None,
            additional_model_request_fields=fields,
            tool_names=_stored.tool_names(toolbox.specs if toolbox is not None else None),
            tool_choice=toolbox.tool_choice if toolbox is not None else None,
            max_tool_rounds=max_tool_rounds,
            max_tool_concurrency=toolbox.max_tool_concurrency if toolbox is not None else 8,
            tool_timeout=toolbox.tool_timeout if toolbox is not None else None,
            raise_tool_errors=toolbox.raise_tool_errors if toolbox is not None else False,
            memory=memory,
            cache=cache,
            guardrail_config=guardrail,
        )

    def _hooks_with(self, own: Hooks | None) -> Hooks | None:
        """The client's hooks, then a conversation's own."""
        mine: Hooks | None = getattr(self, "_hooks", None)
        return own if mine is None else mine + own

    def _keep(self, conv: Conversation) -> Conversation:
        with self._registry_lock:
            if conv.id in self._conversations:  # created meanwhile by another thread
                return self._conversations[conv.id]
            self._conversations[conv.id] = conv
            self._evict(keep=conv)
        return conv

    def _reopen(
        self, conversation_id: str, stored: _core._Stored, tools: Any, memory: Any
    ) -> Conversation:
        """A stored conversation as a ``Conversation`` of this client."""
        import json  # (here, not at the top: only conversations in a store need it)

        settings = json.loads(stored.settings)
        kwargs = _stored.reopened(conversation_id, settings, tools, memory)
        toolbox = None
        if kwargs.get("tools") is not None:
            from fastconverse._tools.toolbox import ToolBox

            toolbox = ToolBox(
                kwargs["tools"],
                tool_choice=kwargs.get("tool_choice"),
                max_tool_rounds=kwargs["max_tool_rounds"],
                max_tool_concurrency=kwargs["max_tool_concurrency"],
                tool_timeout=kwargs["tool_timeout"],
                raise_tool_errors=kwargs["raise_tool_errors"],
            )
        core = self._new_conversation(
            kwargs["system_prompt"],
            conversation_id=conversation_id,
            model_id=None,
            inference_config=kwargs["inference_config"],
            additional_model_request_fields=kwargs["additional_model_request_fields"],
            messages=None,
            tools=toolbox.specs if toolbox is not None else None,
            callable=toolbox.callable_names if toolbox is not None else [],
            max_tool_rounds=toolbox.max_tool_rounds if toolbox is not None else 0,
            tool_choice=toolbox.tool_choice if toolbox is not None else None,
            memory=kwargs.get("memory"),
            cache=kwargs["cache"],
            store=self._store,
            settings=json.dumps(settings),
            stored=stored,
            guardrail_config=kwargs.get("guardrail_config"),
        )
        return self._keep(
            Conversation(
                core, toolbox, self._hooks_with(None), getattr(self, "_log_content", False)
            )
        )

    def _registry(self) -> dict[str, Conversation]:
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
        size = len(self._conversations)
        extra = size - self.max_conversations
        if extra <= 0 or size < self._evict_from:
            return
        by_age = sorted(self._conversations.values(), key=lambda c: c._core.last_active)
        for conv in by_age:
            if extra <= 0:
                break
            if conv is not keep and not conv.busy:
                del self._conversations[conv.id]
                extra -= 1
        # Conversations in a turn stay: with thousands of turns under way at once, look
        # again only once the registry has grown by a tenth, not at every creation (a sort
        # of the whole registry each time made creating the 10,000th conversation cost ms).
        self._evict_from = len(self._conversations) + len(self._conversations) // 10 if extra else 0

    def get_conversation(
        self,
        conversation_id: str | Conversation,
        *,
        tools: Sequence[Any] | None = None,
        memory: Memory = None,
    ) -> Conversation:
        """The conversation with this id (or this conversation). With a store, one this
        client does not hold is loaded from it; ``tools`` and ``memory`` (code, which is not
        stored) reopen it. ``tools`` given for a conversation the client holds become its
        tools from then on. ``KeyError`` when there is none."""
        key = _conversation_key(conversation_id)
        registry = self._registry()
        found = registry.get(key)
        if found is not None:
            if tools is not None:
                _with_tools(found, tools)
            return found
        store = self._kept()
        stored = store._load(key) if store is not None else None
        if stored is None:
            raise KeyError(f"no conversation with id {key!r}")
        return self._reopen(key, stored, tools, memory)

    def list_conversations(
        self,
        max_results: int = 20,
        *,
        metadata: Mapping[str, Any] | None = None,
        after: ConversationInfo | None = None,
    ) -> list[ConversationInfo]:
        """Conversations, the most recently updated first: at most ``max_results``, those
        whose metadata has every key and value of ``metadata``, and after ``after`` (the
        last one of the previous page). With a store, every conversation in it."""
        if not isinstance(max_results, int) or isinstance(max_results, bool) or max_results < 0:
            raise ValueError(f"max_results: expected an int >= 0, got {max_results!r}")
        cursor = None if after is None else (after.updated_at, after.id)
        store = self._kept()
        if store is not None:
            rows = store._list(max_results, dict(metadata or {}), cursor)
            return [ConversationInfo.of(*row) for row in rows]
        registry = self._registry()
        with self._registry_lock:
            convs = list(registry.values())
        convs.sort(key=lambda c: c._core.last_active, reverse=True)
        if after is not None:
            ids = [c.id for c in convs]
            convs = convs[ids.index(after.id) + 1 :] if after.id in ids else []
        wanted = dict(metadata or {})
        infos = (c._info() for c in convs)
        return [i for i in infos if _has(i.metadata, wanted)][:max_results]

    def delete_conversation(self, conversation_id: str | Conversation) -> bool:
        """Deletes a conversation (by id or itself), from the store too, and returns True;
        ``KeyError`` when there is none."""
        key = _conversation_key(conversation_id)
        registry = self._registry()
        with self._registry_lock:
            held = registry.pop(key, None) is not None
        store = self._kept()
        stored = store._delete(key) if store is not None else False
        if not (held or stored):
            raise KeyError(f"no conversation with id {key!r}")
        return True


def _has(metadata: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    return all(k in metadata and metadata[k] == v for k, v in wanted.items())


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
