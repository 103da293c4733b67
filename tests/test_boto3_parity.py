"""Error handling written for boto3 runs unchanged against fastconverse: the same error,
scripted for boto3 and for us on one FakeBedrock, is caught by the same ``except
ClientError`` handler with the same ``response``; without botocore, nothing changes but
the base class."""

from __future__ import annotations

import asyncio
import json
import pickle
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from botocore.exceptions import ClientError, EventStreamError
from conftest import ERROR_CODES, IN_STREAM, boto3_client, fc_client, user
from fastconverse import errors
from fastconverse.testing import FakeBedrock


def caught(call: Any) -> tuple[Any, ...]:
    """What a handler written for botocore sees of the error ``call`` raises."""
    try:
        call()
    except ClientError as e:
        return (
            type(e),
            e.response["Error"],
            e.response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
            e.operation_name,
            e,
        )
    raise AssertionError("no ClientError was raised")


@pytest.mark.parametrize("code", ERROR_CODES)
def test_http_errors_are_client_errors_like_boto3s(fake_bedrock: FakeBedrock, code: str) -> None:
    bedrock = boto3_client(fake_bedrock)
    client = fc_client(fake_bedrock, max_attempts=1)
    fake_bedrock.enqueue_error(code, f"scripted {code}")
    theirs = caught(lambda: bedrock.converse(modelId="m", messages=[user("hi")]))
    fake_bedrock.enqueue_error(code, f"scripted {code}")
    ours = caught(lambda: client.converse(messages=[user("hi")]))
    assert not issubclass(theirs[0], EventStreamError)
    assert not issubclass(ours[0], EventStreamError)
    assert ours[1] == theirs[1] == {"Code": code, "Message": f"scripted {code}"}
    assert ours[2:4] == theirs[2:4] and ours[3] == "Converse"
    error = ours[4]
    assert isinstance(error, errors.ServiceError) and error.code == code
    meta = error.response["ResponseMetadata"]
    assert meta["RequestId"] == error.request_id == fake_bedrock.requests[-1].request_id
    assert meta["HTTPHeaders"]["x-amzn-requestid"] == error.request_id
    assert meta["RetryAttempts"] == 0
    # the modeled member, as botocore adds it beside "Error"
    assert error.response["message"] == theirs[4].response["message"]


@pytest.mark.parametrize("member", IN_STREAM)
def test_in_stream_errors_are_event_stream_errors_like_boto3s(
    fake_bedrock: FakeBedrock, member: str
) -> None:
    def script() -> None:
        fake_bedrock.enqueue_text(
            "one two three", stream_error=member, stream_error_message="broke", after_events=2
        )

    script()
    stream = boto3_client(fake_bedrock).converse_stream(modelId="m", messages=[user("hi")])
    theirs = caught(lambda: list(stream["stream"]))
    script()
    ours_stream = fc_client(fake_bedrock).converse_stream(messages=[user("hi")])
    ours = caught(lambda: list(ours_stream["stream"]))
    assert theirs[0] is EventStreamError and issubclass(ours[0], EventStreamError)
    assert theirs[1] == ours[1] == {"Code": member, "Message": "broke"}
    assert theirs[3] == ours[3] == "ConverseStream"
    error = ours[4]
    # our own view stays as it was: the modeled code, the typed class, HTTP 200
    assert error.code == member[0].upper() + member[1:] and error.in_stream
    assert type(error).__name__ == type(error).__mro__[1].__name__
    assert isinstance(error, errors.ServiceError) and error.status_code == 200


def test_errors_before_a_stream_are_plain_client_errors(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_error("AccessDeniedException", "no access")
    kind, error, status, operation, _ = caught(
        lambda: fc_client(fake_bedrock).converse_stream(messages=[user("hi")])
    )
    assert not issubclass(kind, EventStreamError) and issubclass(kind, errors.AccessDeniedError)
    assert (error["Code"], status, operation) == ("AccessDeniedException", 403, "ConverseStream")


def test_conversation_errors_are_client_errors_too(fake_bedrock: FakeBedrock) -> None:
    conv = fc_client(fake_bedrock, max_attempts=1).create_conversation()
    fake_bedrock.enqueue_error("ThrottlingException")
    _, error, status, operation, e = caught(lambda: conv.send("hi"))
    assert (error["Code"], status, operation) == ("ThrottlingException", 429, "Converse")
    assert isinstance(e, errors.ThrottlingError) and len(conv) == 0
    fake_bedrock.enqueue_text("a b c", stream_error="throttlingException", after_events=2)
    kind, error, _, operation, _ = caught(lambda: list(conv.stream("hi", resume=0)))
    assert issubclass(kind, EventStreamError) and issubclass(kind, errors.ThrottlingError)
    assert (error["Code"], operation) == ("throttlingException", "ConverseStream")
    fake_bedrock.enqueue_error("ValidationException", "bad")
    _, error, status, operation, _ = caught(lambda: asyncio.run(conv.send_async("hi")))
    assert (error["Code"], status, operation) == ("ValidationException", 400, "Converse")


def test_count_tokens_errors_name_their_operation(make_fake: Any) -> None:
    fake = make_fake(count_tokens_models=["other"])
    _, error, status, operation, _ = caught(
        lambda: fc_client(fake).count_tokens(
            modelId="m", input={"converse": {"messages": [user("hi")]}}
        )
    )
    assert (error["Code"], status, operation) == ("ValidationException", 400, "CountTokens")


def test_unmodeled_codes_are_service_errors(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_error("BrandNewException", "something new", status=418)
    kind, error, status, _, e = caught(lambda: fc_client(fake_bedrock).converse(messages=[]))
    assert kind is errors.ServiceError and isinstance(e, errors.ConverseError)
    assert (error["Code"], status) == ("BrandNewException", 418)


def friendly(error: Exception) -> str:
    """An error handler as boto3 users write it (the tutorials' pattern)."""
    code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
    text = getattr(error, "response", {}).get("Error", {}).get("Message", str(error))
    if code == "ThrottlingException":
        return "busy, try again"
    if code == "ValidationException" and "too long" in text.lower():
        return "conversation too long"
    return f"failed: {code}"


def test_a_botocore_handler_runs_unchanged(make_fake: Any) -> None:
    fake: FakeBedrock = make_fake(context_windows={"m": 5})
    client = fc_client(fake, max_attempts=1)
    conv = client.create_conversation()
    answers = []
    for message in ["hi", "one two three four five six seven"]:
        fake.enqueue_error("ThrottlingException") if message == "hi" else None
        try:
            conv.send(message)
        except ClientError as error:
            answers.append(friendly(error))
    try:
        client.converse(messages=[{"role": "assistant", "content": [{"text": "x"}]}])
    except ClientError as error:
        answers.append(friendly(error))
    assert answers == ["busy, try again", "conversation too long", "failed: ValidationException"]


def test_old_handlers_still_catch_our_classes(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_error("ThrottlingException")
    with pytest.raises(errors.ThrottlingError) as info:
        fc_client(fake_bedrock, max_attempts=1).converse(messages=[user("hi")])
    assert isinstance(info.value, errors.ConverseError) and info.value.retryable
    assert "ThrottlingException" in str(info.value) and "HTTP 429" in str(info.value)


def test_local_errors_are_not_client_errors_but_carry_the_shape(
    fake_bedrock: FakeBedrock,
) -> None:
    # boto3 raises NoCredentialsError / EndpointConnectionError (not ClientError) for these
    for cls in (errors.CredentialsError, errors.EndpointError, errors.ConversationBusyError):
        assert not issubclass(cls, ClientError)
    conv = fc_client(fake_bedrock).create_conversation()
    fake_bedrock.enqueue_text("a b c d")
    stream = conv.stream("hi")
    next(iter(stream))
    with pytest.raises(errors.ConversationBusyError) as info:
        conv.send("again")
    stream.close()
    assert info.value.response["Error"]["Code"] == "ConversationBusyError"


def test_errors_pickle_as_their_own_class(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_text("a b c", stream_error="throttlingException", after_events=1)
    with pytest.raises(errors.ThrottlingError) as info:
        list(fc_client(fake_bedrock).converse_stream(messages=[user("hi")])["stream"])
    clone = pickle.loads(pickle.dumps(info.value))
    assert isinstance(clone, errors.ThrottlingError) and isinstance(clone, EventStreamError)
    assert clone.response == info.value.response and str(clone) == str(info.value)
    assert clone.operation_name == "ConverseStream"


def run(fake: FakeBedrock, *parts: str) -> str:
    """Runs the code ``parts`` in a fresh interpreter (``URL`` is the FakeBedrock's url)."""
    code = "\n".join([f"URL = {fake.url!r}", *(textwrap.dedent(p) for p in parts)])
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


CLIENT = """
from fastconverse import ConverseClient
client = ConverseClient("m", endpoint_url=URL, region_name="us-east-1", max_attempts=1,
                        aws_access_key_id="AKID", aws_secret_access_key="SECRET")
def throttled():
    try:
        client.converse(messages=[{"role": "user", "content": [{"text": "hi"}]}])
    except Exception as e:
        return e
"""


def test_without_botocore_errors_keep_the_shape(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_error("ThrottlingException", "slow down")
    out = run(
        fake_bedrock,
        """
        import sys
        sys.modules["botocore"] = None  # as if it were not installed
        """,
        CLIENT,
        """
        e = throttled()
        from fastconverse import errors
        assert type(e) is errors.ThrottlingError, type(e).__mro__
        assert [c.__name__ for c in errors.ServiceError.__mro__] == [
            "ServiceError", "ConverseError", "Exception", "BaseException", "object"]
        import json
        print(json.dumps([e.response["Error"], e.response["ResponseMetadata"]["HTTPStatusCode"],
                          e.operation_name]))
        """,
    )
    assert json.loads(out) == [
        {"Code": "ThrottlingException", "Message": "slow down"},
        429,
        "Converse",
    ]


def test_botocore_imported_after_fastconverse_still_catches(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue_error("ThrottlingException", "slow down")
    out = run(
        fake_bedrock,
        CLIENT,
        """
        import sys
        assert "botocore" not in sys.modules  # importing fastconverse does not load it
        from botocore.exceptions import ClientError
        try:
            client.converse(messages=[{"role": "user", "content": [{"text": "hi"}]}])
        except ClientError as e:
            print("caught", e.response["Error"]["Code"])
        """,
    )
    assert out.strip() == "caught ThrottlingException"


def test_botocore_imported_first_makes_the_classes_client_errors(
    fake_bedrock: FakeBedrock,
) -> None:
    out = run(
        fake_bedrock,
        """
        from botocore.exceptions import ClientError
        from fastconverse import errors
        print(issubclass(errors.ThrottlingError, ClientError),
              issubclass(errors.TurnError, ClientError))
        """,
    )
    assert out.split() == ["True", "False"]


@pytest.mark.parametrize("code", ERROR_CODES)
def test_client_exceptions_by_boto3s_names(fake_bedrock: FakeBedrock, code: str) -> None:
    bedrock = boto3_client(fake_bedrock)
    client = fc_client(fake_bedrock, max_attempts=1)
    for target in (bedrock, client):
        fake_bedrock.enqueue_error(code)
        with pytest.raises(getattr(target.exceptions, code)):
            target.converse(modelId="m", messages=[user("hi")])
        fake_bedrock.enqueue_error(code)
        with pytest.raises(target.exceptions.ClientError):
            target.converse(modelId="m", messages=[user("hi")])
    assert not issubclass(
        client.exceptions.ValidationException, client.exceptions.ThrottlingException
    )


def test_an_error_after_retries_has_boto3s_headers_and_retry_attempts(
    fake_bedrock: FakeBedrock,
) -> None:
    ours = fc_client(fake_bedrock, max_attempts=3)
    theirs = boto3_client(fake_bedrock, retries={"mode": "standard", "total_max_attempts": 3})
    seen = []
    for call in (ours.converse, theirs.converse):
        for _ in range(3):
            fake_bedrock.enqueue_error("ServiceUnavailableException")
        with pytest.raises(ClientError) as e:
            call(modelId="m", messages=[user("hi")])
        seen.append(e.value.response["ResponseMetadata"])
    mine, boto = seen
    assert mine["RetryAttempts"] == boto["RetryAttempts"] == 2
    assert mine["HTTPStatusCode"] == boto["HTTPStatusCode"] == 503
    assert mine["HTTPHeaders"]["x-amzn-requestid"] == mine["RequestId"]
    assert mine["HTTPHeaders"]["x-amzn-errortype"] == boto["HTTPHeaders"]["x-amzn-errortype"]
    assert set(boto["HTTPHeaders"]) <= set(mine["HTTPHeaders"])
