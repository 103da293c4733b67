"""Stream CPU per event against the floor: the Rust SDK alone reading the same stream.

One FakeBedrock process serves every run. Each run is a fresh process reading one
ConverseStream of `--deltas` text deltas and reporting its own CPU time over the read:

- `sdk-floor`     `bench/sdk_floor.rs`: the Rust SDK's receiver, no Python (current-thread
                  runtime); `sdk-floor-mt` the same on a 2-worker runtime, the loop on a worker
                  as fastconverse's pump is.
- `fc-typed`      `conv.stream(...)`, typed events (bench/vs_boto3.py's loop).
- `fc-dict`       `client.converse_stream(...)["stream"]`, boto3-shaped dicts.
- `boto3`         boto3's `converse_stream`, the same dict loop.

Runs are interleaved (floor, fastconverse, boto3, floor, ...) so that the machine's drift
touches all alike; the table gives medians and ranges, boto3's absolute µs per event beside
every ratio, and the load average, so that a skewed baseline shows.

    .venv/bin/python bench/floor.py                 # 5 rounds; rewrites its RESULTS.md section
    .venv/bin/python bench/floor.py --reps 3 --no-write
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import vs_boto3 as vs  # noqa: E402

SECTION = "## Stream CPU against the Rust SDK's floor (issue 13)"
FLOOR_BIN = HERE.parent / "target" / "release" / "examples" / "sdk_floor"
CLIENTS = ["sdk-floor", "sdk-floor-mt", "fc-typed", "fc-dict", "boto3"]
LABELS = {
    "sdk-floor": "Rust SDK alone, current-thread runtime (**the floor**)",
    "sdk-floor-mt": "Rust SDK alone, 2-worker runtime, reading on a worker",
    "fc-typed": "fastconverse `conv.stream(...)` (typed events)",
    "fc-dict": 'fastconverse `client.converse_stream(...)["stream"]` (boto3 dicts)',
    "boto3": "boto3 `converse_stream`",
}
TARGET_FLOOR = 1.5
TARGET_BOTO3 = 10.0


def build_floor() -> None:
    """Builds the floor binary (a release build of one example; incremental after the first)."""
    env = dict(os.environ, PYO3_PYTHON=sys.executable)
    subprocess.run(
        ["cargo", "build", "--release", "--locked", "--example", "sdk_floor"],
        cwd=HERE.parent,
        check=True,
        env=env,
    )


def libpython_env() -> dict[str, str]:
    """The floor binary links the crate's rlib, which links libpython (never called)."""
    import sysconfig

    env = vs.child_env()
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    env["LD_LIBRARY_PATH"] = f"{libdir}:{env.get('LD_LIBRARY_PATH', '')}"
    return env


def measure_floor(server: vs.Server, client: str, deltas: int) -> dict[str, Any]:
    threads = "2" if client == "sdk-floor-mt" else "0"
    words = vs.deltas_to_words(deltas)
    cpu0 = server.cpu()
    proc = subprocess.run(
        [str(FLOOR_BIN), server.url, str(words), threads],
        capture_output=True,
        text=True,
        env=libpython_env(),
    )
    if proc.returncode != 0:
        raise SystemExit(f"{client} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["server_cpu_s"] = server.cpu() - cpu0
    print(f"  {client:<16} {vs._brief(out)}", flush=True)
    return out


def measure(server: vs.Server, client: str, deltas: int) -> dict[str, Any]:
    if client.startswith("sdk-floor"):
        return measure_floor(server, client, deltas)
    return vs.measure(server, "stream", client, "--deltas", str(deltas))


def us_per_event(runs: list[dict[str, Any]]) -> list[float]:
    return [r["cpu_s"] / r["events"] * 1e6 for r in runs]


def table(runs: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> list[str]:
    per = {c: us_per_event(runs[c]) for c in CLIENTS}
    floor = statistics.median(per["sdk-floor"])
    boto3 = statistics.median(per["boto3"])
    events = runs["fc-typed"][0]["events"]
    lines = [
        SECTION,
        "",
        f"Reproduce: `.venv/bin/python bench/floor.py --reps {args.reps}` (builds "
        "`target/release/examples/sdk_floor` first). One ConverseStream of "
        f"{args.deltas:,} text deltas ({events:,} events with the fastconverse clients; the "
        "Rust SDK counts the same stream), read in a fresh process per run, runs interleaved; "
        f"median of {args.reps} (range). CPU = the reading process's CPU time over the read "
        "(all its threads). Every run checks its event, delta and character counts. "
        f"{vs.versions()}; revision `{vs.git_revision()}`; load average before / after: "
        f"{args.load_before} → {vs.load_average()}.",
        "",
        "| client | µs CPU / event | x the floor | boto3 ÷ this | boto3 µs / event (same run) "
        "| target |",
        "|---|---|---|---|---|---|",
    ]
    for c in CLIENTS:
        values = per[c]
        m = statistics.median(values)
        rng = f"{m:.2f} ({min(values):.2f}-{max(values):.2f})"
        target = ""
        if c.startswith("fc"):
            ok_floor = m / floor <= TARGET_FLOOR
            ok_boto3 = boto3 / m >= TARGET_BOTO3
            target = (
                f"{'**pass**' if ok_floor else '**FAIL**'} (≤ {TARGET_FLOOR:g}x floor), "
                f"{'**pass**' if ok_boto3 else '**FAIL**'} (≥ {TARGET_BOTO3:g}x boto3)"
            )
        lines.append(
            f"| {LABELS[c]} | {rng} | {m / floor:.2f}x | {boto3 / m:.1f}x | {boto3:.1f} "
            f"| {target} |"
        )
    server = ", ".join(f"{c} {vs.med(runs[c], 'server_cpu_s'):.2f}" for c in CLIENTS)
    lines += ["", f"FakeBedrock CPU per run, median (s): {server}.", ""]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--deltas", type=int, default=200_004)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--no-build", action="store_true", help="use the floor binary as built")
    parser.add_argument("--only", action="append", choices=CLIENTS, help="these clients only")
    args = parser.parse_args()
    if not args.no_build:
        build_floor()
    args.load_before = vs.load_average()
    chosen = args.only or CLIENTS
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in chosen}
    t0 = time.perf_counter()
    with vs.Server() as server:
        for _ in range(args.reps):
            for c in chosen:
                runs[c].append(measure(server, c, args.deltas))
    print(f"whole run {time.perf_counter() - t0:.0f} s")
    for c in chosen:
        values = us_per_event(runs[c])
        print(f"{c:<14} µs CPU/event median {statistics.median(values):.2f} {values}")
    if args.only:
        return 0
    lines = table(runs, args)
    print("\n".join(lines))
    if not args.no_write:
        vs.write_section(lines, SECTION)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
