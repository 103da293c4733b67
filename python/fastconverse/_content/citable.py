"""What a model can cite: ``search_result(...)`` blocks, documents given as text or as
chunks of text, and the ``citations`` setting both take."""

from __future__ import annotations

from _collections_abc import Mapping, Sequence  # (collections.abc's, without collections)

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["citations_config", "search_result", "text_source"]


def search_result(
    source: str,
    title: str,
    content: str | Sequence[str | Mapping[str, Any]],
    *,
    citations: bool | Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``searchResult`` content block: a passage your search found, for the model to read
    and cite (``citations=True``), in a user message or returned by a tool.

    ``source`` says where it came from (a URL, a document id), ``title`` names it, and
    ``content`` is its text: a str, or a list of texts (each may be ``{"text": ...}``),
    which citations then point into by index. Bedrock rejects blank texts, so they are
    refused here.
    """
    for arg, value in (("source", source), ("title", title)):
        if not isinstance(value, str):
            raise TypeError(f"{arg}: expected a str, got {type(value).__name__}")
        if not value.strip():
            raise ValueError(f"{arg}: must not be blank (Bedrock rejects a blank {arg})")
    body: dict[str, Any] = {
        "source": source,
        "title": title,
        "content": _texts(content, "content"),
    }
    if citations is not None:
        body["citations"] = citations_config(citations)
    return {"searchResult": body}


def text_source(text: str | None, content: Any) -> dict[str, Any]:
    """A document's ``source`` from ``text=`` (one text) or ``content=`` (chunks of text,
    which citations point into by index)."""
    if text is not None and content is not None:
        raise ValueError("document: give text= or content=, not both")
    if text is not None:
        if not isinstance(text, str):
            raise TypeError(f"text: expected a str, got {type(text).__name__}")
        if not text.strip():
            raise ValueError("text: must not be blank (Bedrock rejects blank text)")
        return {"text": text}
    return {"content": _texts(content, "content")}


def citations_config(value: bool | Mapping[str, Any]) -> dict[str, Any]:
    """``citations=``: ``True``/``False`` or ``{"enabled": bool}``."""
    if isinstance(value, bool):
        return {"enabled": value}
    if isinstance(value, Mapping) and isinstance(value.get("enabled"), bool) and len(value) == 1:
        return {"enabled": value["enabled"]}
    raise TypeError(f"citations: expected True, False or {{'enabled': bool}}, got {value!r}")


def _texts(value: Any, arg: str) -> list[dict[str, str]]:
    """A str or a list of str / ``{"text": str}`` as ``[{"text": ...}, ...]``, none blank."""
    items = [value] if isinstance(value, (str, Mapping)) else value
    if not isinstance(items, Sequence) or isinstance(items, (bytes, bytearray)):
        raise TypeError(f"{arg}: expected a str or a list of str, got {type(value).__name__}")
    if not items:
        raise ValueError(f"{arg}: must hold at least one text")
    out = []
    for i, item in enumerate(items):
        text = item.get("text") if isinstance(item, Mapping) and len(item) == 1 else item
        if not isinstance(text, str):
            raise TypeError(
                f"{arg}[{i}]: expected a str or {{'text': str}}, got {type(item).__name__}"
            )
        if not text.strip():
            raise ValueError(f"{arg}[{i}]: must not be blank (Bedrock rejects blank text)")
        out.append({"text": text})
    return out
