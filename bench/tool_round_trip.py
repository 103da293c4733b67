"""What one tool round trip costs the client: fastconverse's tool loop against boto3 by hand.

A tool turn is two Converse requests with a tool call between them: the model asks for
`echo(n)`, the client calls it and sends the result, the model answers. Three clients do
the same number of turns against FakeBedrock, which runs in its own process with the
turns scripted:

- boto3: the loop written by hand (converse, find the toolUse, call the function, append
  the assistant message and a toolResult message, converse again), as boto3 users do;
- fc-tools: `conv.send(...)` on a conversation with `tools=[echo]` (the loop is ours);
- fc-plain: two `conv.send(...)` per turn on a conversation without tools: the same
  requests, without any tool machinery.

The tool loop's overhead per round trip is fc-tools minus fc-plain, minus the tool's own
time (`conv.tool_metrics`). Every reply is checked. Each measurement runs in a fresh
process; each conversation is reset after its turn so that every turn sends the same bytes.

    .venv/bin/python bench/tool_round_trip.py            # rewrites its section of RESULTS.md
    .venv/bin/python bench/tool_round_trip.py --quick    # smoke run; prints only
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

import vs_boto3 as common

SECTION = "## Tool round trip (issue 4)"
CLIENTS = ["boto3", "fc-tools", "fc-plain"]
LABELS = {
    "boto3": "boto3 `converse` twice, tool loop by hand",
    "fc-tools": "fastconverse `conv.send` with `tools=[echo]`",
    "fc-plain": "fastconverse `conv.send` twice without tools (same requests)",
}
ECHO_SPEC = {
    "toolSpec": {
        "name": "echo",
        "description": "Returns its number.",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {"n": {"type": "integer"}},
                "required": ["n"],
            }
        },
    }
}


def echo(n: int) -> dict[str, int]:
    """Returns its number."""
    return {"n": n}


# --- the server process ----------------------------------------------------------------------


def serve(kind: str, turns: int) -> int:
    from fastconverse.testing import FakeBedrock

    with FakeBedrock() as fake:
        for i in range(-1, turns):  # -1: the warm-up turn
            if kind == "fc-plain":
                fake.enqueue_text(f"asked {i}")
            else:
                fake.enqueue_tool_use("echo", {"n": i}, tool_use_id=f"t{i}")
            fake.enqueue_text(f"done {i}")
        print(fake.url, flush=True)
        sys.stdin.read()  # until the orchestrator closes the pipe
    return 0


# --- a measurement process -------------------------------------------------------------------


def measure_one(kind: str, url: str, turns: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    client = common.make_client("boto3" if kind == "boto3" else "fc", url)
    if kind == "boto3":
        config = {"tools": [ECHO_SPEC]}

        def turn(i: int) -> str:
            messages: list[dict[str, Any]] = [{"role": "user", "content": [{"text": f"call {i}"}]}]
            first = client.converse(modelId=common.MODEL, messages=messages, toolConfig=config)
            message = first["output"]["message"]
            results = []
            for block in message["content"]:
                if "toolUse" in block:
                    use = block["toolUse"]
                    value = echo(**use["input"])
                    results.append(
                        {
                            "toolResult": {
                                "toolUseId": use["toolUseId"],
                                "content": [{"json": value}],
                            }
                        }
                    )
            messages += [message, {"role": "user", "content": results}]
            second = client.converse(modelId=common.MODEL, messages=messages, toolConfig=config)
            return str(second["output"]["message"]["content"][0]["text"])

    else:
        from fastconverse import tool

        tools = [tool(echo)] if kind == "fc-tools" else None
        conv = client.create_conversation(tools=tools)

        def turn(i: int) -> str:
            if kind == "fc-plain":
                conv.send(f"call {i}")
            text = conv.send(f"call {i}").text
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
    out["tool_s"] = conv.tool_metrics["echo"].seconds if kind == "fc-tools" else 0.0
    out["turns"] = turns
    return out


# --- the orchestrator ------------------------------------------------------------------------


def run(kind: str, turns: int) -> dict[str, Any]:
    return common.run_fresh(__file__, kind, turns)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--turns", type=int, default=1000)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="100 turns, 1 rep, prints only")
    p.add_argument("--no-write", action="store_true", help="print only")
    p.add_argument("--serve", choices=CLIENTS, help=argparse.SUPPRESS)
    p.add_argument("--one", choices=CLIENTS, help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        return serve(args.serve, args.turns)
    if args.one:
        out = measure_one(args.one, args.url, args.turns)
        print(json.dumps(out), flush=True)
        return 0
    if args.quick:
        args.turns, args.reps, args.no_write = 100, 1, True
    turns = args.turns
    print(f"{turns:,} tool turns per run, {args.reps} runs per client", flush=True)
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in CLIENTS}
    for _ in range(args.reps):
        for c in CLIENTS:
            runs[c].append(run(c, turns))

    def per_turn_us(c: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[c]) / turns * 1e6

    lines = [
        SECTION,
        "",
        f"Reproduce: `.venv/bin/python bench/tool_round_trip.py` ({turns:,} turns, median of "
        f"{args.reps} runs per client; revision {common.git_revision()}; "
        f"{time.strftime('%Y-%m-%d')}; {common.versions()}). A turn is two Converse requests "
        "and one call of a trivial tool; FakeBedrock runs in its own process.",
        "",
        "| client | µs CPU / turn | µs wall / turn | CPU: boto3 ÷ this | wall: boto3 ÷ this |",
        "|---|---|---|---|---|",
    ]
    b_cpu, b_wall = per_turn_us("boto3", "cpu_s"), per_turn_us("boto3", "wall_s")
    for c in CLIENTS:
        cpu, wall = per_turn_us(c, "cpu_s"), per_turn_us(c, "wall_s")
        lines.append(
            f"| {LABELS[c]} | {cpu:,.0f} | {wall:,.0f} "
            f"| {b_cpu / cpu:.1f}x | {b_wall / wall:.1f}x |"
        )
    tool_us = per_turn_us("fc-tools", "tool_s")

    def overheads(key: str) -> list[float]:
        # Note: paired within each round of runs (boto3, fc-tools, fc-plain back to back), so
        # that a machine that drifts between rounds does not widen the difference.
        return sorted(
            (t[key] - p[key] - t["tool_s"]) / turns * 1e6
            for t, p in zip(runs["fc-tools"], runs["fc-plain"])
        )

    cpu_o, wall_o = overheads("cpu_s"), overheads("wall_s")
    lines += [
        "",
        f"**Overhead of one tool round trip** (fc-tools minus fc-plain minus the tool's own "
        f"{tool_us:.1f} µs, paired run by run; median of {len(cpu_o)} (range)): "
        f"**{statistics.median(cpu_o):,.0f} µs CPU** ({cpu_o[0]:,.0f} to {cpu_o[-1]:,.0f}), "
        f"**{statistics.median(wall_o):,.0f} µs wall** ({wall_o[0]:,.0f} to {wall_o[-1]:,.0f}). "
        "It covers the larger requests of a tool turn (the toolConfig with its schema, the "
        "toolUse and toolResult blocks, converted and signed each time) and the loop itself: "
        "validating the input with pydantic, calling the tool, converting and checking the "
        "result, and the events a stream would report. (fc-plain makes two turns where "
        "fc-tools makes one, so the figure leaves out one turn's fixed cost.)",
    ]
    common.report(lines, SECTION, args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
