"""Tools: ``@tool`` schemas from signatures and docstrings, input validation, calls, results."""

# Tool annotations are evaluated at runtime (typing.get_type_hints), where `X | None` needs
# Python 3.10; these tests keep Optional/Union so that they run on 3.9 too.
# ruff: noqa: UP007, UP045

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import enum
import threading
from collections.abc import Callable
from typing import Annotated, Any, Literal, Optional, Union

import pytest
from conftest import AKID, SECRET, boto3_client, user
from fastconverse import ConverseClient, Tool, ToolInputError, tool
from fastconverse.testing import FakeBedrock
from fastconverse.tools import result_content
from pydantic import VERSION, BaseModel, Field
from pydantic.json_schema import PydanticJsonSchemaWarning
from typing_extensions import NotRequired, TypedDict

PYDANTIC_VERSION = tuple(int(part) for part in VERSION.split(".")[:2])

# --- types used by the tools below --------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


class Address(TypedDict):
    street: str
    zip: NotRequired[str]


class Person(BaseModel):
    name: str = Field(description="Full name")
    age: Optional[int] = None


class TreeNode(BaseModel):
    value: int
    children: list[TreeNode] = []


class Cat(BaseModel):
    meows: bool


class Dog(BaseModel):
    barks: bool


def schema_of(fn: Any) -> dict[str, Any]:
    return tool(fn).input_schema


def one(schema: dict[str, Any]) -> Any:
    """The schema of the only parameter of a one-parameter tool."""
    (prop,) = schema["properties"].values()
    return prop


# --- schemas: one parameter of each kind ---------------------------------------------------


def test_the_issue_example_gives_the_whole_tool_spec() -> None:
    @tool
    def get_weather(location: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict:
        """Get the current weather for a location.

        Args:
            location: The city and state, e.g. San Francisco, CA
            unit: The unit of temperature
        """
        return {"location": location, "unit": unit, "temperature": 21}

    assert get_weather.to_dict() == {
        "toolSpec": {
            "name": "get_weather",
            "description": "Get the current weather for a location.",
            "inputSchema": {
                "json": {
                    "type": "object",
                    "properties": {
                        "location": {
                            "description": "The city and state, e.g. San Francisco, CA",
                            "type": "string",
                        },
                        "unit": {
                            "default": "celsius",
                            "description": "The unit of temperature",
                            "enum": ["celsius", "fahrenheit"],
                            "type": "string",
                        },
                    },
                    "required": ["location"],
                    "additionalProperties": False,
                }
            },
        }
    }


def test_scalar_types() -> None:
    def scalars(s: str, i: int, f: float, b: bool, n: None) -> None:
        """Scalars."""

    assert schema_of(scalars) == {
        "type": "object",
        "properties": {
            "s": {"type": "string"},
            "i": {"type": "integer"},
            "f": {"type": "number"},
            "b": {"type": "boolean"},
            "n": {"type": "null"},
        },
        "required": ["s", "i", "f", "b", "n"],
        "additionalProperties": False,
    }


def test_optional_with_default_none_is_not_required() -> None:
    def f(a: Optional[int] = None, b: Optional[str] = "x") -> None:
        """F."""

    assert schema_of(f) == {
        "type": "object",
        "properties": {
            "a": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
            "b": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": "x"},
        },
        "additionalProperties": False,
    }


def test_optional_without_default_is_required_and_nullable() -> None:
    def f(a: Optional[int]) -> None:
        """F."""

    assert schema_of(f)["required"] == ["a"]
    assert one(schema_of(f)) == {"anyOf": [{"type": "integer"}, {"type": "null"}]}


def test_union() -> None:
    def f(a: Union[int, str, list[int]]) -> None:
        """F."""

    assert one(schema_of(f)) == {
        "anyOf": [
            {"type": "integer"},
            {"type": "string"},
            {"items": {"type": "integer"}, "type": "array"},
        ]
    }


def test_literal_is_an_enum_even_with_one_member() -> None:
    def f(a: Literal["x", "y"], b: Literal[1, 2], c: Literal["only"] = "only") -> None:
        """F."""

    assert schema_of(f)["properties"] == {
        "a": {"enum": ["x", "y"], "type": "string"},
        "b": {"enum": [1, 2], "type": "integer"},
        "c": {"enum": ["only"], "default": "only", "type": "string"},
    }


def test_enums_are_inlined_without_titles() -> None:
    def f(color: Color, priority: Priority = Priority.LOW) -> None:
        """F."""

    assert schema_of(f) == {
        "type": "object",
        "properties": {
            "color": {"enum": ["red", "green"], "type": "string"},
            "priority": {"enum": [1, 2], "type": "integer", "default": 1},
        },
        "required": ["color"],
        "additionalProperties": False,
    }


def test_list_and_dict() -> None:
    def f(tags: list[str], scores: dict[str, float], matrix: list[list[int]]) -> None:
        """F."""

    assert schema_of(f)["properties"] == {
        "tags": {"items": {"type": "string"}, "type": "array"},
        "scores": {"additionalProperties": {"type": "number"}, "type": "object"},
        "matrix": {"items": {"items": {"type": "integer"}, "type": "array"}, "type": "array"},
    }


def test_typed_dict() -> None:
    def f(address: Address) -> None:
        """F."""

    assert one(schema_of(f)) == {
        "additionalProperties": False,
        "properties": {"street": {"type": "string"}, "zip": {"type": "string"}},
        "required": ["street"],
        "type": "object",
    }


def test_dataclass() -> None:
    def f(point: Point) -> None:
        """F."""

    # The tool's extra="forbid" reaches a dataclass's schema from pydantic 2.14 on (the newest
    # on Python 3.9 is 2.13); validation refuses unknown keys with either.
    forbid = {"additionalProperties": False} if PYDANTIC_VERSION >= (2, 14) else {}
    assert one(schema_of(f)) == {
        **forbid,
        "properties": {"x": {"type": "integer"}, "y": {"default": 0, "type": "integer"}},
        "required": ["x"],
        "type": "object",
    }
    with pytest.raises(ToolInputError):
        tool(f).validate({"point": {"x": 1, "z": 2}})


def test_pydantic_model_keeps_its_own_descriptions_and_config() -> None:
    def f(person: Person, people: list[Person]) -> None:
        """F."""

    person = {
        "properties": {
            "name": {"description": "Full name", "type": "string"},
            "age": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
        },
        "required": ["name"],
        "type": "object",
    }
    assert schema_of(f) == {
        "type": "object",
        "properties": {"person": person, "people": {"items": person, "type": "array"}},
        "required": ["person", "people"],
        "additionalProperties": False,
    }


def test_parameter_description_on_a_model_merges_into_the_inlined_schema() -> None:
    def f(point: Point) -> None:
        """F.

        Args:
            point: Where to look.
        """

    assert one(schema_of(f))["description"] == "Where to look."
    assert one(schema_of(f))["required"] == ["x"]


def test_recursive_model_keeps_defs_at_the_top_level() -> None:
    def f(tree: TreeNode, label: str = "root") -> None:
        """F."""

    assert schema_of(f) == {
        "type": "object",
        "properties": {
            "tree": {"$ref": "#/$defs/TreeNode"},
            "label": {"default": "root", "type": "string"},
        },
        "required": ["tree"],
        "additionalProperties": False,
        "$defs": {
            "TreeNode": {
                "properties": {
                    "value": {"type": "integer"},
                    "children": {
                        "default": [],
                        "items": {"$ref": "#/$defs/TreeNode"},
                        "type": "array",
                    },
                },
                "required": ["value"],
                "type": "object",
            }
        },
    }


def test_title_is_only_removed_as_a_keyword() -> None:
    class Book(BaseModel):
        title: str

    def f(title: str, book: Book, meta: dict = {"title": "kept"}) -> None:  # noqa: B006
        """F."""

    # tool() itself is called here: `Book` is a local of this test, found in its caller's scope.
    assert tool(f).input_schema == {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "book": {
                "properties": {"title": {"type": "string"}},
                "required": ["title"],
                "type": "object",
            },
            "meta": {"additionalProperties": True, "default": {"title": "kept"}, "type": "object"},
        },
        "required": ["title", "book"],
        "additionalProperties": False,
    }


def test_unannotated_parameter_accepts_any_json() -> None:
    def f(anything, count=3) -> None:  # type: ignore[no-untyped-def]
        """F."""

    assert schema_of(f)["properties"] == {"anything": {}, "count": {"default": 3}}
    assert schema_of(f)["required"] == ["anything"]


def test_no_parameters() -> None:
    def now() -> str:
        """The time."""
        return "noon"

    assert schema_of(now) == {"type": "object", "properties": {}, "additionalProperties": False}


def test_annotated_descriptions() -> None:
    def f(
        a: Annotated[str, "Plain string metadata"],
        b: Annotated[int, Field(description="From Field", ge=1)] = 1,
    ) -> None:
        """F.

        Args:
            a: Loses to the Annotated description.
            b: Loses too.
        """

    assert schema_of(f)["properties"] == {
        "a": {"description": "Plain string metadata", "type": "string"},
        "b": {"default": 1, "description": "From Field", "minimum": 1, "type": "integer"},
    }


def test_parameter_names_that_clash_with_basemodel_attributes() -> None:
    def f(json: str, schema: int, _private: bool = False, model_config: str = "") -> None:
        """F."""

    assert list(schema_of(f)["properties"]) == ["json", "schema", "_private", "model_config"]
    assert tool(f).validate({"json": "j", "schema": "2", "_private": True}) == {
        "json": "j",
        "schema": 2,
        "_private": True,
    }


def test_types_local_to_a_function_resolve_under_postponed_annotations() -> None:
    class Local(BaseModel):
        n: int

    @tool(name="local_types")
    def f(item: Local) -> int:
        """F."""
        return item.n

    assert f.call({"item": {"n": 4}}) == 4


def test_unsupported_parameter_type_is_a_clear_error() -> None:
    class Opaque:
        pass

    def f(thing: Opaque) -> None:
        """F."""

    def g(callback: Callable[[], int]) -> None:
        """G."""

    with pytest.raises(TypeError, match=r"tool 'f': unsupported parameter type: .*Opaque"):
        tool(f)
    with pytest.raises(TypeError, match=r"tool 'g': unsupported parameter type: .*Callable"):
        tool(g)


# --- descriptions ----------------------------------------------------------------------------


def test_google_docstring() -> None:
    @tool
    def search(query: str, limit: int = 10) -> list[str]:
        """Search the catalogue.

        Finds books by title or author.

        Args:
            query: Words to look for.
            limit (int): At most this many results.

        Returns:
            Matching titles.
        """
        return []

    assert search.description == "Search the catalogue.\n\nFinds books by title or author."
    assert search.input_schema["properties"] == {
        "query": {"description": "Words to look for.", "type": "string"},
        "limit": {"default": 10, "description": "At most this many results.", "type": "integer"},
    }


def test_numpy_docstring() -> None:
    @tool
    def search(query: str, limit: int = 10) -> list[str]:
        """Search the catalogue.

        Finds books by title or author.

        Parameters
        ----------
        query : str
            Words to look for.
        limit : int, optional
            At most this many results.

        Returns
        -------
        list of str
        """
        return []

    assert search.description == "Search the catalogue.\n\nFinds books by title or author."
    assert search.input_schema["properties"] == {
        "query": {"description": "Words to look for.", "type": "string"},
        "limit": {"default": 10, "description": "At most this many results.", "type": "integer"},
    }


def test_rest_docstring() -> None:
    @tool
    def search(query: str, limit: int = 10) -> list[str]:
        """Search the catalogue.

        Finds books by title or author.

        :param query: Words to look for.
        :param limit: At most this many results.
        :returns: Matching titles.
        """
        return []

    assert search.description == "Search the catalogue.\n\nFinds books by title or author."
    assert search.input_schema["properties"] == {
        "query": {"description": "Words to look for.", "type": "string"},
        "limit": {"default": 10, "description": "At most this many results.", "type": "integer"},
    }


def test_name_and_description_overrides() -> None:
    @tool(name="lookup-v2", description="Look a word up.")
    def lookup(word: str) -> str:
        """Old description.

        Args:
            word: The word.
        """
        return word

    assert (lookup.name, lookup.description) == ("lookup-v2", "Look a word up.")
    assert lookup.to_dict()["toolSpec"]["name"] == "lookup-v2"
    assert lookup.input_schema["properties"]["word"]["description"] == "The word."


def test_missing_docstring_falls_back_to_the_name() -> None:
    @tool
    def ping() -> str:
        return "pong"

    assert ping.description == "ping"
    assert ping.to_dict()["toolSpec"]["description"] == "ping"


# --- names and signatures ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["has space", "dotted.name", "", "x" * 65, "ünïcode"])
def test_invalid_names_are_refused_with_the_tool_name(name: str) -> None:
    def f() -> None:
        """F."""

    with pytest.raises(ValueError, match=r"Invalid tool name .*1 to 64 characters"):
        tool(name=name)(f)
    with pytest.raises(ValueError, match="Invalid tool name"):
        Tool({"name": name, "inputSchema": {"json": {"type": "object"}}})


def test_longest_valid_name() -> None:
    name = "a-B_9" + "x" * 59
    assert tool(name=name)(lambda: None).name == name


def test_lambda_needs_a_name() -> None:
    with pytest.raises(ValueError, match=r"Invalid tool name '<lambda>'.*pass name="):
        tool(lambda x: x)


def test_star_args_and_kwargs_are_refused() -> None:
    def f(*args: int) -> None:
        """F."""

    def g(a: int, **options: str) -> None:
        """G."""

    with pytest.raises(ValueError, match=r"tool 'f': parameter \*args is not supported"):
        tool(f)
    with pytest.raises(ValueError, match=r"tool 'g': parameter \*\*options is not supported"):
        tool(g)


def test_method_in_a_class_body_is_refused_but_a_bound_method_works() -> None:
    class Thermostat:
        def __init__(self) -> None:
            self.offset = 2

        def adjust(self, degrees: int) -> int:
            """Adjust the temperature."""
            return degrees + self.offset

    with pytest.raises(ValueError, match=r"looks like a method.*tool\(obj\.method\)"):
        tool(Thermostat.adjust)
    bound = tool(Thermostat().adjust)
    assert bound.input_schema["properties"] == {"degrees": {"type": "integer"}}
    assert bound.call({"degrees": 20}) == 22


def test_tool_stays_callable_like_the_function() -> None:
    def add(a: int, b: int = 1) -> int:
        """Add two numbers."""
        return a + b

    wrapped = tool(add)
    assert wrapped(2, b=3) == add(2, b=3) == 5
    assert wrapped(2) == 3
    assert wrapped.__name__ == "add"
    assert wrapped.__doc__ == "Add two numbers."
    assert wrapped.__wrapped__ is add
    assert wrapped.fn is add
    assert repr(wrapped) == "Tool(name='add', description='Add two numbers.')"


# --- validation ----------------------------------------------------------------------------


def test_validation_coerces_and_constructs_objects() -> None:
    seen: dict[str, Any] = {}

    @tool
    def plan(
        color: Color,
        point: Point,
        person: Person,
        tree: TreeNode,
        address: Address,
        count: int,
        priority: Priority = Priority.LOW,
    ) -> None:
        """Plan."""
        seen.update(color=color, point=point, person=person, tree=tree, address=address)
        seen.update(count=count, priority=priority)

    plan.call(
        {
            "color": "green",
            "point": {"x": "3"},
            "person": {"name": "Ada"},
            "tree": {"value": 1, "children": [{"value": 2}]},
            "address": {"street": "Main"},
            "count": "7",
        }
    )
    assert seen == {
        "color": Color.GREEN,
        "point": Point(x=3, y=0),
        "person": Person(name="Ada"),
        "tree": TreeNode(value=1, children=[TreeNode(value=2)]),
        "address": {"street": "Main"},
        "count": 7,
        "priority": Priority.LOW,
    }
    assert type(seen["point"]) is Point and type(seen["person"]) is Person


def test_validate_returns_only_the_given_arguments() -> None:
    sentinel = object()

    # pydantic leaves a default JSON cannot hold out of the schema, and says so.
    with pytest.warns(PydanticJsonSchemaWarning, match="not JSON serializable"):

        @tool
        def f(a: int, b: Any = sentinel, c: Optional[str] = None) -> Any:
            """F."""
            return b

    assert f.input_schema["properties"]["b"] == {}

    assert f.validate({"a": 1, "c": None}) == {"a": 1, "c": None}
    assert f.call({"a": 1}) is sentinel  # the function's own default, not a copy


def test_validation_errors_name_each_field_path() -> None:
    @tool
    def order(point: Point, people: list[Person], color: Color, count: int = 1) -> None:
        """Order."""

    with pytest.raises(ToolInputError) as info:
        order.call(
            {
                "point": {"x": "abc"},
                "people": [{"name": "Ada"}, {"age": 3}],
                "color": "blue",
                "colour": "red",
            }
        )
    assert str(info.value) == (
        "Invalid input for tool 'order':\n"
        "- point.x: Input should be a valid integer, unable to parse string as an integer"
        ' (got "abc")\n'
        "- people[1].name: missing required field\n"
        "- color: Input should be 'red' or 'green' (got \"blue\")\n"
        "- colour: unknown field; remove it (it is not in the tool's input schema)\n"
        "Correct the input and call the tool again."
    )
    assert info.value.tool_name == "order"
    assert [path for path, _ in info.value.problems] == [
        "point.x",
        "people[1].name",
        "color",
        "colour",
    ]
    assert isinstance(info.value, ValueError)


def test_missing_arguments_and_nested_unknown_fields() -> None:
    @tool
    def f(point: Point, label: str) -> None:
        """F."""

    with pytest.raises(ToolInputError) as info:
        f.validate({"point": {"x": 1, "z": 2}})
    assert info.value.problems == [
        ("point.z", "unknown field; remove it (it is not in the tool's input schema)"),
        ("label", "missing required field"),
    ]


def test_union_member_names_stay_out_of_paths() -> None:
    @tool
    def f(pet: Union[Cat, Dog], n: Union[int, bool]) -> None:
        """F."""

    with pytest.raises(ToolInputError) as info:
        f.validate({"pet": {}, "n": [1]})
    assert info.value.problems == [
        ("pet.meows", "missing required field"),
        ("pet.barks", "missing required field"),
        ("n", "Input should be a valid integer (got [1])"),
        ("n", "Input should be a valid boolean (got [1])"),
    ]


def test_input_that_is_not_an_object() -> None:
    @tool
    def f(a: int) -> None:
        """F."""

    with pytest.raises(ToolInputError) as info:
        f.validate([1, 2])  # type: ignore[arg-type]
    assert info.value.problems == [("input", "must be a JSON object, got [1, 2]")]


def test_long_bad_values_are_shortened_in_messages() -> None:
    @tool
    def f(a: int) -> None:
        """F."""

    with pytest.raises(ToolInputError) as info:
        f.validate({"a": "x" * 500})
    (problem,) = info.value.problems
    assert problem[1].endswith(' (got "' + "x" * 76 + "...)")


def test_positional_only_parameters() -> None:
    @tool
    def f(a: int, b: int = 10, /, *, c: int = 100) -> int:
        """F."""
        return a + b + c

    assert f.call({"a": "1"}) == 111
    assert f.call({"a": 1, "c": 0}) == 11
    assert f.call({"a": 1, "b": 2, "c": 3}) == 6


# --- calling -------------------------------------------------------------------------------


def test_call_returns_the_raw_result() -> None:
    @tool
    def f(n: int) -> dict[str, Any]:
        """F."""
        return {"n": n, "point": Point(n)}

    assert f.call({"n": "2"}) == {"n": 2, "point": Point(2)}


def test_call_async_awaits_coroutine_functions() -> None:
    @tool
    async def double(n: int) -> int:
        """Double."""
        await asyncio.sleep(0)
        return 2 * n

    assert double.is_async
    assert asyncio.run(double.call_async({"n": "21"})) == 42
    with pytest.raises(TypeError, match=r"tool 'double' is a coroutine function.*call_async"):
        double.call({"n": 1})


def test_is_async_follows_the_function_a_tool_is_given_later() -> None:
    async def later(n: int) -> int:
        return n

    @tool
    def now(n: int) -> int:
        """Now."""
        return n

    assert not now.is_async and not now.is_async  # asked twice: the kept answer holds
    now.fn = later
    assert now.is_async
    with pytest.raises(TypeError, match=r"tool 'now' is a coroutine function"):
        now.call({"n": 1})
    assert asyncio.run(now.call_async({"n": 3})) == 3


def test_call_async_runs_sync_functions_in_the_executor_with_the_callers_context() -> None:
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")

    @tool
    def where(n: int) -> tuple[int, str, int]:
        """Where it ran."""
        return n, request_id.get(), threading.get_ident()

    async def main() -> tuple[tuple[int, str, int], int]:
        request_id.set("req-1")
        return await where.call_async({"n": "5"}), threading.get_ident()

    assert not where.is_async
    (n, rid, thread), loop_thread = asyncio.run(main())
    assert (n, rid) == (5, "req-1")
    assert thread != loop_thread


def test_invalid_input_raises_before_the_call() -> None:
    calls: list[int] = []

    @tool
    def f(n: int) -> None:
        """F."""
        calls.append(n)

    with pytest.raises(ToolInputError):
        f.call({"n": "many"})
    with pytest.raises(ToolInputError):
        asyncio.run(f.call_async({}))
    assert calls == []


def test_sync_callable_returning_an_awaitable_is_refused_by_call() -> None:
    async def later() -> int:
        return 1

    t = Tool({"name": "t", "inputSchema": {"json": {"type": "object"}}}, lambda: later())
    with pytest.raises(TypeError, match="returned an awaitable"):
        t.call({})
    assert asyncio.run(t.call_async({})) == 1


# --- Tool(spec, fn) and spec-only tools ----------------------------------------------------

WEATHER_SPEC = {
    "name": "get_weather",
    "description": "Weather for a city",
    "inputSchema": {
        "json": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
            "required": ["city"],
        }
    },
}


def test_spec_and_function() -> None:
    def weather(city: str, unit: str = "C") -> str:
        return f"20 {unit} in {city}"

    t = Tool(WEATHER_SPEC, weather)
    assert (t.name, t.description, t.fn) == ("get_weather", "Weather for a city", weather)
    assert t.input_schema == WEATHER_SPEC["inputSchema"]["json"]  # type: ignore[index]
    assert t.to_dict() == {"toolSpec": WEATHER_SPEC}
    assert Tool({"toolSpec": WEATHER_SPEC}, weather).to_dict() == {"toolSpec": WEATHER_SPEC}
    assert t.call({"city": "Oslo"}) == "20 C in Oslo"
    assert t("Rome", unit="F") == "20 F in Rome"


def test_spec_tool_checks_the_shape_of_the_input() -> None:
    def weather(city: str, unit: str = "C") -> str:
        return city

    t = Tool(WEATHER_SPEC, weather)
    assert t.validate({"city": 1}) == {"city": 1}  # values pass through as given
    with pytest.raises(ToolInputError) as info:
        t.validate({"town": "Oslo"})
    assert info.value.problems == [
        ("city", "missing required field"),
        ("town", "unknown field; expected only: city, unit"),
    ]


def test_spec_tool_with_closed_schema_and_kwargs_function() -> None:
    spec = {
        "name": "closed",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {"a": {"type": "integer"}},
                "additionalProperties": False,
            }
        },
    }
    t = Tool(spec, lambda **kw: kw)
    assert t.call({"a": 1}) == {"a": 1}
    with pytest.raises(ToolInputError) as info:
        t.call({"a": 1, "b": 2})
    assert info.value.problems == [("b", "unknown field; expected only: a")]


def test_spec_only_tool() -> None:
    t = Tool({"toolSpec": {"name": "ask_user", "inputSchema": {"json": {"type": "object"}}}})
    assert t.fn is None and not t.is_async and t.description is None
    assert t.to_dict() == {
        "toolSpec": {"name": "ask_user", "inputSchema": {"json": {"type": "object"}}}
    }
    assert t.validate({"anything": 1}) == {"anything": 1}
    with pytest.raises(TypeError, match="tool 'ask_user' has no function to call"):
        t.call({})
    with pytest.raises(TypeError, match="no function to call"):
        t()


def test_spec_extra_keys_pass_through() -> None:
    spec = {**WEATHER_SPEC, "strict": True}
    assert Tool(spec).to_dict() == {"toolSpec": spec}


def test_to_dict_is_a_copy() -> None:
    t = Tool(WEATHER_SPEC)
    t.to_dict()["toolSpec"]["inputSchema"]["json"]["properties"].clear()
    assert t.to_dict() == {"toolSpec": WEATHER_SPEC}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"description": "d", "inputSchema": {"json": {}}}, "needs a 'name' string"),
        ({"name": "t"}, "needs an 'inputSchema'"),
        ({"name": "t", "inputSchema": {"type": "object"}}, "needs an 'inputSchema'"),
        ({"name": "t", "description": "", "inputSchema": {"json": {}}}, "non-empty string"),
    ],
)
def test_malformed_specs(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Tool(spec)


def test_spec_must_be_a_dict_and_fn_callable() -> None:
    with pytest.raises(TypeError, match="toolSpec dict"):
        Tool("get_weather")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="must be callable"):
        Tool(WEATHER_SPEC, 42)  # type: ignore[call-overload]


# --- result content ------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16
GIF = b"GIF89a" + b"\x00" * 16
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8
PDF = b"%PDF-1.7\n" + b"\x00" * 16


@pytest.mark.parametrize(
    ("value", "content"),
    [
        ("It is sunny.", [{"text": "It is sunny."}]),
        ("", [{"json": {"result": ""}}]),
        ("  \n", [{"json": {"result": "  \n"}}]),
        ({"temp": 21, "unit": "C"}, [{"json": {"temp": 21, "unit": "C"}}]),
        ({1: "a"}, [{"json": {"1": "a"}}]),
        (Point(1, 2), [{"json": {"x": 1, "y": 2}}]),
        (Person(name="Ada"), [{"json": {"name": "Ada", "age": None}}]),
        (Address(street="Main"), [{"json": {"street": "Main"}}]),
        ({"nested": [Point(1), Color.RED]}, [{"json": {"nested": [{"x": 1, "y": 0}, "red"]}}]),
        ([1, "two", None], [{"json": {"result": [1, "two", None]}}]),
        ((1, 2), [{"json": {"result": [1, 2]}}]),
        ([], [{"json": {"result": []}}]),
        (None, [{"json": {"result": None}}]),
        (42, [{"json": {"result": 42}}]),
        (2.5, [{"json": {"result": 2.5}}]),
        (False, [{"json": {"result": False}}]),
        (Color.GREEN, [{"text": "green"}]),
        (PNG, [{"image": {"format": "png", "source": {"bytes": PNG}}}]),
        (JPEG, [{"image": {"format": "jpeg", "source": {"bytes": JPEG}}}]),
        (GIF, [{"image": {"format": "gif", "source": {"bytes": GIF}}}]),
        (WEBP, [{"image": {"format": "webp", "source": {"bytes": WEBP}}}]),
        (bytearray(PNG), [{"image": {"format": "png", "source": {"bytes": PNG}}}]),
        (
            PDF,
            [{"document": {"format": "pdf", "name": "document", "source": {"bytes": PDF}}}],
        ),
        ({"text": "block"}, [{"text": "block"}]),
        ({"json": {"a": 1}}, [{"json": {"a": 1}}]),
        (
            [{"text": "caption"}, {"image": {"format": "png", "source": {"bytes": PNG}}}],
            [{"text": "caption"}, {"image": {"format": "png", "source": {"bytes": PNG}}}],
        ),
        (
            {"document": {"format": "txt", "name": "notes", "source": {"text": "hi"}}},
            [{"document": {"format": "txt", "name": "notes", "source": {"text": "hi"}}}],
        ),
    ],
    ids=repr,
)
def test_result_content(value: Any, content: list[dict[str, Any]]) -> None:
    assert result_content(value) == content


def test_result_content_stringifies_what_json_cannot_hold() -> None:
    class Opaque:
        def __str__(self) -> str:
            return "opaque!"

    assert result_content({"thing": Opaque()}) == [{"json": {"thing": "opaque!"}}]
    assert result_content(Opaque()) == [{"text": "opaque!"}]


def test_result_content_refuses_unknown_bytes() -> None:
    with pytest.raises(ValueError, match=r"cannot tell the format of 5 bytes.*content block"):
        result_content(b"hello")


def test_result_content_pil_image() -> None:
    image_module = pytest.importorskip("PIL.Image")
    image = image_module.new("RGB", (2, 2), "red")
    (block,) = result_content(image)
    assert block["image"]["format"] == "png"
    assert block["image"]["source"]["bytes"].startswith(b"\x89PNG\r\n\x1a\n")


# --- the real Bedrock shapes: boto3's validation and FakeBedrock's ---------------------------


@tool
def describe_tree(tree: TreeNode, colors: list[Color], where: Optional[Point] = None) -> str:
    """Describe a tree.

    Args:
        tree: The tree.
        colors: Colours to use.
        where: Where to draw it.
    """
    return f"a tree of {tree.value}"


@tool
def get_weather(location: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict:
    """Get the current weather for a location.

    Args:
        location: The city and state, e.g. San Francisco, CA
        unit: The unit of temperature
    """
    return {"location": location, "temperature": 21, "unit": unit}


TOOLS: list[Tool[..., Any]] = [
    describe_tree,
    get_weather,
    Tool(WEATHER_SPEC | {"name": "spec_weather"}),
]
RESULTS = [
    "sunny",
    {"temperature": 21},
    [1, 2],
    None,
    3.5,
    "",
    Point(1, 2),
    PNG,
    PDF,
    [{"text": "a"}, {"json": {"b": 1}}],
]


def tool_round_trip_messages() -> list[dict[str, Any]]:
    """A user turn, the assistant's tool uses, and the results of each as content."""
    uses = [
        {"toolUse": {"toolUseId": f"t{i}", "name": "get_weather", "input": {"location": "Oslo"}}}
        for i in range(len(RESULTS))
    ]
    results = [
        {"toolResult": {"toolUseId": f"t{i}", "content": result_content(value)}}
        for i, value in enumerate(RESULTS)
    ]
    return [
        user("Weather?"),
        {"role": "assistant", "content": uses},
        {"role": "user", "content": results},
    ]


def test_boto3_and_fake_bedrock_accept_the_specs_and_results(
    fake_bedrock: FakeBedrock,
) -> None:
    bedrock = boto3_client(fake_bedrock)
    tool_config = {"tools": [t.to_dict() for t in TOOLS]}
    out = bedrock.converse(modelId="m", messages=[user("Hi")], toolConfig=tool_config)
    assert out["stopReason"] == "end_turn"
    out = bedrock.converse(modelId="m", messages=tool_round_trip_messages(), toolConfig=tool_config)
    assert out["output"]["message"]["content"][0]["text"].startswith("Tool results: t0 returned")
    first, second = fake_bedrock.requests
    assert first.body["toolConfig"] == second.body["toolConfig"] == tool_config


def test_fastconverse_client_sends_the_specs_and_results(fake_bedrock: FakeBedrock) -> None:
    client = ConverseClient(
        "m",
        endpoint_url=fake_bedrock.url,
        region_name="us-east-1",
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
        max_attempts=1,
    )
    tool_config = {"tools": [t.to_dict() for t in TOOLS]}
    client.converse(messages=tool_round_trip_messages(), toolConfig=tool_config)
    (request,) = fake_bedrock.requests
    assert request.body["toolConfig"] == tool_config
    sent = request.body["messages"][2]["content"]
    assert sent[1] == {
        "toolResult": {"toolUseId": "t1", "content": [{"json": {"temperature": 21}}]}
    }


def test_tool_input_errors_pickle_and_copy() -> None:
    import copy
    import pickle

    from fastconverse import ToolInputError

    error = ToolInputError("t", [("x", "bad")])
    for clone in (pickle.loads(pickle.dumps(error)), copy.copy(error)):
        assert (clone.tool_name, clone.problems, str(clone)) == ("t", [("x", "bad")], str(error))
