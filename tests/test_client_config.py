"""Client settings that reach the wire: profiles, session tokens, API keys, guardrails and
prompt variables, checked at FakeBedrock (which verifies SigV4 with the keys it knows)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from conftest import AKID, SECRET, fc_client, user

CHILD = textwrap.dedent(
    """
    import sys
    from fastconverse import ConverseClient
    kwargs = eval(sys.argv[2])
    client = ConverseClient("m", endpoint_url=sys.argv[1], max_attempts=1, **kwargs)
    print(client.create_conversation().send("hi").text)
    """
)


def run_child(url: str, env: dict[str, str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [sys.executable, "-c", CHILD, url, repr(kwargs)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, "AWS_EC2_METADATA_DISABLED": "true", **env},
    )


def test_a_named_profile_gives_the_credentials(make_fake: Any, tmp_path: Path) -> None:
    fake = make_fake(credentials=[("AKIDPROFILE", "profile-secret")])
    (tmp_path / "config").write_text(
        "[default]\nregion = us-east-1\n[profile work]\nregion = eu-west-3\n"
    )
    (tmp_path / "credentials").write_text(
        "[default]\naws_access_key_id = AKIDWRONG\naws_secret_access_key = wrong\n"
        "[work]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n"
    )
    env = {
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
    }
    proc = run_child(fake.url, env, profile_name="work")
    assert proc.stdout.strip() == "You said: hi", proc.stderr
    auth = fake.requests[-1].headers["authorization"]
    assert "Credential=AKIDPROFILE/" in auth and "/eu-west-3/bedrock/" in auth
    proc = run_child(fake.url, env)  # the default profile's key is unknown to the server
    assert "AccessDeniedError" in proc.stderr and "UnrecognizedClientException" in proc.stderr


def test_a_bedrock_api_key_from_the_environment_is_sent_as_bearer(make_fake: Any) -> None:
    fake = make_fake(api_keys=["bedrock-api-key-good"])
    env = {"AWS_BEARER_TOKEN_BEDROCK": "bedrock-api-key-good", "AWS_REGION": "us-east-1"}
    proc = run_child(fake.url, env)
    assert proc.stdout.strip() == "You said: hi", proc.stderr
    assert fake.requests[-1].headers["authorization"] == "Bearer bedrock-api-key-good"


def test_a_session_token_is_sent_and_signed(make_fake: Any) -> None:
    fake = make_fake(credentials=[(AKID, SECRET)])
    client = fc_client(fake, aws_session_token="a-session-token")
    assert client.create_conversation().send("hi").text == "You said: hi"
    headers = fake.requests[-1].headers
    assert headers["x-amz-security-token"] == "a-session-token"
    assert "x-amz-security-token" in headers["authorization"]


def test_guardrails_and_prompt_variables_reach_the_request(make_fake: Any) -> None:
    fake = make_fake()
    client = fc_client(fake)
    guardrail = {"guardrailIdentifier": "gr-1", "guardrailVersion": "2", "trace": "enabled"}
    variables = {"city": {"text": "Paris"}}
    client.converse(messages=[user("hi")], guardrailConfig=guardrail, promptVariables=variables)
    body = fake.requests[-1].body
    assert body["guardrailConfig"] == guardrail and body["promptVariables"] == variables
    stream_guardrail = {**guardrail, "streamProcessingMode": "async"}
    list(client.converse_stream(messages=[user("hi")], guardrailConfig=stream_guardrail)["stream"])
    assert fake.requests[-1].body["guardrailConfig"] == stream_guardrail


def test_an_https_endpoint_speaks_tls_from_the_first_request(make_fake: Any) -> None:
    # The root certificates load at the first request, not at client creation: the first
    # request to an https:// endpoint must still go through TLS (here it meets a plain-HTTP
    # server, so the handshake fails with a clear error), and the same client then works
    # against a plain-HTTP endpoint given per client.
    from fastconverse import ConverseClient
    from fastconverse.errors import EndpointError

    fake = make_fake()
    tls = ConverseClient(
        "m",
        endpoint_url=fake.url.replace("http://", "https://"),
        region_name="us-east-1",
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
        max_attempts=1,
    )
    conv = tls.create_conversation()
    try:
        conv.send("hi")
    except EndpointError as exc:
        assert "TLS" in str(exc), str(exc)
    else:
        raise AssertionError("a TLS request to a plain-HTTP server succeeded")
    assert conv.messages == []
    assert fc_client(fake).create_conversation().send("hi").text == "You said: hi"
