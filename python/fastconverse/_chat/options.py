"""What the chat's options name, loaded and checked: the template, the tools, the prices,
and the logging. Each problem is a ``ValueError`` that names the option and what it got."""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from fastconverse.prompts import PromptLibrary
from fastconverse.template import Template

# module:attr, as console_scripts entry points write it (attr may be dotted)
_REFERENCE = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")


def imported(reference: str, option: str) -> Any:
    """The object ``module:attr`` names (the module found on ``sys.path``, which for
    ``python -m`` starts with the current folder)."""
    if not _REFERENCE.fullmatch(reference):
        raise ValueError(f"{option}: expected module:attr, e.g. my_tools:TOOLS, got {reference!r}")
    module_name, _, attr = reference.partition(":")
    try:
        value: Any = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"{option} {reference}: cannot import {module_name}: {err}") from None
    except Exception as err:  # the module itself failed: say how, without a traceback
        raise ValueError(
            f"{option} {reference}: importing {module_name} failed: {type(err).__name__}: {err}"
        ) from None
    for part in attr.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise ValueError(f"{option} {reference}: {module_name} has no {attr}") from None
    return value


def template(name: str) -> Template:
    """``--template``: a file holding the template's text, a name in the built-in
    ``PromptLibrary`` (``customer_service``), or ``module:attr`` naming a ``Template`` or a
    str. A file that exists wins (a Windows path has a colon too; a library name has no dot,
    slash or colon, so only a file of that very name is taken first)."""
    library = PromptLibrary.default()
    if os.path.isfile(name):
        try:
            with open(name, encoding="utf-8") as file:
                text = file.read()
        except (OSError, UnicodeDecodeError) as err:
            raise ValueError(f"--template {name}: cannot read it: {err}") from None
    elif name in library:
        return library.get(name)
    elif _REFERENCE.fullmatch(name):
        found = imported(name, "--template")
        if isinstance(found, Template):
            return found
        if not isinstance(found, str):
            raise ValueError(
                f"--template {name}: expected a Template or a str, got {type(found).__name__}"
            )
        text = found
    else:
        raise ValueError(
            f"--template {name}: no such file, no template of that name in the library "
            f"({', '.join(library.names())}), and not module:attr (a file holding the "
            "template, a library name, or module:attr naming a Template or a str)"
        )
    try:
        return Template(text)
    except ValueError as err:
        raise ValueError(f"--template {name}: {err}") from None


def tools(references: Sequence[str]) -> list[Any]:
    """``--tools``, each ``module:attr`` naming a tool (a ``@tool`` function, a ``Tool``, a
    plain typed function) or a list or tuple of them; all of them, in order."""
    from fastconverse.tools import Tool  # (pydantic: only for a chat with tools)

    found: list[Any] = []
    for reference in references:
        value = imported(reference, "--tools")
        listed = list(value) if isinstance(value, (list, tuple)) else [value]
        for item in listed:
            if isinstance(item, Tool) and item.fn is None:
                raise ValueError(
                    f"--tools {reference}: the tool {item.name!r} has no function to call "
                    "(the chat answers the model's tool calls by calling them)"
                )
            if not (isinstance(item, Tool) or callable(item)):
                raise ValueError(
                    f"--tools {reference}: expected a tool (@tool or a typed function), or "
                    f"a list of them; got {type(item).__name__}"
                )
        found.extend(listed)
    return found


def prices(path: str) -> dict[str, Mapping[str, float]]:
    """``--prices``: a JSON file of ``{model_id: {"input": .., "output": ..,
    "cache_read": .., "cache_write": ..}}``, dollars per 1,000 tokens, as
    ``Conversation.cost`` takes them (it checks the numbers when /cost uses them)."""
    try:
        with open(path, encoding="utf-8") as file:
            loaded = json.load(file)
    except OSError as err:
        raise ValueError(f"--prices {path}: cannot read it: {err.strerror or err}") from None
    except ValueError as err:  # (JSONDecodeError and UnicodeDecodeError)
        raise ValueError(f"--prices {path}: not JSON: {err}") from None
    if not isinstance(loaded, dict) or not all(isinstance(v, dict) for v in loaded.values()):
        raise ValueError(
            f'--prices {path}: expected {{"MODEL_ID": {{"input": 0.0008, "output": 0.004}}}} '
            "(dollars per 1,000 tokens)"
        )
    return loaded


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler on whatever ``sys.stderr`` is when a record comes: while a reply renders
    at a terminal, rich points it at its live display, which then prints records above."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def configure_logging(level: str) -> None:
    """``--log-level``: the ``fastconverse`` logger's records at ``level`` and above go to
    stderr."""
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("fastconverse")
    logger.addHandler(handler)
    logger.setLevel(level)
