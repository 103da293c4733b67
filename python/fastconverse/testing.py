"""Offline testing: ``FakeBedrock``, a local Bedrock Runtime that speaks the real wire protocol.

    from fastconverse.testing import FakeBedrock

    with FakeBedrock() as fake:
        fake.enqueue_text("Hello there!", chunks=3)
        client = boto3.client("bedrock-runtime", endpoint_url=fake.url, ...)

Any client works against it — boto3, the AWS SDKs, fastconverse — because it answers over
real HTTP with real Converse JSON and real event-stream frames.

**Scripted turns** are answered first in, first out; a turn queued with ``model_id=`` only
answers requests for that model (and goes before the shared queue). A request that fails
validation does not use up a scripted turn; a scripted error does.

**The default model** answers when nothing is queued: it repeats the last user message
(``"You said: <text>"``; tool results as ``"Tool results: <id> returned <content>"``),
streams one delta per word, stops early with ``stop_sequence`` at the first of
``inferenceConfig.stopSequences`` and with ``max_tokens`` after ``maxTokens`` tokens. When
the request holds a document or search result with citations enabled, it adds
``"According to <title>: "`` and a ``citationsContent`` block quoting the first sentence of
the first such source in the last message that has one (a chunk document's or search
result's first text; a PDF's first page, quoting nothing), streamed as text deltas and a
``citation`` delta; ``documentIndex`` and ``searchResultIndex`` count over the request.

**System tools** (``toolConfig.tools[].systemTool``): FakeBedrock accepts the ones Bedrock
documents, ``nova_grounding`` and ``nova_code_interpreter`` (any other name is refused with
a ValidationException whose text is ours). When the last user message's text contains the
name of a system tool the request offers (e.g. ``"use nova_code_interpreter to add 2 and
2"``; the first such tool in ``tools`` order), the default model calls it and answers in one
response, stop reason ``end_turn``: a ``toolUse`` of type ``server_tool_use``, its
``toolResult`` (type ``<name>_result``, status ``success``; the code interpreter's text is
the documented ``{"stdOut", "stdErr", "exitCode", "isError"}`` JSON with the user's text as
``stdOut``, the grounding tool's a line of ours) and the usual ``"You said: ..."`` text;
web grounding then ends with a ``citationsContent`` passage citing a page of ours (a ``web``
location: ``url`` and ``domain``), as Nova's grounded answers cite their pages. A
stream sends the call as ``contentBlockStart.toolUse`` (with its ``type``) and input deltas,
the result as ``contentBlockStart.toolResult`` and one ``delta.toolResult`` per content item.
A system tool's call must come back with its result in the same assistant message.

**Tokens** follow a fixed rule so tests can assert exact usage:

- text (message, system, reasoning, guard content, cited text, a search result's title and
  texts): its whitespace-separated words;
- JSON (tool-use input, tool-result json, each tool's whole ``toolSpec``): the UTF-8 length
  of its compact JSON divided by 4, rounded up;
- a tool use costs 1 plus its input, a tool result 1 plus its content;
- an image, video or audio block 100; a document its text's words, or its bytes / 4 rounded up;
- ``outputTokens``: the reply's content by the same rule; ``totalTokens``: all four summed.

**Prompt caching**: a ``cachePoint`` (in tools, system or messages, taken in that order)
ends a cacheable prefix. The first request with a prefix reports its tokens as
``cacheWriteInputTokens``; later requests with the same prefix and model report them as
``cacheReadInputTokens``; ``inputTokens`` counts the rest. The prefix is its content: cache
points themselves are not part of it, so moving a point later keeps what was cached.

**Context windows**: with ``context_windows={"model": N}`` (or ``default_context_window=N``)
a prompt of more than N tokens gets ``Input is too long for requested model.``, and one whose
tokens plus ``maxTokens`` exceed N gets the ``input length and `max_tokens` exceed context
limit`` wording.
"""

from __future__ import annotations

import sys
from _collections_abc import Mapping  # (collections.abc's, without importing collections)

from fastconverse import _core

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, Literal

    if sys.version_info >= (3, 11):
        from typing import TypedDict, Unpack
    else:
        from typing_extensions import TypedDict, Unpack

    class TurnOptions(TypedDict, total=False):
        """Options every scripted turn takes (see ``FakeBedrock.enqueue_turn``)."""

        model_id: str | None
        chunks: int | None
        stop_reason: str | None
        usage: Mapping[str, int] | None
        latency_ms: int | None
        stream_error: str | None
        stream_error_message: str | None
        after_events: int
        disconnect_after_events: int | None
        first_byte_delay: float
        delta_delay: float
        trace: Mapping[str, Any] | None


__all__ = ["FakeBedrock", "RecordedRequest"]

RecordedRequest = _core.RecordedRequest

_system_tool_uses = 0  # (ids of the system tool calls enqueue_system_tool_use makes)


def _wire_block(block: Mapping[str, Any]) -> Mapping[str, Any]:
    """Redacted reasoning and image bytes travel as base64 text, as on the wire."""
    image = block.get("image") if isinstance(block, Mapping) else None
    if isinstance(image, Mapping) and isinstance(image.get("source"), Mapping):
        data = image["source"].get("bytes")
        if isinstance(data, (bytes, bytearray, memoryview)):
            import base64

            return {"image": {**image, "source": {"bytes": base64.b64encode(data).decode()}}}
    reasoning = block.get("reasoningContent") if isinstance(block, Mapping) else None
    if isinstance(reasoning, Mapping):
        data = reasoning.get("redactedContent")
        if isinstance(data, (bytes, bytearray, memoryview)):
            import base64  # (here, not at the top: it imports re)

            return {"reasoningContent": {"redactedContent": base64.b64encode(data).decode()}}
    return block


class FakeBedrock(_core.FakeBedrock):
    """A local Bedrock Runtime on ``127.0.0.1`` (a free port unless ``port=`` is given).

    Args:
        host: Address to listen on.
        port: Port to listen on; 0 picks a free one.
        credentials: ``(access_key_id, secret_access_key)`` pairs. With any, SigV4 signatures
            are verified: an unknown key gets 403 ``UnrecognizedClientException``, a wrong
            signature 403 ``InvalidSignatureException``.
        api_keys: Bedrock API keys accepted as ``Authorization: Bearer <key>``.
        models: When given, only these model ids are served; any other gets
            ``The provided model identifier is invalid.``
        context_windows: Context window in tokens per model id.
        default_context_window: Context window of models not in ``context_windows``.
        count_tokens_models: When given, only these model ids support CountTokens; any other
            gets ``The provided model doesn't support counting tokens.``
        quotas: ``{model_id: (requests_per_minute, tokens_per_minute)}`` (either may be
            None): a request over a quota gets HTTP 429 ``ThrottlingException`` with
            Bedrock's text. Each quota is a bucket holding one minute of it, refilled
            continuously; tokens are the request's input tokens (our choice: Bedrock does
            not document how it measures its minute).
        max_recorded: How many received requests ``requests`` keeps (the newest); None,
            the default, keeps all. ``python -m fastconverse serve`` keeps 1,000.

    Options of every ``enqueue_*`` turn:
        model_id: Answer only requests for this model id.
        chunks: Cut each text (and tool input) into this many deltas; default one per word.
        stop_reason: Defaults to ``tool_use`` when the turn uses a tool, else ``end_turn``.
        usage: Override the computed usage, e.g. ``{"inputTokens": 10, "outputTokens": 3}``.
        latency_ms: The reported ``metrics.latencyMs``.
        stream_error: In-stream exception sent after ``after_events`` events, e.g.
            ``"throttlingException"`` (Converse answers it as an HTTP error instead).
        stream_error_message: Its message.
        after_events: Events sent before ``stream_error`` (at most all but the metadata event).
        disconnect_after_events: Drop the connection after this many events (at most all but
            the metadata event; Converse: drops it without answering).
        first_byte_delay: Seconds to wait before answering.
        delta_delay: Seconds to wait before each content delta after the first (in an
            InvokeModel stream, before each chunk after the first).
        trace: The response's ``trace`` (e.g. a guardrail assessment), sent only when the
            request enables ``guardrailConfig["trace"]``, as Bedrock does.

    Reasoning content (``reasoningContent`` blocks, or ``reasoning=`` of ``enqueue_text``)
    must come back unchanged: a signed block whose text changed, or redacted content that
    FakeBedrock never sent, is refused as Anthropic's models refuse it. The default model
    reasons first (in a signed block) when ``additionalModelRequestFields`` enables
    ``thinking``, and answers a forced ``toolChoice`` with a tool use whose input fits the
    tool's schema.
    """

    def enqueue_turn(
        self, content: Sequence[Mapping[str, Any]], **options: Unpack[TurnOptions]
    ) -> None:
        """Queue one scripted turn: boto3-shaped ``text``, ``toolUse``, ``image`` (a
        generated image, streamed as ``contentBlockStart.image`` and ``delta.image``; bytes
        as bytes) and ``reasoningContent`` blocks (``redactedContent`` as bytes), and a
        system tool's call (``toolUse`` with ``"type": "server_tool_use"``) with its
        ``toolResult`` (``text`` or ``json`` items; see ``enqueue_system_tool_use``)."""
        super().enqueue_turn([_wire_block(block) for block in content], **options)

    def enqueue_guardrail_intervention(
        self,
        message: str = "Sorry, the model cannot answer this question.",
        *,
        blocked: Literal["input", "output"] = "input",
        guardrail_id: str = "fake-guardrail",
        topic: str = "Forbidden topic",
        **options: Unpack[TurnOptions],
    ) -> None:
        """Queue a turn a guardrail stopped: the guardrail's ``message`` with stop reason
        ``guardrail_intervened``, and a trace (a denied topic found in the ``input`` or in
        the model's ``output``) that requests enabling ``trace`` receive."""
        found = {
            "topicPolicy": {
                "topics": [{"name": topic, "type": "DENY", "action": "BLOCKED", "detected": True}]
            }
        }
        if blocked == "input":
            trace: dict[str, Any] = {"inputAssessment": {guardrail_id: found}}
        elif blocked == "output":
            trace = {
                "modelOutput": ["(the model's answer, withheld)"],
                "outputAssessments": {guardrail_id: [found]},
            }
        else:
            raise ValueError(f"blocked: expected 'input' or 'output', got {blocked!r}")
        options.setdefault("trace", {"guardrail": trace})
        options.setdefault("stop_reason", "guardrail_intervened")
        self.enqueue_turn([{"text": message}], **options)

    def enqueue_text(
        self,
        text: str,
        *,
        reasoning: str | None = None,
        reasoning_signature: str | None = None,
        **options: Unpack[TurnOptions],
    ) -> None:
        """Queue a text reply, optionally preceded by reasoning text (and its signature)."""
        content: list[dict[str, Any]] = []
        if reasoning is not None:
            reasoning_text: dict[str, str] = {"text": reasoning}
            if reasoning_signature is not None:
                reasoning_text["signature"] = reasoning_signature
            content.append({"reasoningContent": {"reasoningText": reasoning_text}})
        elif reasoning_signature is not None:
            raise ValueError("reasoning_signature needs reasoning text")
        content.append({"text": text})
        self.enqueue_turn(content, **options)

    def enqueue_tool_use(
        self,
        name: str,
        input: Mapping[str, Any] | None = None,
        *,
        tool_use_id: str | None = None,
        text: str | None = None,
        **options: Unpack[TurnOptions],
    ) -> None:
        """Queue a turn that calls one tool, optionally after some text."""
        self.enqueue_tool_uses([(name, input or {}, tool_use_id)], text=text, **options)

    def enqueue_tool_uses(
        self,
        calls: Sequence[tuple[str, Mapping[str, Any]] | tuple[str, Mapping[str, Any], str | None]],
        *,
        text: str | None = None,
        **options: Unpack[TurnOptions],
    ) -> None:
        """Queue a turn that calls several tools: ``[(name, input), (name, input, id), ...]``."""
        content: list[dict[str, Any]] = []
        if text is not None:
            content.append({"text": text})
        for i, call in enumerate(calls):
            if not isinstance(call, tuple) or len(call) not in (2, 3):
                raise ValueError(
                    f"calls[{i}] must be a (name, input) or (name, input, tool_use_id) tuple, "
                    f"got {call!r}"
                )
            tool_use: dict[str, Any] = {"name": call[0], "input": dict(call[1])}
            if len(call) == 3 and call[2] is not None:
                tool_use["toolUseId"] = call[2]
            content.append({"toolUse": tool_use})
        self.enqueue_turn(content, **options)

    def enqueue_system_tool_use(
        self,
        name: str,
        input: Mapping[str, Any],
        result: str | Mapping[str, Any],
        *,
        text: str | None = None,
        tool_use_id: str | None = None,
        result_type: str | None = None,
        status: Literal["success", "error"] = "success",
        **options: Unpack[TurnOptions],
    ) -> None:
        """Queue a turn in which the service ran system tool ``name``: its call (a
        ``toolUse`` of type ``server_tool_use``), its ``result`` (text, or a JSON object) as
        a ``toolResult`` of type ``result_type`` (default ``<name>_result``), then ``text``
        if given; stop reason ``end_turn``."""
        from fastconverse.tools import system_tool

        system_tool(name)  # (checks the name)
        global _system_tool_uses
        _system_tool_uses += 1
        tool_use_id = tool_use_id or f"tooluse_system{_system_tool_uses:014d}"
        item = {"text": result} if isinstance(result, str) else {"json": dict(result)}
        content: list[dict[str, Any]] = [
            {
                "toolUse": {
                    "toolUseId": tool_use_id,
                    "name": name,
                    "input": dict(input),
                    "type": "server_tool_use",
                }
            },
            {
                "toolResult": {
                    "toolUseId": tool_use_id,
                    "content": [item],
                    "status": status,
                    "type": result_type or f"{name}_result",
                }
            },
        ]
        if text is not None:
            content.append({"text": text})
        self.enqueue_turn(content, **options)
