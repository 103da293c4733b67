"""A seeded fault campaign over the turn: random API x random fault, with the promises checked
after every scenario.

Each scenario picks an API (send, send_async, stream read with for / async for, the tool loop
with sync / async / failing tools, send_tool_results, the boto3-shaped layer) and a fault at a
random point (every HTTP error code, an in-stream exception at a random event, a dropped
connection, a stall past the read timeout, asyncio cancellation at a random moment, also with
the event loop blocked while the reply is delivered, a stream closed half-read, tools that
raise, hang past their timeout or return what Bedrock would refuse). Then:

- the history is exactly as before (failed or cancelled turn), or before plus one whole turn
  (success, reported as success: the returned reply's messages are what was added);
- the conversation is free, and its next turn succeeds with FakeBedrock validating the whole
  history;
- in a scenario whose conversation lives in a SQLite store (about a third), the store holds
  exactly what the conversation holds: another client loads the same transcript, usage and
  version;
- usage adds up: the conversation's usage is the sum of its committed replies' usage;
- every scenario ends within its bound (a hang fails, however long it takes);
- threads, file descriptors and memory are stable across the campaign;
- about one scenario in ten then forks: the child makes turns with the inherited client,
  on the scenario's conversation and on a new one, sent and streamed;
- hooks are installed on every client: they run on the scenario's own thread, each committed
  turn is reported once by ``on_commit`` (in order), and no turn ends twice; context they add
  to the main turn reaches the wire and never the history; a hook armed to raise at a random
  point (about one scenario in eight) fails that turn with the history as it was.

CI runs a fixed-seed sample (``FASTCONVERSE_CAMPAIGN_N``, default 300). For a long run:
``python tests/test_fault_campaign.py --n 10000 --seed 1`` (with the package installed).
Ctrl-C at random moments runs in subprocesses (``test_ctrl_c_campaign``).
"""

from __future__ import annotations

import asyncio
import collections
import gc
import itertools
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conftest import ERROR_CODES
from fastconverse import (
    ConverseClient,
    SlidingWindow,
    SQLiteStore,
    Summarizing,
    TokenBudget,
    Tool,
    errors,
    system_tool,
    tool,
)
from fastconverse.testing import FakeBedrock

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = int(os.environ.get("FASTCONVERSE_CAMPAIGN_SEED", "20261123"))
COUNT = int(os.environ.get("FASTCONVERSE_CAMPAIGN_N", "300"))
READ_TIMEOUT = 0.4
BOUND = 30.0  # seconds a scenario may take before it counts as hung

STREAM_ERRORS = [
    "throttlingException",
    "validationException",
    "modelStreamErrorException",
    "internalServerException",
    "serviceUnavailableException",
]
APIS = [
    "send",
    "send_async",
    "stream_for",
    "stream_async",
    "tools_sync",
    "tools_async",
    "tools_stream",
    "tool_results",
    "boto3_layer",
]
FAULTS = [
    "none",
    "http_error",
    "stream_error",
    "disconnect",
    "stall",
    "cancel",
    "cancel_blocked_loop",
    "close_half_read",
    "tool_raises",
    "tool_hangs",
    "tool_unconvertible",
]


@tool
def echo(text: str) -> str:
    """Echoes the text."""
    return text.upper()


@tool
async def aecho(text: str) -> str:
    """Echoes the text, asynchronously."""
    await asyncio.sleep(0)
    return text.lower()


@tool
def boom(text: str) -> str:
    """Always fails."""
    raise RuntimeError(f"boom {text}")


@tool(timeout=0.05)
def sleepy(text: str) -> str:
    """Takes too long."""
    time.sleep(0.2)
    return text


@tool
def refused(text: str) -> dict[str, Any]:
    """Returns a block Bedrock would refuse."""
    return {"image": {"format": "png"}}


ASK = Tool({"name": "ask", "inputSchema": {"json": {"type": "object"}}})
TOOLS = [echo, aecho, boom, sleepy, refused, ASK, system_tool("nova_grounding")]
_SERVER_IDS = itertools.count()


CONTEXT = "campaign context: never kept"
POINTS = ("on_turn_start", "before_request", "after_response", "before_tool_call")


class CampaignHook:
    """Installed on every client of the campaign: records each hook point, with the thread it
    ran on; adds context to the main turn; raises at one point when armed."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any, int]] = []
        self.raise_at: str | None = None
        self.live = False  # (raises only during the scenario's main turn)
        for name in ("before_request", "after_response", "before_tool_call", "after_tool_call"):
            setattr(self, name, self._recorder(name))

    def _recorder(self, name: str) -> Callable[[Any], None]:
        def record(event: Any) -> None:
            self.hit(name, event)

        return record

    def arm(self, rng: random.Random) -> None:
        self.seen.clear()
        self.raise_at = rng.choice(POINTS) if rng.random() < 0.125 else None

    def hit(self, name: str, event: Any) -> None:
        self.seen.append((name, event, threading.get_ident()))
        if name == self.raise_at and self.live:
            self.raise_at = None
            raise RuntimeError(f"campaign hook raised at {name}")

    def on_turn_start(self, event: Any) -> None:
        if event.message == {"role": "user", "content": [{"text": "go"}]}:
            event.add_context(CONTEXT)
        self.hit("on_turn_start", event)

    def on_commit(self, event: Any) -> None:
        self.hit("on_commit", event)

    def on_failure(self, event: Any) -> None:
        self.hit("on_failure", event)

    def check(self, committed: list[Any], transcript: list[Any]) -> None:
        here = threading.get_ident()
        assert all(t == here for _, _, t in self.seen), "a hook ran on another thread"
        commits = [e.reply for n, e, _ in self.seen if n == "on_commit"]
        assert [id(r) for r in commits] == [id(r) for r in committed], "on_commit != the turns"
        starts = sum(1 for n, _, _ in self.seen if n == "on_turn_start")
        ends = len(commits) + sum(1 for n, _, _ in self.seen if n == "on_failure")
        assert ends <= starts, f"{ends} turn ends for {starts} turn starts"
        users = [m for m in transcript if m["role"] == "user"]
        assert CONTEXT not in repr(users), "context reached the history"
        grounded = False
        for name, event, _ in self.seen:
            if name == "on_turn_start":
                grounded = CONTEXT in repr(event.context)
            elif name == "before_request" and event.kind == "turn" and grounded:
                assert CONTEXT in repr(event.messages), "a request of the turn lost its context"


@dataclass
class Tally:
    counts: collections.Counter[tuple[str, str, str]] = field(default_factory=collections.Counter)
    forks: int = 0
    failures: list[str] = field(default_factory=list)


class Scenario:
    """One scenario: its random choices and the checks after it."""

    def __init__(
        self,
        fake: FakeBedrock,
        clients: tuple[ConverseClient, ConverseClient, ConverseClient],
        rng: random.Random,
        n: int,
    ):
        self.fake, self.rng, self.n = fake, rng, n
        # (memory, a SQLite store, and another client of the same store to check it)
        self.stored = rng.random() < 0.35
        self.client = clients[1] if self.stored else clients[0]
        self.reader = clients[2]
        self.model = f"campaign-{n}"
        self.api = rng.choice(APIS)
        self.fault = rng.choice(self._faults())
        # A memory policy cuts the history the turns build on (the transcript keeps all).
        # Summaries are requests too: made with the scenario's model, the scripted faults
        # may land on them (not while answering tool calls: the setup scripts those).
        summarizer = self.model if self.api != "tool_results" else f"{self.model}-summaries"
        self.memory = rng.choice(
            [
                None,
                None,
                SlidingWindow(rng.randint(2, 9)),
                TokenBudget(rng.randint(10, 120)),
                Summarizing(rng.randint(5, 40), rng.choice([0, 2]), model_id=summarizer),
            ]
        )
        self.committed: list[Any] = []
        self.hook: CampaignHook = self.client._hooks.objects[0]
        self.hook.arm(rng)
        # about one scenario in ten forks afterwards: the child makes turns of its own
        self.forks = rng.random() < 0.1

    def _faults(self) -> list[str]:
        faults = ["none", "http_error", "stream_error", "disconnect", "stall"]
        if self.api in ("send_async", "stream_async", "tools_async"):
            faults += ["cancel", "cancel_blocked_loop"]
        if self.api in ("stream_for", "stream_async", "tools_stream"):
            faults += ["close_half_read"]
        if self.api.startswith("tools"):
            faults += ["tool_raises", "tool_hangs", "tool_unconvertible"]
        return faults

    # --- the reply the model gives, with the fault in it --------------------------------

    def answer(self, text: str) -> tuple[list[dict[str, Any]], int]:
        """An answer's blocks, and how many events its stream has: the text, sometimes
        after a system tool's call and result (the service's, in the same message) and
        sometimes followed by a cited passage, so that cuts fall inside those too."""
        rng = self.rng
        blocks: list[dict[str, Any]] = []
        events = 4  # messageStart, the text's blockStop, messageStop, metadata
        if rng.random() < 0.25:
            use_id = f"tooluse_campaign{next(_SERVER_IDS)}"
            blocks.append(
                {
                    "toolUse": {
                        "toolUseId": use_id,
                        "name": "nova_grounding",
                        "input": {"query": text},
                        "type": "server_tool_use",
                    }
                }
            )
            blocks.append(
                {
                    "toolResult": {
                        "toolUseId": use_id,
                        "content": [{"text": f"found {text}"}],
                        "type": "nova_grounding_result",
                        "status": "success",
                    }
                }
            )
            events += 6  # (each: a start, one delta, a stop)
        blocks.append({"text": text})
        events += len(text.split())
        if rng.random() < 0.25:
            quote = f"cited {rng.randint(0, 999)}"
            citation = {
                "title": "a page",
                "sourceContent": [{"text": quote}],
                "location": {"web": {"url": "https://example.com/p", "domain": "example.com"}},
            }
            blocks.append(
                {"citationsContent": {"content": [{"text": quote}], "citations": [citation]}}
            )
            events += 5  # (a start, two text deltas, the citation, a stop)
        return blocks, events

    def enqueue(self, text: str, *, faulty: bool) -> None:
        rng, fake, model = self.rng, self.fake, self.model
        words = " ".join(f"w{i}" for i in range(rng.randint(1, 12)))
        blocks, events = self.answer(f"{text} {words}")
        fault = self.fault if faulty else "none"
        if fault == "http_error":
            fake.enqueue_error(rng.choice(ERROR_CODES), model_id=model)
        elif fault == "stream_error":
            fake.enqueue_turn(
                blocks,
                model_id=model,
                stream_error=rng.choice(STREAM_ERRORS),
                after_events=rng.randint(0, events - 1),
            )
        elif fault == "disconnect":
            fake.enqueue_turn(
                blocks, model_id=model, disconnect_after_events=rng.randint(0, events)
            )
        elif fault == "stall":
            if rng.random() < 0.5:
                fake.enqueue_text(text, model_id=model, first_byte_delay=READ_TIMEOUT * 2)
            else:
                fake.enqueue_turn(blocks, model_id=model, delta_delay=READ_TIMEOUT * 2)
        elif fault in ("cancel", "cancel_blocked_loop", "close_half_read"):
            delay = rng.choice([0.0, 0.0, 0.01, 0.03])
            fake.enqueue_turn(blocks, model_id=model, delta_delay=delay)
        else:
            fake.enqueue_turn(blocks, model_id=model)

    def enqueue_tool_round(self, *, faulty: bool) -> None:
        if faulty and self.fault in ("http_error", "stream_error", "disconnect", "stall"):
            self.enqueue("x", faulty=True)
            return
        names = {"tool_raises": "boom", "tool_hangs": "sleepy", "tool_unconvertible": "refused"}
        calls: list[tuple[str, dict[str, Any]]] = [
            (self.rng.choice(["echo", "aecho"]), {"text": f"t{i}"})
            for i in range(self.rng.randint(1, 3))
        ]
        if self.fault in names:
            calls.insert(self.rng.randint(0, len(calls)), (names[self.fault], {"text": "f"}))
        self.fake.enqueue_tool_uses(calls, model_id=self.model)

    # --- running it ---------------------------------------------------------------------

    def run(self) -> str:
        conv = self.client.create_conversation(model_id=self.model, tools=TOOLS, memory=self.memory)
        if self.rng.random() < 0.5:  # sometimes a history to build on
            self.committed.append(conv.send("warm up"))
        if self.api == "tool_results":
            self.fake.enqueue_tool_uses([("ask", {}), ("echo", {"text": "e"})], model_id=self.model)
            self.committed.append(conv.send("ask me"))
        if self.api == "boto3_layer":
            return self.run_boto3_layer()
        before, before_sent = conv.transcript, conv.messages
        outcome, reply = self.drive(conv)
        after, sent = conv.transcript, conv.messages
        assert not conv.busy, "the conversation is still busy"
        assert after[len(after) - len(sent) :] == sent, "messages are not the transcript's end"
        if reply is not None:
            assert after[: len(before)] == before, "the history was rewritten"
            assert after[len(before) :] == reply.messages, "the turn was not kept whole"
            assert len(after) > len(before) or not reply.text.strip()
            if self.memory is None:
                assert sent == after
            self.committed.append(reply)
        else:
            assert (after, sent) == (before, before_sent), f"a {outcome} turn changed the history"
        # What a cancelled or cut turn left queued is not for the next one.
        self.fake.reset()
        if conv.pending_tool_calls:
            conv.send_tool_results({c["toolUseId"]: "fine" for c in conv.pending_tool_calls})
            self.committed.append(conv.last_reply)
        follow = conv.send("next")  # FakeBedrock validates the whole history
        assert follow.text == "You said: next", follow.text
        self.committed.append(follow)
        total = self.committed[0].usage
        for r in self.committed[1:]:
            total = total + r.usage
        by_model = list(conv.usage_by_model.values())
        assert sum(by_model[1:], by_model[0]) == conv.usage
        if not isinstance(self.memory, Summarizing):  # (summaries count in usage too)
            assert conv.usage == total, f"usage {conv.usage} != {total}"
        self.hook.check(self.committed, conv.transcript)
        if self.stored:
            self.reader._conversations.pop(conv.id, None)  # (its cached object, if any)
            kept = self.reader.get_conversation(conv.id, tools=TOOLS, memory=self.memory)
            assert kept.transcript == conv.transcript, "the store holds another history"
            assert (kept.version, kept.usage) == (conv.version, conv.usage)
            assert kept.messages == conv.messages and kept.summary == conv.summary
        if self.forks:
            self.fork_and_check(conv)
        return outcome

    def fork_and_check(self, conv: Any) -> None:
        """After ``fork()``, whatever the scenario left behind (timed-out tool threads, a
        stream's pump, an SQLite connection, the parent's runtime), the child makes turns
        with the inherited client: on the scenario's conversation and on a new one, sent and
        streamed."""
        pid = os.fork()
        if pid == 0:  # the child: report by exit code only, never return into pytest
            code = 3
            try:
                before = conv.messages
                again = conv.send("child")
                fresh = self.client.create_conversation(model_id=f"{self.model}-child")
                with fresh.stream("streamed") as s:
                    for _ in s:
                        pass
                ok = (
                    again.text == "You said: child"
                    and conv.messages == [*before, *again.messages][-len(conv.messages) :]
                    and s.reply.text == "You said: streamed"
                    and len(fresh.messages) == 2
                )
                code = 0 if ok else 2
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, f"the forked child ended with {status}"

    def drive(self, conv: Any) -> tuple[str, Any]:
        api, rng = self.api, self.rng
        if api.startswith("tools"):
            self.enqueue_tool_round(faulty=rng.random() < 0.5)
            # a fault not used on the first request goes on the answer's
            faulty_answer = self.fault in ("http_error", "stream_error", "disconnect", "stall")
            self.enqueue("answer", faulty=faulty_answer)
        elif api == "tool_results":
            self.enqueue("answer", faulty=True)
        else:
            self.enqueue("hello", faulty=True)
        self.hook.live = True
        try:
            if api in ("send", "tools_sync"):
                return "ok", conv.send("go")
            if api == "tool_results":
                [call] = [c for c in conv.pending_tool_calls if c["name"] == "ask"]
                return "ok", conv.send_tool_results({call["toolUseId"]: "yes"})
            if api in ("stream_for", "tools_stream"):
                return self.read_stream(conv)
            return asyncio.run(asyncio.wait_for(self.run_async(conv), BOUND))
        except (errors.ConverseError, ValueError) as exc:
            return type(exc).__name__, None
        except asyncio.CancelledError:
            return "cancelled", None
        finally:
            self.hook.live = False

    def read_stream(self, conv: Any) -> tuple[str, Any]:
        stream = conv.stream("go")
        stop = self.rng.randint(0, 8) if self.fault == "close_half_read" else None
        for i, _ in enumerate(stream):
            if stop is not None and i >= stop:
                stream.close()
                return "closed", None
        return "ok", stream.reply

    async def run_async(self, conv: Any) -> tuple[str, Any]:
        async def op() -> tuple[str, Any]:
            if self.api in ("send_async", "tools_async"):
                return "ok", await conv.send_async("go")
            stream = conv.stream("go")
            stop = self.rng.randint(0, 8) if self.fault == "close_half_read" else None
            i = 0
            async for _ in stream:
                if stop is not None and i >= stop:
                    stream.close()
                    return "closed", None
                i += 1
            return "ok", stream.reply

        task = asyncio.ensure_future(op())
        if self.fault == "cancel":
            await asyncio.sleep(self.rng.choice([0, 0.001, 0.005, 0.02, 0.05]))
            task.cancel()
        elif self.fault == "cancel_blocked_loop":
            await asyncio.sleep(0)
            time.sleep(self.rng.choice([0.0, 0.005, 0.02, 0.08]))  # the reply arrives meanwhile
            task.cancel()
        try:
            return await task
        except asyncio.CancelledError:
            return "cancelled", None

    def run_boto3_layer(self) -> str:
        self.enqueue("hello", faulty=True)
        messages = [{"role": "user", "content": [{"text": "go"}]}]
        try:
            if self.rng.random() < 0.5:
                out = self.client.converse(modelId=self.model, messages=messages)
                texts = [b["text"] for b in out["output"]["message"]["content"] if "text" in b]
                assert texts[0].startswith("hello")
            else:
                events = list(
                    self.client.converse_stream(modelId=self.model, messages=messages)["stream"]
                )
                assert "metadata" in events[-1]
            return "ok"
        except errors.ConverseError as exc:
            return type(exc).__name__
        finally:
            self.fake.reset()
            out = self.client.converse(modelId=self.model, messages=messages)
            assert out["output"]["message"]["content"][0]["text"] == "You said: go"


def resources() -> tuple[int, int, int]:
    gc.collect()
    fds = len(os.listdir("/proc/self/fd"))
    with open("/proc/self/statm") as f:
        rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return threading.active_count(), fds, rss


def campaign(seed: int, count: int, report: Callable[[str], None] | None = None) -> Tally:
    tally = Tally()
    rng = random.Random(seed)
    folder = tempfile.mkdtemp()
    hook = CampaignHook()
    with FakeBedrock() as fake:
        clients = tuple(
            ConverseClient(
                "m",
                endpoint_url=fake.url,
                region_name="us-east-1",
                aws_access_key_id="AKID",
                aws_secret_access_key="SECRET",
                max_attempts=1,
                read_timeout=READ_TIMEOUT,
                max_conversations=50,
                store=store,
                hooks=[hook],
            )
            for store in (None, SQLiteStore(f"{folder}/c.db"), SQLiteStore(f"{folder}/c.db"))
        )
        marks: list[tuple[int, int, int]] = []
        for n in range(count):
            if n in (count // 5, count - 1):
                time.sleep(0.3)  # let timed-out tool threads finish
                marks.append(resources())
            scenario = Scenario(fake, clients, random.Random(rng.getrandbits(64)), n)
            started = time.monotonic()
            try:
                outcome = scenario.run()
            except Exception as exc:  # a broken promise: keep going, report them all
                outcome = "FAILED"
                tally.failures.append(
                    f"scenario {n} ({scenario.api} x {scenario.fault}): {type(exc).__name__}: {exc}"
                )
            took = time.monotonic() - started
            if took > BOUND:
                tally.failures.append(
                    f"scenario {n} ({scenario.api} x {scenario.fault}) took {took:.1f} s"
                )
            tally.counts[(scenario.api, scenario.fault, outcome)] += 1
            tally.forks += scenario.forks and outcome != "FAILED" and scenario.api != "boto3_layer"
            if report and n and n % 1000 == 0:
                report(f"{n} scenarios, {len(tally.failures)} failures")
        if len(marks) == 2:
            (t0, f0, m0), (t1, f1, m1) = marks
            if t1 > t0 + 4 or f1 > f0 + 16 or m1 > m0 + 64 * 2**20:
                tally.failures.append(
                    f"resources grew: threads {t0}->{t1}, fds {f0}->{f1}, "
                    f"rss {m0 >> 20}->{m1 >> 20} MiB"
                )
    shutil.rmtree(folder, ignore_errors=True)
    return tally


def summary(tally: Tally) -> str:
    by_pair: collections.Counter[tuple[str, str]] = collections.Counter()
    outcomes: collections.Counter[str] = collections.Counter()
    for (api, fault, outcome), k in tally.counts.items():
        by_pair[(api, fault)] += k
        outcomes[outcome] += k
    lines = [
        f"{sum(by_pair.values())} scenarios, {len(tally.failures)} failures, "
        f"{tally.forks} forked children checked"
    ]
    lines.append("outcomes: " + ", ".join(f"{o} {k}" for o, k in outcomes.most_common()))
    for api in APIS:
        row = ", ".join(f"{f} {by_pair[(api, f)]}" for f in FAULTS if by_pair[(api, f)])
        lines.append(f"  {api}: {row}")
    return "\n".join(lines + tally.failures[:20])


def test_fault_campaign() -> None:
    tally = campaign(SEED, COUNT)
    print(summary(tally))
    assert not tally.failures, summary(tally)
    # every API met every fault it can meet at least once in a few hundred scenarios
    if COUNT >= 300:
        assert len({(a, f) for a, f, _ in tally.counts}) >= 40


CTRL_C_CHILD = r"""
import os, random, signal, sys, threading, time
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.path.insert(0, sys.argv[1])
from fastconverse import ConverseClient
from fastconverse.testing import FakeBedrock
from test_fault_campaign import TOOLS
seed, count = int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
bad = 0
with FakeBedrock() as fake:
    client = ConverseClient("m", endpoint_url=fake.url, region_name="us-east-1",
                            aws_access_key_id="a", aws_secret_access_key="b", max_attempts=1)
    for n in range(count):
        model = f"c{n}"
        conv = client.create_conversation(model_id=model, tools=TOOLS)
        conv.send("warm")
        before = conv.messages
        api = rng.choice(["send", "stream", "tools"])
        if api == "tools":
            fake.enqueue_tool_uses([("echo", {"text": "a"})], model_id=model, delta_delay=0.01)
        fake.enqueue_text("one two three four five", model_id=model, delta_delay=0.01)
        timer = threading.Timer(rng.uniform(0, 0.08), os.kill, (os.getpid(), signal.SIGINT))
        reply = None
        try:  # the one signal of the scenario lands somewhere in here, whenever it comes
            timer.start()
            if api == "stream":
                with conv.stream("go") as s:  # closed however the block is left
                    for _ in s:
                        pass
                    reply = s.reply
            else:
                reply = conv.send("go")
            timer.join()
        except KeyboardInterrupt:
            timer.join()
        after = conv.messages
        whole = reply is not None and after == before + reply.messages
        if not (after == before or whole) or conv.busy:
            bad += 1
            print("BAD", n, api, len(before), len(after), conv.busy, flush=True)
        fake.reset()
        assert conv.send("next").text == "You said: next"
print("done", count, bad)
"""


def test_ctrl_c_campaign() -> None:
    count = max(10, COUNT // 10)
    proc = subprocess.run(
        [sys.executable, "-c", CTRL_C_CHILD, HERE, str(SEED), str(count)],
        capture_output=True,
        text=True,
        timeout=600,
        start_new_session=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == f"done {count} 0", proc.stdout


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    started = time.monotonic()
    result = campaign(args.seed, args.n, report=lambda s: print(s, flush=True))
    print(summary(result))
    print(f"seed {args.seed}, {time.monotonic() - started:.0f} s")
    sys.exit(1 if result.failures else 0)
