"""``PromptLibrary``: system prompt ``Template``s by name, kept in one place and loaded from
a dict or a TOML, JSON or YAML file::

    library = PromptLibrary.default()          # customer_service, technical_expert, ...
    library.register("pirate", "You answer as a pirate of the {sea}.")
    client = ConverseClient(model_id, prompt_library=library)
    conv = client.create_conversation_with_template("pirate", {"sea": "Baltic"})
    conv.template_name, conv.template_vars   # ('pirate', {'sea': 'Baltic'})

A file holds one entry per name: the text alone, or a table with ``text`` and an optional
``description``::

    pirate = "You answer as a pirate of the {sea}."

    [support]
    description = "First-line support"
    text = \"\"\"You help the customers of {company}.\"\"\"
"""

from __future__ import annotations

import os
from _collections_abc import Mapping  # (collections.abc's, without importing collections)

from fastconverse.errors import UnknownTemplateError
from fastconverse.template import Template

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any, Union

    Entry = Union[str, Template, Mapping[str, Any]]

__all__ = ["PromptLibrary"]

# The reference tutorial's three roles, in our own words.
_BUILT_IN = {
    "customer_service": (
        "Customer support for a company: friendly, brief, hands over to a person when stuck",
        "You are a customer service assistant for {company}. Be friendly, patient and "
        "brief, and resolve the customer's problem in as few steps as you can. Say only "
        "what you are sure of: when you do not know, or the customer asks for a person, "
        "say so plainly and offer to pass the conversation to a human colleague.",
    ),
    "technical_expert": (
        "An expert in a technical field answering an experienced audience",
        "You are a senior technical expert in {domain}. Answer precisely and in depth for "
        "an experienced audience: use the field's exact terms, name the standards or "
        "documents that apply, and add short code or configuration examples where they "
        "make an answer clearer. Prefer robust, well-established practice, and point out "
        "trade-offs and pitfalls.",
    ),
    "educational_tutor": (
        "A tutor who helps a student understand a subject rather than giving answers",
        "You are a patient tutor in {subject}. Help the student understand rather than "
        "handing out answers: ask what they already know, break hard ideas into small "
        "steps, give examples and small exercises, and check their understanding as you "
        "go. Pitch your explanations at the level the student shows.",
    ),
}

_FORMATS = (".toml", ".json", ".yaml", ".yml")


class PromptLibrary:
    """Named system prompt ``Template``s. A name is letters, digits, ``_`` and ``-``,
    starting with a letter or ``_`` (so that it is never taken for a file or a module in
    ``fastconverse chat --template``).

    ``PromptLibrary(entries)`` takes a dict of name -> text, ``Template``, or
    ``{"text": ..., "description": ...}``; ``default()`` has the three built-in ones."""

    __slots__ = ("_templates",)

    def __init__(self, templates: Mapping[str, Entry] | None = None) -> None:
        self._templates: dict[str, Template] = {}
        if templates is not None:
            self.update(templates)

    @classmethod
    def default(cls) -> PromptLibrary:
        """A new library with the built-in templates: ``customer_service`` ({company}),
        ``technical_expert`` ({domain}) and ``educational_tutor`` ({subject})."""
        library = cls()
        for name, (description, text) in _BUILT_IN.items():
            library.register(name, text, description=description)
        return library

    @classmethod
    def from_dict(cls, templates: Mapping[str, Entry]) -> PromptLibrary:
        """A library of these entries (as ``PromptLibrary(templates)``)."""
        return cls(templates)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> PromptLibrary:
        """A library of the entries in a ``.toml``, ``.json``, ``.yaml`` or ``.yml`` file
        (YAML needs PyYAML installed; TOML on Python 3.9 and 3.10 needs tomli)."""
        library = cls()
        library.load(path)
        return library

    def register(
        self,
        name: str,
        template: str | Template,
        *,
        description: str | None = None,
        replace: bool = False,
    ) -> Template:
        """Adds ``template`` (its text, or a ``Template``) under ``name`` and returns it, as
        a ``Template`` with that name. A name already taken is a ``ValueError`` unless
        ``replace=True``."""
        _check_name(name)
        if not isinstance(replace, bool):
            raise TypeError(f"replace: expected a bool, got {type(replace).__name__}")
        if name in self._templates and not replace:
            raise ValueError(
                f"name: a template named {name!r} is in the library already; pass "
                f"replace=True to replace it (names: {self._listed()})"
            )
        if isinstance(template, Template):
            named = Template(
                template.text,
                name=name,
                description=description if description is not None else template.description,
            )
        elif isinstance(template, str):
            named = Template(template, name=name, description=description)
        else:
            raise TypeError(
                f"template {name!r}: expected its text (a str) or a Template, got "
                f"{type(template).__name__}"
            )
        self._templates[name] = named
        return named

    def get(self, name: str) -> Template:
        """The template named ``name``; ``errors.UnknownTemplateError`` (a ``KeyError`` and
        a ``ValueError``) lists the names there are."""
        if not isinstance(name, str):
            raise TypeError(f"name: expected a template name (str), got {type(name).__name__}")
        found = self._templates.get(name)
        if found is None:
            raise UnknownTemplateError(
                f"no template named {name!r} in the prompt library; its templates are "
                f"{self._listed()}"
            )
        return found

    def render(
        self, name: str, variables: Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> str:
        """The template named ``name`` filled in (``Template.render``)."""
        return self.get(name).render(variables, **kwargs)

    def remove(self, name: str) -> Template:
        """Takes the template named ``name`` out of the library and returns it."""
        found = self.get(name)
        del self._templates[name]
        return found

    def names(self) -> list[str]:
        """The names, in the order they were added."""
        return list(self._templates)

    def templates(self) -> list[Template]:
        """The templates (each with its ``name``, ``description`` and ``fields``), in the
        order they were added."""
        return list(self._templates.values())

    def update(
        self, templates: Mapping[str, Entry] | PromptLibrary, *, replace: bool = False
    ) -> None:
        """Adds every entry of a dict (as ``PromptLibrary(...)`` takes them) or of another
        library; a name taken already is a ``ValueError`` unless ``replace=True``. Nothing
        is added when an entry is refused."""
        if isinstance(templates, PromptLibrary):
            entries: Mapping[str, Any] = templates._templates
        elif isinstance(templates, Mapping):
            entries = templates
        else:
            raise TypeError(
                f"templates: expected a dict of name -> text, Template or {{'text': ..., "
                f"'description': ...}}, or a PromptLibrary; got {type(templates).__name__}"
            )
        staged = PromptLibrary()
        staged._templates = dict(self._templates)
        for name, entry in entries.items():
            if isinstance(entry, Mapping):
                text, description = _table(name, entry)
                staged.register(name, text, description=description, replace=replace)
            else:
                staged.register(name, entry, replace=replace)
        self._templates = staged._templates

    def load(self, path: str | os.PathLike[str], *, replace: bool = False) -> None:
        """Adds the entries of a ``.toml``, ``.json``, ``.yaml`` or ``.yml`` file (see
        ``from_file``); a problem is a ``ValueError`` naming the file."""
        entries = _read(os.fspath(path))
        try:
            self.update(entries, replace=replace)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{os.fspath(path)}: {err}") from None

    def copy(self) -> PromptLibrary:
        """A new library with the same templates (changing one leaves the other as it is)."""
        library = PromptLibrary()
        library._templates = dict(self._templates)
        return library

    def _listed(self) -> str:
        return ", ".join(repr(n) for n in self._templates) or "none"

    def __getitem__(self, name: str) -> Template:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._templates

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._templates))

    def __len__(self) -> int:
        return len(self._templates)

    def __repr__(self) -> str:
        return f"PromptLibrary({self.names()!r})"


def _check_name(name: object) -> None:
    if not isinstance(name, str):
        raise TypeError(f"name: expected a template name (str), got {type(name).__name__}")
    spelled = name.replace("-", "_")
    if not (spelled.isidentifier() and spelled.isascii()) or name.startswith("-"):
        raise ValueError(
            f"name: {name!r} is not a template name: use letters, digits, '_' and '-', "
            f"starting with a letter or '_' (e.g. 'customer_service')"
        )


def _table(name: str, entry: Mapping[str, Any]) -> tuple[Any, Any]:
    """A ``{"text": ..., "description": ...}`` entry's text and description."""
    unknown = sorted(str(k) for k in entry if k not in ("text", "description"))
    if unknown:
        raise ValueError(
            f"template {name!r}: unknown keys {unknown}; an entry has 'text' and an "
            f"optional 'description'"
        )
    if "text" not in entry:
        raise ValueError(f"template {name!r}: no 'text' (the template itself)")
    description = entry.get("description")
    if description is not None and not isinstance(description, str):
        raise TypeError(
            f"template {name!r}: description: expected a str, got {type(description).__name__}"
        )
    text = entry["text"]
    if not isinstance(text, str):
        raise TypeError(f"template {name!r}: text: expected a str, got {type(text).__name__}")
    return text, description


def _read(path: str) -> Mapping[str, Any]:
    """A file's entries (name -> entry), by its suffix; a problem is a ``ValueError``
    naming the file, a missing parser an ``ImportError`` saying what to install."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in _FORMATS:
        raise ValueError(
            f"{path}: expected a .toml, .json, .yaml or .yml file of templates, got "
            f"{suffix or 'no suffix'}"
        )
    parser, errors, kind = _parser(suffix)
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as err:
        raise ValueError(f"{path}: cannot read it: {err.strerror or err}") from None
    try:
        loaded = parser(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text: {err}") from None
    except errors as err:
        raise ValueError(f"{path}: not {kind}: {err}") from None
    if not isinstance(loaded, Mapping):
        raise ValueError(
            f"{path}: expected a table of template name -> text or {{text, description}}, "
            f"got {type(loaded).__name__}"
        )
    return loaded


def _parser(suffix: str) -> tuple[Any, Any, str]:
    """(parse text, its errors, the format's name) for a file suffix; imported here:
    most programs read no template file."""
    import importlib

    if suffix == ".json":
        import json

        return json.loads, ValueError, "JSON"
    if suffix == ".toml":
        for module in ("tomllib", "tomli"):  # (tomllib from Python 3.11 on)
            try:
                toml = importlib.import_module(module)
            except ImportError:
                continue
            return toml.loads, toml.TOMLDecodeError, "TOML"
        raise ImportError(
            "reading a TOML prompt library on Python 3.9 and 3.10 needs tomli: pip install tomli"
        )
    try:
        yaml = importlib.import_module("yaml")
    except ImportError:
        raise ImportError(
            "reading a YAML prompt library needs PyYAML: pip install pyyaml (or write the "
            "library as TOML or JSON)"
        ) from None
    return yaml.safe_load, yaml.YAMLError, "YAML"
