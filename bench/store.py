"""What a conversation store costs per turn, and what loading a long conversation takes.

Per turn: `conv.send(...)` against an in-process FakeBedrock, in memory (no store, the
baseline), with `SQLiteStore` (a file in a temporary folder, WAL) and with `RedisStore` (a
redis-server on loopback, started by this script). A stored turn does two store calls: the
version check before it starts (another worker may have written) and the commit's write
(the head and the turn's two messages, one transaction or one Lua script). A fresh
conversation is started every 50 turns, so every run sends the same requests. Runs alternate
between the three; the figure is the median of the runs, wall time from `perf_counter_ns`
(a store's cost is mostly waiting: on Redis, a round trip to another process). A store's
cost is its figure minus the baseline's. boto3's `converse` against the same FakeBedrock is
timed in the same run, as the scale a turn is measured against.

Load: a conversation of 1,000 messages (500 turns of 40-200 characters) is written once;
`client.get_conversation(id)` then loads it (one read, every message decoded and checked) and
builds the `Conversation`; the client's cached object is dropped between loads.

    .venv/bin/python bench/store.py            # rewrites its section of RESULTS.md
    .venv/bin/python bench/store.py --quick    # smoke run; prints only
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import vs_boto3 as common

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from redis_server import RedisServer

SECTION = "## Stores: cost per turn and load time (issue 11)"
TARGET_US = 1000.0  # the issue: under 1 ms per turn for SQLite and for Redis


def client(url: str, store: Any) -> Any:
    from fastconverse import ConverseClient

    return ConverseClient(
        "m",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        store=store,
    )


def per_turn_us(c: Any, turns: int) -> float:
    conv = c.create_conversation()
    start = time.perf_counter_ns()
    for i in range(turns):
        if i and i % 50 == 0:
            conv = c.create_conversation()
        conv.send(f"question {i}")
    return (time.perf_counter_ns() - start) / turns / 1000


def boto3_us(url: str, calls: int) -> float:
    b = common.make_client("boto3", url)
    messages = common.user("question")
    b.converse(modelId="m", messages=messages)
    start = time.perf_counter_ns()
    for _ in range(calls):
        b.converse(modelId="m", messages=messages)
    return (time.perf_counter_ns() - start) / calls / 1000


def history(n: int) -> list[dict[str, Any]]:
    rng = random.Random(11)
    words = [
        "the",
        "order",
        "shipment",
        "refund",
        "account",
        "invoice",
        "delivery",
        "policy",
        "report",
        "customer",
    ]
    out = []
    for i in range(n):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(8, 40)))
        out.append({"role": "user" if i % 2 == 0 else "assistant", "content": [{"text": text}]})
    return out


def load_ms(c: Any, conv_id: str, loads: int) -> list[float]:
    times = []
    for _ in range(loads):
        c._conversations.pop(conv_id, None)  # (the client's cached object, not the store)
        start = time.perf_counter_ns()
        conv = c.get_conversation(conv_id)
        times.append((time.perf_counter_ns() - start) / 1e6)
        assert len(conv.transcript) == 1000
    return times


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    turns, runs, loads = (100, 2, 3) if args.quick else (500, 7, 20)
    from fastconverse import RedisStore, SQLiteStore
    from fastconverse.testing import FakeBedrock

    folder = Path(tempfile.mkdtemp())
    redis = RedisServer(folder)
    try:
        with FakeBedrock() as fake:
            stores = {
                "memory": None,
                "sqlite": SQLiteStore(folder / "bench.db"),
                "redis": RedisStore(redis.url, prefix="bench:"),
            }
            clients = {k: client(fake.url, s) for k, s in stores.items()}
            for c in clients.values():
                per_turn_us(c, 20)  # warm up
            figures: dict[str, list[float]] = {k: [] for k in clients}
            b3: list[float] = []
            for _ in range(runs):
                for k, c in clients.items():
                    figures[k].append(per_turn_us(c, turns))
                b3.append(boto3_us(fake.url, turns))
            loaded = {}
            for k in ("sqlite", "redis"):
                c = clients[k]
                conv = c.create_conversation(messages=history(1000))
                loaded[k] = load_ms(c, conv.id, loads)
    finally:
        redis.stop()
        shutil.rmtree(folder, ignore_errors=True)

    base = statistics.median(figures["memory"])
    boto = statistics.median(b3)
    lines = [
        f"Reproduce: `.venv/bin/python bench/store.py` ({turns} turns per run, median of {runs} "
        f"runs; {loads} loads; {common.versions()}; revision {common.git_revision()}; "
        f"load average {common.load_average()}). Wall time per turn of `conv.send` against an "
        "in-process FakeBedrock; a store's cost is its figure minus the memory baseline's. "
        "boto3's `converse` against the same FakeBedrock, same run, for scale.",
        "",
        "| store | µs wall / turn | store's cost, µs / turn | of a boto3 converse call "
        "(µs) | target |",
        "|---|---|---|---|---|",
    ]
    for k, label in (
        ("memory", "memory (no store), the baseline"),
        ("sqlite", "`SQLiteStore` (WAL, a local file)"),
        ("redis", "`RedisStore` (redis-server on loopback)"),
    ):
        fig = statistics.median(figures[k])
        cost = fig - base
        share = f"{cost / boto:.0%} ({boto:.0f})" if k != "memory" else f"({boto:.0f})"
        verdict = "pass" if cost < TARGET_US else "FAIL"
        target = "" if k == "memory" else f"**{verdict}** (< {TARGET_US:,.0f} µs)"
        cost_text = "" if k == "memory" else f"{cost:.0f}"
        lines.append(f"| {label} | {fig:.0f} | {cost_text} | {share} | {target} |")
    lines += [
        "",
        "| load a 1,000-message conversation | median ms | min ms | max ms |",
        "|---|---|---|---|",
    ]
    for k in ("sqlite", "redis"):
        t = loaded[k]
        lines.append(f"| `{k}` | {statistics.median(t):.2f} | {min(t):.2f} | {max(t):.2f} |")
    print("\n".join(lines))
    if not args.quick:
        common.write_section(lines, SECTION)
        print(f"\nwrote {common.RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
