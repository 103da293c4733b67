"""The reference tutorial's templated conversations on ``ConverseClient``: the client's
``prompt_library`` and ``create_conversation_with_template``, which names a template of it
(see ``fastconverse.prompts``)."""

from __future__ import annotations

from _collections_abc import Mapping  # (collections.abc's, without importing collections)

from fastconverse.errors import UnknownTemplateError
from fastconverse.prompts import PromptLibrary

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from typing import Any

    from fastconverse.conversation import Conversation

__all__ = ["TemplatedConversations"]


class TemplatedConversations:
    """Mixed into ``ConverseClient``."""

    # (set by ConverseClient.__init__ and its registry)
    _prompt_library: PromptLibrary | None
    _registry_lock: Any

    if TYPE_CHECKING:

        def _registry(self) -> dict[str, Conversation]: ...

        def create_conversation(self, *args: Any, **kwargs: Any) -> Conversation: ...

    @property
    def prompt_library(self) -> PromptLibrary:
        """The named templates of ``create_conversation_with_template``; ``register`` more
        on it, or give your own with ``ConverseClient(prompt_library=...)``."""
        self._registry()  # (an initialised client)
        with self._registry_lock:
            if self._prompt_library is None:  # (made when first used: most clients never do)
                self._prompt_library = PromptLibrary.default()
            return self._prompt_library

    def create_conversation_with_template(
        self,
        template_name: str,
        template_vars: Mapping[str, Any] | None = None,
        **create_conversation_kwargs: Any,
    ) -> Conversation:
        """The reference tutorial's: a conversation whose system prompt is the template
        ``template_name`` of ``prompt_library`` filled in from ``template_vars`` (a missing
        or unused variable is a ``ValueError``). The conversation keeps both
        (``template_name``, ``template_vars``, in a store too). Other keyword arguments are
        ``create_conversation``'s. ``str(conv)`` is its id, and the by-id methods take
        the conversation or its id."""
        for clash in ("system_prompt", "prompt_variables"):
            if clash in create_conversation_kwargs:
                raise TypeError(
                    f"{clash}: the system prompt is the template {template_name!r}; "
                    f"leave {clash} out (or call create_conversation)"
                )
        if template_vars is not None and not isinstance(template_vars, Mapping):
            raise TypeError(
                f"template_vars: expected a dict of name -> value, got "
                f"{type(template_vars).__name__}"
            )
        try:
            template = self.prompt_library.get(template_name)
        except UnknownTemplateError as err:
            raise UnknownTemplateError(f"template_name: {err}") from None
        try:
            return self.create_conversation(
                template, prompt_variables=template_vars, **create_conversation_kwargs
            )
        except ValueError as err:
            text = str(err)
            if not text.startswith("prompt_variables:"):
                raise
            raise ValueError("template_vars:" + text.removeprefix("prompt_variables:")) from None
