"""A function's JSON schema and pydantic input model, from its signature and docstring."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

import docstring_parser
import pydantic
from pydantic.fields import FieldInfo

JsonDict = dict[str, Any]


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


def _closed(schema: Any) -> None:
    """Every object of a JSON schema (``$defs`` included) takes no other properties: what
    Bedrock's strict tool use wants of a schema."""
    if isinstance(schema, dict):
        if schema.get("type") == "object" or "properties" in schema:
            schema.setdefault("additionalProperties", False)
        for value in schema.values():
            _closed(value)
    elif isinstance(schema, list):
        for value in schema:
            _closed(value)


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
