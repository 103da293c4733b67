"""The conversations a ``ConverseClient`` keeps by id: found, listed and deleted, the least
recently active forgotten beyond ``max_conversations``, and (with a store) loaded again
when asked for. Mixed into ``ConverseClient``, which makes the conversations."""

from __future__ import annotations

from _thread import allocate_lock  # (threading's Lock, without importing threading)

from fastconverse import _core
from fastconverse._records import settings as _stored
from fastconverse._records.settings import ConversationInfo
from fastconverse.conversation import Conversation

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any, Union

    from fastconverse.hooks import Hooks
    from fastconverse.memory import MemoryPolicy

    Memory = Union[_core.SlidingWindow, _core.TokenBudget, _core.Summarizing, MemoryPolicy, None]

__all__ = ["ConversationRegistry"]


class ConversationRegistry(_core.ConverseClient):
    """Mixed into ``ConverseClient``: the conversations it keeps, by id."""

    # (set by ConverseClient.__init__)
    _store: _core.Store | None
    _log_content: bool
    _conversations: dict[str, Conversation]

    if TYPE_CHECKING:

        def _hooks_with(self, own: Hooks | None) -> Hooks | None: ...

    def _start_registry(self) -> None:
        # (a dict keeps the order conversations were added in: all an OrderedDict gave here)
        self._conversations = {}
        self._registry_lock = allocate_lock()
        self._evict_from = 0  # the registry size at which eviction looks again

    @property
    def store(self) -> _core.Store | None:
        """Where this client's conversations are kept (None: in memory only)."""
        return self._kept()

    def _kept(self) -> _core.Store | None:
        self._registry()  # (an initialised client)
        return self._store

    def _registry(self) -> dict[str, Conversation]:
        try:
            return self._conversations
        except AttributeError:
            raise RuntimeError(
                "this ConverseClient is not initialised: a subclass's __init__ must call "
                "super().__init__(model_id, ...)"
            ) from None

    def _keep(self, conv: Conversation) -> Conversation:
        with self._registry_lock:
            if conv.id in self._conversations:  # created meanwhile by another thread
                return self._conversations[conv.id]
            self._conversations[conv.id] = conv
            self._evict(keep=conv)
        return conv

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

    def _reopen(
        self,
        conversation_id: str,
        stored: _core._Stored,
        tools: Any,
        memory: Any,
        own: Hooks | None = None,
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
            **kwargs["serving"],
        )
        return self._keep(
            Conversation(
                core,
                toolbox,
                self._hooks_with(own),
                getattr(self, "_log_content", False),
                kwargs.get("template"),
            )
        )

    def get_conversation(
        self,
        conversation_id: str | Conversation,
        *,
        tools: Sequence[Any] | None = None,
        memory: Memory = None,
        hooks: Sequence[Any] | None = None,
        grounding: Any = None,
    ) -> Conversation:
        """The conversation with this id (or this conversation). With a store, one this
        client does not hold is loaded from it; ``tools``, ``memory``, ``hooks`` and
        ``grounding`` (code, which is not stored) reopen it. Given for a conversation the
        client holds, ``tools`` become its tools from then on, and ``hooks`` and
        ``grounding`` join its hooks (a hook object it has already is not added twice).
        ``KeyError`` when there is none."""
        key = _conversation_key(conversation_id)
        own = None
        if hooks is not None or grounding is not None:
            from fastconverse.grounding import conversation_hooks

            own = conversation_hooks(hooks, grounding)
        registry = self._registry()
        found = registry.get(key)
        if found is not None:
            if tools is not None:
                _with_tools(found, tools)
            if own is not None:
                found._add_hooks(own)
            return found
        store = self._kept()
        stored = store._load(key) if store is not None else None
        if stored is None:
            raise KeyError(f"no conversation with id {key!r}")
        return self._reopen(key, stored, tools, memory, own)

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
