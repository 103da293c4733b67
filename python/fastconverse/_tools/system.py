"""System tools: tools the service runs itself (Bedrock's ``systemTool``), such as Amazon
Nova's web grounding (``nova_grounding``) and code interpreter (``nova_code_interpreter``).

They go in ``tools=[...]`` beside the conversation's own tools. The model's calls of them
come back as ``toolUse`` blocks of type ``server_tool_use``, each with its ``toolResult`` in
the same reply; the tool loop never runs them, and the history keeps both as they came.
This module imports nothing, so that a conversation with only system tools does not load
pydantic.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Bedrock's ToolName constraint (botocore: pattern [a-zA-Z0-9_-]+, length 1..64).
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")

# The system tools Bedrock documents (Amazon Nova's built-in tools); others are sent as
# given, for models that have more.
DOCUMENTED = ("nova_grounding", "nova_code_interpreter")


class SystemTool:
    """A tool the service runs itself: ``{"systemTool": {"name": ...}}`` in ``toolConfig``.

    Make one with ``system_tool("nova_grounding")``; a boto3 ``{"systemTool": {...}}`` dict
    in ``tools=[...]`` becomes one too.
    """

    __slots__ = ("name",)

    name: str

    def __init__(self, name: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"name: expected a str (e.g. 'nova_grounding'), got {name!r}")
        if not 1 <= len(name) <= 64 or not _NAME_CHARS.issuperset(name):
            raise ValueError(
                f"name: expected 1 to 64 letters, digits, '_' or '-' (Bedrock's tool names; "
                f"e.g. {DOCUMENTED[0]!r}), got {name!r}"
            )
        self.name = name

    def to_dict(self) -> dict[str, Any]:
        """The boto3 ``toolConfig["tools"]`` entry."""
        return {"systemTool": {"name": self.name}}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SystemTool):
            return NotImplemented
        return self.name == other.name

    def __hash__(self) -> int:
        return hash((SystemTool, self.name))

    def __repr__(self) -> str:
        return f"system_tool({self.name!r})"


def system_tool(name: str) -> SystemTool:
    """A system tool for ``tools=[...]``: one the service runs itself, such as Amazon Nova's
    ``"nova_grounding"`` (web search with citations) or ``"nova_code_interpreter"``.

    The name is checked against Bedrock's tool-name rule before any request; which system
    tools a model has is the service's to say.
    """
    return SystemTool(name)


def from_dict(value: Any, arg: str) -> SystemTool:
    """``{"systemTool": {"name": ...}}`` (boto3's shape) as a ``SystemTool``."""
    from collections.abc import Mapping

    inner = value.get("systemTool") if len(value) == 1 else None
    if not isinstance(inner, Mapping) or set(inner) != {"name"}:
        raise ValueError(f"{arg}: expected {{'systemTool': {{'name': str}}}}, got {value!r}")
    try:
        return SystemTool(inner["name"])
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{arg}.systemTool.{exc}") from None
