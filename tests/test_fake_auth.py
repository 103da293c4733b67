"""FakeBedrock's auth: SigV4 verified with known credentials, Bedrock API keys as Bearer."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from conftest import AKID, SECRET, Raw, boto3_client, user

MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
ARN = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-micro-v1:0"


@pytest.fixture
def signed(make_fake: Any) -> Any:
    return make_fake(credentials=[(AKID, SECRET), ("AKIDSESSION", "session-secret")])


@pytest.mark.parametrize("model", [MODEL, ARN, "plain-model"])
def test_good_signatures_pass_for_every_operation(signed: Any, model: str) -> None:
    client = boto3_client(signed)
    assert client.converse(modelId=model, messages=[user("hi")])["stopReason"] == "end_turn"
    events = list(client.converse_stream(modelId=model, messages=[user("hi")])["stream"])
    assert "metadata" in events[-1]
    tokens = client.count_tokens(modelId=model, input={"converse": {"messages": [user("a b")]}})
    assert tokens["inputTokens"] == 2


def test_session_tokens_are_part_of_the_signature(signed: Any) -> None:
    client = boto3.client(
        "bedrock-runtime",
        endpoint_url=signed.url,
        region_name="eu-west-3",
        aws_access_key_id="AKIDSESSION",
        aws_secret_access_key="session-secret",
        aws_session_token="a-session-token",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )
    client.converse(modelId=MODEL, messages=[user("hi")])
    headers = signed.requests[-1].headers
    assert headers["x-amz-security-token"] == "a-session-token"
    assert "x-amz-security-token" in headers["authorization"]


def test_wrong_secret_is_an_invalid_signature(signed: Any) -> None:
    client = boto3_client(signed, secret="not-the-secret")
    with pytest.raises(ClientError) as info:
        client.converse(modelId=MODEL, messages=[user("hi")])
    assert info.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "signature we calculated does not match" in info.value.response["Error"]["Message"]


def test_unknown_key_is_an_unrecognized_client(signed: Any) -> None:
    client = boto3_client(signed, key="AKIDUNKNOWN")
    with pytest.raises(ClientError) as info:
        client.converse_stream(modelId=MODEL, messages=[user("hi")])
    assert info.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert (
        info.value.response["Error"]["Message"]
        == "The security token included in the request is invalid."
    )


def test_a_tampered_body_fails_the_signature(signed: Any) -> None:
    good = boto3_client(signed)
    good.converse(modelId=MODEL, messages=[user("hi")])
    sent = signed.requests[-1]
    replay = {
        k: v
        for k, v in sent.headers.items()
        if k in ("authorization", "x-amz-date", "content-type", "host")
    }
    status, _, payload = Raw(signed).post(MODEL, "converse", {"messages": [user("bye")]}, replay)
    assert status == 403
    assert "signature" in payload["message"]


def test_unsigned_requests_are_refused_when_credentials_are_set(signed: Any) -> None:
    status, headers, payload = Raw(signed).converse({"messages": [user("hi")]})
    assert status == 403
    assert headers["x-amzn-errortype"].startswith("MissingAuthenticationTokenException:")
    assert payload == {"message": "Missing Authentication Token"}


def test_bearer_api_keys(make_fake: Any) -> None:
    # boto3 sends Bearer tokens only over HTTPS, so this speaks raw HTTP; the Rust SDK's
    # Bearer requests are checked in cargo test.
    fake = make_fake(api_keys=["bedrock-api-key-good"])
    raw = Raw(fake)
    ok = raw.post(
        MODEL,
        "converse",
        {"messages": [user("hi")]},
        {"authorization": "Bearer bedrock-api-key-good"},
    )
    assert ok[0] == 200
    status, headers, _ = raw.post(
        MODEL,
        "converse",
        {"messages": [user("hi")]},
        {"authorization": "Bearer bedrock-api-key-bad"},
    )
    assert status == 403
    assert headers["x-amzn-errortype"].startswith("UnrecognizedClientException:")
    # with only API keys configured, a SigV4 request is refused too: its key is unknown
    with pytest.raises(ClientError) as info:
        boto3_client(fake).converse(modelId=MODEL, messages=[user("hi")])
    assert info.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_open_server_accepts_anything(raw: Raw) -> None:
    assert raw.converse({"messages": [user("hi")]})[0] == 200
