"""A canary: unique credentials (access key id, secret key, session token, API key) used for
real signed requests, failures and stores, then searched for everywhere a user or a log
could see them: exception texts and reprs, object reprs, warnings, log records, the SQLite
file, Redis's values, and FakeBedrock's recordings other than the request itself. The
secret key, session token and API key must appear nowhere; the access key id only where AWS
puts it (the signed request)."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import uuid
import warnings
from pathlib import Path
from typing import Any

import fastconverse as fc
import pytest
from fastconverse import ConverseClient, RedisStore, SQLiteStore, errors
from fastconverse.testing import FakeBedrock
from redis_server import RedisServer

TAG = uuid.uuid4().hex[:10].upper()
AKID = f"AKIACANARY{TAG}"
SECRET = f"canarySecret{TAG}xyz/+AbCd"
TOKEN = f"canaryToken{TAG}SessionValue"
API_KEY = f"bedrock-api-key-canary{TAG}"
HIDDEN = (SECRET, TOKEN, API_KEY)


def assert_hidden(text: str, where: str) -> None:
    for secret in HIDDEN:
        assert secret not in text, f"a credential appears in {where}: {text[:300]!r}"


def seen_text(value: Any) -> str:
    """Everything a user sees of a value: str, repr, and an exception's attributes."""
    parts = [str(value), repr(value)]
    if isinstance(value, BaseException):
        parts += [repr(v) for v in vars(value).values()]
        parts += [seen_text(value.__cause__)] if value.__cause__ else []
    return "\n".join(parts)


def test_credentials_appear_nowhere_a_user_or_a_log_sees(
    tmp_path: Path, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[tuple[str, str]] = []
    with (
        warnings.catch_warnings(record=True) as caught,
        FakeBedrock(credentials=[(AKID, SECRET)]) as fake,
    ):
        warnings.simplefilter("always")
        stores = [
            SQLiteStore(tmp_path / "canary.db"),
            RedisStore(redis_server.url, prefix=f"canary{TAG}:"),
        ]
        for store in stores:
            client = ConverseClient(
                "m",
                endpoint_url=fake.url,
                region_name="us-east-1",
                aws_access_key_id=AKID,
                aws_secret_access_key=SECRET,
                aws_session_token=TOKEN,
                store=store,
                log_content=True,  # (every record the log makes, message text included)
            )
            seen += [("client repr", repr(client)), ("store repr", repr(store))]
            conv = client.create_conversation("Be brief.", metadata={"user": "u1"})
            seen.append(("reply", repr(conv.send("hello"))))
            seen.append(("stream", repr(conv.stream("and again").until_done())))
            seen.append(("conversation", repr(conv)))
            seen.append(("messages", repr(conv.messages)))
            fake.enqueue_error("AccessDeniedException")
            with pytest.raises(errors.AccessDeniedError) as denied:
                conv.send("denied")
            seen.append(("service error", seen_text(denied.value)))
            seen.append(("boto3 layer", repr(client.converse(messages=conv.messages[:1]))))
            seen.append(("async", repr(asyncio.run(conv.send_async("async")))))
        # A wrong secret: the auth failure's texts must not echo what was sent.
        wrong = ConverseClient(
            "m",
            endpoint_url=fake.url,
            region_name="us-east-1",
            aws_access_key_id=AKID,
            aws_secret_access_key=SECRET + "wrong",
            aws_session_token=TOKEN,
        )
        with pytest.raises(errors.ConverseError) as refused:
            wrong.create_conversation().send("hi")
        seen.append(("auth failure", seen_text(refused.value)))
        recorded = fake.requests
        assert recorded, "the canary made no request"
        for r in recorded:
            seen.append(("recorded body", repr(r.body)))
            seen.append(("recorded request", repr(r)))
            headers = dict(r.headers)
            # (where AWS puts them: the request itself; never the secret key)
            assert SECRET not in repr(headers)
        seen.append(("fake", repr(fake)))
    for w in caught:
        seen.append(("warning", str(w.message)))
    for record in caplog.records:
        seen.append(("log", record.getMessage()))
    seen.append(("sqlite file", (tmp_path / "canary.db").read_bytes().decode("latin-1")))
    wal = tmp_path / "canary.db-wal"
    if wal.exists():
        seen.append(("sqlite wal", wal.read_bytes().decode("latin-1")))
    dump = subprocess.run(
        ["redis-cli", "-p", str(redis_server.port), "--no-raw", "KEYS", f"canary{TAG}:*"],
        capture_output=True,
        text=True,
    ).stdout
    assert dump.strip(), "the canary wrote nothing to Redis"
    for key in dump.split():
        key = key.strip('"').split(") ", 1)[-1].strip('"')
        for command in (["HGETALL", key], ["LRANGE", key, "0", "-1"], ["ZRANGE", key, "0", "-1"]):
            out = subprocess.run(
                ["redis-cli", "-p", str(redis_server.port), *command],
                capture_output=True,
                text=True,
            ).stdout
            seen.append((f"redis {key}", out))
    for where, text in seen:
        assert_hidden(text, where)
        if where not in ("recorded request",):
            assert AKID not in text or where.startswith("auth failure"), where


def test_an_api_key_from_the_environment_appears_nowhere(tmp_path: Path) -> None:
    """AWS_BEARER_TOKEN_BEDROCK (a Bedrock API key) signs requests as a Bearer token; neither
    a refusal nor any repr shows it. Run in a child, as the variable is read at startup."""
    script = f"""
import fastconverse as fc
from fastconverse import ConverseClient, errors
from fastconverse.testing import FakeBedrock
with FakeBedrock(api_keys=[{API_KEY!r}]) as fake:
    client = ConverseClient("m", endpoint_url=fake.url, region_name="us-east-1")
    conv = client.create_conversation()
    print(repr(conv.send("hi")), repr(client), repr(conv))
    print(repr(fake.requests[-1]), repr(fake.requests[-1].body))
    fake.enqueue_error("ThrottlingException")
    try:
        ConverseClient("m", endpoint_url=fake.url, region_name="us-east-1",
                       max_attempts=1).create_conversation().send("x")
    except errors.ConverseError as e:
        print(str(e), repr(e), repr(vars(e)))
"""
    env = {**os.environ, "AWS_BEARER_TOKEN_BEDROCK": API_KEY}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "You said: hi" in out.stdout
    assert_hidden(out.stdout + out.stderr, "output of a client using an API key")
    assert fc.__name__ == "fastconverse"
