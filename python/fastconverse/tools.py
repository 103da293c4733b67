"""Python functions as Bedrock tools: ``@tool``, ``Tool`` and ``result_content``.

    from typing import Literal
    from fastconverse import tool

    @tool
    def get_weather(location: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict:
        '''Get the current weather for a location.

        Args:
            location: The city and state, e.g. San Francisco, CA
            unit: The unit of temperature
        '''

    get_weather.to_dict()     # {"toolSpec": {"name", "description", "inputSchema": {"json"}}}
    get_weather.call({"location": "Paris"})   # validated, then called
    await get_weather.call_async({"location": "Paris"})
    result_content(value)     # a return value as toolResult content blocks

The JSON schema comes from the signature through pydantic, which also validates and coerces
the model's input (building pydantic models, dataclasses and enums) before the call.
Descriptions come from the docstring (Google, NumPy or reST, read by ``docstring_parser``)
or from ``Annotated[T, "description"]`` / ``Annotated[T, Field(description=...)]``.

``Tool(spec, fn)`` wraps a boto3-shaped ``toolSpec`` dict instead; ``Tool(spec)`` is a tool
with no function, for tools the caller answers itself.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import functools
import inspect
import io
import json
import re
import sys
import typing
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar, cast, overload

import docstring_parser
import pydantic
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python

if sys.version_info >= (3, 10):
    from typing import ParamSpec
else:  # pragma: no cover - typing_extensions comes with pydantic
    from typing_extensions import ParamSpec

__all__ = ["Tool", "ToolInputError", "result_content", "tool"]

P = ParamSpec("P")
R = TypeVar("R")

JsonDict = dict[str, Any]

# Bedrock's ToolName constraint (botocore: pattern [a-zA-Z0-9_-]+, length 1..64).
_NAME_PATTERN = re.compile(r"[a-zA-Z0-9_-]{1,64}")

# The members of Bedrock's ToolResultContentBlock union: a dict with exactly one of these
# keys is already a content block and is passed through unchanged.
_CONTENT_BLOCK_KEYS = frozenset({"text", "json", "image", "document", "video"})


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


class Tool(Generic[P, R]):
    """A tool the model can call: its Bedrock ``toolSpec`` and, usually, the Python callable.

    Build one with ``@tool`` from a typed function, or with ``Tool(spec, fn)`` from a boto3
    ``toolSpec`` dict (``{"name", "description", "inputSchema": {"json": ...}}``, with or
    without the ``{"toolSpec": ...}`` wrapper). ``fn`` may be omitted for a tool that the
    caller answers itself. A tool stays callable like its function: ``tool(*args)`` calls
    ``fn`` directly, without validation.
    """

    name: str
    description: str | None
    input_schema: JsonDict
    fn: Callable[P, R] | None
    timeout: float | None
    """Seconds a call may take in a conversation's tool loop before it counts as failed
    (None: the conversation's ``tool_timeout``)."""

    @overload
    def __init__(
        self: Tool[..., Any],
        spec: Mapping[str, Any],
        fn: None = None,
        *,
        timeout: float | None = None,
    ) -> None: ...
    @overload
    def __init__(
        self, spec: Mapping[str, Any], fn: Callable[P, R], *, timeout: float | None = None
    ) -> None: ...
    def __init__(
        self,
        spec: Mapping[str, Any],
        fn: Callable[P, R] | None = None,
        *,
        timeout: float | None = None,
    ) -> None:
        self.timeout = _check_timeout(timeout, "timeout")
        if fn is not None:
            if not callable(fn):
                raise TypeError(f"Tool fn must be callable, got {type(fn).__name__}")
            # Keeps __name__, __doc__, __module__ and __wrapped__ of the function, so that a
            # decorated function still looks like itself to help(), inspect and debuggers.
            functools.update_wrapper(self, fn)
        name, description, schema, extra = _parse_spec(spec)
        self.name = name
        self.description = description
        self.input_schema = schema
        self.fn = fn
        self._extra = extra
        self._validator: _Validator = _SchemaValidator(name, schema, fn)

    @classmethod
    def from_function(
        cls,
        fn: Callable[P, R],
        *,
        name: str | None = None,
        description: str | None = None,
        localns: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Tool[P, R]:
        """The tool for a typed function, as ``@tool`` builds it.

        ``localns`` resolves annotations that name types local to a function (``@tool``
        passes the locals of the scope it is used in).
        """
        if isinstance(fn, Tool):
            fn = fn._callable()
        name = name if name is not None else _function_name(fn)
        _check_name(name)
        params = _signature(fn, name)
        doc = _parse_docstring(inspect.getdoc(fn) or "")
        if description is None:
            # Bedrock accepts a toolSpec without a description, but models choose tools by
            # it; the name is the most honest fallback when the function has no docstring.
            description = (doc.description or "").strip() or name
        model = _input_model(fn, name, params, doc, localns)
        spec = {
            "name": name,
            "description": description,
            "inputSchema": {"json": _input_schema(model, name)},
        }
        made = cls(spec, fn, timeout=timeout)
        made._validator = _ModelValidator(name, model, params)
        return made

    @property
    def is_async(self) -> bool:
        """Whether calling ``fn`` gives an awaitable (``call_async`` awaits it)."""
        return self.fn is not None and _is_coroutine_callable(self.fn)

    def to_dict(self) -> JsonDict:
        """The tool as boto3's ``toolConfig["tools"][i]``: ``{"toolSpec": {...}}``."""
        spec: JsonDict = {"name": self.name}
        if self.description is not None:
            spec["description"] = self.description
        spec["inputSchema"] = {"json": copy.deepcopy(self.input_schema)}
        spec.update(copy.deepcopy(self._extra))
        return {"toolSpec": spec}

    def validate(self, input: Mapping[str, Any]) -> JsonDict:
        """The keyword arguments for ``fn`` from the model's input; ``ToolInputError`` if invalid.

        Tools from ``@tool`` validate and coerce with pydantic: pydantic models, dataclasses
        and enums arrive constructed, and only the arguments present in the input are
        returned, so the function's own defaults apply to the others. ``Tool(spec, fn)``
        tools check the input's shape only (an object, the required fields, no field the
        schema or the function would refuse) and pass the values through as given.
        """
        return self._validator.validate(input)

    def arguments(self, input: Mapping[str, Any]) -> tuple[list[Any], JsonDict]:
        """The positional and keyword arguments of ``fn`` for the model's input, validated."""
        return self._validator.arguments(self.validate(input))

    def call(self, input: Mapping[str, Any]) -> R:
        """Validate ``input``, call ``fn`` with it and return what ``fn`` returned."""
        fn = self._callable()
        if self.is_async:
            raise TypeError(
                f"tool {self.name!r} is a coroutine function; use `await tool.call_async(...)`"
            )
        args, kwargs = self.arguments(input)
        result = fn(*args, **kwargs)
        if inspect.isawaitable(result):
            # A sync callable that hands back an awaitable cannot be finished here without
            # running an event loop, which would break inside Jupyter and asyncio services.
            _close(result)
            raise TypeError(
                f"tool {self.name!r} returned an awaitable; use `await tool.call_async(...)`"
            )
        return result

    async def call_async(self, input: Mapping[str, Any]) -> Any:
        """Like ``call``, but awaits coroutine functions and runs sync ones in the loop's
        default executor, so that a slow tool does not block the event loop."""
        fn = self._callable()
        args, kwargs = self.arguments(input)
        if self.is_async:
            result: Any = fn(*args, **kwargs)
        else:
            # copy_context: the tool sees the caller's contextvars, as with asyncio.to_thread.
            call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
            result = await asyncio.get_running_loop().run_in_executor(None, call)
        if inspect.isawaitable(result):
            result = await result
        return result

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._callable()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Tool(name={self.name!r}, description={self.description!r})"

    def _callable(self) -> Callable[P, R]:
        if self.fn is None:
            raise TypeError(f"tool {self.name!r} has no function to call")
        return self.fn


@overload
def tool(fn: Callable[P, R], /) -> Tool[P, R]: ...
@overload
def tool(
    *, name: str | None = None, description: str | None = None, timeout: float | None = None
) -> Callable[[Callable[P, R]], Tool[P, R]]: ...
def tool(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
) -> Tool[P, R] | Callable[[Callable[P, R]], Tool[P, R]]:
    """Turn a typed function into a ``Tool``: ``@tool`` or ``@tool(name=..., description=...)``.

    The tool's name defaults to the function's name and its description to the docstring's
    text (without its Args/Parameters section). Each parameter becomes a property of the
    input schema, required unless it has a default. ``timeout`` bounds each call in a
    conversation's tool loop, in seconds.
    """
    # Annotations that name classes local to the defining function (tests, factories) are
    # only resolvable with that function's locals, which are gone once the decorator returns.
    namespace = _caller_locals(depth=2)
    if fn is not None:
        return Tool.from_function(
            fn, name=name, description=description, localns=namespace, timeout=timeout
        )

    def decorate(fn: Callable[P, R]) -> Tool[P, R]:
        return Tool.from_function(
            fn, name=name, description=description, localns=namespace, timeout=timeout
        )

    return decorate


def result_content(value: Any) -> list[JsonDict]:
    """A tool's return value as the ``content`` of a Bedrock ``toolResult``.

    - ``str``: ``[{"text": value}]`` (a blank string as ``{"json": {"result": value}}``,
      because Bedrock rejects blank text blocks);
    - ``dict``, TypedDict, dataclass, pydantic model: ``[{"json": {...}}]``;
    - ``list``, ``tuple``, ``set`` (anything JSON turns into an array):
      ``[{"json": {"result": [...]}}]``, since a json block must hold an object;
    - ``None``, ``int``, ``float``, ``bool``: ``[{"json": {"result": value}}]``;
    - other objects pydantic serialises to a string (datetime, UUID, Path, ...): text;
    - ``bytes`` of a PNG, JPEG, GIF or WEBP image: an image block; of a PDF: a document
      block named "document"; other bytes raise ``ValueError``;
    - a PIL image (when Pillow is installed): a PNG image block;
    - a content block dict (``{"text"|"json"|"image"|"document"|"video": ...}``)
      or a list of them: passed through unchanged.

    Values JSON cannot hold (inside containers) become their ``str()``.
    """
    if isinstance(value, str):
        return [{"text": value}] if value.strip() else [{"json": {"result": value}}]
    if _is_content_block(value):
        return [dict(value)]
    if isinstance(value, list) and value and all(_is_content_block(b) for b in value):
        return [dict(b) for b in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return [_bytes_block(bytes(value))]
    image = _pil_image_block(value)
    if image is not None:
        return [image]
    data = to_jsonable_python(value, fallback=str)
    if isinstance(data, dict):
        return [{"json": data}]
    if isinstance(data, str) and data.strip():
        return [{"text": data}]
    return [{"json": {"result": data}}]


def _check_timeout(value: float | None, arg: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{arg}: expected a positive number of seconds or None, got {value!r}")
    return float(value)


# --- spec dicts ------------------------------------------------------------------------------


def _parse_spec(spec: Mapping[str, Any]) -> tuple[str, str | None, JsonDict, JsonDict]:
    """Name, description, input schema and other keys (e.g. ``strict``) of a toolSpec."""
    if not isinstance(spec, Mapping):
        raise TypeError(f"Tool spec must be a toolSpec dict, got {type(spec).__name__}")
    if "toolSpec" in spec:
        spec = spec["toolSpec"]
    name = spec.get("name")
    if not isinstance(name, str):
        raise ValueError(f"toolSpec needs a 'name' string, got {spec.get('name')!r}")
    _check_name(name)
    description = spec.get("description")
    if description is not None and (not isinstance(description, str) or not description):
        raise ValueError(f"tool {name!r}: 'description' must be a non-empty string")
    input_schema = spec.get("inputSchema")
    schema = input_schema.get("json") if isinstance(input_schema, Mapping) else None
    if not isinstance(schema, Mapping):
        raise ValueError(
            f'tool {name!r}: toolSpec needs an \'inputSchema\' like {{"json": {{"type": "object", '
            f'"properties": {{...}}}}}}, got {input_schema!r}'
        )
    extra = {k: v for k, v in spec.items() if k not in ("name", "description", "inputSchema")}
    return name, description, dict(schema), extra


def _check_name(name: str) -> None:
    if not _NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"Invalid tool name {name!r}: Bedrock tool names are 1 to 64 characters from "
            "a-z, A-Z, 0-9, '_' and '-'; pass name=... to choose another"
        )


# --- functions -> pydantic model -----------------------------------------------------------


def _function_name(fn: Callable[..., Any]) -> str:
    name = getattr(fn, "__name__", None)
    if name is None and isinstance(fn, functools.partial):
        name = getattr(fn.func, "__name__", None)
    if not isinstance(name, str):
        raise ValueError(f"cannot tell the name of {fn!r}; pass name=... to tool()")
    return name


def _parse_docstring(text: str) -> docstring_parser.Docstring:
    try:
        return docstring_parser.parse(text)
    except docstring_parser.ParseError:
        # A docstring no style can read still describes the tool, just without parameters.
        doc = docstring_parser.Docstring()
        doc.short_description = text
        return doc


def _signature(fn: Callable[..., Any], name: str) -> list[inspect.Parameter]:
    """The parameters that become input fields; refuses those a JSON object cannot fill."""
    params = list(inspect.signature(fn).parameters.values())
    for param in params:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            star = "*" if param.kind == param.VAR_POSITIONAL else "**"
            raise ValueError(
                f"tool {name!r}: parameter {star}{param.name} is not supported; "
                "a tool's input is a JSON object, so give each argument a name and a type"
            )
    # A method decorated in its class body still has `self`, which no model can provide.
    if (
        params
        and params[0].name in ("self", "cls")
        and params[0].annotation is inspect.Parameter.empty
        and inspect.isfunction(fn)
    ):
        raise ValueError(
            f"tool {name!r}: looks like a method (first parameter {params[0].name!r}); "
            "make a tool of the bound method instead, e.g. tool(obj.method)"
        )
    return params


def _type_hints(fn: Callable[..., Any], localns: Mapping[str, Any] | None) -> dict[str, Any]:
    target: Any = fn
    if isinstance(target, functools.partial):
        target = target.func
    if not (inspect.isroutine(target) or inspect.isclass(target)):
        target = type(target).__call__  # a callable object: its __call__ has the annotations
    try:
        return typing.get_type_hints(target, localns=dict(localns or {}), include_extras=True)
    except NameError as exc:
        raise TypeError(
            f"cannot resolve the type annotations of {fn!r}: {exc}; "
            "define the types it names at module level"
        ) from exc
    except TypeError as exc:  # e.g. `int | None` as a string annotation on Python 3.9
        raise TypeError(f"cannot evaluate the type annotations of {fn!r}: {exc}") from exc


def _input_model(
    fn: Callable[..., Any],
    name: str,
    params: list[inspect.Parameter],
    doc: docstring_parser.Docstring,
    namespace: Mapping[str, Any] | None,
) -> type[pydantic.BaseModel]:
    """A pydantic model whose fields are the parameters: it gives the schema and validates."""
    hints = _type_hints(fn, namespace)
    doc_params = {p.arg_name: p.description for p in doc.params if p.description}
    fields: dict[str, Any] = {}
    for i, param in enumerate(params):
        annotation = hints.get(param.name, Any)
        default = ... if param.default is inspect.Parameter.empty else param.default
        # Note: field names are positional placeholders and the parameter name is the alias,
        # so that parameters called `json`, `schema` or `_x` cannot clash with BaseModel.
        fields[f"p{i}"] = (
            annotation,
            pydantic.Field(
                default,
                alias=param.name,
                description=_annotated_description(annotation) or doc_params.get(param.name),
            ),
        )
    try:
        return cast(
            "type[pydantic.BaseModel]",
            pydantic.create_model(
                f"{name}_input",
                __config__=pydantic.ConfigDict(extra="forbid"),
                **fields,
            ),
        )
    except (pydantic.PydanticSchemaGenerationError, pydantic.PydanticUserError) as exc:
        raise TypeError(f"tool {name!r}: unsupported parameter type: {exc}") from exc


def _input_schema(model: type[pydantic.BaseModel], name: str) -> JsonDict:
    try:
        schema = model.model_json_schema()
    except pydantic.PydanticUserError as exc:  # types that validate but have no JSON form
        raise TypeError(f"tool {name!r}: unsupported parameter type: {exc}") from exc
    return _clean_schema(schema)


def _annotated_description(annotation: Any) -> str | None:
    """The description in ``Annotated[T, "description"]`` or ``Annotated[T, Field(...)]``."""
    if typing.get_origin(annotation) is not typing.Annotated:
        return None
    for meta in reversed(typing.get_args(annotation)[1:]):
        if isinstance(meta, str):
            return meta
        if isinstance(meta, FieldInfo) and meta.description:
            return meta.description
    return None


# --- schema cleaning ------------------------------------------------------------------------

# Keywords whose value is a schema, a list of schemas, or a map of name -> schema. Anything
# else (default, enum, const, examples, ...) is data and is never rewritten: a default may
# well be a dict with a "title" key, and a property may be called "title".
_SCHEMA_KEYS = frozenset(
    {"items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames"}
)
_SCHEMA_LIST_KEYS = frozenset({"anyOf", "oneOf", "allOf", "prefixItems"})
_SCHEMA_MAP_KEYS = frozenset({"properties", "patternProperties", "$defs", "definitions"})


def _clean_schema(schema: JsonDict) -> JsonDict:
    """Pydantic's schema as Bedrock wants it: no titles, ``$ref`` inlined unless recursive.

    The result starts with ``type``, ``properties`` and ``required`` (left out when empty);
    ``$defs`` stays at the top level only for recursive types, which cannot be inlined.
    """
    defs: dict[str, Any] = schema.pop("$defs", {})
    recursive = _recursive_defs(defs)
    kept = {name: _rewrite(d, defs, recursive) for name, d in defs.items() if name in recursive}
    body = _rewrite(schema, defs, recursive)
    out: JsonDict = {"type": "object", "properties": body.pop("properties", {})}
    required = body.pop("required", [])
    if required:
        out["required"] = required
    body.pop("type", None)
    out.update(body)
    if kept:
        out["$defs"] = kept
    return out


def _rewrite(node: Any, defs: Mapping[str, Any], recursive: set[str]) -> Any:
    if not isinstance(node, dict):
        return node
    ref = _local_ref(node)
    if ref is not None and ref not in recursive and ref in defs:
        # `{"$ref": ..., "description": ...}`: the siblings refine the referenced schema.
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return _rewrite({**defs[ref], **siblings}, defs, recursive)
    out: JsonDict = {}
    for key, value in node.items():
        if key == "title":
            continue
        if key == "const":
            # Literal["x"]: `enum` with one member is understood by more model providers.
            out["enum"] = [value]
        elif key in _SCHEMA_KEYS:
            out[key] = _rewrite(value, defs, recursive)
        elif key in _SCHEMA_LIST_KEYS and isinstance(value, list):
            out[key] = [_rewrite(v, defs, recursive) for v in value]
        elif key in _SCHEMA_MAP_KEYS and isinstance(value, dict):
            out[key] = {k: _rewrite(v, defs, recursive) for k, v in value.items()}
        else:
            out[key] = value
    return out


def _local_ref(node: Mapping[str, Any]) -> str | None:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return ref[len("#/$defs/") :]
    return None


def _recursive_defs(defs: Mapping[str, Any]) -> set[str]:
    """The definitions that reach themselves through ``$ref``: they cannot be inlined."""
    edges = {name: set(_refs(d)) for name, d in defs.items()}

    def reaches(start: str, goal: str) -> bool:
        seen: set[str] = set()
        todo = list(edges.get(start, ()))
        while todo:
            name = todo.pop()
            if name == goal:
                return True
            if name not in seen:
                seen.add(name)
                todo.extend(edges.get(name, ()))
        return False

    return {name for name in defs if reaches(name, name)}


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = _local_ref(node)
        if ref is not None:
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


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
        if not isinstance(input, Mapping):
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
        self.fields = {param.name: f"p{i}" for i, param in enumerate(params)}
        self.positional_only = [p for p in params if p.kind == p.POSITIONAL_ONLY]

    def validate(self, input: Mapping[str, Any]) -> JsonDict:
        self._require_object(input)
        try:
            values = self.model.model_validate(input)
        except pydantic.ValidationError as exc:
            raise ToolInputError(self.name, _problems(exc, input)) from None
        return {
            param: getattr(values, field)
            for param, field in self.fields.items()
            if field in values.model_fields_set
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


# --- calling --------------------------------------------------------------------------------


def _is_coroutine_callable(fn: Callable[..., Any]) -> bool:
    if isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - callable objects with async __call__
    return not inspect.isroutine(fn) and inspect.iscoroutinefunction(call)


def _close(result: Awaitable[Any]) -> None:
    close = getattr(result, "close", None)  # avoids "coroutine was never awaited" warnings
    if callable(close):
        close()


def _caller_locals(depth: int) -> Mapping[str, Any] | None:
    try:
        frame = sys._getframe(depth)
    except ValueError:  # pragma: no cover - called from the top of the stack
        return None
    # Module-level code needs nothing: get_type_hints already reads the module's globals.
    return None if frame.f_locals is frame.f_globals else dict(frame.f_locals)


# --- result content -------------------------------------------------------------------------


def _is_content_block(value: Any) -> bool:
    if not isinstance(value, Mapping) or len(value) != 1:
        return False
    (key, body) = next(iter(value.items()))
    if key == "text":
        return isinstance(body, str)
    return key in _CONTENT_BLOCK_KEYS and isinstance(body, Mapping)


_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)


def _bytes_block(data: bytes) -> JsonDict:
    for magic, fmt in _IMAGE_MAGIC:
        if data.startswith(magic):
            return {"image": {"format": fmt, "source": {"bytes": data}}}
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return {"image": {"format": "webp", "source": {"bytes": data}}}
    if data.startswith(b"%PDF-"):
        return {"document": {"format": "pdf", "name": "document", "source": {"bytes": data}}}
    raise ValueError(
        f"cannot tell the format of {len(data)} bytes returned by a tool (not PNG, JPEG, GIF, "
        'WEBP or PDF); return a content block instead, e.g. {"document": {"format": "csv", '
        '"name": "data", "source": {"bytes": ...}}}'
    )


def _pil_image_block(value: Any) -> JsonDict | None:
    # Only when the caller already imported Pillow: no import cost, and no dependency.
    pil = sys.modules.get("PIL.Image")
    if pil is None or not isinstance(value, pil.Image):
        return None
    buffer = io.BytesIO()
    value.save(buffer, format="PNG")
    return {"image": {"format": "png", "source": {"bytes": buffer.getvalue()}}}
