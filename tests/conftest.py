"""Shared helpers: boto3 clients and raw HTTP pointed at FakeBedrock (fixture from our plugin)."""

from __future__ import annotations

import http.client
import json
import signal
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import boto3
import pytest
from botocore.config import Config
from fastconverse import ConverseClient, RedisStore, SQLiteStore, Store
from fastconverse.testing import FakeBedrock
from redis_server import RedisServer


def default_sigint() -> None:
    """``preexec_fn`` of subprocesses that get Ctrl-C: a suite run as a background job has
    SIGINT ignored, and a child would inherit that (Python then installs no handler)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def terminal() -> Iterator[Any]:
    """``chat_process.Terminal``, each one opened closed after the test."""
    if sys.platform == "win32":
        pytest.skip("pseudo-terminals are POSIX only")
    from chat_process import Terminal

    opened: list[Terminal] = []

    class Opened(Terminal):
        def __init__(self, *args: str, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            opened.append(self)

    yield Opened
    for term in opened:
        term.close()


# The modeled error codes of Converse (WIRE.md), as HTTP errors before any stream.
ERROR_CODES = [
    "ValidationException",
    "ServiceQuotaExceededException",
    "AccessDeniedException",
    "ResourceNotFoundException",
    "ModelTimeoutException",
    "ModelErrorException",
    "ThrottlingException",
    "ModelNotReadyException",
    "InternalServerException",
    "ServiceUnavailableException",
]

# The modeled error events inside a ConverseStream (WIRE.md).
IN_STREAM = [
    "throttlingException",
    "validationException",
    "modelStreamErrorException",
    "internalServerException",
    "serviceUnavailableException",
]

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def boto3_client(fake: FakeBedrock, *, key: str = AKID, secret: str = SECRET, **config: Any) -> Any:
    config.setdefault("retries", {"mode": "standard", "total_max_attempts": 1})
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=fake.url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(**config),
    )


def fc_boto3(fake: FakeBedrock, **kwargs: Any) -> Any:
    """fastconverse's boto3-shaped client (``fastconverse.client``) on FakeBedrock, signing
    as ``boto3_client`` does: the same call through both sends the same request."""
    import fastconverse

    return fastconverse.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=fake.url,
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
        **kwargs,
    )


def fc_client(fake: FakeBedrock, **kwargs: Any) -> ConverseClient:
    """A fastconverse client on FakeBedrock, model "m", signing with AKID/SECRET."""
    return ConverseClient(
        "m",
        endpoint_url=fake.url,
        region_name="us-east-1",
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
        **kwargs,
    )


@pytest.fixture
def bedrock(fake_bedrock: FakeBedrock) -> Any:
    """A boto3 bedrock-runtime client on the test's FakeBedrock, without retries."""
    return boto3_client(fake_bedrock)


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"text": text}]}


def assistant(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": [{"text": text}]}


class Raw:
    """Raw HTTP to FakeBedrock, for requests no SDK would send."""

    def __init__(self, fake: FakeBedrock) -> None:
        self.fake = fake

    def post(
        self, model: str, operation: str, body: Any, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        url = urlsplit(self.fake.url)
        # Note: a generous timeout: it only catches a hang (100 MB bodies are slow when busy).
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
        try:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            path = f"/model/{quote(model, safe='')}/{operation}"
            conn.request(
                "POST", path, payload, {"content-type": "application/json", **(headers or {})}
            )
            resp = conn.getresponse()
            data = resp.read()
            resp_headers = {k.lower(): v for k, v in resp.getheaders()}
            parsed = (
                json.loads(data) if resp_headers.get("content-type") == "application/json" else data
            )
            return resp.status, resp_headers, parsed
        finally:
            conn.close()

    def converse(self, body: Any, model: str = "m") -> tuple[int, dict[str, str], Any]:
        return self.post(model, "converse", body)


@pytest.fixture
def raw(fake_bedrock: FakeBedrock) -> Raw:
    return Raw(fake_bedrock)


@pytest.fixture
def make_fake() -> Callable[..., FakeBedrock]:
    """Builds extra FakeBedrock servers with settings; all closed after the test."""
    made: list[FakeBedrock] = []

    def make(**kwargs: Any) -> FakeBedrock:
        fake = FakeBedrock(**kwargs)
        made.append(fake)
        return fake

    yield make  # type: ignore[misc]
    for fake in made:
        fake.close()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server for the session (restarted by tests that stop it)."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "redis"])
def store_at(
    request: pytest.FixtureRequest, tmp_path: Path, redis_server: RedisServer
) -> Callable[..., Store]:
    """Makes stores on one place, as separate processes would: a SQLite file of this test,
    or a key prefix of this test on the session's Redis server."""
    prefix = f"t{uuid.uuid4().hex[:12]}:"

    def make(**kwargs: Any) -> Store:
        if request.param == "sqlite":
            return SQLiteStore(tmp_path / "conversations.db", **kwargs)
        return RedisStore(redis_server.url, prefix=prefix, **kwargs)

    make.kind = request.param  # type: ignore[attr-defined]
    # The same store as Python source, for other processes.
    make.spec = (  # type: ignore[attr-defined]
        f"SQLiteStore({str(tmp_path / 'conversations.db')!r})"
        if request.param == "sqlite"
        else f"RedisStore({redis_server.url!r}, prefix={prefix!r})"
    )
    return make


@pytest.fixture
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `python3` kernel spec that starts this interpreter, and private Jupyter/IPython dirs,
    so that neither the user's kernels nor their IPython profile take part."""
    spec_dir = tmp_path / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (fastconverse tests)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    work = tmp_path / "work"
    work.mkdir()
    return work
