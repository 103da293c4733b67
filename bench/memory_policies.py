"""What a memory policy costs per turn on a long history, without the requests.

A conversation is created with a history of 1,000 turns (2,000 user and assistant text
messages of 40-200 characters, and a tool round, assistant toolUse then user toolResult, in
every tenth turn; `tools=[lookup]` so that the toolConfig is valid). The policy runs in the
native turn's memory step, inside the first `next()` of a turn, before any request is made. So
one measured turn is, on the conversation's native core (`conv._core`):

    turn = core.begin("a new question")   # the new user message
    turn.next()                           # the memory step, then ("request", None)
    turn.close()                          # abandons the turn: the history is unchanged

and every turn sees the same 1,000-turn history. The same loop on a conversation without a
policy (`memory=None`) is the baseline; a policy's own overhead is its figure minus the
baseline's. Policies: `SlidingWindow(max_messages=40)`, `TokenBudget(max_tokens=8000)`, a
`MemoryPolicy` subclass whose `select` returns `len(view) - 40` (a Python call per turn) and
`Summarizing(max_tokens=10**9)`, which never summarises: its figure is the check alone.

All conversations share one client and one in-process FakeBedrock (it serves no request in the
timed loops; the run checks that). Runs alternate between the policies; the figure is the
median of the runs, CPU from `time.process_time_ns()` (the whole process) and wall from
`time.perf_counter_ns()`. Checked outside the timed loops: every `next()` asked for a request,
the history is unchanged, the custom `select` ran once per turn, and one real request per
policy sends what the policy should keep.

    .venv/bin/python bench/memory_policies.py            # rewrites its section of RESULTS.md
    .venv/bin/python bench/memory_policies.py --quick    # smoke run; prints only
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import vs_boto3 as common

SECTION = "## Memory policies: per-turn overhead (issue 10)"
POLICIES = ["none", "window", "budget", "custom", "summarizing"]
LABELS = {
    "none": "no policy (`memory=None`), the baseline",
    "window": "`SlidingWindow(max_messages=40)`",
    "budget": "`TokenBudget(max_tokens=8000)`",
    "custom": "`MemoryPolicy` subclass, `select` returns `len(view) - 40`",
    "summarizing": "`Summarizing(max_tokens=10**9)` (never summarises)",
}
TARGET_US = 50.0  # the issue: under 50 µs per turn for SlidingWindow and TokenBudget
TARGETED = {"window", "budget"}
WINDOW, BUDGET = 40, 8000
QUESTION = "a new question"
VOCABULARY = (
    "the a of to and in is for on that with as this be by from it at are an or not have "
    "invoice order shipment customer account refund policy delivery warehouse report "
    "table query result error timeout region model request budget summary latency "
    "service window please could you check whether why when which how many last week "
    "yesterday today total"
)
WORDS = VOCABULARY.split()


def lookup(city: str) -> dict[str, Any]:
    """Returns the weather in a city."""
    return {"city": city, "celsius": 21}


def text(rng: random.Random) -> str:
    """A sentence of 40-200 characters."""
    size = rng.randint(40, 200)
    words: list[str] = []
    length = -1
    while length < size:
        word = rng.choice(WORDS)
        words.append(word)
        length += len(word) + 1
    return (" ".join(words)[:size].rstrip() + ".").capitalize()


def history(turns: int) -> list[dict[str, Any]]:
    """`turns` turns: user text, assistant text; every tenth with a tool round between."""
    rng = random.Random(5)
    messages: list[dict[str, Any]] = []
    for i in range(turns):
        messages.append({"role": "user", "content": [{"text": text(rng)}]})
        if i % 10 == 9:
            use = {"toolUseId": f"tooluse_{i:06d}", "name": "lookup", "input": {"city": f"c{i}"}}
            result = {"toolUseId": use["toolUseId"], "content": [{"json": lookup(f"c{i}")}]}
            messages.append(
                {"role": "assistant", "content": [{"text": text(rng)}, {"toolUse": use}]}
            )
            messages.append({"role": "user", "content": [{"toolResult": result}]})
        messages.append({"role": "assistant", "content": [{"text": text(rng)}]})
    return messages


def make_policy(kind: str) -> Any:
    import fastconverse
    from fastconverse import HistoryView

    class LastForty(fastconverse.MemoryPolicy):
        def __init__(self) -> None:
            self.calls = 0

        def select(self, view: HistoryView) -> int:
            self.calls += 1
            return len(view) - WINDOW

    factories: dict[str, Callable[[], Any]] = {
        "none": lambda: None,
        "window": lambda: fastconverse.SlidingWindow(max_messages=WINDOW),
        "budget": lambda: fastconverse.TokenBudget(max_tokens=BUDGET),
        "custom": LastForty,
        "summarizing": lambda: fastconverse.Summarizing(max_tokens=10**9),
    }
    return factories[kind]()


def timed_turns(core: Any, n: int) -> tuple[int, int, int]:
    """CPU ns, wall ns and the count of `next()` that did not ask for a request."""
    bad = 0
    gc.collect()
    cpu0, wall0 = time.process_time_ns(), time.perf_counter_ns()
    for _ in range(n):
        turn = core.begin(QUESTION)
        kind, _ = turn.next()
        bad += kind != "request"
        turn.close()
    wall, cpu = time.perf_counter_ns() - wall0, time.process_time_ns() - cpu0
    return cpu, wall, bad


def make_client(url: str) -> Any:
    from fastconverse import ConverseClient

    return ConverseClient(
        "m",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )


def check_request(kind: str, messages: list[dict[str, Any]], tools: Any) -> int:
    """Sends one real request with the policy (to a FakeBedrock of its own); checks and
    returns how many messages it sent."""
    from fastconverse import estimate_tokens
    from fastconverse.testing import FakeBedrock

    with FakeBedrock() as fake:
        conv = make_client(fake.url).create_conversation(
            messages=messages, tools=tools, memory=make_policy(kind)
        )
        conv.send(QUESTION)
        sent: list[dict[str, Any]] = fake.requests[-1].body["messages"]
    whole = len(messages) + 1
    ok = {
        "none": len(sent) == whole,
        "summarizing": len(sent) == whole,
        "window": 0 < len(sent) <= WINDOW,
        "budget": 0 < len(sent) < whole and estimate_tokens(sent) <= BUDGET,
        "custom": 0 < len(sent) <= WINDOW + 1,
    }[kind]
    if not ok or sent[0]["role"] != "user" or sent[-1]["content"] != [{"text": QUESTION}]:
        raise SystemExit(f"{kind}: the request sent {len(sent)} of {whole} messages")
    return len(sent)


def build_profile() -> str:
    """`debug` when the extension carries `.debug_info` (the release profile has
    `debug = false`), `release` when it does not, `unknown` when it is not ELF."""
    from fastconverse import _core

    try:
        with Path(_core.__file__).open("rb") as f:
            head = f.read(64)
            if head[:4] != b"\x7fELF" or head[4:6] != b"\x02\x01":  # 64-bit little-endian
                return "unknown"
            (shoff,) = struct.unpack_from("<Q", head, 0x28)
            shentsize, _, shstrndx = struct.unpack_from("<HHH", head, 0x3A)
            f.seek(shoff + shstrndx * shentsize)
            offset, size = struct.unpack_from("<QQ", f.read(shentsize), 0x18)
            f.seek(offset)
            names = f.read(size)
    except (OSError, struct.error):
        return "unknown"
    return "debug" if b".debug_info\0" in names else "release"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--turns", type=int, default=1000, help="turns in the history")
    p.add_argument("--iterations", type=int, default=2000, help="measured turns per run")
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--quick", action="store_true", help="200 iterations, 1 rep, prints only")
    p.add_argument("--no-write", action="store_true", help="print only")
    args = p.parse_args()
    if args.quick:
        args.iterations, args.reps, args.no_write = 200, 1, True
    n: int = args.iterations

    import fastconverse
    from fastconverse import tool
    from fastconverse.testing import FakeBedrock

    messages = history(args.turns)
    tools = [tool(lookup)]
    profile = build_profile()
    print(
        f"{args.turns:,}-turn history ({len(messages):,} messages), {n:,} turns per run, "
        f"{args.reps} runs per policy; {profile} build",
        flush=True,
    )
    with FakeBedrock() as fake:
        client = make_client(fake.url)
        sent = {k: check_request(k, messages, tools) for k in POLICIES}
        policies = {k: make_policy(k) for k in POLICIES}
        convs = {
            k: client.create_conversation(messages=messages, tools=tools, memory=policies[k])
            for k in POLICIES
        }
        warm_up = min(n, 100)
        for k in POLICIES:
            timed_turns(convs[k]._core, warm_up)
        runs: dict[str, list[tuple[int, int]]] = {k: [] for k in POLICIES}
        for _ in range(args.reps):
            for k in POLICIES:
                cpu, wall, bad = timed_turns(convs[k]._core, n)
                if bad:
                    raise SystemExit(f"{k}: {bad} of {n} turns did not ask for a request")
                runs[k].append((cpu, wall))
                print(f"  {k:<12} cpu={cpu / n / 1e3:.2f} µs  wall={wall / n / 1e3:.2f} µs")
        for k in POLICIES:
            conv = convs[k]
            if len(conv.transcript) != len(messages) or conv.busy:
                raise SystemExit(f"{k}: the history changed")
        custom_calls = policies["custom"].calls
        if custom_calls != warm_up + n * args.reps:
            raise SystemExit(f"custom: select ran {custom_calls} times")
        if fake.requests:
            raise SystemExit(f"{len(fake.requests)} requests reached FakeBedrock")

    def per_turn_us(k: str, i: int) -> float:
        return float(statistics.median(r[i] for r in runs[k])) / n / 1e3

    base_cpu = per_turn_us("none", 0)
    lines = [
        SECTION,
        "",
        f"Reproduce: `.venv/bin/python bench/memory_policies.py` ({args.turns:,}-turn history "
        f"of {len(messages):,} messages, {n:,} turns per run, median of {args.reps} runs per "
        f"policy; fastconverse {fastconverse.__version__}, **{profile} build**, CPython "
        f"{sys.version.split()[0]}; revision {common.git_revision()}; "
        f"{time.strftime('%Y-%m-%d')}). A turn is `core.begin(...)`, `turn.next()` (the memory "
        "step, up to the request) and `turn.close()`; no request is made. 'Over no policy' is "
        "the policy's own overhead: its figure minus the baseline's.",
        "",
        "| policy | messages sent | µs CPU / turn, total | µs CPU / turn, over no policy "
        "| µs wall / turn, total | target |",
        "|---|---|---|---|---|---|",
    ]
    for k in POLICIES:
        cpu_us, wall_us = per_turn_us(k, 0), per_turn_us(k, 1)
        over = "" if k == "none" else f"{cpu_us - base_cpu:,.1f}"
        target = ""
        if k in TARGETED:
            verdict = "pass" if cpu_us - base_cpu < TARGET_US else "FAIL"
            target = f"**{verdict}** (< {TARGET_US:.0f} µs over no policy)"
        lines.append(
            f"| {LABELS[k]} | {sent[k]:,} | {cpu_us:,.1f} | {over} | {wall_us:,.1f} | {target} |"
        )
    common.report(lines, SECTION, args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
