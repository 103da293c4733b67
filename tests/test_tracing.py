"""OpenTelemetry (issue 24): spans and metrics after the GenAI semantic conventions, checked
with the OpenTelemetry SDK's in-memory exporters."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import fc_client
from fastconverse import errors, tool
from fastconverse.testing import FakeBedrock
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

EXPORTER = InMemorySpanExporter()
# (deltas: each test sees the points made since the last collection)
READER = InMemoryMetricReader(preferred_temporality={Histogram: AggregationTemporality.DELTA})


@pytest.fixture(scope="module", autouse=True)
def providers() -> None:
    # (global providers can be set once per process; later tests then run traced too)
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
        trace.set_tracer_provider(provider)
        metrics.set_meter_provider(MeterProvider(metric_readers=[READER]))


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    EXPORTER.clear()
    READER.get_metrics_data()  # (what earlier tests recorded is collected, and gone)
    yield EXPORTER


def named(spans: InMemorySpanExporter, prefix: str) -> list[ReadableSpan]:
    return [s for s in spans.get_finished_spans() if s.name.startswith(prefix)]


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def test_a_turn_is_an_agent_span_with_a_chat_span_under_the_callers_span(
    fake_bedrock: FakeBedrock, spans: InMemorySpanExporter
) -> None:
    conv = fc_client(fake_bedrock).create_conversation(inference_config={"maxTokens": 50})
    fake_bedrock.enqueue_text("hi", usage={"inputTokens": 11, "outputTokens": 3})
    tracer = trace.get_tracer("the user")
    with tracer.start_as_current_span("handle request") as mine:
        reply = conv.send("hello")
    (turn,) = named(spans, "invoke_agent")
    (chat,) = named(spans, "chat ")
    assert parent_of(turn) == mine.get_span_context().span_id
    assert parent_of(chat) == turn.context.span_id
    assert chat.name == "chat m" and chat.kind == trace.SpanKind.CLIENT
    assert turn.kind == trace.SpanKind.INTERNAL
    attrs = dict(chat.attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "aws.bedrock"
    assert attrs["gen_ai.request.model"] == "m"
    assert attrs["gen_ai.conversation.id"] == conv.id
    assert attrs["gen_ai.request.max_tokens"] == 50
    assert attrs["gen_ai.response.id"] == reply.request_id
    assert tuple(attrs["gen_ai.response.finish_reasons"]) == ("end_turn",)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (11, 3)
    assert chat.end_time is not None and chat.start_time is not None
    assert chat.end_time > chat.start_time
    assert "hello" not in repr(chat.attributes) and "hi" not in repr(attrs.values())


def test_tool_calls_are_spans_of_their_turn(
    fake_bedrock: FakeBedrock, spans: InMemorySpanExporter
) -> None:
    @tool
    def weather(city: str) -> str:
        """The weather in a city."""
        return "sunny"

    conv = fc_client(fake_bedrock).create_conversation(tools=[weather])
    fake_bedrock.enqueue_tool_use("weather", {"city": "Paris"}, tool_use_id="w1")
    fake_bedrock.enqueue_text("sunny it is")
    conv.send("weather?")
    (turn,) = named(spans, "invoke_agent")
    chats = named(spans, "chat ")
    (call,) = named(spans, "execute_tool")
    assert len(chats) == 2
    assert {parent_of(s) for s in [*chats, call]} == {turn.context.span_id}
    assert call.name == "execute_tool weather"
    attrs = dict(call.attributes or {})
    assert attrs["gen_ai.tool.name"] == "weather" and attrs["gen_ai.tool.call.id"] == "w1"
    assert "Paris" not in repr(attrs)


def test_a_failed_turn_and_a_retried_request(
    fake_bedrock: FakeBedrock, spans: InMemorySpanExporter
) -> None:
    conv = fc_client(fake_bedrock, max_attempts=2).create_conversation()
    fake_bedrock.enqueue_error("ThrottlingException")
    fake_bedrock.enqueue_text("ok")
    conv.send("one")
    (chat,) = named(spans, "chat ")
    assert (chat.attributes or {})["fastconverse.retries"] == 1
    spans.clear()
    fake_bedrock.enqueue_error("ValidationException", "nope")
    with pytest.raises(errors.ValidationError):
        conv.send("two")
    (turn,) = named(spans, "invoke_agent")
    (chat,) = named(spans, "chat ")
    assert turn.status.status_code == trace.StatusCode.ERROR
    assert (turn.attributes or {})["error.type"] == "ValidationError"
    assert (chat.attributes or {})["error.type"] == "ValidationException"
    assert chat.status.status_code == trace.StatusCode.ERROR


def test_streams_and_tasks_nest_under_the_current_span_and_time_their_first_chunk(
    fake_bedrock: FakeBedrock, spans: InMemorySpanExporter
) -> None:
    conv = fc_client(fake_bedrock).create_conversation()
    tracer = trace.get_tracer("the user")

    async def main() -> tuple[int, int]:
        with tracer.start_as_current_span("task a") as a:
            async for _ in conv.stream("streamed"):
                pass
        with tracer.start_as_current_span("task b") as b:
            await conv.send_async("sent")
        return a.get_span_context().span_id, b.get_span_context().span_id

    a, b = asyncio.run(main())
    turns = named(spans, "invoke_agent")
    assert [parent_of(t) for t in turns] == [a, b]
    data: Any = READER.get_metrics_data()
    points: dict[str, list[Any]] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                points.setdefault(metric.name, []).extend(metric.data.data_points)
    assert sum(p.count for p in points["gen_ai.client.operation.time_to_first_chunk"]) == 1
    assert sum(p.count for p in points["gen_ai.client.operation.duration"]) == 2
    kinds = {p.attributes["gen_ai.token.type"] for p in points["gen_ai.client.token.usage"]}
    assert kinds == {"input", "output"}


def test_no_credential_reaches_a_span_or_a_metric(spans: InMemorySpanExporter) -> None:
    """The canary (issue 23) for traces: unique credentials, a failed turn and a tool turn;
    no span name, attribute, event or status, and no metric attribute, carries them."""
    import uuid

    from fastconverse import ConverseClient

    tag = uuid.uuid4().hex[:10].upper()
    akid, secret, token = f"AKIACANARY{tag}", f"canarySecret{tag}xyz", f"canaryToken{tag}"

    @tool
    def echo(text: str) -> str:
        """Echoes."""
        return text

    with FakeBedrock(credentials=[(akid, secret)]) as fake:
        client = ConverseClient(
            "m",
            endpoint_url=fake.url,
            region_name="us-east-1",
            aws_access_key_id=akid,
            aws_secret_access_key=secret,
            aws_session_token=token,
        )
        conv = client.create_conversation(tools=[echo])
        fake.enqueue_tool_use("echo", {"text": "x"})
        conv.send("hello")
        fake.enqueue_error("AccessDeniedException")
        with pytest.raises(errors.AccessDeniedError):
            conv.send("denied")
    seen = []
    for span in spans.get_finished_spans():
        seen.append(repr((span.name, dict(span.attributes or {}), span.status, span.events)))
    data: Any = READER.get_metrics_data()
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                seen += [repr(dict(p.attributes)) for p in metric.data.data_points]
    assert len(seen) > 4
    text = "\n".join(seen)
    for hidden in (secret, token):
        assert hidden not in text


def test_a_guardrailed_conversation_names_its_guardrail_on_its_spans(
    fake_bedrock: FakeBedrock, spans: InMemorySpanExporter
) -> None:
    config = {"guardrailIdentifier": "gr-7", "guardrailVersion": "2", "trace": "enabled"}
    conv = fc_client(fake_bedrock).create_conversation(guardrail_config=config)
    assert conv.guardrail_config == config
    conv.send("hello")
    fake_bedrock.enqueue_guardrail_intervention(guardrail_id="gr-7")
    reply = conv.send("something forbidden")
    assert reply.stop_reason == "guardrail_intervened"
    turns = named(spans, "invoke_agent")
    chats = named(spans, "chat ")
    assert len(turns) == 2 and len(chats) == 2
    for span in turns + chats:
        assert dict(span.attributes or {})["aws.bedrock.guardrail.id"] == "gr-7", span.name

    spans.clear()
    plain = fc_client(fake_bedrock).create_conversation()
    assert plain.guardrail_config is None
    plain.send("hello")
    for span in spans.get_finished_spans():
        assert "aws.bedrock.guardrail.id" not in dict(span.attributes or {}), span.name


def test_cancelled_tasks_hear_it_when_traced(
    fake_bedrock: FakeBedrock, spans: InMemorySpanExporter
) -> None:
    # The cancellation campaign (test_cancellation.py) with the trace hook at every turn's
    # points: a cancelled task still ends with CancelledError, and its turn's span says so.
    from test_cancellation import campaign

    client = fc_client(fake_bedrock, max_attempts=1, max_conversations=1000)
    seen = campaign(client, fake_bedrock, "traced")
    assert seen["cancelled before the commit"] >= 10, seen
    turns = named(spans, "invoke_agent")
    cancelled = [t for t in turns if (t.attributes or {}).get("error.type") == "CancelledError"]
    assert cancelled and len(cancelled) < len(turns)
