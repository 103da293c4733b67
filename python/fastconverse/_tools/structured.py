"""Structured output: ``send(..., output=Model)`` asks the model for a value of ``Model``
(a pydantic model, a dataclass or a TypedDict) and validates it, in one of two ways
(``output_mode``):

- ``"native"``: Bedrock's structured output (``outputConfig.textFormat``, the type's JSON
  schema): the model's answer is text, JSON that fits the schema. It works beside the
  conversation's own tools, while the model thinks, and streams as text.
- ``"tool"``: the model is made to call a tool whose input schema is the type's JSON schema
  (Bedrock's ``toolChoice`` naming the tool; every model with tool use supports it).
- ``"auto"`` (the default): native for the models Bedrock documents it for (``NATIVE_MODELS``,
  matched against the turn's model id), the tool otherwise.

An answer that does not validate is answered once with the validation errors (a tool result,
or a user message), and the model tries again; a second failure is a
``StructuredOutputError`` and the turn is abandoned. A valid answer ends the turn: the
history keeps the user's message and the value as JSON text (not the failed attempt).
"""

from __future__ import annotations

from fastconverse.errors import StructuredOutputError
from fastconverse.events import tool_result_block

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["NATIVE_MODELS", "Output"]

ATTEMPTS = 2  # the first answer, and one after its errors were fed back
MODES = ("auto", "native", "tool")

# The model families Bedrock's structured output documentation lists (February 2026): the
# Anthropic models from Claude 4.5 on, and open-weight families. A model id (or inference
# profile id, or ARN) containing one of these takes ``output_mode="auto"`` native.
NATIVE_MODELS = (
    "anthropic.claude-haiku-4-5",
    "anthropic.claude-sonnet-4-5",
    "anthropic.claude-opus-4-5",
    "anthropic.claude-opus-4-6",
    "anthropic.claude-sonnet-4-6",
    "qwen.",
    "deepseek.",
    "google.gemma",
    "nvidia.nemotron",
    "minimax.",
    "moonshot",
)


def native_for(model_id: str) -> bool:
    """Whether ``output_mode="auto"`` asks ``model_id`` natively."""
    return any(name in model_id for name in NATIVE_MODELS)


def wanted(
    output_type: Any,
    conversation_fields: Any,
    turn_fields: Any,
    mode: Any = "auto",
    model_id: str = "",
) -> Output | None:
    """The turn's structured output, if any. Models refuse a forced tool call while they
    think (Anthropic: "Thinking may not be enabled when tool_choice forces tool use"): say
    so before the request."""
    if mode not in MODES:
        raise ValueError(f"output_mode: expected one of {MODES}, got {mode!r}")
    if output_type is None:
        return None
    native = mode == "native" or (mode == "auto" and native_for(model_id))
    out = Output(output_type, native)
    fields: dict[str, Any] = {}
    for given in (conversation_fields, turn_fields):
        if isinstance(given, dict):
            fields.update(given)
    for key in ("thinking", "reasoningConfig", "reasoning_config"):
        setting = fields.get(key)
        if not native and isinstance(setting, dict) and setting.get("type") == "enabled":
            raise ValueError(
                f"output: a structured output by a tool makes the model call it, which "
                f"models refuse while {key} is enabled; pass output_mode='native' where "
                f"the model supports it, or additional_model_request_fields="
                f"{{{key!r}: {{'type': 'disabled'}}}} for this turn"
            )
    return out


class Output:
    """A type to produce, its tool spec and its validator (pydantic's ``TypeAdapter``)."""

    __slots__ = ("adapter", "name", "native", "spec", "type")

    def __init__(self, output_type: Any, native: bool = False) -> None:
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
            ""
            if native
            else f"Answer with a {title} value. Call this tool with the answer as its input."
        )
        self.native = native
        if native:
            import json

            from fastconverse._tools.schema import _closed

            _closed(schema)  # (Bedrock's structured output takes closed objects only)
            definition = {"schema": json.dumps(schema), "name": self.name}
            if "description" not in schema and description:
                definition["description"] = description
            self.spec: dict[str, Any] = {
                "textFormat": {"type": "json_schema", "structure": {"jsonSchema": definition}}
            }
        else:
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

    def not_answered(self, names: list[str]) -> StructuredOutputError:
        """The model called tools the caller answers (declared without a function): the
        output would come only after their results, in another turn, which asks for no
        output. The turn fails rather than keep an answer without the output."""
        listed = ", ".join(sorted(set(names)))
        return StructuredOutputError(
            f"the model called {listed}, which this conversation answers with "
            f"send_tool_results, instead of answering with {self.name}; nothing was added "
            f"to the conversation (give those tools a function, or ask without output=)"
        )

    def check_text(
        self, messages: list[dict[str, Any]], stop_reason: str, attempt: int
    ) -> tuple[Any, str] | str:
        """A native answer (the last of ``messages``): ``(value, json_text)`` when it
        validates; else the message that tells the model what was wrong
        (``StructuredOutputError`` on the last try, or when there is nothing to correct: a
        blank answer, a guardrail's)."""
        from pydantic import ValidationError

        last = messages[-1] if messages else None
        text = ""
        if last is not None and last.get("role") == "assistant":
            text = "".join(b["text"] for b in last["content"] if "text" in b)
        errors: list[Any] = []
        try:
            value = self.adapter.validate_json(text)
        except ValidationError as e:
            errors = list(e.errors(include_url=False))
        else:
            return value, text
        final = attempt + 1 >= ATTEMPTS or not text.strip()
        if final or stop_reason == "guardrail_intervened":
            first = _described(errors[0]) if text.strip() else "a blank answer"
            raise StructuredOutputError(
                f"the model's {self.name} did not validate after {attempt + 1} attempt(s) "
                f"(stop reason {stop_reason!r}): {len(errors)} error(s), first: {first}",
                raw=text,
                errors=errors,
            )
        return (
            f"That answer is not a valid {self.name}: "
            + "; ".join(_described(err) for err in errors)
            + ". Answer again with the whole corrected JSON value only."
        )


def _described(error: Any) -> str:
    where = ".".join(str(p) for p in error.get("loc", ())) or "(root)"
    return f"{where}: {error.get('msg')}"
