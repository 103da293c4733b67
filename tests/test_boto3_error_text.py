"""The boto3-shaped client words its errors as botocore does: the same error, scripted on one
FakeBedrock for boto3 and for ``fastconverse.client(...)`` with the same retry settings, gives
the same ``str(error)``, retry suffix included; the conversation layer keeps its own text."""

from __future__ import annotations

import asyncio
import json
import pickle
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import fastconverse
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError
from conftest import AKID, ERROR_CODES, IN_STREAM, SECRET, boto3_client, fc_client, user
from fastconverse import errors
from fastconverse.testing import FakeBedrock

# What standard retries retry (WIRE.md); the others fail at the first attempt.
RETRIED = {
    "ThrottlingException",
    "ModelNotReadyException",
    "InternalServerException",
    "ServiceUnavailableException",
}
ONE = {"mode": "standard", "total_max_attempts": 1}
INVOKE_BODY = json.dumps(
    {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }
)


def ours(fake: FakeBedrock, retries: dict[str, Any] = ONE, **kwargs: Any) -> Any:
    """``fastconverse.client`` made as ``boto3_client`` makes boto3's."""
    return fastconverse.client(
        "bedrock-runtime",
        endpoint_url=fake.url,
        region_name="us-east-1",
        aws_access_key_id=kwargs.pop("key", AKID),
        aws_secret_access_key=SECRET,
        config=Config(retries=dict(retries)),
        **kwargs,
    )


def raised(call: Callable[..., Any], *args: Any) -> Any:
    """The ``ClientError`` that ``call(*args)`` raises."""
    try:
        call(*args)
    except ClientError as error:
        return error
    raise AssertionError("no ClientError was raised")


def texts(
    fake: FakeBedrock,
    script: Callable[[], Any],
    call: Callable[[Any], Any],
    retries: dict[str, Any] = ONE,
) -> tuple[Any, Any]:
    """The errors of ``call(client)`` for boto3's client and ours, ``script()`` run before each."""
    found = []
    for client in (boto3_client(fake, retries=dict(retries)), ours(fake, retries)):
        fake.reset()
        script()
        found.append(raised(call, client))
    boto, mine = found
    assert str(mine) == str(boto)
    return boto, mine


def converse(client: Any) -> Any:
    return client.converse(modelId="m", messages=[user("hi")])


def converse_stream(client: Any) -> Any:
    return client.converse_stream(modelId="m", messages=[user("hi")])


def read_stream(client: Any) -> Any:
    return list(converse_stream(client)["stream"])


def invoke(client: Any) -> Any:
    return client.invoke_model(modelId="m", body=INVOKE_BODY)


def invoke_stream(client: Any) -> Any:
    return client.invoke_model_with_response_stream(modelId="m", body=INVOKE_BODY)


def read_invoke_stream(client: Any) -> Any:
    return list(invoke_stream(client)["body"])


@pytest.mark.parametrize("operation", [converse, converse_stream, invoke, invoke_stream])
@pytest.mark.parametrize("code", ERROR_CODES)
def test_http_errors_read_as_botocores(
    fake_bedrock: FakeBedrock, code: str, operation: Callable[[Any], Any]
) -> None:
    # (one attempt in all: botocore adds "(reached max retries: 0)" to every error)
    boto, mine = texts(
        fake_bedrock, lambda: fake_bedrock.enqueue_error(code, f"scripted {code}"), operation
    )
    assert str(mine).startswith(f"An error occurred ({code}) when calling the ")
    assert str(mine).endswith(" operation (reached max retries: 0): scripted " + code)
    assert not isinstance(mine, EventStreamError)
    assert mine.response["ResponseMetadata"]["MaxAttemptsReached"] is True
    assert mine.response["Error"] == boto.response["Error"]


@pytest.mark.parametrize("code", sorted(set(ERROR_CODES) - RETRIED))
def test_an_error_before_the_last_attempt_has_no_retry_suffix(
    fake_bedrock: FakeBedrock, code: str
) -> None:
    three = {"mode": "standard", "total_max_attempts": 3}
    for operation in (converse, converse_stream):
        _, mine = texts(
            fake_bedrock, lambda: fake_bedrock.enqueue_error(code, "no"), operation, three
        )
        assert (
            str(mine)
            == f"An error occurred ({code}) when calling the {mine.operation_name} operation: no"
        )
        assert "MaxAttemptsReached" not in mine.response["ResponseMetadata"]


def test_an_error_without_a_message(fake_bedrock: FakeBedrock) -> None:
    texts(fake_bedrock, lambda: fake_bedrock.enqueue_error("ValidationException"), converse)


def test_an_unmodeled_code_reads_as_botocores(fake_bedrock: FakeBedrock) -> None:
    def script() -> None:
        fake_bedrock.enqueue_error("BrandNewException", "something new", status=418)

    _, mine = texts(fake_bedrock, script, converse)
    assert type(mine) is errors.ServiceError and "(BrandNewException)" in str(mine)


def test_without_botocore_the_text_is_still_botocores(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_error("AccessDeniedException", "no access")
    code = f"""
import sys
sys.modules["botocore"] = None  # as if it were not installed
import fastconverse
client = fastconverse.client("bedrock-runtime", endpoint_url={fake_bedrock.url!r},
    region_name="us-east-1", aws_access_key_id="AKID", aws_secret_access_key="SECRET")
try:
    client.converse(modelId="m", messages=[{{"role": "user", "content": [{{"text": "hi"}}]}}])
except fastconverse.errors.AccessDeniedError as e:
    print(e)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "An error occurred (AccessDeniedException) when calling the Converse operation: no access"
    )


@pytest.mark.parametrize("member", IN_STREAM)
@pytest.mark.parametrize("read", [read_stream, read_invoke_stream])
def test_in_stream_errors_read_as_botocores(
    fake_bedrock: FakeBedrock, member: str, read: Callable[[Any], Any]
) -> None:
    def script() -> None:
        fake_bedrock.enqueue_text(
            "one two three", stream_error=member, stream_error_message="broke", after_events=2
        )

    # (an in-stream error carries no retry suffix, even on the last attempt)
    boto, mine = texts(fake_bedrock, script, read)
    assert isinstance(boto, EventStreamError) and isinstance(mine, EventStreamError)
    assert str(mine).startswith(f"An error occurred ({member}) when calling the ")
    assert str(mine).endswith(" operation: broke")


def test_in_stream_errors_read_as_botocores_with_async_for(fake_bedrock: FakeBedrock) -> None:
    def script() -> None:
        fake_bedrock.reset()
        fake_bedrock.enqueue_text(
            "a b c",
            stream_error="modelStreamErrorException",
            stream_error_message="x",
            after_events=1,
        )

    script()
    boto = raised(lambda: read_stream(boto3_client(fake_bedrock)))

    async def main() -> None:
        out = await ours(fake_bedrock).converse_stream_async(modelId="m", messages=[user("hi")])
        async for _ in out["stream"]:
            pass

    script()
    mine = raised(lambda: asyncio.run(main()))
    assert str(mine) == str(boto)
    assert str(mine) == (
        "An error occurred (modelStreamErrorException) when calling the ConverseStream operation: x"
    )


def test_async_converse_reads_as_botocore(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_error("AccessDeniedException", "no access")
    boto = raised(lambda: converse(boto3_client(fake_bedrock)))
    fake_bedrock.enqueue_error("AccessDeniedException", "no access")
    client = ours(fake_bedrock)
    mine = raised(lambda: asyncio.run(client.converse_async(modelId="m", messages=[user("hi")])))
    assert str(mine) == str(boto)


@pytest.mark.parametrize(
    "retries", [{"max_attempts": 2}, {"mode": "legacy", "total_max_attempts": 3}]
)
@pytest.mark.parametrize("operation", [converse, converse_stream])
def test_retries_run_out_with_botocores_suffix(
    fake_bedrock: FakeBedrock, retries: dict[str, Any], operation: Callable[[Any], Any]
) -> None:
    def script() -> None:
        for _ in range(3):
            fake_bedrock.enqueue_error("ThrottlingException", "Too many requests")

    _, mine = texts(fake_bedrock, script, operation, retries)
    assert str(mine).endswith(" operation (reached max retries: 2): Too many requests")
    assert mine.response["ResponseMetadata"]["RetryAttempts"] == 2
    assert len(fake_bedrock.requests) == 3


@pytest.mark.parametrize(
    ("mode", "suffix"), [("standard", " (reached max retries: 2)"), ("legacy", "")]
)
def test_an_unretried_error_at_the_last_attempt_follows_the_retry_mode(
    fake_bedrock: FakeBedrock, mode: str, suffix: str
) -> None:
    # standard retries mark the last attempt whatever its error; legacy ones only an error
    # they retry
    def script() -> None:
        fake_bedrock.enqueue_error("ThrottlingException")
        fake_bedrock.enqueue_error("ThrottlingException")
        fake_bedrock.enqueue_error("AccessDeniedException", "no access")

    retries = {"mode": mode, "total_max_attempts": 3}
    _, mine = texts(fake_bedrock, script, converse, retries)
    assert str(mine) == (
        f"An error occurred (AccessDeniedException) when calling the Converse operation{suffix}: "
        "no access"
    )


def test_count_tokens_errors_read_as_botocores(make_fake: Any) -> None:
    fake: FakeBedrock = make_fake(count_tokens_models=["other"], credentials=[(AKID, SECRET)])

    def count(client: Any) -> Any:
        return client.count_tokens(modelId="m", input={"converse": {"messages": [user("hi")]}})

    _, mine = texts(fake, lambda: None, count)
    assert str(mine) == (
        "An error occurred (ValidationException) when calling the CountTokens operation "
        "(reached max retries: 0): The provided model doesn't support counting tokens."
    )
    # an unknown access key: 403 UnrecognizedClientException
    boto = raised(lambda: count(boto3_client(fake, key="AKIDUNKNOWN")))
    mine = raised(lambda: count(ours(fake, key="AKIDUNKNOWN")))
    assert str(mine) == str(boto) and "UnrecognizedClientException" in str(mine)


def test_the_details_stay_attributes(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_error("AccessDeniedException", "no access")
    error = raised(lambda: converse(ours(fake_bedrock)))
    assert isinstance(error, errors.AccessDeniedError) and isinstance(error, ClientError)
    assert error.response["Error"]["Code"] == error.code == "AccessDeniedException"
    assert error.message == "no access" and error.status_code == 403
    assert error.model_id == "m" and error.operation_name == "Converse"
    assert error.request_id == fake_bedrock.requests[-1].request_id
    assert error.hint is not None and "bedrock:InvokeModel" in error.hint
    assert repr(error) == "AccessDeniedError('no access')"
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is type(error) and str(clone) == str(error)
    assert clone.response == error.response and clone.hint == error.hint


def test_an_in_stream_error_pickles_with_its_words(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_text("a b c", stream_error="throttlingException", after_events=1)
    error = raised(lambda: read_stream(ours(fake_bedrock)))
    clone = pickle.loads(pickle.dumps(error))
    assert isinstance(clone, errors.ThrottlingError) and isinstance(clone, EventStreamError)
    assert str(clone) == str(error) and str(error).startswith("An error occurred (")


def test_the_conversation_layer_keeps_its_own_text(fake_bedrock: FakeBedrock) -> None:
    conv = ours(fake_bedrock).create_conversation(model_id="m")
    fake_bedrock.enqueue_error("AccessDeniedException", "no access")
    sent = raised(lambda: conv.send("hi"))
    request_id = fake_bedrock.requests[-1].request_id
    assert str(sent) == (
        f"AccessDeniedException: no access {sent.hint} (model m, HTTP 403, request id {request_id})"
    )
    fake_bedrock.enqueue_text("a b c", stream_error="throttlingException", after_events=1)
    streamed = raised(lambda: list(conv.stream("hi")))
    assert str(streamed).startswith("ThrottlingException: ") and streamed.hint in str(streamed)
    assert len(conv) == 0


def test_a_converse_client_of_its_own_keeps_its_own_text(fake_bedrock: FakeBedrock) -> None:
    client = fc_client(fake_bedrock, max_attempts=1)
    fake_bedrock.enqueue_error("ThrottlingException", "slow down")
    error = raised(lambda: client.converse(messages=[user("hi")]))
    assert str(error).startswith("ThrottlingException: slow down Slow down")
    fake_bedrock.enqueue_text("a b c", stream_error="throttlingException", after_events=1)
    error = raised(lambda: list(client.converse_stream(messages=[user("hi")])["stream"]))
    assert str(error).startswith("ThrottlingException: ") and "HTTP 200" in str(error)
