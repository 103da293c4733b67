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

import contextvars
import copy
import functools
import inspect
import re
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar, overload

from fastconverse._tools.results import result_content
from fastconverse._tools.schema import (
    _closed,
    _function_name,
    _input_model,
    _input_schema,
    _parse_docstring,
    _signature,
)
from fastconverse._tools.system import SystemTool, system_tool
from fastconverse._tools.validation import (
    ToolInputError,
    _ModelValidator,
    _SchemaValidator,
    _Validator,
)

if sys.version_info >= (3, 10):
    from typing import ParamSpec
else:  # pragma: no cover - typing_extensions comes with pydantic
    from typing_extensions import ParamSpec

__all__ = ["SystemTool", "Tool", "ToolInputError", "result_content", "system_tool", "tool"]

ToolInputError.__module__ = __name__  # its public home

P = ParamSpec("P")
R = TypeVar("R")

JsonDict = dict[str, Any]


# Bedrock's ToolName constraint (botocore: pattern [a-zA-Z0-9_-]+, length 1..64).
_NAME_PATTERN = re.compile(r"[a-zA-Z0-9_-]{1,64}")


class Tool(Generic[P, R]):
    """A tool the model can call: its Bedrock ``toolSpec`` and, usually, the Python callable.

    Build one with ``@tool`` from a typed function, or with ``Tool(spec, fn)`` from a boto3
    ``toolSpec`` dict (``{"name", "description", "inputSchema": {"json": ...}}``, with or
    without the ``{"toolSpec": ...}`` wrapper) or an OpenAI-style function dict
    (``{"type": "function", "function": {"name", "description", "parameters"}}``).
    ``fn`` may be omitted for a tool that the caller answers itself. A tool stays callable
    like its function: ``tool(*args)`` calls ``fn`` directly, without validation.
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
        strict: bool = False,
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
        schema = _input_schema(model, name)
        spec: JsonDict = {"name": name, "description": description}
        if strict:
            _closed(schema)
            spec["strict"] = True
        spec["inputSchema"] = {"json": schema}
        made = cls(spec, fn, timeout=timeout)
        made._validator = _ModelValidator(name, model, params)
        return made

    @property
    def is_async(self) -> bool:
        """Whether calling ``fn`` gives an awaitable (``call_async`` awaits it)."""
        fn = self.fn
        if fn is None:
            return False
        # Note: asked at every call of the tool; inspect's answer is kept for this very fn.
        known: tuple[object, bool] | None = self.__dict__.get("_is_async_of")
        if known is None or known[0] is not fn:
            known = (fn, _is_coroutine_callable(fn))
            self.__dict__["_is_async_of"] = known
        return known[1]

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
            import asyncio  # (here: the loop running this loaded it; at import it costs 40 ms)

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
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    strict: bool = False,
) -> Callable[[Callable[P, R]], Tool[P, R]]: ...
def tool(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    strict: bool = False,
) -> Tool[P, R] | Callable[[Callable[P, R]], Tool[P, R]]:
    """Turn a typed function into a ``Tool``: ``@tool`` or ``@tool(name=..., description=...)``.

    The tool's name defaults to the function's name and its description to the docstring's
    text (without its Args/Parameters section). Each parameter becomes a property of the
    input schema, required unless it has a default. ``timeout`` bounds each call in a
    conversation's tool loop, in seconds. ``strict=True`` asks the model to keep to the
    schema exactly (Bedrock's ``toolSpec.strict``): every object of the schema then takes
    no properties beyond its own (``additionalProperties: false``), as strict mode needs.
    """
    # Annotations that name classes local to the defining function (tests, factories) are
    # only resolvable with that function's locals, which are gone once the decorator returns.
    namespace = _caller_locals(depth=2)
    if fn is not None:
        return Tool.from_function(
            fn, name=name, description=description, localns=namespace, timeout=timeout
        )
    if not isinstance(strict, bool):
        raise TypeError(f"strict: expected a bool, got {type(strict).__name__}")

    def decorate(fn: Callable[P, R]) -> Tool[P, R]:
        return Tool.from_function(
            fn,
            name=name,
            description=description,
            localns=namespace,
            timeout=timeout,
            strict=strict,
        )

    return decorate


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
    if spec.get("type") == "function":
        spec = _from_function_dict(spec)
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


def _from_function_dict(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    """An OpenAI-style ``{"type": "function", "function": {"name", "description",
    "parameters", "strict"}}`` tool (as the reference tutorial writes them) as a toolSpec."""
    fn = spec.get("function")
    if not (isinstance(fn, Mapping) and isinstance(fn.get("name"), str)):
        raise ValueError(
            f"a function tool needs 'function': {{'name': ..., 'parameters': ...}}, got {fn!r}"
        )
    unknown = (set(spec) - {"type", "function"}) | (
        set(fn) - {"name", "description", "parameters", "strict"}
    )
    if unknown:
        raise ValueError(f"function tool {fn['name']!r}: unknown keys {sorted(unknown)}")
    converted: JsonDict = {
        "name": fn["name"],
        "inputSchema": {"json": fn.get("parameters") or {"type": "object"}},
    }
    if fn.get("description"):
        converted["description"] = fn["description"]
    if "strict" in fn:
        converted["strict"] = fn["strict"]
    return converted


def _check_name(name: str) -> None:
    if not _NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"Invalid tool name {name!r}: Bedrock tool names are 1 to 64 characters from "
            "a-z, A-Z, 0-9, '_' and '-'; pass name=... to choose another"
        )


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
