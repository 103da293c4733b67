"""Structured output: ``send(..., output=Model)`` asks the model for a value of ``Model``
(a pydantic model, a dataclass or a TypedDict) and validates it.

The model is made to call a tool whose input schema is the type's JSON schema (Bedrock's
``toolChoice`` naming the tool; every model with tool use supports it). A call that does
not validate is answered once with the validation errors, as a tool result, and the model
tries again; a second failure is a ``StructuredOutputError`` and the turn is abandoned. A
valid call ends the turn: the history keeps the user's message and the value as JSON text.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastconverse.errors import StructuredOutputError

__all__ = ["Output"]

ATTEMPTS = 2  # the first call, and one after its errors were fed back


class Output:
    """A type to produce, its tool spec and its validator (pydantic's ``TypeAdapter``)."""

    __slots__ = ("adapter", "name", "spec", "type")

    def __init__(self, output_type: Any) -> None:
        if output_type is None or isinstance(output_type, (str, bytes)):
            raise TypeError(
                "output: expected a pydantic model, a dataclass or a TypedDict class, got "
                f"{output_type!r}"
            )
        from pydantic import PydanticSchemaGenerationError, TypeAdapter

        try:
            self.adapter: Any = TypeAdapter(output_type)
            schema = self.adapter.json_schema()
        except (PydanticSchemaGenerationError, TypeError) as e:
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
        """``(value, json_text)`` when the call validates; else the ``toolResult`` blocks
        that tell the model what was wrong (or ``StructuredOutputError`` on the last try)."""
        from pydantic import ValidationError

        call = calls[0]
        raw = call.get("input")
        try:
            value = self.adapter.validate_python(raw)
        except ValidationError as e:
            errors = e.errors(include_url=False)
            if attempt + 1 >= ATTEMPTS:
                raise StructuredOutputError(
                    f"the model's {self.name} did not validate after {ATTEMPTS} attempts: "
                    f"{e.error_count()} error(s), first: {_first(errors)}",
                    raw=json.dumps(raw),
                    errors=errors,
                ) from None
            text = f"Invalid input for {self.name}: {e}. Call {self.name} again, corrected."
            return [
                {
                    "toolResult": {
                        "toolUseId": c["toolUseId"],
                        "content": [{"text": text}],
                        "status": "error",
                    }
                }
                for c in calls
            ]
        return value, json.dumps(raw, ensure_ascii=False)


def _first(errors: list[Any]) -> str:
    if not errors:
        return "(none)"
    e = errors[0]
    where = ".".join(str(p) for p in e.get("loc", ())) or "(root)"
    return f"{where}: {e.get('msg')}"
