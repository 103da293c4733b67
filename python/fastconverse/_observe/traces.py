"""OpenTelemetry, as a hook: spans and metrics after the GenAI semantic conventions.

A turn is an ``invoke_agent`` span (INTERNAL) under the caller's current span; each request
it makes is a ``chat {model}`` span (CLIENT) under it, and each tool call an
``execute_tool {name}`` span (INTERNAL). Request and tool spans carry the real start and end
of the work: the hook runs after the fact, with the times measured where the work happened
(the native side's clock of the request, the tool's own duration). Metrics:
``gen_ai.client.token.usage`` (by token type), ``gen_ai.client.operation.duration`` and, for
streams, ``gen_ai.client.operation.time_to_first_chunk``.

Only ``opentelemetry-api`` is needed (``pip install fastconverse[otel]``); the hook joins a
turn only once a tracer or meter provider is set (the API's default does nothing), so
without one a turn pays nothing. Message text is never put in an attribute.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from opentelemetry import metrics, trace

from fastconverse.hooks import (
    Request,
    Response,
    ToolCallResult,
    TurnCommitted,
    TurnFailed,
    TurnStart,
)

PROVIDER = "aws.bedrock"
GUARDRAIL = "aws.bedrock.guardrail.id"  # (the semantic conventions' AWS Bedrock attribute)
_SCOPE = "fastconverse"


def configured() -> bool:
    """Whether a tracer or meter provider other than the API's default is set."""
    return not isinstance(
        trace.get_tracer_provider(), (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
    ) or not isinstance(
        metrics.get_meter_provider(), (metrics.NoOpMeterProvider, _proxy_meter_provider())
    )


def _proxy_meter_provider() -> type:
    from opentelemetry.metrics import _internal

    return _internal._ProxyMeterProvider


class _Turn:
    __slots__ = ("inference", "span")

    def __init__(self, span: trace.Span) -> None:
        self.span = span
        self.inference: dict[str, Any] | None = None


def _seconds_ago_ns(seconds: float | None) -> int:
    now = time.time_ns()
    return now - int((seconds or 0.0) * 1e9)


class TraceHook:
    """Makes the spans and metric points of each turn."""

    def __init__(self) -> None:
        self.tracer = trace.get_tracer(_SCOPE)
        meter = metrics.get_meter(_SCOPE)
        self.tokens = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}", description="Tokens used per request"
        )
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s", description="Request duration"
        )
        self.first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk",
            unit="s",
            description="Time to the first chunk of a streamed answer",
        )
        # A conversation runs one turn at a time: its turn's span, by the conversation
        # (weakly: a stream closed early ends its turn with neither a commit nor a failure).
        self._turns: weakref.WeakKeyDictionary[Any, _Turn] = weakref.WeakKeyDictionary()

    def on_turn_start(self, event: TurnStart) -> None:
        conv = event.conversation
        stale = self._turns.pop(conv, None)
        if stale is not None:  # (a stream closed before its end: its turn ended there)
            stale.span.set_attribute("fastconverse.turn.closed", True)
            stale.span.end()
        span = self.tracer.start_span(
            "invoke_agent fastconverse",
            kind=trace.SpanKind.INTERNAL,
            attributes={
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.provider.name": PROVIDER,
                "gen_ai.agent.name": "fastconverse",
                "gen_ai.conversation.id": conv.id,
                "gen_ai.request.model": conv.model_id,
            },
        )
        guardrail = getattr(conv, "guardrail_config", None)
        if guardrail:
            span.set_attribute(GUARDRAIL, guardrail["guardrailIdentifier"])
        self._turns[conv] = _Turn(span)

    def before_request(self, event: Request) -> None:
        turn = self._turns.get(event.conversation)
        if turn is not None:
            turn.inference = event.inference_config

    def after_response(self, event: Response) -> None:
        conv = event.conversation
        turn = self._turns.get(conv)
        parent = trace.set_span_in_context(turn.span) if turn is not None else None
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": PROVIDER,
            "gen_ai.request.model": event.model_id,
            "gen_ai.conversation.id": conv.id,
            "fastconverse.request.kind": event.kind,
        }
        config = turn.inference if turn is not None else None
        if config:
            for key, name in (
                ("maxTokens", "gen_ai.request.max_tokens"),
                ("temperature", "gen_ai.request.temperature"),
                ("topP", "gen_ai.request.top_p"),
                ("stopSequences", "gen_ai.request.stop_sequences"),
            ):
                if config.get(key) is not None:
                    attributes[name] = config[key]
        guardrail = getattr(conv, "guardrail_config", None) if event.kind == "turn" else None
        if guardrail:  # (a summary request goes without the guardrail)
            attributes[GUARDRAIL] = guardrail["guardrailIdentifier"]
        if event.request_id:
            attributes["gen_ai.response.id"] = event.request_id
        if event.stop_reason:
            attributes["gen_ai.response.model"] = event.model_id
            attributes["gen_ai.response.finish_reasons"] = [event.stop_reason]
        usage = event.usage
        if usage is not None:
            attributes["gen_ai.usage.input_tokens"] = usage.input_tokens
            attributes["gen_ai.usage.output_tokens"] = usage.output_tokens
            if usage.cache_read_input_tokens:
                attributes["gen_ai.usage.cache_read.input_tokens"] = usage.cache_read_input_tokens
            if usage.cache_write_input_tokens:
                attributes["gen_ai.usage.cache_creation.input_tokens"] = (
                    usage.cache_write_input_tokens
                )
        if event.retries:
            attributes["fastconverse.retries"] = len(event.retries)
        error = event.error
        if error is not None:
            attributes["error.type"] = event.error_code or type(error).__name__
        span = self.tracer.start_span(
            f"chat {event.model_id}",
            context=parent,
            kind=trace.SpanKind.CLIENT,
            attributes=attributes,
            start_time=_seconds_ago_ns(event.elapsed),
        )
        if error is not None:
            span.set_status(trace.StatusCode.ERROR, str(error))
        span.end()
        measured = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": PROVIDER,
            "gen_ai.request.model": event.model_id,
        }
        if error is not None:
            measured = {**measured, "error.type": attributes["error.type"]}
        if event.elapsed is not None:
            self.duration.record(event.elapsed, measured)
        if event.time_to_first_token is not None:
            self.first_chunk.record(event.time_to_first_token, measured)
        if usage is not None:
            self.tokens.record(usage.input_tokens, {**measured, "gen_ai.token.type": "input"})
            self.tokens.record(usage.output_tokens, {**measured, "gen_ai.token.type": "output"})

    def after_tool_call(self, event: ToolCallResult) -> None:
        result = event.result
        turn = self._turns.get(event.conversation)
        parent = trace.set_span_in_context(turn.span) if turn is not None else None
        span = self.tracer.start_span(
            f"execute_tool {result.name}",
            context=parent,
            kind=trace.SpanKind.INTERNAL,
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": result.name,
                "gen_ai.tool.call.id": result.tool_use_id,
                "gen_ai.tool.type": "function",
            },
            start_time=_seconds_ago_ns(result.duration),
        )
        if result.status == "error":
            span.set_attribute("error.type", "ToolError")
            span.set_status(trace.StatusCode.ERROR, result.error or "the tool failed")
        span.end()

    def on_commit(self, event: TurnCommitted) -> None:
        turn = self._turns.pop(event.conversation, None)
        if turn is None:
            return
        reply = event.reply
        turn.span.set_attribute("gen_ai.response.model", reply.model_id)
        turn.span.set_attribute("gen_ai.response.finish_reasons", [reply.stop_reason])
        turn.span.set_attribute("gen_ai.usage.input_tokens", reply.usage.input_tokens)
        turn.span.set_attribute("gen_ai.usage.output_tokens", reply.usage.output_tokens)
        turn.span.end()

    def on_failure(self, event: TurnFailed) -> None:
        turn = self._turns.pop(event.conversation, None)
        if turn is None:
            return
        error = event.error
        turn.span.set_attribute("error.type", type(error).__name__)
        turn.span.set_status(trace.StatusCode.ERROR, str(error))
        turn.span.end()


_HOOK: list[TraceHook] = []


def trace_hook() -> TraceHook:
    if not _HOOK:
        _HOOK.append(TraceHook())
    return _HOOK[0]


__all__ = ["TraceHook", "configured", "trace_hook"]
