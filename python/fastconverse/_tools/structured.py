"""Structured output: ``send(..., output=Model)`` asks the model for a value of ``Model``
(a pydantic model, a dataclass or a TypedDict) and validates it.

The model is made to call a tool whose input schema is the type's JSON schema (Bedrock's
``toolChoice`` naming the tool; every model with tool use supports it). A call that does
not validate is answered once with the validation errors, as a tool result, and the model
tries again; a second failure is a ``StructuredOutputError`` and the turn is abandoned. A
valid call ends the turn: the history keeps the user's message and the value as JSON text.
"""

from __future__ import annotations

from fastconverse.errors import StructuredOutputError
from fastconverse.events import tool_result_block

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Output"]

ATTEMPTS = 2  # the first call, and one after its errors were fed back


def wanted(output_type: Any, conversation_fields: Any, turn_fields: Any) -> Output | None:
    """The turn's structured output, if any. Models refuse a forced tool call while they
    think (Anthropic: "Thinking may not be enabled when tool_choice forces tool use"): say
    so before the request."""
    if output_type is None:
        return None
    out = Output(output_type)
    fields: dict[str, Any] = {}
    for given in (conversation_fields, turn_fields):
        if isinstance(given, dict):
            fields.update(given)
    for key in ("thinking", "reasoningConfig", "reasoning_config"):
        setting = fields.get(key)
        if isinstance(setting, dict) and setting.get("type") == "enabled":
            raise ValueError(
                f"output: a structured output makes the model call a tool, which models "
                f"refuse while {key} is enabled; pass additional_model_request_fields="
                f"{{{key!r}: {{'type': 'disabled'}}}} for this turn"
            )
    return out


class Output:
    """A type to produce, its tool spec and its validator (pydantic's ``TypeAdapter``)."""

    __slots__ = ("adapter", "name", "spec", "type")

    def __init__(self, output_type: Any) -> None:
        if output_type is None or isinstance(output_type, (str, bytes)):
            raise TypeError(
                "output: expected a pydantic model, a dataclass or a TypedDict class, got "
                f"{output_type!r}"
            )
        import re

        from pydantic import PydanticUserError, TypeAdapter

        try:
            self.adapter: Any = TypeAdapter(output_type)
            schema = self.adapter.json_schema()
        except (PydanticUserError, TypeError) as e:
            raise TypeError(
                f"output: {output_type!r} has no JSON schema (expected a pydantic model, a "
                f"dataclass or a TypedDict): {e}"
            ) from None
        if schema.get("type") != "object":
            raise TypeError(
                f"output: {getattr(output_type, '__name__', output_type)!r} is not an object "
                "type; a tool's input must be an object (wrap the value in a model)"
            )
        self.type = output_type
        title = str(getattr(output_type, "__name__", "") or schema.get("title") or "output")
        self.name = re.sub(r"[^A-Za-z0-9_-]", "_", title)[:64] or "output"
        description = schema.pop("description", None) or (
            f"Answer with a {title} value. Call this tool with the answer as its input."
        )
        self.spec = {
            "toolSpec": {
                "name": self.name,
                "description": description,
                "inputSchema": {"json": schema},
            }
        }

    def check(self, calls: list[dict[str, Any]], attempt: int) -> tuple[Any, str] | list[Any]:
        """``(value, json_text)`` when the output's call validates; else the ``toolResult``
        blocks that tell the model what was wrong (``StructuredOutputError`` on the last
        try). Other tools called beside it are answered with an error: the turn wants the
        output only."""
        from pydantic import ValidationError

        ours = [c for c in calls if c.get("name") == self.name]
        problem = f"Call {self.name} (only) to answer."
        raw: Any = None
        errors: list[Any] = []
        if ours:
            raw = ours[0].get("input")
            try:
                value = self.adapter.validate_python(raw)
            except ValidationError as e:
                errors = list(e.errors(include_url=False))
                problem = (
                    f"Invalid input for {self.name}: "
                    + "; ".join(_described(err) for err in errors)
                    + f". Call {self.name} again, corrected."
                )
            else:
                # (the value's own JSON: fields in the type's order, whatever order the
                # service's answer had them in)
                return value, self.adapter.dump_json(value).decode()
        if attempt + 1 >= ATTEMPTS:
            import json

            first = _described(errors[0]) if errors else f"no call of {self.name}"
            raise StructuredOutputError(
                f"the model's {self.name} did not validate after {ATTEMPTS} attempts: "
                f"{len(errors)} error(s), first: {first}",
                raw=json.dumps(raw),
                errors=errors,
            )
        return [tool_result_block(c["toolUseId"], [{"text": problem}], error=True) for c in calls]


def _described(error: Any) -> str:
    where = ".".join(str(p) for p in error.get("loc", ())) or "(root)"
    return f"{where}: {error.get('msg')}"
