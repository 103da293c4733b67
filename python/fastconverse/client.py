"""``ConverseClient``: the native client, with coroutines for its async methods, and the
conversations it makes (those it keeps by id: ``_records/registry.py``)."""

from __future__ import annotations

import os
from _collections_abc import Mapping  # (collections.abc's, without importing collections)

from fastconverse import _core
from fastconverse._boto3.aws_names import check_service, is_region_name, is_service_name
from fastconverse._boto3.calls import Boto3Calls
from fastconverse._records import settings as _stored
from fastconverse._records.by_id import ConversationsById
from fastconverse._records.registry import ConversationRegistry
from fastconverse._records.templated import TemplatedConversations
from fastconverse.conversation import Conversation
from fastconverse.prompts import PromptLibrary
from fastconverse.stream import check_resume
from fastconverse.template import Template, render_system_prompt

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from fastconverse._records.registry import Memory
    from fastconverse.grounding import Grounding
    from fastconverse.hooks import Hooks

__all__ = ["ConverseClient"]


def _compile_hooks(hooks: Any, grounding: Any = None) -> Hooks | None:
    if hooks is None and grounding is None:
        return None
    from fastconverse.grounding import conversation_hooks

    return conversation_hooks(hooks, grounding)


class ConverseClient(ConversationRegistry, ConversationsById, TemplatedConversations, Boto3Calls):
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
        resume: How many times a conversation's stream that is cut after some of the answer
            resumes, continuing the answer (0: never; ``conv.stream(..., resume=)`` for one
            stream). The boto3-shaped ``converse_stream`` never resumes, as in boto3.
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
        prompt_library: The named templates of ``create_conversation_with_template`` (a
            ``PromptLibrary``); by default a new ``PromptLibrary.default()`` of this client.
        service_tier: ``"priority"``, ``"default"``, ``"flex"`` or ``"reserved"``: the
            tier that serves this client's conversations (each may give its own, and each
            turn); sent as Bedrock's ``serviceTier``, echoed as ``reply.service_tier``.
        performance_config: boto3's ``performanceConfig`` (``{"latency": "optimized"}``)
            for this client's conversations.
        request_metadata: Up to 16 text pairs Bedrock's invocation logs are filtered by,
            for this client's conversations.
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
        prompt_library: PromptLibrary | None = None,
        service_tier: str | None = None,
        performance_config: Mapping[str, Any] | None = None,
        request_metadata: Mapping[str, str] | None = None,
        resume: int = 2,
    ) -> None:
        if prompt_library is not None and not isinstance(prompt_library, PromptLibrary):
            raise TypeError(
                f"prompt_library: expected a PromptLibrary (PromptLibrary({{name: text}}) or "
                f"PromptLibrary.default()), got {type(prompt_library).__name__}"
            )
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
            resume=check_resume(resume),
        )
        self._store = _core._store_from(store)
        self._hooks = _compile_hooks(hooks)
        # (message text in log records: off unless asked for, here or in the environment)
        self._log_content = log_content
        # (checked with each conversation's settings: a bad one names guardrail_config)
        self._guardrail = dict(guardrail_config) if guardrail_config is not None else None
        self._prompt_library = prompt_library
        _core._check_serving(service_tier, performance_config, request_metadata)
        self._serving = _stored.serving_settings(service_tier, performance_config, request_metadata)
        self._start_registry()

    def create_conversation(
        self,
        system_prompt: str | Template | Sequence[Mapping[str, Any]] | None = None,
        *,
        prompt_variables: Mapping[str, Any] | None = None,
        conversation_id: str | Conversation | None = None,
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
        cache: str | Sequence[str] | Mapping[str, str | None] | None = None,
        metadata: Mapping[str, Any] | None = None,
        guardrail_config: Mapping[str, Any] | None = None,
        hooks: Sequence[Any] | None = None,
        grounding: Grounding | Callable[..., Any] | None = None,
        service_tier: str | None = None,
        performance_config: Mapping[str, Any] | None = None,
        request_metadata: Mapping[str, str] | None = None,
    ) -> Conversation:
        """Starts a conversation, kept in this client under its id (see ``max_conversations``).

        With ``tools`` (``@tool`` functions, ``Tool`` objects, plain typed functions or
        boto3 toolSpec dicts or OpenAI-style ``{"type": "function", "function": {...}}``
        dicts), ``send``, ``send_async`` and ``stream`` call the tools the
        model asks for and send their results back until it answers; see the README.

        ``memory`` keeps the history inside the context window (``SlidingWindow``,
        ``TokenBudget``, ``Summarizing`` or your ``MemoryPolicy``); ``cache`` places prompt
        cache points: ``"system"``, ``"tools"``, ``"history"``, several joined by ``"+"``
        or ``"all"``, each with an optional lifetime (``"system:1h"``), or a dict of place
        to lifetime (``{"system": "1h", "history": "5m"}``).

        ``guardrail_config`` (boto3's ``guardrailConfig``: ``guardrailIdentifier``,
        ``guardrailVersion``, ``trace``) checks every request of the conversation; a turn
        the guardrail stopped has ``stop_reason == "guardrail_intervened"`` and the trace on
        ``reply.trace``, and a user message it blocked is kept as a placeholder, so that the
        next turns are not blocked by it again. Default: the client's.

        A ``Template`` system prompt is filled in from ``prompt_variables`` now (a missing
        or unused variable is a ``ValueError``); the text is what is sent and kept, and the
        template's name and the variables are kept too (``conv.template_name``,
        ``conv.template_vars``).

        ``conversation_id`` names the new conversation; an id this client holds (or its
        store has) retrieves that conversation instead, as in the reference tutorial, and
        settings given with it are refused. A ``Conversation`` stands for its id, as in
        every by-id method: it retrieves that conversation, and one this client cannot
        find is a ``ValueError`` (a new, empty conversation under its id would look like
        it and have none of its history).

        ``metadata`` is a dict of JSON values kept with the conversation (a user id, tags):
        ``list_conversations(metadata=...)`` finds conversations by it. With a store, the
        conversation is written there at once, and each turn when it commits.

        ``hooks`` run around this conversation's turns, after the client's (see
        ``fastconverse.hooks``).

        ``service_tier``, ``performance_config`` and ``request_metadata`` go with every
        request of the conversation (each one not given: the client's); see
        ``ConverseClient``. A turn may give its own.

        ``grounding`` (a retriever, or a ``fastconverse.Grounding`` with its options) finds
        passages for each user message, which go to the model with it and are listed on
        ``reply.sources``; see ``fastconverse.grounding``.
        """
        self._registry()  # (an initialised client)
        own_hooks = _compile_hooks(hooks, grounding)
        rendered = render_system_prompt(system_prompt, prompt_variables)
        template = (
            _stored.kept_template(system_prompt.name, prompt_variables)
            if isinstance(system_prompt, Template)
            else None
        )
        system_prompt = rendered
        given_conversation = None
        if isinstance(conversation_id, Conversation):
            given_conversation, conversation_id = conversation_id, conversation_id.id
        elif conversation_id is not None and not isinstance(conversation_id, str):
            raise TypeError(
                f"conversation_id: expected the new conversation's id (a str), or an "
                f"existing conversation or its id; got {type(conversation_id).__name__}"
            )
        guardrail = dict(guardrail_config) if guardrail_config is not None else self._guardrail
        serving = {
            **getattr(self, "_serving", {}),
            **_stored.serving_settings(service_tier, performance_config, request_metadata),
        }
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
                    ("grounding", grounding, None),
                    ("service_tier", service_tier, None),
                    ("performance_config", performance_config, None),
                    ("request_metadata", request_metadata, None),
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
        if given_conversation is not None:
            raise ValueError(
                f"conversation_id: the Conversation {conversation_id!r} is not this client's "
                f"(nor in its store); pass its id as a str to start a new conversation under "
                f"that id, or use the client that holds it"
            )
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
            settings=_stored.settings_json(
                system_prompt=system_prompt,
                inference_config=inference_config,
                additional_model_request_fields=additional_model_request_fields,
                toolbox=toolbox,
                max_tool_rounds=max_tool_rounds,
                memory=memory,
                cache=cache,
                guardrail_config=guardrail,
                template=template,
                serving=serving,
            )
            if store is not None
            else None,
            metadata=metadata,
            guardrail_config=guardrail,
            **serving,
        )
        return self._keep(
            Conversation(
                core,
                toolbox,
                self._hooks_with(own_hooks),
                getattr(self, "_log_content", False),
                template,
            )
        )

    def _hooks_with(self, own: Hooks | None) -> Hooks | None:
        """The client's hooks, then a conversation's own."""
        mine: Hooks | None = getattr(self, "_hooks", None)
        return own if mine is None else mine + own
