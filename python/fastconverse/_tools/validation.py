"""Checking a model's tool input, with errors that name each field and what was wrong."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pydantic
from pydantic_core import to_jsonable_python

JsonDict = dict[str, Any]


class ToolInputError(ValueError):
    """The model's input for a tool does not match the tool's input schema.

    ``str(error)`` is written for the model: one line per problem, each with the path of the
    field at fault, so that the model can correct its input and call the tool again.
    ``problems`` holds the same as ``(path, message)`` pairs.
    """

    def __init__(self, tool_name: str, problems: Sequence[tuple[str, str]]) -> None:
        self.tool_name = tool_name
        self.problems = list(problems)
        lines = [f"Invalid input for tool {tool_name!r}:"]
        lines += [f"- {path}: {message}" for path, message in self.problems]
        lines.append("Correct the input and call the tool again.")
        super().__init__("\n".join(lines))

    def __reduce__(self) -> tuple[Any, ...]:
        # (pickle and copy rebuild an exception from its args; this one takes two)
        return (type(self), (self.tool_name, self.problems))


# --- validation -----------------------------------------------------------------------------


class _Validator:
    """Turns the model's input into the call's arguments; raises ToolInputError."""

    def __init__(self, name: str) -> None:
        self.name = name

    def validate(self, input: Mapping[str, Any]) -> JsonDict:
        raise NotImplementedError

    def arguments(self, kwargs: JsonDict) -> tuple[list[Any], JsonDict]:
        return [], kwargs

    def _require_object(self, input: Any) -> None:
        if type(input) is not dict and not isinstance(input, Mapping):
            raise ToolInputError(
                self.name, [("input", f"must be a JSON object, got {_describe(input)}")]
            )


class _ModelValidator(_Validator):
    """Validation by the pydantic model built from the function's signature."""

    def __init__(
        self, name: str, model: type[pydantic.BaseModel], params: list[inspect.Parameter]
    ) -> None:
        super().__init__(name)
        self.model = model
        self.validate_python = model.__pydantic_validator__.validate_python
        self.fields = {param.name: f"p{i}" for i, param in enumerate(params)}
        self.positional_only = [p for p in params if p.kind == p.POSITIONAL_ONLY]

    def validate(self, input: Mapping[str, Any]) -> JsonDict:
        self._require_object(input)
        try:
            # Note: the model's validator itself, as `model_validate` calls it without options.
            values = self.validate_python(input)
        except pydantic.ValidationError as exc:
            raise ToolInputError(self.name, _problems(exc, input)) from None
        given = values.__pydantic_fields_set__
        return {
            param: getattr(values, field) for param, field in self.fields.items() if field in given
        }

    def arguments(self, kwargs: JsonDict) -> tuple[list[Any], JsonDict]:
        # Positional-only parameters cannot be passed by keyword; an absent one before a
        # present one is filled with its default.
        kwargs = dict(kwargs)
        args = [kwargs.pop(p.name, p.default) for p in self.positional_only]
        while args and args[-1] is inspect.Parameter.empty:
            args.pop()
        return args, kwargs


class _SchemaValidator(_Validator):
    """For ``Tool(spec, fn)``: the input's shape against the schema and the function."""

    def __init__(self, name: str, schema: Mapping[str, Any], fn: Callable[..., Any] | None):
        super().__init__(name)
        self.required = [r for r in schema.get("required", ()) if isinstance(r, str)]
        self.allowed: set[str] | None = None  # None: any field is accepted
        properties = schema.get("properties")
        if schema.get("additionalProperties") is False and isinstance(properties, Mapping):
            self.allowed = set(properties)
        params = _keyword_parameters(fn) if fn is not None else None
        if params is not None:
            self.allowed = set(params) if self.allowed is None else self.allowed & set(params)
            self.required += [p for p, required in params.items() if required]
            self.required = list(dict.fromkeys(self.required))

    def validate(self, input: Mapping[str, Any]) -> JsonDict:
        self._require_object(input)
        problems = [(key, "missing required field") for key in self.required if key not in input]
        if self.allowed is not None:
            unknown = _unknown_field(self.allowed)
            problems += [(str(key), unknown) for key in input if key not in self.allowed]
        if problems:
            raise ToolInputError(self.name, problems)
        return dict(input)


def _keyword_parameters(fn: Callable[..., Any]) -> dict[str, bool] | None:
    """The function's keyword parameters (name -> required), or None if it takes any."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature
        return None
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return None
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name: p.default is p.empty for p in params if p.kind in kinds}


def _problems(exc: pydantic.ValidationError, input: Any) -> list[tuple[str, str]]:
    """Pydantic's errors as (path, message) pairs in words a model can act on."""
    problems: list[tuple[str, str]] = []
    for error in exc.errors(include_url=False):
        path = _path(error["loc"], input, missing=error["type"] == "missing")
        if error["type"] == "missing":
            message = "missing required field"
        elif error["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            message = "unknown field; remove it (it is not in the tool's input schema)"
        else:
            message = f"{error['msg']} (got {_describe(error['input'])})"
        if (path, message) not in problems:
            problems.append((path, message))
    return problems


def _path(loc: tuple[int | str, ...], input: Any, *, missing: bool) -> str:
    """``items[0].name`` from pydantic's loc.

    Pydantic puts the names of union members (``int``, ``Cat``) in the loc too; those are
    skipped by following the loc through the input itself: a part that does not lead into
    the input is a union tag, unless it names the missing field at the end.
    """
    parts: list[str] = []
    node = input
    for i, part in enumerate(loc):
        if _leads_into(node, part):
            node = node[part]
        elif not (missing and i == len(loc) - 1):
            continue
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(f".{part}" if parts else str(part))
    return "".join(parts) or "input"


def _leads_into(node: Any, part: int | str) -> bool:
    if isinstance(node, Mapping):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _describe(value: Any) -> str:
    """A short JSON-ish rendering of a value for error messages."""
    try:
        text = json.dumps(to_jsonable_python(value, fallback=repr), ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _unknown_field(known: set[str]) -> str:
    if not known:
        return "unknown field; this tool takes no input fields"
    return "unknown field; expected only: " + ", ".join(sorted(known))
