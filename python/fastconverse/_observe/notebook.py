"""How replies, conversations, metrics and usage show in a notebook: their HTML.

Every string from a model, a user or a tool is escaped: a reply that says ``<script>`` shows
those characters. Text blocks are Markdown, rendered by ``markdown-it-py`` when it is
installed (``pip install fastconverse[notebook]``) with raw HTML off, so that Markdown cannot
smuggle markup in either; without it the text shows as written, escaped, line breaks kept.

``register(shell)`` teaches IPython's HTML formatter the native types (``Reply``, ``Usage``,
``ConversationMetrics``), which cannot carry Python methods; ``Conversation`` has its own
``_repr_html_``. The text ``repr`` of every type stays as it was.
"""

from __future__ import annotations

import base64
import json
from html import escape

from fastconverse import _core

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import Any

__all__ = ["conversation_html", "markdown_html", "register", "reply_html"]

# The box every display sits in; colours inherit, so that light and dark themes both read.
BOX = (
    'style="border:1px solid rgba(127,127,127,.35);border-radius:6px;padding:6px 10px;'
    'margin:2px 0;max-width:60em"'
)
FOOTER = 'style="opacity:.7;font-size:85%;margin-top:6px"'
ROLE = 'style="font-weight:600;opacity:.75;font-size:85%;margin-top:6px"'
THUMB = 'style="max-width:240px;max-height:160px;border-radius:4px"'
MAX_MESSAGES = 200  # a longer transcript shows its newest messages in a notebook, with a note
MAX_INLINE = 1 << 20  # bytes of an image shown as a thumbnail (bigger: named, not inlined)
# MIME types browsers play, by Bedrock's audio format (pcm has no header: named, not played).
_AUDIO_MIME = {
    "mp3": "audio/mpeg",
    "mpeg": "audio/mpeg",
    "mpga": "audio/mpeg",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "webm": "audio/webm",
    "mkv": "audio/x-matroska",
    "mka": "audio/x-matroska",
    "mp4": "audio/mp4",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "x-aac": "audio/aac",
}


_markdown: Callable[[str], str] | None = None


def _renderer() -> Callable[[str], str]:
    global _markdown
    if _markdown is None:
        try:
            from markdown_it import MarkdownIt
        except ImportError:  # (the `notebook` extra is not installed)
            _markdown = _plain
        else:
            # commonmark with raw HTML off: `<b>` in a reply is text, not markup; links to
            # javascript:, vbscript:, file: and data: (but images) are refused by markdown-it.
            # Images are off: a remote one loads without a click, which would let a
            # prompt-injected reply send data out in its URL (they show as links instead).
            _markdown = (
                MarkdownIt("commonmark", {"html": False})
                .enable(["table", "strikethrough"])
                .disable("image")
                .render
            )
    return _markdown


def _plain(text: str) -> str:
    return f'<div style="white-space:pre-wrap">{escape(text)}</div>'


def markdown_html(text: str) -> str:
    """``text`` as HTML: Markdown rendered with raw HTML escaped (or, without markdown-it-py,
    the text escaped, line breaks kept)."""
    return _renderer()(text)


def _json(value: Any) -> str:
    def bytes_note(obj: Any) -> str:
        if isinstance(obj, (bytes, bytearray, memoryview)):
            return f"<{len(obj)} bytes>"
        return repr(obj)

    return escape(json.dumps(value, indent=2, ensure_ascii=False, default=bytes_note))


def _folded(summary: str, body: str, open_: bool = False) -> str:
    return f"<details{' open' if open_ else ''}><summary>{summary}</summary>{body}</details>"


def _media(kind: str, item: Mapping[str, Any]) -> str:
    fmt = str(item.get("format", ""))
    source = item.get("source") or {}
    data = source.get("bytes") if isinstance(source, dict) else None
    if kind == "image" and isinstance(data, (bytes, bytearray)) and len(data) <= MAX_INLINE:
        encoded = base64.b64encode(bytes(data)).decode("ascii")
        mime = "jpeg" if fmt == "jpg" else fmt
        return f'<img src="data:image/{escape(mime)};base64,{encoded}" alt="image" {THUMB}/>'
    playable = _AUDIO_MIME.get(fmt) if kind == "audio" else None
    if playable and isinstance(data, (bytes, bytearray)) and len(data) <= MAX_INLINE:
        encoded = base64.b64encode(bytes(data)).decode("ascii")
        src = escape(f"data:{playable};base64,{encoded}")
        return f'<audio controls src="{src}" title="audio ({escape(fmt)})"></audio>'
    where = ""
    if isinstance(source, dict) and isinstance(source.get("s3Location"), dict):
        where = f" {escape(str(source['s3Location'].get('uri', '')))}"
    elif isinstance(data, (bytes, bytearray)):
        where = f", {len(data):,} bytes"
    name = f" {escape(str(item['name']))}" if item.get("name") else ""
    return f"<div><code>[{kind}{name} ({escape(fmt)}){where}]</code></div>"


def _tool_result(result: Mapping[str, Any]) -> str:
    status = str(result.get("status", "success"))
    parts = []
    for part in result.get("content") or []:
        if "text" in part:
            parts.append(f'<pre style="white-space:pre-wrap">{escape(str(part["text"]))}</pre>')
        elif "json" in part:
            parts.append(f"<pre>{_json(part['json'])}</pre>")
        else:
            parts.append(block_html(part))
    head = f"tool result <code>{escape(str(result.get('toolUseId', '')))}</code>"
    if status != "success":
        head += f" <b>({escape(status)})</b>"
    return _folded(head, "".join(parts))


def block_html(block: Mapping[str, Any]) -> str:
    """One content block of a message."""
    if "text" in block:
        return markdown_html(str(block["text"]))
    if "toolUse" in block:
        use = block["toolUse"]
        head = f"tool call <code>{escape(str(use.get('name', '')))}</code>"
        return _folded(head, f"<pre>{_json(use.get('input'))}</pre>")
    if "toolResult" in block:
        return _tool_result(block["toolResult"])
    for kind in ("image", "document", "video", "audio"):
        if kind in block:
            return _media(kind, block[kind])
    if "reasoningContent" in block:
        reasoning = block["reasoningContent"]
        text = (reasoning.get("reasoningText") or {}).get("text")
        body = markdown_html(str(text)) if text is not None else "<i>(redacted)</i>"
        return _folded("reasoning", body)
    if "guardContent" in block:
        text = (block["guardContent"].get("text") or {}).get("text", "")
        return f"<div>{markdown_html(str(text))}</div>"
    if "cachePoint" in block:
        return ""
    name = escape(next(iter(block), "block"))
    return _folded(name, f"<pre>{_json(dict(block))}</pre>")


def _message(message: Mapping[str, Any], role: bool = True) -> str:
    blocks = "".join(block_html(block) for block in message.get("content") or [])
    head = f"<div {ROLE}>{escape(str(message.get('role', '')))}</div>" if role else ""
    return head + blocks


def _usage_line(usage: _core.Usage) -> str:
    line = f"{usage.input_tokens:,} in · {usage.output_tokens:,} out"
    if usage.cache_read_input_tokens or usage.cache_write_input_tokens:
        line += (
            f" · cache {usage.cache_read_input_tokens:,} read,"
            f" {usage.cache_write_input_tokens:,} written"
        )
    return line + " tokens"


def reply_html(reply: _core.Reply) -> str:
    """A turn's reply: what the assistant said, its tool rounds folded, and a footer with the
    model, stop reason, tokens and latency."""
    said = reply.messages[1:] if reply.messages else [reply.message]
    body = "".join(_message(m, role=len(said) > 1) for m in said)
    footer = [escape(reply.model_id), escape(reply.stop_reason), _usage_line(reply.usage)]
    if reply.latency_ms is not None:
        footer.append(f"{reply.latency_ms:,} ms")
    return f"<div {BOX}>{body}<div {FOOTER}>{' · '.join(footer)}</div></div>"


def conversation_html(
    conv: Any,
    prices: Mapping[str, Mapping[str, float]] | None = None,
    title: bool = True,
    max_messages: int | None = None,
) -> str:
    """The transcript of a ``Conversation``: roles, Markdown, tool calls and results folded,
    images as thumbnails; a footer with turns, tokens and, given ``prices``, the cost."""
    parts = []
    if title:
        parts.append(
            f"<div><b>Conversation</b> <code>{escape(conv.id)}</code> · "
            f"{escape(conv.model_id)}</div>"
        )
    if conv.system_prompt:
        parts.append(_folded("system prompt", markdown_html(conv.system_prompt)))
    if conv.summary:
        parts.append(_folded("summary of earlier turns", markdown_html(conv.summary)))
    messages = conv.transcript
    if max_messages is not None and len(messages) > max_messages:
        parts.append(f"<div {FOOTER}>… {len(messages) - max_messages:,} earlier messages</div>")
        messages = messages[-max_messages:] if max_messages else []
    parts.extend(_message(m) for m in messages)
    metrics = conv.metrics
    turns = metrics.turns
    footer = [f"{turns:,} turn{'' if turns == 1 else 's'}", _usage_line(conv.usage)]
    if prices is not None:
        footer.append(f"${conv.cost(prices):,.4f}")
    parts.append(f"<div {FOOTER}>{' · '.join(footer)}</div>")
    return f"<div {BOX}>{''.join(parts)}</div>"


def _table(rows: Iterable[tuple[str, str]]) -> str:
    cells = "".join(
        f'<tr><th style="text-align:left;padding-right:1em">{escape(k)}</th>'
        f'<td style="text-align:right">{v}</td></tr>'
        for k, v in rows
    )
    return f"<table>{cells}</table>"


def usage_html(usage: _core.Usage) -> str:
    return _table(
        (name, f"{getattr(usage, name):,}")
        for name in (
            "input_tokens",
            "output_tokens",
            "total_tokens",
            "cache_read_input_tokens",
            "cache_write_input_tokens",
        )
    )


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:,.0f} ms"


def metrics_html(metrics: _core.ConversationMetrics) -> str:
    rows = [(k, f"{v:,}") for k, v in metrics.to_dict().items() if isinstance(v, int)]
    for name in ("latency", "time_to_first_token"):
        t = getattr(metrics, name)
        if t.count:
            rows.append(
                (
                    name.replace("_", " "),
                    f"{_seconds(t.mean)} mean · {_seconds(t.p50)} p50 · {_seconds(t.p95)} p95",
                )
            )
    rows.extend((f"errors: {code}", f"{n:,}") for code, n in sorted(metrics.errors.items()))
    return _table(rows)


def register(shell: Any) -> None:
    """Adds the native types' HTML to an IPython shell's display formatter."""
    formatter = shell.display_formatter.formatters["text/html"]
    formatter.for_type(_core.Reply, reply_html)
    formatter.for_type(_core.Usage, usage_html)
    formatter.for_type(_core.ConversationMetrics, metrics_html)
