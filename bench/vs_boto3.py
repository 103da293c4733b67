"""fastconverse against boto3, both talking to the same FakeBedrock, in one run.

Scenarios (full run; `--quick` is a smaller smoke run):

1. stream      one ConverseStream of 200,000 text deltas: client CPU and wall seconds.
2. concurrent  200 streams of 2,000 deltas at once: fastconverse on one asyncio loop,
               boto3 on 200 threads sharing one client (max_pool_connections=200).
3. converse    2,000 sequential non-streaming Converse calls with short messages.
4. startup     import time, client creation time, peak RSS.

Fairness: FakeBedrock runs in its own process (`python -m fastconverse serve --port 0`), and
every measurement runs in a fresh subprocess of this script (`--one SCENARIO --client CLIENT`),
so that the client process's CPU time (`time.process_time()`, all threads) is the client's
alone and the two libraries never share a process. Each measurement first makes one small
warm-up call on the same client (boto3 loads its service model, both open a connection), then
times the work. Every measurement checks its results (event, delta and character counts, reply
texts): a client that drops events fails the run instead of reporting a fast figure.

    .venv/bin/python bench/vs_boto3.py            # full run; rewrites its section of RESULTS.md
    .venv/bin/python bench/vs_boto3.py --quick    # smoke run; prints only
    .venv/bin/python bench/vs_boto3.py --only stream --only converse
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
SECTION = "## fastconverse vs boto3 (issue 3)"
MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
REGION = "us-east-1"
KEY, SECRET = "test", "test"

# Targets: fastconverse's advantage, as boto3's figure over fastconverse's (or the reverse for
# throughputs), so that every ratio reads "fastconverse is Nx better".
TARGET_STREAM_CPU = 10.0
TARGET_CONCURRENT = 5.0
TARGET_CONVERSE = 2.0

STREAM_CLIENTS = ["boto3", "fc-dict", "fc-typed"]
CONCURRENT_CLIENTS = ["boto3", "fc-dict-async", "fc-typed-async", "fc-dict-threads"]
CONVERSE_CLIENTS = ["boto3", "fc-dict", "fc-typed"]
LABELS = {
    "boto3": "boto3 `converse_stream`",
    "fc-dict": 'fastconverse `client.converse_stream(...)["stream"]` (boto3 dicts)',
    "fc-typed": "fastconverse `conv.stream(...)` (typed events)",
    "fc-dict-async": "fastconverse `await converse_stream_async` + `async for`, one loop",
    "fc-typed-async": "fastconverse `async for` over `conv.stream(...)`, one loop",
    "fc-dict-threads": "fastconverse `converse_stream`, one thread per stream (as boto3)",
}
CONVERSE_LABELS = {
    "boto3": "boto3 `converse`",
    "fc-dict": "fastconverse `client.converse(...)` (boto3 dict)",
    "fc-typed": "fastconverse `conv.send(...)` + `conv.reset()` (Reply)",
}


# --------------------------------------------------------------------------------------------
# Inside a measurement subprocess (`--one`)
# --------------------------------------------------------------------------------------------


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": text}]}]


def words(n: int) -> str:
    return " ".join(["w"] * n)


def expected_text(n_words: int) -> str:
    """What FakeBedrock's default model answers to `words(n_words)`."""
    return "You said: " + words(n_words)


def deltas_to_words(deltas: int) -> int:
    # The default model streams one delta per word of "You said: <message>".
    return deltas - 2


def make_client(kind: str, url: str, explicit: bool = True) -> Any:
    creds: dict[str, str] = (
        {"aws_access_key_id": KEY, "aws_secret_access_key": SECRET} if explicit else {}
    )
    if kind == "boto3":
        import boto3
        from botocore.config import Config

        config = Config(
            retries={"mode": "standard", "total_max_attempts": 1},
            read_timeout=300,
            max_pool_connections=200,
        )
        return boto3.client(
            "bedrock-runtime", region_name=REGION, endpoint_url=url, config=config, **creds
        )
    from fastconverse import ConverseClient

    return ConverseClient(MODEL, endpoint_url=url, region_name=REGION, max_attempts=1, **creds)


def peak_rss_mib() -> float:
    """The process's peak resident set (VmHWM).

    Read from /proc rather than `ru_maxrss`, which on Linux carries over the parent's peak
    across exec; falls back to `ru_maxrss` elsewhere.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024 if sys.platform == "darwin" else 1024)


class Tally:
    """Counts a stream's events and deltas, and the characters of its text."""

    __slots__ = ("chars", "deltas", "events")

    def __init__(self) -> None:
        self.events = 0
        self.deltas = 0
        self.chars = 0

    def check(self, n_words: int, what: str) -> None:
        want = (n_words + 2, n_words + 6, len(expected_text(n_words)))
        got = (self.deltas, self.events, self.chars)
        if got != want:
            raise SystemExit(f"{what}: (deltas, events, chars) = {got}, expected {want}")


def tally_dicts(stream: Any, t: Tally) -> None:
    for ev in stream:
        t.events += 1
        d = ev.get("contentBlockDelta")
        if d is not None:
            t.deltas += 1
            t.chars += len(d["delta"]["text"])


async def tally_dicts_async(stream: Any, t: Tally) -> None:
    async for ev in stream:
        t.events += 1
        d = ev.get("contentBlockDelta")
        if d is not None:
            t.deltas += 1
            t.chars += len(d["delta"]["text"])


def tally_typed(stream: Any, t: Tally) -> None:
    from fastconverse import TextDelta

    for ev in stream:
        t.events += 1
        if isinstance(ev, TextDelta):
            t.deltas += 1
            t.chars += len(ev.text)


async def tally_typed_async(stream: Any, t: Tally) -> None:
    from fastconverse import TextDelta

    async for ev in stream:
        t.events += 1
        if isinstance(ev, TextDelta):
            t.deltas += 1
            t.chars += len(ev.text)


def stream_once(kind: str, client: Any, n_words: int) -> Tally:
    t = Tally()
    if kind == "fc-typed":
        conv = client.create_conversation()
        tally_typed(conv.stream(words(n_words)), t)
    else:  # boto3 and fc-dict: the very same code
        response = client.converse_stream(modelId=MODEL, messages=user(words(n_words)))
        tally_dicts(response["stream"], t)
    return t


@contextmanager
def measured(out: dict[str, Any]) -> Iterator[None]:
    cpu0, wall0 = time.process_time(), time.perf_counter()
    yield
    out["wall_s"] = time.perf_counter() - wall0
    out["cpu_s"] = time.process_time() - cpu0


def one_stream(kind: str, url: str, deltas: int) -> dict[str, Any]:
    client = make_client("boto3" if kind == "boto3" else "fc", url)
    stream_once(kind, client, 3).check(3, "warm-up")
    n_words = deltas_to_words(deltas)
    out: dict[str, Any] = {}
    with measured(out):
        t = stream_once(kind, client, n_words)
    t.check(n_words, kind)
    out["events"] = t.events
    return out


def one_concurrent(kind: str, url: str, streams: int, deltas: int) -> dict[str, Any]:
    n_words = deltas_to_words(deltas)
    text = words(n_words)
    out: dict[str, Any] = {}
    tallies: list[Tally] = []
    if kind in ("boto3", "fc-dict-threads"):
        from concurrent.futures import ThreadPoolExecutor

        client = make_client("boto3" if kind == "boto3" else "fc", url)
        stream_once("boto3", client, 3).check(3, "warm-up")

        def run() -> Tally:
            t = Tally()
            response = client.converse_stream(modelId=MODEL, messages=user(text))
            tally_dicts(response["stream"], t)
            return t

        with ThreadPoolExecutor(max_workers=streams) as pool, measured(out):
            tallies = list(pool.map(lambda _: run(), range(streams)))
    else:
        import asyncio

        client = make_client("fc", url)

        async def dicts(message: str) -> Tally:
            t = Tally()
            response = await client.converse_stream_async(modelId=MODEL, messages=user(message))
            await tally_dicts_async(response["stream"], t)
            return t

        async def typed(message: str) -> Tally:
            t = Tally()
            await tally_typed_async(client.create_conversation().stream(message), t)
            return t

        one = dicts if kind == "fc-dict-async" else typed

        async def main() -> None:
            nonlocal tallies
            (await one(words(3))).check(3, "warm-up")
            with measured(out):
                tallies = list(await asyncio.gather(*(one(text) for _ in range(streams))))

        asyncio.run(main())
    if len(tallies) != streams:
        raise SystemExit(f"{kind}: {len(tallies)} of {streams} streams")
    for i, t in enumerate(tallies):
        t.check(n_words, f"{kind} stream {i}")
    out["events"] = sum(t.events for t in tallies)
    return out


def one_converse(kind: str, url: str, calls: int) -> dict[str, Any]:
    client = make_client("boto3" if kind == "boto3" else "fc", url)
    out: dict[str, Any] = {}
    bad = 0
    if kind == "fc-typed":
        conv = client.create_conversation()
        if conv.send("hi").text != "You said: hi":
            raise SystemExit("warm-up reply")
        conv.reset()
        with measured(out):
            for i in range(calls):
                reply = conv.send(f"hello {i}")
                conv.reset()
                bad += reply.text != f"You said: hello {i}"
    else:  # boto3 and fc-dict: the very same code
        warm = client.converse(modelId=MODEL, messages=user("hi"))
        if warm["output"]["message"]["content"][0]["text"] != "You said: hi":
            raise SystemExit("warm-up reply")
        with measured(out):
            for i in range(calls):
                result = client.converse(modelId=MODEL, messages=user(f"hello {i}"))
                text = result["output"]["message"]["content"][0]["text"]
                bad += text != f"You said: hello {i}"
    if bad:
        raise SystemExit(f"{kind}: {bad} of {calls} replies wrong")
    out["calls"] = calls
    return out


def one_create(kind: str, url: str, creations: int, explicit: bool) -> dict[str, Any]:
    """Client creation: the first one in a fresh process (cold), then the median of more."""
    if kind == "boto3":
        import boto3  # noqa: F401
    else:
        import fastconverse  # noqa: F401
    t0 = time.perf_counter()
    client = make_client(kind, url, explicit)
    first = time.perf_counter() - t0
    times = []
    for _ in range(creations):
        t0 = time.perf_counter()
        client = make_client(kind, url, explicit)
        times.append(time.perf_counter() - t0)
    # The last client works (credentials and endpoint resolved), then the process's peak RSS
    # shows import + clients + one call.
    result = client.converse(modelId=MODEL, messages=user("hi"))
    if result["output"]["message"]["content"][0]["text"] != "You said: hi":
        raise SystemExit("reply")
    return {"first_s": first, "median_s": statistics.median(times)}


def run_one(args: argparse.Namespace) -> int:
    if args.one == "stream":
        out = one_stream(args.client, args.url, args.deltas)
    elif args.one == "concurrent":
        out = one_concurrent(args.client, args.url, args.streams, args.deltas)
    elif args.one == "converse":
        out = one_converse(args.client, args.url, args.calls)
    elif args.one == "create":
        out = one_create(args.client, args.url, args.creations, not args.env_credentials)
    else:
        raise SystemExit(f"unknown scenario {args.one}")
    out["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(out), flush=True)
    return 0


# --------------------------------------------------------------------------------------------
# The orchestrator: server process, measurement subprocesses, tables
# --------------------------------------------------------------------------------------------


def proc_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def child_env(env_credentials: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTHONPATH"}
    # Nothing from this machine's AWS set-up: no profile files, no instance metadata.
    env["AWS_CONFIG_FILE"] = os.devnull
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    if env_credentials:
        env["AWS_ACCESS_KEY_ID"] = KEY
        env["AWS_SECRET_ACCESS_KEY"] = SECRET
    return env


class Server:
    """`python -m fastconverse serve --port 0` in its own process."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fastconverse", "serve", "--port", "0"],
            stdout=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = re.search(r"http://[\d.]+:\d+", line)
        if not match:
            self.close()
            raise SystemExit(f"FakeBedrock did not start: {line!r}")
        self.url = match.group(0)

    def cpu(self) -> float:
        return proc_cpu_seconds(self.proc.pid)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def measure(
    server: Server, scenario: str, client: str, *extra: str, env_credentials: bool = False
) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--one", scenario, "--client", client, "--url", server.url]
    cmd += extra
    if env_credentials:
        cmd.append("--env-credentials")
    cpu0, busy0, child0 = server.cpu(), machine_busy_seconds(), children_cpu_seconds()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env(env_credentials))
    server_cpu = server.cpu() - cpu0
    # CPU that neither the client process nor FakeBedrock used: other processes competing
    # for the cores. Large values mean the figures of this run are not to be trusted.
    other_cpu = machine_busy_seconds() - busy0 - (children_cpu_seconds() - child0) - server_cpu
    if proc.returncode != 0:
        raise SystemExit(
            f"{scenario}/{client} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
        )
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["server_cpu_s"] = server_cpu
    out["other_cpu_s"] = max(0.0, other_cpu)
    print(f"  {scenario:<10} {client:<16} {_brief(out)}", flush=True)
    return out


def _brief(out: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in out.items())


def repeat(
    server: Server, scenario: str, clients: list[str], reps: int, *extra: str
) -> dict[str, list[dict[str, Any]]]:
    """Runs every client `reps` times, interleaved so that drift affects all alike."""
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in clients}
    for _ in range(reps):
        for c in clients:
            runs[c].append(measure(server, scenario, c, *extra))
    return runs


def med(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def spread(runs: list[dict[str, Any]], key: str, fmt: str) -> str:
    values = [r[key] for r in runs]
    if len(values) == 1:
        return format(values[0], fmt)
    low, high = format(min(values), fmt), format(max(values), fmt)
    return f"{format(statistics.median(values), fmt)} ({low}-{high})"


def passed(ratio: float, target: float) -> str:
    return "pass" if ratio >= target else "FAIL"


def verdict(ratio: float, target: float) -> str:
    return f"**{passed(ratio, target)}** (≥ {target:g}x)"


def cmd_line(args: argparse.Namespace, only: str) -> str:
    parts = [".venv/bin/python bench/vs_boto3.py", f"--only {only}"]
    if args.quick:
        parts.append("--quick")
    return "`" + " ".join(parts) + "`"


def footer(runs: dict[str, list[dict[str, Any]]], clients: list[str]) -> list[str]:
    server = ", ".join(f"{c} {med(runs[c], 'server_cpu_s'):.2f}" for c in clients)
    other = [r["other_cpu_s"] for c in clients for r in runs[c]]
    return [
        "",
        f"FakeBedrock CPU per run, median (s): {server}. CPU used outside the client and "
        f"FakeBedrock processes during a run (other processes, interrupts): median "
        f"{statistics.median(other):.2f} s, at most {max(other):.2f} s.",
        "",
    ]


def scenario_stream(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    deltas = args.stream_deltas
    print(f"1. one stream of {deltas:,} deltas", flush=True)
    with Server() as server:
        runs = repeat(server, "stream", STREAM_CLIENTS, args.reps, "--deltas", str(deltas))
    events = runs["boto3"][0]["events"]
    b_cpu = med(runs["boto3"], "cpu_s")
    lines = [
        f"### 1. One stream of {deltas:,} text deltas ({events:,} events)",
        "",
        f"Reproduce: {cmd_line(args, 'stream')}. Median of {args.reps} runs each, in fresh "
        "processes (range in brackets). Client CPU = `time.process_time()` of the client "
        "process (all threads) over the iteration; the loop touches the text of every delta.",
        "",
        "| client | client CPU s | µs CPU / event | wall s | events / s (wall) | peak RSS MiB "
        "| boto3 CPU ÷ this CPU | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    summary = []
    for c in STREAM_CLIENTS:
        r = runs[c]
        cpu = med(r, "cpu_s")
        ratio = b_cpu / cpu
        target = "" if c == "boto3" else verdict(ratio, TARGET_STREAM_CPU)
        lines.append(
            f"| {LABELS[c]} | {spread(r, 'cpu_s', '.3f')} | {cpu / events * 1e6:.2f} "
            f"| {spread(r, 'wall_s', '.3f')} | {events / med(r, 'wall_s'):,.0f} "
            f"| {med(r, 'peak_rss_mib'):.0f} | {ratio:.1f}x | {target} |"
        )
        if c != "boto3":
            summary.append(
                f"stream CPU, {c}: {cpu:.3f}s vs boto3 {b_cpu:.3f}s = {ratio:.1f}x "
                f"({passed(ratio, TARGET_STREAM_CPU)}, target ≥{TARGET_STREAM_CPU:g}x)"
            )
    args.stream_rss = {c: med(runs[c], "peak_rss_mib") for c in STREAM_CLIENTS}
    lines += footer(runs, STREAM_CLIENTS)
    return lines, summary


def scenario_concurrent(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    streams, deltas = args.streams, args.concurrent_deltas
    print(f"2. {streams} concurrent streams of {deltas:,} deltas", flush=True)
    extra = ("--streams", str(streams), "--deltas", str(deltas))
    with Server() as server:
        runs = repeat(server, "concurrent", CONCURRENT_CLIENTS, args.reps, *extra)
    events = runs["boto3"][0]["events"]
    b_rate = events / med(runs["boto3"], "wall_s")
    lines = [
        f"### 2. {streams} concurrent streams of {deltas:,} deltas ({events:,} events in all)",
        "",
        f"Reproduce: {cmd_line(args, 'concurrent')}. Median of {args.reps} runs each. "
        f"boto3: one client (`max_pool_connections={streams}`) shared by a pool of {streams} "
        f"threads; fastconverse async: all {streams} streams gathered on one asyncio loop. "
        "Every stream's event, delta and character counts are checked.",
        "",
        "| client | wall s | events / s (wall) | client CPU s | peak RSS MiB "
        "| throughput ÷ boto3 | target |",
        "|---|---|---|---|---|---|---|",
    ]
    summary = []
    for c in CONCURRENT_CLIENTS:
        r = runs[c]
        rate = events / med(r, "wall_s")
        ratio = rate / b_rate
        target = "" if c == "boto3" else verdict(ratio, TARGET_CONCURRENT)
        if c == "fc-dict-threads":
            target = "(for comparison)"
        lines.append(
            f"| {LABELS[c]} | {spread(r, 'wall_s', '.2f')} | {rate:,.0f} "
            f"| {spread(r, 'cpu_s', '.2f')} | {med(r, 'peak_rss_mib'):.0f} | {ratio:.1f}x "
            f"| {target} |"
        )
        if c in ("fc-dict-async", "fc-typed-async"):
            summary.append(
                f"concurrent throughput, {c}: {rate:,.0f} vs boto3 {b_rate:,.0f} events/s = "
                f"{ratio:.1f}x ({passed(ratio, TARGET_CONCURRENT)}, "
                f"target ≥{TARGET_CONCURRENT:g}x)"
            )
    lines += footer(runs, CONCURRENT_CLIENTS)
    return lines, summary


def scenario_converse(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    calls = args.calls
    print(f"3. {calls:,} sequential converse calls", flush=True)
    with Server() as server:
        runs = repeat(server, "converse", CONVERSE_CLIENTS, args.reps, "--calls", str(calls))
    b_rate = calls / med(runs["boto3"], "wall_s")
    lines = [
        f"### 3. {calls:,} sequential `converse` calls (short messages)",
        "",
        f"Reproduce: {cmd_line(args, 'converse')}. Median of {args.reps} runs each; one "
        "keep-alive connection; every reply's text is checked.",
        "",
        "| client | wall s | calls / s | client CPU s | µs CPU / call | peak RSS MiB "
        "| calls/s ÷ boto3 | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    summary = []
    for c in CONVERSE_CLIENTS:
        r = runs[c]
        rate = calls / med(r, "wall_s")
        ratio = rate / b_rate
        target = "" if c == "boto3" else verdict(ratio, TARGET_CONVERSE)
        lines.append(
            f"| {CONVERSE_LABELS[c]} | {spread(r, 'wall_s', '.2f')} | {rate:,.0f} "
            f"| {spread(r, 'cpu_s', '.2f')} | {med(r, 'cpu_s') / calls * 1e6:.0f} "
            f"| {med(r, 'peak_rss_mib'):.0f} | {ratio:.1f}x | {target} |"
        )
        if c != "boto3":
            summary.append(
                f"converse calls/s, {c}: {rate:,.0f} vs boto3 {b_rate:,.0f} = {ratio:.1f}x "
                f"({passed(ratio, TARGET_CONVERSE)}, target ≥{TARGET_CONVERSE:g}x)"
            )
    lines += footer(runs, CONVERSE_CLIENTS)
    return lines, summary


def import_seconds(module: str, n: int) -> list[float]:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    whole = []
    inner = []
    for i in range(n + 1):  # the first run warms the page cache and the .pyc files
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=child_env()
        )
        elapsed = time.perf_counter() - t0
        if out.returncode != 0:
            raise SystemExit(out.stderr)
        if i:
            whole.append(elapsed)
            inner.append(float(out.stdout))
    return [statistics.median(inner), statistics.median(whole)]


ONE_CALL = {
    "sys": "",
    "boto3": (
        "import boto3\n"
        "c = boto3.client('bedrock-runtime', region_name={region!r}, endpoint_url={url!r}, "
        "aws_access_key_id='k', aws_secret_access_key='s')\n"
        "r = c.converse(modelId='m', "
        "messages=[{{'role': 'user', 'content': [{{'text': 'hi'}}]}}])\n"
    ),
    "fastconverse": (
        "import fastconverse\n"
        "c = fastconverse.ConverseClient('m', region_name={region!r}, endpoint_url={url!r}, "
        "aws_access_key_id='k', aws_secret_access_key='s')\n"
        "r = c.converse(messages=[{{'role': 'user', 'content': [{{'text': 'hi'}}]}}])\n"
    ),
}


def one_call_rss_mib(kind: str, url: str, n: int) -> float:
    """Peak RSS (VmHWM) of a bare `python -c` that imports `kind`, creates one client and
    makes one call (nothing else loaded: no harness), median of `n` fresh processes."""
    code = ONE_CALL[kind].format(region=REGION, url=url) + (
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
    )
    peaks = []
    for _ in range(n):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=child_env()
        )
        if out.returncode != 0:
            raise SystemExit(out.stderr)
        peaks.append(int(out.stdout) / 1024)
    return statistics.median(peaks)


def scenario_startup(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    n, creations = args.import_runs, args.creations
    print(f"4. import ({n} runs), client creation ({creations}), RSS", flush=True)
    baseline = import_seconds("sys", n)[1]
    imports = {"boto3": import_seconds("boto3", n), "fc": import_seconds("fastconverse", n)}
    extra = ("--creations", str(creations))
    with Server() as server:
        create = {k: measure(server, "create", k, *extra) for k in ("boto3", "fc")}
        create_env = {
            k: measure(server, "create", k, *extra, env_credentials=True) for k in ("boto3", "fc")
        }
        one_call = {k: one_call_rss_mib(k, server.url, 5) for k in ONE_CALL}
    b, f = "boto3", "fc"
    lines = [
        "### 4. Start-up and memory",
        "",
        f"Reproduce: {cmd_line(args, 'startup')}. Import: `import X` timed inside "
        f"`python -c` in fresh processes, median of {n} (after one warm-up run); the whole "
        f'`python -c "import X"` process is shown too (bare `python -c` takes '
        f"{baseline * 1000:.0f} ms). Creation: the first client in a fresh process after the "
        f"import, then the median of {creations} more in that process; with explicit "
        "credentials and region, and again with the default credential chain finding them in "
        "environment variables (no profile files, instance metadata disabled). Peak RSS: "
        "VmHWM of a bare `python -c` that imports, creates one client and makes one call "
        f"(median of 5; the bare interpreter peaks at {one_call['sys']:.1f} MiB); of the "
        "measuring process (this harness, import, the clients, one call); and, when scenario "
        "1 ran, of its process.",
        "",
        "| measure | fastconverse | boto3 | boto3 ÷ fastconverse |",
        "|---|---|---|---|",
    ]

    def row(name: str, fv: float, bv: float, unit: str, scale: float, fmt: str) -> None:
        lines.append(
            f"| {name} | {format(fv * scale, fmt)} {unit} | {format(bv * scale, fmt)} {unit} "
            f"| {bv / fv:.1f}x |"
        )

    row("`import` (in-process)", imports[f][0], imports[b][0], "ms", 1000, ".1f")
    row('`python -c "import X"` (whole process)', imports[f][1], imports[b][1], "ms", 1000, ".0f")
    row(
        "first client, explicit credentials",
        create[f]["first_s"],
        create[b]["first_s"],
        "ms",
        1000,
        ".2f",
    )
    row(
        f"next clients (median of {creations}), explicit credentials",
        create[f]["median_s"],
        create[b]["median_s"],
        "ms",
        1000,
        ".3f",
    )
    row(
        "first client, credentials from the environment",
        create_env[f]["first_s"],
        create_env[b]["first_s"],
        "ms",
        1000,
        ".2f",
    )
    row(
        f"next clients (median of {creations}), credentials from the environment",
        create_env[f]["median_s"],
        create_env[b]["median_s"],
        "ms",
        1000,
        ".3f",
    )
    row(
        "peak RSS: `python -c` with import, one client, one call",
        one_call["fastconverse"],
        one_call["boto3"],
        "MiB",
        1,
        ".1f",
    )
    row(
        f"peak RSS: harness + import + {creations + 1} clients + one call",
        create[f]["peak_rss_mib"],
        create[b]["peak_rss_mib"],
        "MiB",
        1,
        ".0f",
    )
    rss = getattr(args, "stream_rss", None)
    if rss:
        row(
            f"peak RSS: scenario 1 ({args.stream_deltas:,} deltas, boto3 dicts)",
            rss["fc-dict"],
            rss["boto3"],
            "MiB",
            1,
            ".0f",
        )
    lines.append("")
    summary = [
        f"import: fastconverse {imports[f][0] * 1000:.1f} ms "
        f"vs boto3 {imports[b][0] * 1000:.1f} ms",
        f"client creation (first / next): fastconverse {create[f]['first_s'] * 1000:.2f} / "
        f"{create[f]['median_s'] * 1000:.3f} ms vs boto3 {create[b]['first_s'] * 1000:.2f} / "
        f"{create[b]['median_s'] * 1000:.3f} ms",
        f"peak RSS (python -c, one client, one call): fastconverse "
        f"{one_call['fastconverse']:.1f} MiB vs boto3 {one_call['boto3']:.1f} MiB "
        f"(bare python {one_call['sys']:.1f} MiB)",
        f"peak RSS (harness + import + clients + call): fastconverse "
        f"{create[f]['peak_rss_mib']:.0f} MiB vs boto3 {create[b]['peak_rss_mib']:.0f} MiB",
    ]
    return lines, summary


SCENARIOS = {
    "stream": scenario_stream,
    "concurrent": scenario_concurrent,
    "converse": scenario_converse,
    "startup": scenario_startup,
}


def git_revision() -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=HERE,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def load_average() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def versions() -> str:
    code = (
        "import boto3, botocore, fastconverse, platform; "
        "print(fastconverse.__version__, boto3.__version__, botocore.__version__, "
        "platform.python_version(), fastconverse.__file__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=child_env()
    )
    fc, b3, bc, py, where = out.stdout.split()
    source = (HERE.parent / "python").resolve()
    build = (
        "editable `maturin develop` build"
        if Path(where).resolve().is_relative_to(source)
        else "installed wheel"
    )
    return f"fastconverse {fc} ({build}), boto3 {b3} / botocore {bc}, CPython {py}"


NOTES = "### Notes"


def run_fresh(script: str, kind: str, turns: int) -> dict[str, Any]:
    """One measurement of a benchmark `script` that serves its own scripted FakeBedrock
    (``--serve KIND``) and measures a client (``--one KIND --url URL``), each in a fresh
    process: the client's JSON line, also printed in brief."""
    server = subprocess.Popen(
        [sys.executable, script, "--serve", kind, "--turns", str(turns)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        if not re.match(r"http://[\d.]+:\d+", url):
            raise SystemExit(f"FakeBedrock did not start: {url!r}")
        cmd = [sys.executable, script, "--one", kind, "--url", url, "--turns", str(turns)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env())
        if proc.returncode != 0:
            raise SystemExit(f"{kind} failed:\n{proc.stdout}{proc.stderr}")
        out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        server.communicate("", timeout=30)
    print(f"  {kind:<10} " + ", ".join(f"{k}={v:.4g}" for k, v in out.items()), flush=True)
    return out


def report(lines: list[str], section: str, no_write: bool) -> None:
    """Prints a benchmark's section and, unless `no_write`, puts it in RESULTS.md."""
    print("\n".join(lines))
    if not no_write:
        write_section(lines, section)
        print(f"\nwrote {RESULTS}")


def write_section(body: list[str], section: str = SECTION) -> None:
    """Replaces a benchmark's section of RESULTS.md, keeping its hand-written notes."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    start = text.find(section)
    new = "\n".join(body).rstrip("\n") + "\n"
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + new
    else:
        end = text.find("\n## ", start + len(section))
        old = text[start:] if end < 0 else text[start : end + 1]
        notes = old.find(NOTES)
        if notes >= 0:
            new += "\n" + old[notes:].rstrip("\n") + "\n"
        rest = "" if end < 0 else "\n" + text[end + 1 :]
        text = text[:start] + new + rest
    RESULTS.write_text(text.rstrip("\n") + "\n")


def run_all(args: argparse.Namespace) -> int:
    chosen = args.only or list(SCENARIOS)
    load_before = load_average()
    print(f"load average before: {load_before}", flush=True)
    t0 = time.perf_counter()
    body: list[str] = []
    summary: list[str] = []
    for name in chosen:
        lines, s = SCENARIOS[name](args)
        body += lines
        summary += s
    elapsed = time.perf_counter() - t0
    quick = " --quick" if args.quick else ""
    header = [
        SECTION,
        "",
        f"{versions()}, revision `{git_revision()}`; {os.cpu_count()} cores "
        f"({platform.machine()}); load average (1/5/15 min) {load_before} before the run; "
        f"whole run {elapsed:.0f} s. FakeBedrock runs in its own process; every client "
        "measurement runs in a fresh process of `bench/vs_boto3.py --one …`, after one warm-up "
        "call on the same client. boto3: `Config(retries={'mode': 'standard', "
        "'total_max_attempts': 1}, read_timeout=300, max_pool_connections=200)`, plain "
        "credentials; fastconverse: `max_attempts=1`. Every run checks its event, delta and "
        "character counts (or reply texts), so a client that loses events fails the run. "
        "Ratios read 'fastconverse is N x better'.",
        "",
        f"Reproduce all: `.venv/bin/python bench/vs_boto3.py{quick}` (or `./dev bench vs_boto3`, "
        "which first builds and installs the release wheel).",
        "",
    ]
    text = header + body
    print()
    print("\n".join(text))
    print("Summary:")
    for s in summary:
        print("  " + s)
    load_after = load_average()
    print(f"load average after: {load_after}")
    write = args.write if args.write is not None else not args.quick and not args.only
    if write:
        write_section(text)
        print(f"wrote {RESULTS}")
    return 1 if any("FAIL" in s for s in summary) else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small smoke run (prints only)")
    p.add_argument("--only", action="append", choices=list(SCENARIOS), help="repeatable")
    p.add_argument("--reps", type=int, help="runs per client and scenario (default 5, quick 1)")
    w = p.add_mutually_exclusive_group()
    w.add_argument("--write", dest="write", action="store_true", default=None)
    w.add_argument("--no-write", dest="write", action="store_false")
    # One measurement, in a subprocess of the orchestrator.
    p.add_argument("--one", help=argparse.SUPPRESS)
    p.add_argument("--client", help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--deltas", type=int, help=argparse.SUPPRESS)
    p.add_argument("--streams", type=int, help=argparse.SUPPRESS)
    p.add_argument("--calls", type=int, help=argparse.SUPPRESS)
    p.add_argument("--creations", type=int, help=argparse.SUPPRESS)
    p.add_argument("--env-credentials", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        return run_one(args)
    q = args.quick
    args.reps = args.reps or (1 if q else 5)
    args.stream_deltas = 20_000 if q else 200_000
    args.streams = 20 if q else 200
    args.concurrent_deltas = 500 if q else 2_000
    args.calls = 200 if q else 2_000
    args.import_runs = 3 if q else 5
    args.creations = 10 if q else 50
    return run_all(args)


if __name__ == "__main__":
    raise SystemExit(main())
