"""Many users at once: N streams paced like a real model, in one process (issue 13).

FakeBedrock runs in its own process (`--serve`), told over stdin to queue each run's turns:
one warm-up turn, then N turns of D text deltas `--delay` s apart. Each measurement runs in a
fresh process (`--one CLIENT`) after one warm-up stream on the same client:

- `fc-paced`    fastconverse: N streams on ONE asyncio loop, each an `async for` over
                `client.create_conversation().stream(...)` (typed events), one ConverseClient.
- `fc-unpaced`  the same without delays: the CPU per event to compare the paced figure with.
- `boto3`       one boto3 client (`max_pool_connections=N`), N threads started first (off the
                clock), each `converse_stream` + iterating, as far as it gets in `--budget` s;
                when not all complete, again with `--fallback` streams (a row that completes).

Measured from the start of the streams to their end: wall and client CPU s
(`time.process_time()`, all threads), µs CPU per event, FakeBedrock's CPU, peak RSS (VmHWM),
and memory per open stream: a sampler (a task on the loop; a thread for boto3) reads VmRSS
every 50 ms with the number of streams open (first event in, last not yet); the sample with
the most open gives (its RSS - the RSS just before the streams start) / open. Every stream's
event, delta and character counts are checked. Open-file limits are raised when too low.

    .venv/bin/python bench/many_streams.py            # 10,000 streams; rewrites its section
    .venv/bin/python bench/many_streams.py --quick    # 300 streams of 20 deltas; prints only
    .venv/bin/python bench/many_streams.py --streams 1000 --only fc-paced --no-write
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import vs_boto3 as vs  # noqa: E402

SECTION = "## 10,000 paced streams in one process (issue 13)"
CLIENTS = ["fc-paced", "fc-unpaced", "boto3"]
LABELS = {
    "fc-paced": "fastconverse, paced, one asyncio loop",
    "fc-unpaced": "fastconverse, unpaced, one asyncio loop",
    "boto3": "boto3, paced, one thread per stream",
    "boto3-small": "boto3, paced, one thread per stream (fewer streams)",
}
TARGET_KIB = 50.0
PASS = {True: "**pass**", False: "**FAIL**"}
SAMPLE_S = 0.05
CREDS = {"aws_access_key_id": vs.KEY, "aws_secret_access_key": vs.SECRET}
FC: dict[str, Any] = {"region_name": vs.REGION, "max_attempts": 1, **CREDS}
FC.update(connect_timeout=60.0, read_timeout=300.0)


def rss_kib() -> int:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:", 1)[1].split()[0])


def raise_fd_limit(needed: int) -> str:
    """Raises the soft open-file limit to `needed` (at most the hard limit); says what it did."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return f"{soft} (enough)"
    new = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
    resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    short = " = the hard limit, fewer than needed" if new < needed else ""
    return f"raised {soft} -> {new}{short}"


# --- The server (`--serve`) and the measurements (`--one`), each in its own process ---


def serve(args: argparse.Namespace) -> int:
    """FakeBedrock; stdin: `enqueue COUNT DELTAS DELAY` or `pending`; one JSON line answers."""
    from fastconverse.testing import FakeBedrock

    nofile = raise_fd_limit(args.streams + 1024)
    fake = FakeBedrock()
    print(json.dumps({"url": fake.url, "nofile": nofile}), flush=True)
    for line in sys.stdin:
        command = line.split()
        if command and command[0] == "enqueue":
            count, deltas, delay = int(command[1]), int(command[2]), float(command[3])
            fake.reset()
            fake.enqueue_text(vs.expected_text(3))  # the warm-up stream's
            text = vs.expected_text(vs.deltas_to_words(deltas))
            for _ in range(count):
                fake.enqueue_text(text, delta_delay=delay)
        print(json.dumps({"pending": fake.pending}), flush=True)
    fake.close()
    return 0


class Progress:
    """Streams open now and at most, failures, and the RSS samples of one run."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open = self.max_open = self.failures = 0
        self.error = ""
        self.samples: list[tuple[int, int]] = []  # (VmRSS KiB, streams open)
        self.base_kib = rss_kib()

    def opened(self) -> None:
        with self.lock:
            self.open += 1
            self.max_open = max(self.max_open, self.open)

    def ended(self) -> None:
        with self.lock:
            self.open -= 1

    def failed(self, error: BaseException) -> None:
        with self.lock:
            self.failures += 1
            self.error = self.error or f"{type(error).__name__}: {error}"[:300]

    def sample(self) -> None:
        self.samples.append((rss_kib(), self.open))


def report(out: dict[str, Any], p: Progress, tallies: list[vs.Tally], n_words: int) -> None:
    want = (n_words + 2, n_words + 6, len(vs.expected_text(n_words)))
    out["complete"] = sum((t.deltas, t.events, t.chars) == want for t in tallies)
    out["events"] = sum(t.events for t in tallies)
    out["max_open"], out["failures"], out["error"] = p.max_open, p.failures, p.error
    rss, n_open = max(p.samples, key=lambda s: (s[1], s[0]), default=(0, 0))
    out["sampled_open"] = n_open
    out["per_stream_kib"] = (rss - p.base_kib) / n_open if n_open else None
    out["peak_rss_mib"] = vs.peak_rss_mib()
    out["per_stream_peak_kib"] = (out["peak_rss_mib"] * 1024 - p.base_kib) / len(tallies)
    out["base_rss_mib"] = p.base_kib / 1024


def one_fc(args: argparse.Namespace, out: dict[str, Any]) -> None:
    import asyncio

    from fastconverse import ConverseClient, TextDelta

    conversations = args.max_conversations or args.streams
    client = ConverseClient(vs.MODEL, endpoint_url=args.url, max_conversations=conversations, **FC)
    n_words = vs.deltas_to_words(args.deltas)
    text = vs.words(n_words)
    tallies: list[vs.Tally] = []

    async def one(p: Progress, t: vs.Tally) -> None:
        try:
            async for ev in client.create_conversation().stream(text):
                if not t.events:
                    p.opened()
                t.events += 1
                if isinstance(ev, TextDelta):
                    t.deltas += 1
                    t.chars += len(ev.text)
        except Exception as error:
            p.failed(error)
        finally:
            if t.events:
                p.ended()

    async def sampler(p: Progress) -> None:
        while True:
            p.sample()
            await asyncio.sleep(SAMPLE_S)

    async def main() -> Progress:
        warm = vs.Tally()
        await vs.tally_typed_async(client.create_conversation().stream(vs.words(3)), warm)
        warm.check(3, "warm-up")
        gc.collect()
        p = Progress()  # the RSS just before the streams start
        sampling = asyncio.ensure_future(sampler(p))
        with vs.measured(out):
            tallies.extend(vs.Tally() for _ in range(args.streams))
            tasks = [asyncio.ensure_future(one(p, t)) for t in tallies]
            _, pending = await asyncio.wait(tasks, timeout=args.budget)
        p.sample()
        sampling.cancel()
        out["timed_out"] = len(pending)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, sampling, return_exceptions=True)
        return p

    report(out, asyncio.run(main()), tallies, n_words)


def one_boto3(args: argparse.Namespace, out: dict[str, Any]) -> None:
    from concurrent.futures import Future, ThreadPoolExecutor, wait

    import boto3
    from botocore.config import Config

    n, retries = args.streams, {"mode": "standard", "total_max_attempts": 1}
    config = Config(retries=retries, connect_timeout=60, read_timeout=300, max_pool_connections=n)
    client = boto3.client(
        "bedrock-runtime", region_name=vs.REGION, endpoint_url=args.url, config=config, **CREDS
    )
    vs.stream_once("boto3", client, 3).check(3, "warm-up")
    gc.collect()
    n_words = vs.deltas_to_words(args.deltas)
    messages = vs.user(vs.words(n_words))
    p = Progress()  # the RSS before the threads start: their stacks count
    go, stop = threading.Event(), threading.Event()

    def one(t: vs.Tally) -> None:
        go.wait()
        try:
            for ev in client.converse_stream(modelId=vs.MODEL, messages=messages)["stream"]:
                if not t.events:
                    p.opened()
                t.events += 1
                d = ev.get("contentBlockDelta")
                if d is not None:
                    t.deltas += 1
                    t.chars += len(d["delta"]["text"])
        except Exception as error:
            p.failed(error)
        finally:
            if t.events:
                p.ended()

    def sampler() -> None:
        while not stop.wait(SAMPLE_S):
            p.sample()

    # The threads start first, waiting for `go`: the clock runs from there.
    tallies = [vs.Tally() for _ in range(args.streams)]
    futures: list[Future[None]] = []
    pool = ThreadPoolExecutor(max_workers=args.streams)
    t0 = time.perf_counter()
    try:
        futures += (pool.submit(one, t) for t in tallies)  # (kept up to a failure)
    except Exception as error:  # thread creation: RuntimeError, MemoryError
        p.failed(error)
    out["threads"], out["threads_start_s"] = len(futures), time.perf_counter() - t0
    threading.Thread(target=sampler, daemon=True).start()
    with vs.measured(out):
        go.set()
        _, pending = wait(futures, timeout=args.budget)
    p.sample()
    stop.set()
    out["timed_out"] = len(pending)
    report(out, p, tallies, n_words)


def run_one(args: argparse.Namespace) -> int:
    out: dict[str, Any] = {"streams": args.streams, "nofile": raise_fd_limit(args.streams + 1024)}
    (one_boto3 if args.one.startswith("boto3") else one_fc)(args, out)
    print(json.dumps(out), flush=True)
    os._exit(0)  # (threads still streaming past the budget must not hold the exit)


# --- The orchestrator ---


class PacedServer(vs.Server):
    """This script's `--serve` in its own process; queues the turns of each run."""

    def __init__(self, streams: int) -> None:
        cmd = [sys.executable, __file__, "--serve", "--streams", str(streams)]
        pipe, env = subprocess.PIPE, vs.child_env()
        self.proc = subprocess.Popen(cmd, stdin=pipe, stdout=pipe, text=True, env=env)
        hello = self.ask("")
        self.url, self.nofile = hello["url"], hello["nofile"]

    def ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if command:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("the FakeBedrock process ended")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def __enter__(self) -> PacedServer:
        return self

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def measure(
    server: PacedServer, row: str, streams: int, args: argparse.Namespace
) -> dict[str, Any]:
    delay = 0.0 if row == "fc-unpaced" else args.delay
    server.ask(f"enqueue {streams} {args.deltas} {delay}")
    cmd = [sys.executable, __file__, "--one", row, "--url", server.url, "--streams", str(streams)]
    cmd += ["--deltas", str(args.deltas), "--budget", str(args.budget)]
    if args.max_conversations:
        cmd += ["--max-conversations", str(args.max_conversations)]
    cpu0, busy0, child0 = server.cpu(), vs.machine_busy_seconds(), vs.children_cpu_seconds()
    out: dict[str, Any] = {"streams": streams, "complete": 0}
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=vs.child_env(), timeout=args.budget + 120
        )
        lines = proc.stdout.strip().splitlines()
        if proc.returncode == 0 and lines:
            out = json.loads(lines[-1])
        else:
            out["error"] = f"exit {proc.returncode}: {(proc.stderr or proc.stdout)[-300:]}"
    except subprocess.TimeoutExpired:
        out["error"] = f"killed after {args.budget + 120} s"
    out["server_cpu_s"] = server.cpu() - cpu0
    child = vs.children_cpu_seconds() - child0
    out["other_cpu_s"] = max(0.0, vs.machine_busy_seconds() - busy0 - child - out["server_cpu_s"])
    out["turns_left"] = server.ask("pending")["pending"]
    if out.get("cpu_s") and out.get("events"):
        out["us_per_event"] = out["cpu_s"] / out["events"] * 1e6
    print(f"  {row:<12} {vs._brief(out)}", flush=True)
    return out


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Numbers: the median over the runs; `complete`: the fewest; the rest: the first run's."""
    out = dict(runs[0])
    for key, value in runs[0].items():
        values = [r.get(key) for r in runs]
        if isinstance(value, (int, float)) and all(isinstance(v, (int, float)) for v in values):
            out[key] = statistics.median(v for v in values if v is not None)
    out["complete"] = min(r.get("complete", 0) for r in runs)
    out["error"] = next((r["error"] for r in runs if r.get("error")), "")
    return out


def num(r: dict[str, Any], key: str, spec: str) -> str:
    value = r.get(key)
    return "n/a" if value is None else format(value, spec)


def table(rows: dict[str, dict[str, Any]], args: argparse.Namespace) -> tuple[list[str], bool]:
    lines = [
        "| client | streams | complete | most open at once | wall s | client CPU s "
        "| µs CPU / event | FakeBedrock CPU s | other CPU s | peak RSS MiB "
        "| KiB / open stream (open then) | KiB / stream (peak RSS) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for row, r in rows.items():
        lines.append(
            f"| {LABELS[row]} | {r['streams']:,} | {r['complete']:,} "
            f"| {num(r, 'max_open', ',')} | {num(r, 'wall_s', '.2f')} | {num(r, 'cpu_s', '.2f')} "
            f"| {num(r, 'us_per_event', '.2f')} | {num(r, 'server_cpu_s', '.2f')} "
            f"| {num(r, 'other_cpu_s', '.2f')} | {num(r, 'peak_rss_mib', '.0f')} "
            f"| {num(r, 'per_stream_kib', '.1f')} ({num(r, 'sampled_open', ',')}) "
            f"| {num(r, 'per_stream_peak_kib', '.1f')} |"
        )
        note = []
        if "threads" in r:
            note.append(f"{r['threads']:,} threads started in {r['threads_start_s']:.2f} s")
        if r.get("error") or r.get("timed_out") or r.get("turns_left"):
            note.append(
                f"{r.get('failures', 0)} failed, {r.get('timed_out', 0)} unfinished after "
                f"{args.budget:g} s, {r.get('turns_left', 0)} scripted turns never asked "
                f"for; first error: `{r.get('error') or 'none'}`"
            )
        notes += [f"- {LABELS[row]}: {'; '.join(note)}."] if note else []
    lines += ["", *notes] if notes else []
    checks = []  # (the verdicts)
    for row in ("fc-paced", "fc-unpaced"):
        if row in rows:
            r = rows[row]
            good = r["complete"] == r["streams"]
            checks.append(f"all complete, {LABELS[row]}: {r['complete']:,} of {r['streams']:,}")
            checks[-1] += f": {PASS[good]}"
    paced, unpaced = rows.get("fc-paced", {}), rows.get("fc-unpaced", {})
    if paced.get("us_per_event") and unpaced.get("us_per_event"):
        x, y = paced["us_per_event"], unpaced["us_per_event"]
        checks.append(f"CPU per event, paced {x:.2f} µs, unpaced {y:.2f} µs: paced {x / y:.2f}x")
        checks[-1] += f" unpaced: {PASS[x <= y]} (no worse than unpaced)"
    if paced.get("per_stream_kib") is not None:
        kib, n_open, n = paced["per_stream_kib"], paced["sampled_open"], paced["streams"]
        good = kib < TARGET_KIB and n_open == n
        checks.append(f"memory per open stream, paced: {kib:.1f} KiB with {n_open:,} of {n:,}")
        checks[-1] += f" open: {PASS[good]} (< {TARGET_KIB:g} KiB, all open)"
    lines += ["", *(f"- {c}" for c in checks)]
    return lines, not any("FAIL" in c for c in checks)


def run_all(args: argparse.Namespace) -> int:
    load_before = vs.load_average()
    print(f"load average before: {load_before}", flush=True)
    runs: dict[str, list[dict[str, Any]]] = {}
    t0 = time.perf_counter()
    with PacedServer(args.streams) as server:
        for _ in range(args.reps):
            for row in args.only or CLIENTS:
                r = measure(server, row, args.streams, args)
                runs.setdefault(row, []).append(r)
                if row == "boto3" and r["complete"] < args.streams and args.fallback < args.streams:
                    small = measure(server, "boto3-small", args.fallback, args)
                    runs.setdefault("boto3-small", []).append(small)
    elapsed = time.perf_counter() - t0
    rows = {row: median_run(r) for row, r in runs.items()}
    lines, ok = table(rows, args)
    flags = [f"--{k} {getattr(args, k)}" for k in ("streams", "deltas", "delay", "reps")]
    conversations = args.max_conversations or args.streams
    flags += [f"--only {c}" for c in args.only or []]
    for k, default in (("budget", 300.0), ("fallback", 1000), ("max_conversations", None)):
        if getattr(args, k) != default:
            flags.append(f"--{k.replace('_', '-')} {getattr(args, k)}")
    body = [
        SECTION,
        "",
        f"Reproduce: `.venv/bin/python bench/many_streams.py {' '.join(flags)}`. "
        f"{vs.versions()}; revision `{vs.git_revision()}`; {os.cpu_count()} cores "
        f"({platform.machine()}) shared by the client and FakeBedrock; load average "
        f"(1/5/15 min) {load_before} before, {vs.load_average()} after; whole run "
        f"{elapsed:.0f} s; median of {args.reps} run(s).",
        "",
        f"{args.streams:,} streams at once, each {args.deltas} text deltas ({args.deltas + 4} "
        f"events) {args.delay * 1000:g} ms apart (one stream alone takes "
        f"{(args.deltas - 1) * args.delay:.2f} s) or unpaced. FakeBedrock in its own "
        "process; each run in a fresh process after one warm-up stream. fastconverse: one "
        "`ConverseClient(max_attempts=1, connect_timeout=60, read_timeout=300, "
        f"max_conversations={conversations})`, "
        "every stream an `async for` over "
        "`client.create_conversation().stream(...)`, all on one asyncio loop. boto3: one "
        "client (`max_pool_connections` = the streams, `total_max_attempts=1`, "
        "`read_timeout=300`), one `ThreadPoolExecutor` thread per stream, all started "
        f"before the clock; a run may take {args.budget:g} s. KiB / open stream: (VmRSS "
        "sampled when the most streams were open - VmRSS just before they started) / "
        "streams open then; KiB / stream (peak RSS): (VmHWM - the same base) / streams. "
        f"Open-file limit: client {rows[next(iter(rows))].get('nofile', 'n/a')}, FakeBedrock "
        f"{server.nofile}. Every stream's event, delta and character counts are checked. "
        "A paced wall time well above one stream's means the client (or FakeBedrock) could "
        "not keep the pace: deltas then wait in socket buffers and arrive several per read.",
        "",
        *lines,
        "",
    ]
    print("\n" + "\n".join(body))
    if args.write if args.write is not None else not args.quick and not args.only:
        vs.write_section(body, SECTION)
        print(f"wrote {vs.RESULTS}")
    return 0 if ok else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--streams", type=int, help="streams at once (default 10,000; quick 300)")
    p.add_argument("--deltas", type=int, help="text deltas per stream (default 50; quick 20)")
    p.add_argument("--delay", type=float, default=0.02, help="seconds between deltas (0.02)")
    p.add_argument("--reps", type=int, default=1, help="runs per client (default 1)")
    p.add_argument("--only", action="append", choices=CLIENTS, help="repeatable")
    p.add_argument("--quick", action="store_true", help="300 streams of 20 deltas; prints only")
    p.add_argument("--budget", type=float, default=300.0, help="seconds a run may take (300)")
    p.add_argument("--fallback", type=int, default=1000, help="boto3's smaller run (1,000)")
    p.add_argument(
        "--max-conversations", type=int, help="fastconverse's (default: the stream count)"
    )
    w = p.add_mutually_exclusive_group()
    w.add_argument("--write", dest="write", action="store_true", default=None)
    w.add_argument("--no-write", dest="write", action="store_false")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--one", help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    args = p.parse_args()
    args.streams = args.streams or (300 if args.quick else 10_000)
    args.deltas = args.deltas or (20 if args.quick else 50)
    if args.deltas < 3:
        p.error("--deltas: at least 3")
    if args.serve:
        return serve(args)
    if args.one:
        return run_one(args)
    return run_all(args)


if __name__ == "__main__":
    raise SystemExit(main())
