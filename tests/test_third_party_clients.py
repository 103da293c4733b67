"""Clients we did not write against FakeBedrock over real HTTP: langchain-aws's
``ChatBedrockConverse`` and Strands Agents (``strands.Agent`` on ``BedrockModel``).

Both sign with SigV4 (the fake verifies it), parse Converse JSON and event streams with
botocore, and each adds its own reading of the replies: usage, tool calls, structured output,
citations, system tools and throttling. What a client cannot express is left out, with a
comment where it would go.
"""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from conftest import AKID, SECRET, boto3_client
from fastconverse.testing import FakeBedrock
from pydantic import BaseModel


def _client_module(name: str) -> ModuleType:
    """The module, or a skip when it is missing on a developer's machine. In CI (``CI`` set)
    a missing module fails: requirements-dev.txt installs both clients there."""
    try:
        return importlib.import_module(name)
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"{name} is not installed (requirements-dev.txt)", allow_module_level=True)


_langchain_aws = _client_module("langchain_aws")
_lc_messages = _client_module("langchain_core.messages")
_strands = _client_module("strands")
_strands_models = _client_module("strands.models")
_strands_errors = _client_module("strands.types.exceptions")

CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
# Nova 2: web grounding is Nova's. (Not a Nova 1 id: langchain-aws splits Nova 1's text blocks
# looking for inline <thinking> tags and rebuilds them without their citations.)
NOVA = "us.amazon.nova-2-lite-v1:0"
DOC_TEXT = "The sky is blue. Grass is green."


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No tracing, no AWS configuration of the machine: only what the tests pass."""
    for name in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2"):
        monkeypatch.setenv(name, "false")
    for name in (
        "LANGSMITH_API_KEY",
        "LANGCHAIN_API_KEY",
        "AWS_BEARER_TOKEN_BEDROCK",
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def fake(make_fake: Callable[..., FakeBedrock]) -> FakeBedrock:
    """A FakeBedrock that verifies SigV4 signatures with our test key."""
    return make_fake(credentials=[(AKID, SECRET)])


class Person(BaseModel):
    """A person."""

    name: str
    age: int


def operations(fake: FakeBedrock) -> list[str]:
    return [r.operation for r in fake.requests]


# --- langchain-aws ----------------------------------------------------------------------


def chat(fake: FakeBedrock, model: str = CLAUDE, **config: Any) -> Any:
    """``ChatBedrockConverse`` on clients we build (explicit keys and region, no retries
    unless ``config`` says so); the control-plane client is never called."""
    control = boto3.client(
        "bedrock",
        endpoint_url=fake.url,
        region_name="us-east-1",
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
    )
    return _langchain_aws.ChatBedrockConverse(
        model=model,
        region_name="us-east-1",
        client=boto3_client(fake, **config),
        bedrock_client=control,
    )


def joined(chunks: list[Any]) -> Any:
    message = chunks[0]
    for chunk in chunks[1:]:
        message = message + chunk
    return message


def test_langchain_invoke_reads_text_and_usage(fake: FakeBedrock) -> None:
    reply = chat(fake).invoke("hello there")
    assert reply.content == "You said: hello there"
    assert reply.usage_metadata["input_tokens"] == 2
    assert reply.usage_metadata["output_tokens"] == 4
    assert reply.usage_metadata["total_tokens"] == 6
    assert reply.response_metadata["stopReason"] == "end_turn"
    (request,) = fake.requests
    assert (request.operation, request.model_id) == ("Converse", CLAUDE)
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 ")


def test_langchain_stream_reads_deltas_and_usage(fake: FakeBedrock) -> None:
    chunks = list(chat(fake).stream("streaming words here"))
    texts = [b["text"] for c in chunks if isinstance(c.content, list) for b in c.content]
    assert len(texts) == 5  # one delta per word
    reply = joined(chunks)
    assert reply.text == "You said: streaming words here"
    assert reply.usage_metadata["input_tokens"] == 3
    assert reply.usage_metadata["output_tokens"] == 5
    assert reply.response_metadata["stopReason"] == "end_turn"
    assert operations(fake) == ["ConverseStream"]


def get_weather(city: str) -> str:
    """The weather of a city."""
    return f"sunny in {city}"


@pytest.mark.parametrize("streaming", [False, True], ids=["invoke", "stream"])
def test_langchain_tool_call_round_trip(fake: FakeBedrock, streaming: bool) -> None:
    llm = chat(fake).bind_tools([get_weather])
    fake.enqueue_tool_use("get_weather", {"city": "Paris"}, tool_use_id="tooluse_paris")
    question = _lc_messages.HumanMessage("What is the weather in Paris?")
    call = joined(list(llm.stream([question]))) if streaming else llm.invoke([question])
    assert call.tool_calls == [
        {
            "name": "get_weather",
            "args": {"city": "Paris"},
            "id": "tooluse_paris",
            "type": "tool_call",
        }
    ]
    assert call.response_metadata["stopReason"] == "tool_use"

    result = _lc_messages.ToolMessage(
        get_weather(**call.tool_calls[0]["args"]), tool_call_id="tooluse_paris"
    )
    answer = llm.invoke([question, call, result])
    assert answer.content == "Tool results: tooluse_paris returned sunny in Paris"
    sent = fake.requests[-1].body
    assert sent["toolConfig"]["tools"][0]["toolSpec"]["name"] == "get_weather"
    assert sent["messages"][2]["content"] == [
        {
            "toolResult": {
                "toolUseId": "tooluse_paris",
                "content": [{"text": "sunny in Paris"}],
                "status": "success",
            }
        }
    ]


def test_langchain_structured_output_by_forced_tool(fake: FakeBedrock) -> None:
    person = chat(fake).with_structured_output(Person).invoke("Tell me about Ann")
    assert isinstance(person, Person)
    sent = fake.requests[-1].body
    assert sent["toolConfig"]["toolChoice"] == {"tool": {"name": "Person"}}
    assert "outputConfig" not in sent


def test_langchain_structured_output_native(fake: FakeBedrock) -> None:
    llm = chat(fake).with_structured_output(Person, method="json_schema")
    person = llm.invoke("Tell me about Ann")
    assert isinstance(person, Person)
    sent = fake.requests[-1].body
    assert sent["outputConfig"]["textFormat"]["type"] == "json_schema"
    assert sent["outputConfig"]["textFormat"]["structure"]["jsonSchema"]["name"] == "Person"
    assert "toolConfig" not in sent


def cited_document() -> dict[str, Any]:
    # A Bedrock document block as langchain-aws passes it through.
    return {
        "type": "document",
        "document": {
            "name": "colors",
            "format": "txt",
            "source": {"text": DOC_TEXT},
            "citations": {"enabled": True},
        },
    }


@pytest.mark.parametrize("streaming", [False, True], ids=["invoke", "stream"])
def test_langchain_citations(fake: FakeBedrock, streaming: bool) -> None:
    llm = chat(fake)
    question = _lc_messages.HumanMessage(
        content=[{"type": "text", "text": "What color is the sky?"}, cited_document()]
    )
    reply = joined(list(llm.stream([question]))) if streaming else llm.invoke([question])
    blocks = [b for b in reply.content_blocks if b["type"] == "text"]
    assert blocks[0]["text"] == "You said: What color is the sky? According to colors: "
    assert blocks[-1]["text"] == "The sky is blue."
    (citation,) = blocks[-1]["annotations"]
    assert citation["type"] == "citation"
    assert citation["cited_text"] == "The sky is blue."
    assert citation["extras"]["location"] == {
        "document_char": {"document_index": 0, "start": 0, "end": 16}
    }

    # The cited answer goes back as a citationsContent block, and Bedrock's checks pass.
    follow_up = llm.invoke([question, reply, _lc_messages.HumanMessage("And the grass?")])
    assert follow_up.text.startswith("You said: And the grass?")
    sent = fake.requests[-1].body["messages"][1]["content"]
    assert any("citationsContent" in block for block in sent)


@pytest.mark.parametrize(
    "tool",
    [
        "nova_grounding",
        "NovaGroundingTool",
        pytest.param(
            {"systemTool": {"name": "nova_grounding"}},
            marks=pytest.mark.skip(
                reason="langchain-aws 1.9.1's bind_tools refuses a raw {'systemTool': ...} "
                "dict (ValueError: Unsupported function); it takes the name or NovaSystemTool"
            ),
        ),
    ],
    ids=["name", "NovaGroundingTool", "dict"],
)
def test_langchain_nova_grounding(fake: FakeBedrock, tool: Any) -> None:
    if tool == "NovaGroundingTool":
        tool = _client_module("langchain_aws.tools").NovaGroundingTool()
    llm = chat(fake, NOVA).bind_tools([tool])
    prompt = "use nova_grounding to find the weather in Paris"
    reply = llm.invoke(prompt)
    (request,) = fake.requests
    assert request.body["toolConfig"]["tools"] == [{"systemTool": {"name": "nova_grounding"}}]

    # The service ran the tool: no call for the caller to answer.
    assert reply.tool_calls == []
    assert reply.response_metadata["stopReason"] == "end_turn"
    call, result, said, passage = reply.content
    assert call["type"] == "server_tool_use"
    assert call["name"] == "nova_grounding"
    assert result["type"] == "tool_result"
    assert result["tool_use_id"] == call["id"]
    assert result["is_error"] is False
    assert said == {"type": "text", "text": f"You said: {prompt}"}
    (citation,) = passage["citations"]
    assert citation["location"]["web"]["domain"] == "web.fakebedrock.invalid"
    assert passage["text"] == citation["source_content"][0]["text"]
    standard = reply.content_blocks
    assert [b["type"] for b in standard] == ["non_standard", "non_standard", "text", "text"]
    assert standard[3]["annotations"][0]["type"] == "citation"


@pytest.mark.xfail(
    strict=True,
    raises=ClientError,
    reason="langchain-aws 1.9.1 sends the grounded answer back without the toolUse's "
    '"type": "server_tool_use" (its server_tool_use block becomes a plain toolUse), and '
    "FakeBedrock refuses a toolResult in an assistant message that answers no server tool "
    "use (its own rule and wording: Bedrock does not document what it does here)",
)
def test_langchain_nova_grounding_follow_up(fake: FakeBedrock) -> None:
    llm = chat(fake, NOVA).bind_tools(["nova_grounding"])
    question = _lc_messages.HumanMessage("use nova_grounding to find the weather in Paris")
    reply = llm.invoke([question])
    follow_up = llm.invoke([question, reply, _lc_messages.HumanMessage("Thanks!")])
    assert follow_up.text == "You said: Thanks!"


def test_langchain_throttling_raises_without_retries(fake: FakeBedrock) -> None:
    llm = chat(fake)
    fake.enqueue_error("ThrottlingException", "Too many requests, slow down.")
    with pytest.raises(llm.client.exceptions.ThrottlingException) as raised:
        llm.invoke("hello")
    assert raised.value.response["Error"]["Message"] == "Too many requests, slow down."
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429


def test_langchain_throttling_is_retried_by_botocore(fake: FakeBedrock) -> None:
    llm = chat(fake, retries={"mode": "standard", "total_max_attempts": 2})
    fake.enqueue_error("ThrottlingException")
    reply = llm.invoke("hello")
    assert reply.content == "You said: hello"
    assert reply.response_metadata["ResponseMetadata"]["RetryAttempts"] == 1
    assert operations(fake) == ["Converse", "Converse"]


# --- Strands Agents -----------------------------------------------------------------------


def strands_model(fake: FakeBedrock, *, streaming: bool = True) -> Any:
    """A ``BedrockModel`` on a session with our keys; botocore does not retry (Strands has
    its own retry strategy for throttling)."""
    session = boto3.Session(
        aws_access_key_id=AKID, aws_secret_access_key=SECRET, region_name="us-east-1"
    )
    return _strands_models.BedrockModel(
        model_id=CLAUDE,
        boto_session=session,
        endpoint_url=fake.url,
        boto_client_config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        streaming=streaming,
    )


def agent(fake: FakeBedrock, *, streaming: bool = True, **kwargs: Any) -> Any:
    kwargs.setdefault("callback_handler", None)
    return _strands.Agent(model=strands_model(fake, streaming=streaming), **kwargs)


@pytest.mark.parametrize("streaming", [True, False], ids=["stream", "converse"])
def test_strands_agent_reads_text_and_usage(fake: FakeBedrock, streaming: bool) -> None:
    result = agent(fake, streaming=streaming)("hello there")
    assert str(result).strip() == "You said: hello there"
    assert result.stop_reason == "end_turn"
    assert result.metrics.accumulated_usage == {
        "inputTokens": 2,
        "outputTokens": 4,
        "totalTokens": 6,
    }
    (request,) = fake.requests
    assert request.operation == ("ConverseStream" if streaming else "Converse")
    assert request.model_id == CLAUDE
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 ")


def test_strands_agent_streams_deltas(fake: FakeBedrock) -> None:
    deltas: list[str] = []

    def handler(**event: Any) -> None:
        if "data" in event:
            deltas.append(event["data"])

    result = agent(fake, callback_handler=handler)("streaming words here")
    assert deltas == ["You ", "said: ", "streaming ", "words ", "here"]
    assert str(result).strip() == "You said: streaming words here"


@pytest.mark.parametrize("streaming", [True, False], ids=["stream", "converse"])
def test_strands_agent_runs_a_tool(fake: FakeBedrock, streaming: bool) -> None:
    calls: list[str] = []

    @_strands.tool
    def weather(city: str) -> str:
        """The weather of a city.

        Args:
            city: The city's name.
        """
        calls.append(city)
        return f"sunny in {city}"

    fake.enqueue_tool_use("weather", {"city": "Paris"}, tool_use_id="tooluse_paris")
    result = agent(fake, streaming=streaming, tools=[weather])("What is the weather in Paris?")
    assert calls == ["Paris"]
    assert str(result).strip() == "Tool results: tooluse_paris returned sunny in Paris"
    first, second = (r.body for r in fake.requests)
    assert first["toolConfig"]["tools"][0]["toolSpec"]["name"] == "weather"
    assert second["messages"][-1]["content"][0]["toolResult"]["toolUseId"] == "tooluse_paris"
    assert second["messages"][-1]["content"][0]["toolResult"]["content"] == [
        {"text": "sunny in Paris"}
    ]


# Strands asks for native output (outputConfig) only after a model refused a forced tool
# choice; FakeBedrock's models accept it, so only the forced tool is reached here.
def test_strands_structured_output_model(fake: FakeBedrock) -> None:
    result = agent(fake)("Tell me about Ann", structured_output_model=Person)
    assert isinstance(result.structured_output, Person)
    forced = fake.requests[-1].body
    assert forced["toolConfig"]["toolChoice"] == {"tool": {"name": "Person"}}


def test_strands_structured_output_method(fake: FakeBedrock) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # (deprecated in 1.x, still there)
        person = agent(fake).structured_output(Person, "Tell me about Ann")
    assert isinstance(person, Person)
    assert fake.requests[-1].body["toolConfig"]["toolChoice"] == {"any": {}}


@pytest.mark.parametrize("streaming", [True, False], ids=["stream", "converse"])
def test_strands_citations(fake: FakeBedrock, streaming: bool) -> None:
    document = {
        "document": {
            "name": "colors",
            "format": "txt",
            "source": {"bytes": DOC_TEXT.encode()},
            "citations": {"enabled": True},
        }
    }
    bot = agent(fake, streaming=streaming)
    result = bot([{"text": "What color is the sky?"}, document])
    text, cited = result.message["content"]
    assert text == {"text": "You said: What color is the sky? According to colors: "}
    assert cited["citationsContent"]["content"] == [{"text": "The sky is blue."}]
    (citation,) = cited["citationsContent"]["citations"]
    assert citation["location"] == {"documentChar": {"documentIndex": 0, "start": 0, "end": 16}}
    assert citation["sourceContent"] == [{"text": "The sky is blue."}]

    # The cited answer goes back in the history, and Bedrock's checks pass.
    again = bot("And the grass?")
    assert again.message["content"][0] == {"text": "You said: And the grass? According to colors: "}
    assert "citationsContent" in fake.requests[-1].body["messages"][1]["content"][1]


# System tools: Strands 1.62's BedrockModel builds toolConfig from its own tool specs only
# (no systemTool entries; `additional_args` could only replace the whole toolConfig), so a
# Strands agent cannot offer nova_grounding. Not tested.


def test_strands_throttling_is_retried(fake: FakeBedrock) -> None:
    retry = _strands.ModelRetryStrategy(max_attempts=2, initial_delay=0)
    fake.enqueue_error("ThrottlingException")
    result = agent(fake, retry_strategy=retry)("hello")
    assert str(result).strip() == "You said: hello"
    assert operations(fake) == ["ConverseStream", "ConverseStream"]


def test_strands_throttling_raises_after_its_attempts(fake: FakeBedrock) -> None:
    retry = _strands.ModelRetryStrategy(max_attempts=2, initial_delay=0)
    fake.enqueue_error("ThrottlingException", "Too many requests, slow down.")
    fake.enqueue_error("ThrottlingException", "Too many requests, slow down.")
    with pytest.raises(_strands_errors.ModelThrottledException, match="slow down"):
        agent(fake, retry_strategy=retry)("hello")
    assert operations(fake) == ["ConverseStream", "ConverseStream"]
