"""``Template``: a system prompt with ``{name}`` fields, filled in when a conversation is
created::

    conv = client.create_conversation(
        system_prompt=Template("You are an expert in {domain}."),
        prompt_variables={"domain": "wine"},
    )
    conv.system_prompt   # 'You are an expert in wine.'

Fields are ``str.format``'s, as prompt libraries write them (``{domain}``, ``{{`` for a
literal brace, ``{price:.2f}`` with a format spec). Unlike ``str.format``, a variable that
is missing, or given but not used, is a ``ValueError`` naming it and the template: a typo
must not send a prompt with a hole in it.

A ``Template`` may carry a ``name`` and a ``description``: those of a ``PromptLibrary``
have them, and a conversation created from a named template keeps the name and the
variables (``conv.template_name``, ``conv.template_vars``).
"""

from __future__ import annotations

from _collections_abc import Mapping  # (collections.abc's, without importing collections)

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

__all__ = ["Template"]


class Template:
    """A prompt template with ``str.format`` fields, each named (``{domain}``)."""

    __slots__ = ("description", "fields", "name", "text")

    text: str
    fields: frozenset[str]
    """The names of the variables it needs."""
    name: str | None
    """Its name in a ``PromptLibrary`` (kept with the conversations made from it)."""
    description: str | None
    """What it is for, in a word or a sentence."""

    def __init__(
        self, text: str, *, name: str | None = None, description: str | None = None
    ) -> None:
        if not isinstance(text, str):
            raise TypeError(f"Template text: expected a str, got {type(text).__name__}")
        for arg, value in (("name", name), ("description", description)):
            if value is not None and not isinstance(value, str):
                raise TypeError(
                    f"Template {arg}: expected a str or None, got {type(value).__name__}"
                )
        label = repr(name) if name is not None else _short(text)
        import string  # (here: it imports re, and most programs use no template)

        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as exc:  # a lone "{" or "}"
            raise ValueError(
                f"Template {label}: {exc} (write {{{{ and }}}} for literal braces)"
            ) from None
        fields = set()
        for _, field, spec, _ in parsed:
            if field is None:
                continue
            variable = field.split(".", 1)[0].split("[", 1)[0]
            if not variable.isidentifier():
                raise ValueError(
                    f"Template {label}: every field needs a name, like {{domain}}; got {{{field}}}"
                )
            fields.add(variable)
            if spec and "{" in spec:
                raise ValueError(
                    f"Template {label}: nested fields in a format spec are not "
                    f"supported ({{{field}:{spec}}})"
                )
        self.text = text
        self.fields = frozenset(fields)
        self.name = name
        self.description = description

    def render(self, variables: Mapping[str, Any] | None = None, /, **kwargs: Any) -> str:
        """The text with its fields filled in from ``variables`` (and keyword arguments);
        a ``ValueError`` names a missing or unused variable."""
        given: dict[str, Any] = {}
        if variables is not None:
            if not isinstance(variables, Mapping):
                raise TypeError(
                    f"prompt_variables: expected a dict of name -> value, got "
                    f"{type(variables).__name__}"
                )
            given.update(variables)
        given.update(kwargs)
        missing = sorted(self.fields - given.keys())
        if missing:
            raise ValueError(
                f"prompt_variables: missing {_names(missing)} for the template "
                f"{self._label()}; given: {sorted(given) or 'none'}"
            )
        unused = sorted(given.keys() - self.fields)
        if unused:
            raise ValueError(
                f"prompt_variables: {_names(unused)} not used by the template "
                f"{self._label()}, whose fields are {sorted(self.fields) or 'none'}"
            )
        try:
            return self.text.format_map(given)
        except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"prompt_variables: the template {self._label()} cannot be filled in: "
                f"{type(exc).__name__}: {exc}"
            ) from None

    def _label(self) -> str:
        return repr(self.name) if self.name is not None else _short(self.text)

    def __eq__(self, other: object) -> bool:
        # (by its text, which is what a conversation sends: the name is a label)
        return isinstance(other, Template) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        named = f", name={self.name!r}" if self.name is not None else ""
        return f"Template({self.text!r}{named})"


def render_system_prompt(
    system_prompt: str | Template | Sequence[Mapping[str, Any]] | None,
    prompt_variables: Mapping[str, Any] | None,
) -> str | Sequence[Mapping[str, Any]] | None:
    """``create_conversation``'s system prompt with a ``Template`` filled in."""
    if isinstance(system_prompt, Template):
        return system_prompt.render(prompt_variables)
    if prompt_variables is not None:
        raise ValueError(
            "prompt_variables: given without a Template system prompt; write "
            "system_prompt=Template('... {name} ...') to fill fields in"
        )
    return system_prompt


def _names(names: list[str]) -> str:
    listed = ", ".join(repr(n) for n in names)
    return f"variable{'s' if len(names) > 1 else ''} {listed}"


def _short(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")
