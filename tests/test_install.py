"""The wheel installs and runs where users put it (issue 23), and the sdist holds a build.

A fresh virtualenv, made from this test run's interpreter (so ``./dev crossversion`` does this
on 3.9 and 3.13 too), gets the wheel the way the README's install section says, with no
Rust on PATH and no build from source allowed, then runs a program against FakeBedrock and
the README's ``chat --fake`` command.

Where things come from: the wheel is ``$FASTCONVERSE_WHEEL`` (``./dev`` exports it), else the
one in ``target/wheels/``; its runtime dependencies come with ``--no-index`` from
``$FASTCONVERSE_WHEELHOUSE`` (``./dev`` fills ``target/wheelhouse`` for each interpreter from
the wheel's own metadata), else from the package index, as a user's ``pip install`` would.
Without a wheel these tests fail: they never skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What the fresh venv runs: a conversation's turn, then a streamed one, on FakeBedrock.
PROGRAM = textwrap.dedent(
    """
    import fastconverse
    from fastconverse import ConverseClient, TextDelta
    from fastconverse.testing import FakeBedrock

    with FakeBedrock() as fake:
        client = ConverseClient("any-model", endpoint_url=fake.url, region_name="us-east-1",
                                aws_access_key_id="test", aws_secret_access_key="test")
        conv = client.create_conversation("You are terse.")
        reply = conv.send("Hi there")
        stream = conv.stream("Stream this reply")
        deltas = [event.text for event in stream if isinstance(event, TextDelta)]
        print(fastconverse.__file__)
        print(fastconverse._core.__file__)
        print(reply.text)
        print(len(deltas), "".join(deltas))
        print(stream.reply.text, len(conv.messages))
    """
)


def artifact(variable: str, pattern: str) -> Path:
    """The file ``$variable`` names, else the one ``pattern`` matches under the repository."""
    named = os.environ.get(variable)
    found = [Path(named)] if named else sorted(ROOT.glob(pattern))
    if len(found) != 1 or not found[0].is_file():
        pytest.fail(
            f"no {pattern} to test (${variable}={named!r}, found {found}): "
            "run ./dev test, which builds it and exports the path"
        )
    return found[0]


def make_venv(tmp_path_factory: pytest.TempPathFactory, extras: str = "") -> Path:
    """A new virtualenv with the wheel (with ``extras``, as in ``[otel]``) and its runtime
    dependencies installed, no more."""
    wheel = artifact("FASTCONVERSE_WHEEL", "target/wheels/fastconverse-*.whl")
    venv = tmp_path_factory.mktemp("install") / "venv"
    # A venv from a venv's interpreter is made on the base one, as a user's would be.
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    wheelhouse = os.environ.get("FASTCONVERSE_WHEELHOUSE")
    where = ["--no-index", "--find-links", wheelhouse] if wheelhouse else []
    # The README's forms: the wheel's path, or "fastconverse[otel] @ file:///.../the.whl".
    requirement = f"fastconverse{extras} @ {wheel.as_uri()}" if extras else str(wheel)
    # --only-binary: nothing is built from source, so no compiler (nor Rust) can be used.
    pip = [venv / "bin" / "python", "-m", "pip", "install", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "--only-binary", ":all:", *where, requirement],
        check=True,
        env=clean_env(venv),
        timeout=600,
    )
    return venv


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_venv(tmp_path_factory)


def clean_env(venv: Path) -> dict[str, str]:
    """The environment of a user's shell with the venv activated: no Rust on PATH, nothing of
    this test run's (no PYTHONPATH, no CARGO_* or RUSTUP_*), no bytecode left in the venv."""
    keep = {"HOME", "LANG", "LC_ALL", "TMPDIR", "PIP_INDEX_URL", "PIP_CERT"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["PATH"] = os.pathsep.join([str(venv / "bin"), "/usr/bin", "/bin"])
    env["VIRTUAL_ENV"] = str(venv)
    assert shutil.which("cargo", path=env["PATH"]) is None, "cargo is on the clean PATH"
    assert shutil.which("rustc", path=env["PATH"]) is None, "rustc is on the clean PATH"
    return env


def test_the_wheel_runs_a_conversation_in_a_fresh_venv(fresh_venv: Path) -> None:
    done = subprocess.run(
        [fresh_venv / "bin" / "python", "-c", PROGRAM],
        capture_output=True,
        text=True,
        env=clean_env(fresh_venv),
        cwd=fresh_venv,  # (not the repository: ./python must not be found)
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    package, core, reply, streamed, final = done.stdout.splitlines()
    site = fresh_venv / "lib"
    assert Path(package).is_relative_to(site) and Path(core).is_relative_to(site)
    assert core.endswith(".abi3.so")
    assert reply == "You said: Hi there"
    count, text = streamed.split(" ", 1)
    assert text == "You said: Stream this reply" and int(count) > 1  # (one delta per word)
    assert final == "You said: Stream this reply 4"


def test_the_readme_chat_command_answers_from_a_fresh_venv(fresh_venv: Path) -> None:
    done = subprocess.run(
        [fresh_venv / "bin" / "python", "-m", "fastconverse", "chat", "--fake"],
        input="Hi\n",
        capture_output=True,
        text=True,
        env=clean_env(fresh_venv),
        cwd=fresh_venv,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "You said: Hi"


def test_the_fresh_venv_has_only_the_wheel_and_its_dependencies(fresh_venv: Path) -> None:
    names = installed(fresh_venv)
    assert {"fastconverse", "pydantic", "docstring-parser"} <= names
    # (the optional extras stay optional: otel, chat, notebook, experiments, yaml)
    extras = {"opentelemetry-api", "rich", "markdown-it-py", "scipy", "pandas", "pyyaml"}
    assert not names & ({"boto3", "botocore", "maturin", "pytest"} | extras), names


def installed(venv: Path) -> set[str]:
    """The distributions in ``venv``, by normalized name."""
    listed = subprocess.run(
        [venv / "bin" / "python", "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
        env=clean_env(venv),
        timeout=120,
    ).stdout
    return {line.split("==")[0].lower().replace("_", "-") for line in listed.split()}


def test_the_otel_extra_installs_from_the_wheel_and_a_turn_runs_with_it(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    venv = make_venv(tmp_path_factory, "[otel]")
    assert "opentelemetry-api" in installed(venv)
    program = "import opentelemetry.trace\n" + PROGRAM  # (the extra's package is there)
    done = subprocess.run(
        [venv / "bin" / "python", "-c", program],
        capture_output=True,
        text=True,
        env=clean_env(venv),
        cwd=venv,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[2] == "You said: Hi there"


def test_the_sdist_holds_what_a_build_needs() -> None:
    sdist = artifact("FASTCONVERSE_SDIST", "target/sdist/fastconverse-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    # Every source file of the crate and the package, as the repository has them...
    sources = {
        str(path.relative_to(ROOT))
        for top in ("src", "python")
        for path in (ROOT / top).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in {".so", ".pyc"}
    }
    missing = sorted(sources - names)
    assert not missing, f"{sdist.name} lacks {missing[:20]}"
    # ...and what builds them: the manifests, the lock file (the build is --locked), the
    # README (pyproject's readme), the example Cargo.toml declares, the stubs and py.typed.
    needed = {
        "Cargo.toml",
        "Cargo.lock",
        "pyproject.toml",
        "README.md",
        "PKG-INFO",
        "bench/sdk_floor.rs",
        "python/fastconverse/py.typed",
        "python/fastconverse/_core/__init__.pyi",
    }
    assert not needed - names, f"{sdist.name} lacks {sorted(needed - names)}"
    if (ROOT / "LICENSE").exists():
        assert "LICENSE" in names


def test_the_sdist_s_manifest_and_lock_file_load(tmp_path: Path) -> None:
    # cargo reads the unpacked sdist's Cargo.toml (its targets' files must be there) and
    # resolves every dependency from its Cargo.lock alone (--locked), from the local cache.
    sdist = artifact("FASTCONVERSE_SDIST", "target/sdist/fastconverse-*.tar.gz")
    cargo = shutil.which("cargo")
    assert cargo, "cargo is needed to read the sdist's manifest (./dev test has it)"
    with tarfile.open(sdist) as tar:
        # (the "data" filter where this Python has it: 3.12+ warns without one)
        tar.extractall(tmp_path, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    (unpacked,) = tmp_path.iterdir()
    done = subprocess.run(
        [cargo, "metadata", "--format-version", "1", "--locked", "--offline"],
        cwd=unpacked,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


def test_the_readme_builds_the_wheel_as_dev_does() -> None:
    # The install section's commands are ./dev's: the same build flags, the same pins.
    readme = (ROOT / "README.md").read_text()
    dev = " ".join((ROOT / "dev").read_text().replace("\\\n", " ").split())
    build = "build --release --zig --compatibility manylinux2014 --out target/wheels"
    assert build in readme and build in dev
    requirements = (ROOT / "requirements-dev.txt").read_text().splitlines()
    pins = [line for line in requirements if line.startswith(("maturin", "ziglang"))]
    assert len(pins) == 2 and all(f'"{pin}"' in readme for pin in pins), pins
