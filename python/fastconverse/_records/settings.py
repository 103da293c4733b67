"""What a store keeps of a conversation's settings, and what ``list_conversations`` gives.

Settings are kept as JSON: the system prompt, inference settings, tool *names* (functions
are code: a conversation is reopened with ``tools=``; system tools are not, so they come
back by themselves: ``system_tools``), the tool loop's limits, and the
built-in memory policy and cache points. A policy of your own is code too: it is reopened
with ``memory=``. A conversation created from a ``Template`` keeps the template's name and
variables (``template``), so that a reopened one says where it started.
"""

from __future__ import annotations

from _collections_abc import Mapping  # (collections.abc's, without importing collections)

from fastconverse import _core
from fastconverse.memory import MemoryPolicy

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from fastconverse._tools.toolbox import ToolBox

__all__ = ["ConversationInfo"]


def _memory_json(memory: Any) -> Any:
    if memory is None:
        return None
    if isinstance(memory, _core.SlidingWindow):
        return {"SlidingWindow": {"max_messages": memory.max_messages}}
    if isinstance(memory, _core.TokenBudget):
        return {"TokenBudget": {"max_tokens": memory.max_tokens, "trim_to": memory.trim_to}}
    if isinstance(memory, _core.Summarizing):
        return {
            "Summarizing": {
                "max_tokens": memory.max_tokens,
                "keep_recent": memory.keep_recent,
                "model_id": memory.model_id,
                "prompt": memory.prompt,
            }
        }
    if isinstance(memory, MemoryPolicy):
        return {"custom": type(memory).__qualname__}
    return None  # (refused with a clear error by the native layer)


def settings_json(
    *,
    system_prompt: Any,
    inference_config: Any,
    additional_model_request_fields: Any,
    toolbox: ToolBox | None,
    max_tool_rounds: int,
    memory: Any,
    cache: Any,
    guardrail_config: Any = None,
    template: Mapping[str, Any] | None = None,
    serving: Mapping[str, Any] | None = None,
) -> str:
    """The settings to keep, as JSON text (a setting that is not JSON is named)."""
    box = toolbox
    settings = {
        "system_prompt": system_prompt
        if isinstance(system_prompt, (str, type(None)))
        else list(system_prompt),
        "inference_config": dict(inference_config) if inference_config is not None else None,
        "additional_model_request_fields": additional_model_request_fields,
        "tools": tool_names(box.specs if box is not None else None),
        "system_tools": system_tool_names(box.specs if box is not None else None),
        "tool_choice": box.tool_choice if box is not None else None,
        "max_tool_rounds": max_tool_rounds,
        "max_tool_concurrency": box.max_tool_concurrency if box is not None else 8,
        "tool_timeout": box.tool_timeout if box is not None else None,
        "raise_tool_errors": box.raise_tool_errors if box is not None else False,
        "memory": _memory_json(memory),
        "cache": cache
        if cache is None or isinstance(cache, str)
        else dict(cache)
        if isinstance(cache, Mapping)
        else list(cache),
        "guardrail_config": guardrail_config,
        "template": template,
        "serving": dict(serving) if serving else None,
    }
    import json  # (here: only conversations in a store need it)

    for name, value in settings.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{name}: a stored conversation keeps it as JSON, and {e}") from None
    return json.dumps(settings)


def reopened(
    conversation_id: str,
    stored: Mapping[str, Any],
    tools: Sequence[Any] | None,
    memory: Any,
) -> dict[str, Any]:
    """``create_conversation`` arguments that reopen a stored conversation; ``tools`` and
    ``memory`` are the caller's (code is not stored), checked against what was stored."""
    names = list(stored.get("tools") or [])
    kwargs: dict[str, Any] = {
        "system_prompt": stored.get("system_prompt"),
        "inference_config": stored.get("inference_config"),
        "additional_model_request_fields": stored.get("additional_model_request_fields"),
        "max_tool_rounds": stored.get("max_tool_rounds", 16),
        "cache": stored.get("cache"),
        "guardrail_config": stored.get("guardrail_config"),
        "template": _template(stored.get("template")),
        "serving": dict(stored.get("serving") or {}),
    }
    if names and tools is None:
        raise ValueError(
            f"tools: conversation {conversation_id!r} was created with the tools "
            f"{', '.join(names)}; functions are not stored, so pass them again: "
            f"get_conversation({conversation_id!r}, tools=[...])"
        )
    # System tools are no code: a reopened conversation has them again (its history may
    # hold their calls, which need a toolConfig), after the tools given, if any.
    system = [n for n in stored.get("system_tools") or [] if isinstance(n, str)]
    if system:
        from fastconverse._tools.system import SystemTool

        given_tools = list(tools or [])
        have = set(system_tool_names([_spec(t) for t in given_tools]))
        tools = given_tools + [SystemTool(n) for n in system if n not in have]
    if tools is not None:
        given = set(tool_names([_spec(t) for t in tools]))
        missing = [n for n in names if n not in given]
        if missing:
            raise ValueError(
                f"tools: conversation {conversation_id!r} was created with the tools "
                f"{', '.join(names)}; {', '.join(missing)} missing from tools=[...]"
            )
        kwargs["tools"] = tools
        kwargs["tool_choice"] = stored.get("tool_choice")
        kwargs["max_tool_concurrency"] = stored.get("max_tool_concurrency", 8)
        kwargs["tool_timeout"] = stored.get("tool_timeout")
        kwargs["raise_tool_errors"] = stored.get("raise_tool_errors", False)
    stored_memory = stored.get("memory")
    if memory is not None:
        kwargs["memory"] = memory
    elif isinstance(stored_memory, dict) and "custom" in stored_memory:
        raise ValueError(
            f"memory: conversation {conversation_id!r} was created with the memory policy "
            f"{stored_memory['custom']}, which is code; pass it again with memory=..."
        )
    elif isinstance(stored_memory, dict) and len(stored_memory) == 1:
        ((kind, args),) = stored_memory.items()
        policies = {
            "SlidingWindow": _core.SlidingWindow,
            "TokenBudget": _core.TokenBudget,
            "Summarizing": _core.Summarizing,
        }
        if kind not in policies:
            raise ValueError(f"memory: stored policy {kind!r} is unknown to this version")
        kwargs["memory"] = policies[kind](**args)
    return kwargs


def kept_template(name: str | None, variables: Mapping[str, Any] | None) -> dict[str, Any]:
    """A ``Template``'s name and variables as a conversation keeps them: JSON, so that the
    conversation has the same ones in memory and reopened from a store. A value JSON has no
    form for (a date, a float that is not finite) is kept as its ``str()``."""
    import json  # (here: only conversations made from a Template need it)

    kept: dict[str, Any] = {}
    for key, value in (variables or {}).items():
        try:
            kept[str(key)] = json.loads(json.dumps(value, allow_nan=False))
        except (TypeError, ValueError):
            kept[str(key)] = str(value)
    return {"name": name, "variables": kept}


def _template(stored: Any) -> dict[str, Any] | None:
    """A stored ``template`` entry, if it has the shape ``kept_template`` writes."""
    if not isinstance(stored, dict) or not isinstance(stored.get("variables"), dict):
        return None
    name = stored.get("name")
    return {"name": name if isinstance(name, str) else None, "variables": stored["variables"]}


def _spec(tool: Any) -> Mapping[str, Any]:
    """A tool as its ``{"toolSpec": ...}`` (or ``{"systemTool": ...}``) dict (only its name
    is read)."""
    from fastconverse._tools.toolbox import _as_tool

    return _as_tool(tool, "tools").to_dict()


def tool_names(specs: Sequence[Mapping[str, Any]] | None) -> list[str]:
    return [s["toolSpec"]["name"] for s in specs or () if "toolSpec" in s]


def system_tool_names(specs: Sequence[Mapping[str, Any]] | None) -> list[str]:
    return [s["systemTool"]["name"] for s in specs or () if "systemTool" in s]


class ConversationInfo(dict):  # type: ignore[type-arg]
    """A line of ``list_conversations``: a dict (``conversationId``, ``modelId``,
    ``createdAt``, ``updatedAt``, ``messageCount``, ``version``, ``metadata``, as the
    reference tutorial reads them) whose keys are also attributes in Python's spelling:
    ``id``, ``model_id``, ``created_at``, ``updated_at`` (seconds since the epoch),
    ``message_count``, ``version``, ``metadata``."""

    __slots__ = ()

    @classmethod
    def of(
        cls,
        id: str,
        version: int,
        created: float,
        updated: float,
        model_id: str,
        messages: int,
        metadata: dict[str, Any],
    ) -> ConversationInfo:
        return cls(
            conversationId=id,
            modelId=model_id,
            createdAt=created,
            updatedAt=updated,
            messageCount=messages,
            version=version,
            metadata=metadata,
        )

    @property
    def id(self) -> str:
        return str(self["conversationId"])

    @property
    def model_id(self) -> str:
        return str(self["modelId"])

    @property
    def created_at(self) -> float:
        return float(self["createdAt"])

    @property
    def updated_at(self) -> float:
        return float(self["updatedAt"])

    @property
    def message_count(self) -> int:
        return int(self["messageCount"])

    @property
    def version(self) -> int:
        return int(self["version"])

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self["metadata"])

    def __repr__(self) -> str:
        return (
            f"ConversationInfo(id={self.id!r}, model_id={self.model_id!r}, "
            f"messages={self.message_count}, version={self.version})"
        )


def serving_settings(tier: Any, performance: Any, metadata: Any) -> dict[str, Any]:
    """The serving settings given (``service_tier``, ...), as JSON-able values for the native
    layer and a store; each one not given is left out."""
    given = {
        "service_tier": tier,
        "performance_config": dict(performance)
        if isinstance(performance, Mapping)
        else performance,
        "request_metadata": dict(metadata) if isinstance(metadata, Mapping) else metadata,
    }
    return {k: v for k, v in given.items() if v is not None}
