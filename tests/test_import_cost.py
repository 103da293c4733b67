"""``import fastconverse`` stays cheap (issue 13): the heavier modules of the standard library
stay off its import path, and the public type aliases that need typing are built on first use.

Behaviour, not timing: a fresh interpreter imports fastconverse and lists ``sys.modules``."""

from __future__ import annotations

import os
import subprocess
import sys
import typing

import fastconverse
import pytest
from fastconverse import events
from fastconverse._content import media_formats
from fastconverse.events import (
    CitationDelta,
    ContentBlockStop,
    ImageDelta,
    ImageStart,
    MessageStart,
    MessageStop,
    Metadata,
    OutputRetry,
    ReasoningDelta,
    Resumed,
    TextDelta,
    ToolResult,
    ToolResultDelta,
    ToolResultStart,
    ToolUseDelta,
    ToolUseStart,
)

# What `import fastconverse` must not import: typing, re, json, threading and what they pull
# in were two thirds of its time; the rest is imported only by the code that needs it.
HEAVY = (
    "asyncio",
    "botocore",
    "collections",
    "collections.abc",
    "contextlib",
    "dataclasses",
    "enum",
    "functools",
    "inspect",
    "json",
    "logging",
    "pydantic",
    "re",
    "rich",
    "string",
    "threading",
    "types",
    "typing",
    "typing_extensions",
    "unicodedata",
    "warnings",
)

EVENT_TYPES = (
    MessageStart,
    TextDelta,
    CitationDelta,
    ToolUseStart,
    ToolUseDelta,
    ReasoningDelta,
    ImageStart,
    ImageDelta,
    ToolResultStart,
    ToolResultDelta,
    ContentBlockStop,
    MessageStop,
    Metadata,
    Resumed,
    ToolResult,
    OutputRetry,
)


def modules_after(code: str, *, site: bool = False) -> list[str]:
    """``sys.modules`` after ``code`` ran in a fresh interpreter that imports nothing of its
    own (``-I -S``: no environment, no site unless ``site``: then the installed packages are
    found too) and finds this test run's fastconverse first."""
    package_dir = os.path.dirname(os.path.dirname(fastconverse.__file__))
    child = (
        f"import sys\nsys.path.insert(0, {package_dir!r})\n{code}\n"
        "import fastconverse\n"
        "print(fastconverse.__file__)\n"
        "print(*sorted(sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", *([] if site else ["-S"]), "-c", child],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    where, modules = done.stdout.splitlines()
    assert where == fastconverse.__file__
    return modules.split()


@pytest.mark.parametrize("module", ["fastconverse", "fastconverse.testing"])
def test_importing_leaves_the_heavy_modules_out(module: str) -> None:
    loaded = modules_after(f"import {module}")
    assert module in loaded and "fastconverse.client" in loaded  # (the import did happen)
    offenders = [name for name in HEAVY if name in loaded]
    assert not offenders, (
        f"`import {module}` imported {', '.join(offenders)}; import them in the functions "
        f"that use them, and type-only names under TYPE_CHECKING (see fastconverse/__init__.py)"
    )


def test_importing_the_tools_leaves_asyncio_out() -> None:
    # (pydantic brings typing, re and the rest; asyncio would add a sixth to its time)
    loaded = modules_after("import fastconverse.tools", site=True)
    assert "pydantic" in loaded and "asyncio" not in loaded


def test_the_chat_imports_rich_only_when_it_renders() -> None:
    # (rich is the optional extra `chat`; the piped chat and `--help` never need it)
    loaded = modules_after("import fastconverse.chat, fastconverse.cli", site=True)
    assert "fastconverse.chat" in loaded and "rich" not in loaded


def test_the_lazy_aliases_import_from_a_fresh_interpreter() -> None:
    loaded = modules_after(
        "from fastconverse import Event\n"
        "from fastconverse.events import Event as Same\n"
        "from fastconverse._content.media_formats import Kind\n"
        "import typing\n"
        "assert Event is Same and typing.get_args(Event)[-1].__name__ == 'OutputRetry'\n"
        "assert typing.get_args(Kind) == ('image', 'document', 'video', 'audio')\n"
    )
    assert "typing" in loaded  # (they need it: only then is it imported)


def test_event_is_the_union_of_the_event_types() -> None:
    assert fastconverse.Event == typing.Union[EVENT_TYPES]
    assert typing.get_args(fastconverse.Event) == EVENT_TYPES
    assert fastconverse.Event is events.Event  # (built once, then a plain global)
    assert "Event" in vars(events)
    assert "Event" in fastconverse.__all__ and "Event" in events.__all__
    namespace: dict[str, object] = {}
    exec("from fastconverse.events import *", namespace)
    assert namespace["Event"] is events.Event


def test_kind_is_the_literal_of_the_media_kinds() -> None:
    assert typing.get_origin(media_formats.Kind) is typing.Literal
    assert typing.get_args(media_formats.Kind) == ("image", "document", "video", "audio")


def test_other_names_are_still_missing() -> None:
    for module in (fastconverse, events, media_formats):
        with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
            module.Nothing  # noqa: B018


def test_the_native_module_is_the_extension_beside_its_stubs() -> None:
    # fastconverse/_core/ holds only the native module's stubs (.pyi): an extension module is
    # found before a directory without __init__.py, so `fastconverse._core` is the compiled one.
    import importlib.machinery

    from fastconverse import _core

    assert _core.__file__ is not None
    assert _core.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
    assert not hasattr(_core, "__path__")  # (a module, not a package of stubs)
    stubs = os.path.join(os.path.dirname(fastconverse.__file__), "_core")
    if os.path.isdir(stubs):
        assert all(name.endswith(".pyi") for name in os.listdir(stubs)), os.listdir(stubs)
