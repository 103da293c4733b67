"""How fast is FakeBedrock? It must never be what a client benchmark measures.

1. Events per CPU-second: one ConverseStream of N deltas from `python -m fastconverse serve`
   (a separate process, so its CPU time is its own), read by a client that only counts bytes.
2. Concurrent streams: C streams open at once against one in-process FakeBedrock, each with
   a scripted delay between deltas so that they overlap; all must complete intact.

    .venv/bin/python bench/fake_server.py [--events 500000] [--streams 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import subprocess
import sys
import time
from typing import Any


def proc_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def request_bytes(host: str, port: int, model: str, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body).encode()
    head = (
        f"POST /model/{model}/converse-stream HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def read_stream(host: str, port: int, model: str, body: dict[str, Any]) -> tuple[int, bytes]:
    """Sends one ConverseStream request; returns (body bytes, the last bytes seen)."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(request_bytes(host, port, model, body))
    await writer.drain()
    total = 0
    tail = b""
    while True:
        chunk = await reader.read(1 << 20)
        if not chunk:
            break
        total += len(chunk)
        tail = (tail + chunk)[-64:]
        if tail.endswith(b"\r\n0\r\n\r\n"):  # the last chunk of a chunked body
            break
    writer.close()
    return total, tail


def bench_events(events: int) -> dict[str, float]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fastconverse", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        match = re.search(r"http://([\d.]+):(\d+)", proc.stdout.readline())
        assert match
        host, port = match.group(1), int(match.group(2))
        # The default model streams one delta per word of the last user message.
        words = events - 2  # "You said:" adds two words
        body = {"messages": [{"role": "user", "content": [{"text": "w " * words}]}]}
        asyncio.run(
            read_stream(
                host, port, "warmup", {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}
            )
        )
        cpu0 = proc_cpu_seconds(proc.pid)
        wall0 = time.perf_counter()
        size, tail = asyncio.run(read_stream(host, port, "bench", body))
        wall = time.perf_counter() - wall0
        cpu = proc_cpu_seconds(proc.pid) - cpu0
        assert tail.endswith(b"\r\n0\r\n\r\n"), "stream did not complete"
        total_events = events + 4  # messageStart, contentBlockStop, messageStop, metadata
        return {
            "events": total_events,
            "bytes": size,
            "server_cpu_s": cpu,
            "wall_s": wall,
            "events_per_cpu_s": total_events / cpu if cpu else float("inf"),
            "events_per_wall_s": total_events / wall,
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def bench_concurrency(streams: int, deltas: int, delay: float) -> dict[str, float]:
    from fastconverse.testing import FakeBedrock

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4 * streams + 64)), hard))
    with FakeBedrock() as fake:
        host, port = fake.host, fake.port
        text = " ".join(f"w{i}" for i in range(deltas))
        for i in range(streams):
            fake.enqueue_text(text, model_id=f"m{i}", delta_delay=delay)
        body = {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}

        async def run_all() -> list[tuple[int, bytes]]:
            return await asyncio.gather(
                *(read_stream(host, port, f"m{i}", body) for i in range(streams))
            )

        wall0 = time.perf_counter()
        results = asyncio.run(run_all())
        wall = time.perf_counter() - wall0
        complete = sum(tail.endswith(b"\r\n0\r\n\r\n") for _, tail in results)
        assert fake.pending == 0
    return {
        "streams": streams,
        "complete": complete,
        "deltas_each": deltas,
        "delay_s": delay,
        "one_stream_min_s": deltas * delay,
        "wall_s": wall,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--streams", type=int, default=1000)
    args = parser.parse_args()
    ev = bench_events(args.events)
    print(
        f"events: {ev['events']:,} in {ev['wall_s']:.2f}s wall, "
        f"server CPU {ev['server_cpu_s']:.2f}s "
        f"-> {ev['events_per_cpu_s']:,.0f} events per server CPU-second "
        f"({ev['events_per_wall_s']:,.0f}/s wall, {ev['bytes'] / ev['wall_s'] / 1e6:.0f} MB/s)"
    )
    cc = bench_concurrency(args.streams, deltas=50, delay=0.02)
    print(
        f"concurrency: {cc['complete']}/{cc['streams']} streams complete, "
        f"each {cc['deltas_each']} deltas {cc['delay_s'] * 1000:.0f} ms apart "
        f"(>= {cc['one_stream_min_s']:.1f}s each), all in {cc['wall_s']:.2f}s wall"
    )
    return 0 if cc["complete"] == cc["streams"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
