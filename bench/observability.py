"""What observing a turn costs: `conv.send` with logging off, with the `fastconverse` logger
at INFO (records formatted and written to /dev/null), and with OpenTelemetry's SDK tracing
and metering every turn (spans handed to an exporter that drops them), beside boto3's
`converse` for the same request in the same run.

FakeBedrock runs in its own process; each measurement runs in a fresh process.

    .venv/bin/python bench/observability.py            # rewrites its section of RESULTS.md
    .venv/bin/python bench/observability.py --quick    # smoke run; prints only
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

import vs_boto3 as common

SECTION = "## Observing a turn (issue 24)"
CLIENTS = ["boto3", "fc-off", "fc-logging", "fc-otel"]
LABELS = {
    "boto3": "boto3 `converse` (reference)",
    "fc-off": "fastconverse `conv.send`, logging and tracing off",
    "fc-logging": "fastconverse `conv.send`, `fastconverse` logger at INFO",
    "fc-otel": "fastconverse `conv.send`, OpenTelemetry SDK tracing and metering",
}


def serve(turns: int) -> int:
    from fastconverse.testing import FakeBedrock

    with FakeBedrock() as fake:
        for i in range(-1, turns):  # -1: the warm-up turn
            fake.enqueue_text(f"done {i}")
        print(fake.url, flush=True)
        sys.stdin.read()  # until the orchestrator closes the pipe
    return 0


def observe(kind: str) -> None:
    if kind == "fc-logging":
        import logging
        import os

        handler = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        logger = logging.getLogger("fastconverse")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    elif kind == "fc-otel":
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
        from opentelemetry.sdk.trace.export import SpanExportResult as Result

        class Drop(SpanExporter):
            def export(self, spans: Any) -> Result:
                return Result.SUCCESS

        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(Drop()))
        trace.set_tracer_provider(provider)
        metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))


def measure_one(kind: str, url: str, turns: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    observe(kind)
    client = common.make_client("boto3" if kind == "boto3" else "fc", url)
    if kind == "boto3":

        def turn(i: int) -> str:
            messages = [{"role": "user", "content": [{"text": f"call {i}"}]}]
            reply = client.converse(modelId=common.MODEL, messages=messages)
            return str(reply["output"]["message"]["content"][0]["text"])

    else:
        conv = client.create_conversation()

        def turn(i: int) -> str:
            text = str(conv.send(f"call {i}").text)
            conv.reset()
            return text

    if turn(-1) != "done -1":
        raise SystemExit(f"{kind}: warm-up reply")
    bad = 0
    with common.measured(out):
        for i in range(turns):
            bad += turn(i) != f"done {i}"
    if bad:
        raise SystemExit(f"{kind}: {bad} of {turns} replies wrong")
    return out


def run(kind: str, turns: int) -> dict[str, Any]:
    return common.run_fresh(__file__, kind, turns)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--turns", type=int, default=2000)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="200 turns, 1 rep, prints only")
    p.add_argument("--no-write", action="store_true", help="print only")
    p.add_argument("--serve", choices=CLIENTS, help=argparse.SUPPRESS)
    p.add_argument("--one", choices=CLIENTS, help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        return serve(args.turns)
    if args.one:
        print(json.dumps(measure_one(args.one, args.url, args.turns)), flush=True)
        return 0
    if args.quick:
        args.turns, args.reps, args.no_write = 200, 1, True
    turns = args.turns
    print(f"{turns:,} turns per run, {args.reps} runs per client", flush=True)
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in CLIENTS}
    for _ in range(args.reps):
        for c in CLIENTS:
            runs[c].append(run(c, turns))

    def per_turn_us(c: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[c]) / turns * 1e6

    def spread(c: str) -> str:
        values = sorted(r["cpu_s"] / turns * 1e6 for r in runs[c])
        return f"{values[0]:,.0f}-{values[-1]:,.0f}"

    b_cpu = per_turn_us("boto3", "cpu_s")
    off = per_turn_us("fc-off", "cpu_s")
    lines = [
        SECTION,
        "",
        f"Reproduce: `.venv/bin/python bench/observability.py` ({turns:,} turns, median of "
        f"{args.reps} runs per client; revision {common.git_revision()}; "
        f"{time.strftime('%Y-%m-%d')}; {common.versions()}). A turn is one Converse request "
        "with a short message; FakeBedrock runs in its own process.",
        "",
        "| client | µs CPU / turn (range) | µs wall / turn | boto3 µs CPU / call | "
        "boto3 ÷ this (CPU) | added to a turn, µs CPU |",
        "|---|---|---|---|---|---|",
    ]
    for c in CLIENTS:
        cpu, wall = per_turn_us(c, "cpu_s"), per_turn_us(c, "wall_s")
        added = "" if c == "boto3" else f"{cpu - off:+,.0f}"
        lines.append(
            f"| {LABELS[c]} | {cpu:,.0f} ({spread(c)}) | {wall:,.0f} | {b_cpu:,.0f} "
            f"| {b_cpu / cpu:.1f}x | {added} |"
        )
    common.report(lines, SECTION, args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
