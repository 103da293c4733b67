"""Async calls on any event loop: many results ready at once on one loop, a loop that cannot
watch sockets (as Windows' proactor loop), loops in several threads at once, and loops that
come and go.

A runtime thread tells a loop that results are ready without taking the GIL, by one byte on a
socket the loop watches, however many results are ready by the time the loop looks; a loop
that cannot watch sockets is called back instead. Errors inside such a wake-up would not
reach the awaiting code (the loop only logs them), so every test here fails on any error the
loop reports.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import os
import sys
import threading
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from conftest import fc_client
from fastconverse import ConverseClient, TextDelta
from fastconverse.testing import FakeBedrock

T = TypeVar("T")

# A lost wake-up shows as a hang: fail in a minute, not at the suite's limit.
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def client(fake_bedrock: FakeBedrock) -> ConverseClient:
    return fc_client(fake_bedrock)


def run_strict(
    main: Callable[[], Awaitable[T]],
    make_loop: Callable[[], asyncio.AbstractEventLoop] | None = None,
) -> T:
    """Runs `main()` on a new loop (`make_loop`'s, or asyncio's default) that fails the test
    on any error it reports to its exception handler."""
    loop = (make_loop or asyncio.new_event_loop)()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        result = loop.run_until_complete(main())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    assert reported == []
    return result


def said(text: str) -> str:
    """What FakeBedrock's default model answers to `text`."""
    return f"You said: {text}"


async def echo(client: ConverseClient, text: str) -> str:
    """The default model's answer to `text`, read through the typed async stream."""
    got = []
    async for event in client.create_conversation().stream(text):
        if isinstance(event, TextDelta):
            got.append(event.text)
    return "".join(got)


def test_many_results_ready_at_once_each_reach_its_own_caller(client: ConverseClient) -> None:
    async def main() -> tuple[list[str], list[str]]:
        streams = [echo(client, f"stream {i}") for i in range(150)]
        calls = [
            client.converse_async(messages=[{"role": "user", "content": [{"text": f"call {i}"}]}])
            for i in range(150)
        ]
        texts = await asyncio.gather(*streams)
        replies = await asyncio.gather(*calls)
        return texts, [r["output"]["message"]["content"][0]["text"] for r in replies]

    texts, replies = run_strict(main)
    assert texts == [said(f"stream {i}") for i in range(150)]
    assert replies == [said(f"call {i}") for i in range(150)]


def test_results_that_arrive_for_cancelled_callers_are_dropped_quietly(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    # Every reply's events come 1 ms apart, so cancellations land between and during them.
    # Note: a cancel that comes after its task ended is refused (`cancel()` is False): on a
    # loaded machine the loop is late, a whole reply has arrived, and the task reads it all
    # without waiting. Only the cancels taken count.
    async def main() -> tuple[list[bool], list[object]]:
        for _ in range(60):
            fake_bedrock.enqueue_text("one two three four five", delta_delay=0.001)
        tasks = [asyncio.ensure_future(collect(client)) for _ in range(60)]
        taken = [False] * 60
        for i, task in enumerate(tasks):
            if i % 3 == 0:
                taken[i] = task.cancel()
            await asyncio.sleep(0)
        return taken, await asyncio.gather(*tasks, return_exceptions=True)

    async def collect(client: ConverseClient) -> str:
        got = []
        async for event in client.create_conversation().stream("go"):
            if isinstance(event, TextDelta):
                got.append(event.text)
        return "".join(got)

    taken, outcomes = run_strict(main)
    assert taken[0]  # (cancelled before it ever ran)
    for was_cancelled, outcome in zip(taken, outcomes):
        if was_cancelled:
            assert isinstance(outcome, asyncio.CancelledError)
        else:
            assert outcome == "one two three four five"


class NoReaderLoop(asyncio.SelectorEventLoop):
    """A loop that cannot watch file descriptors, like Windows' proactor loop."""

    readers_refused = 0

    def add_reader(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:
        NoReaderLoop.readers_refused += 1
        raise NotImplementedError


def test_a_loop_that_cannot_watch_sockets_is_still_woken(
    fake_bedrock: FakeBedrock, client: ConverseClient
) -> None:
    async def main() -> tuple[list[str], str]:
        fake_bedrock.enqueue_text("slow reply", delta_delay=0.01)
        slow = await echo_queued(client)
        texts = await asyncio.gather(*(echo(client, f"no reader {i}") for i in range(40)))
        return texts, slow

    async def echo_queued(client: ConverseClient) -> str:
        reply = await client.create_conversation().send_async("go")
        return reply.text

    refused_before = NoReaderLoop.readers_refused
    texts, slow = run_strict(main, NoReaderLoop)
    assert NoReaderLoop.readers_refused > refused_before  # the fallback was really taken
    assert slow == "slow reply"
    assert texts == [said(f"no reader {i}") for i in range(40)]


def test_loops_in_several_threads_at_once_each_get_their_own_results(
    client: ConverseClient,
) -> None:
    # Each thread starts loop after loop, and threads switch as often as they can: a loop's
    # first call sets up its wake-up while other threads do the same for theirs.
    results: dict[tuple[int, int], list[str]] = {}
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        async def main(k: int) -> list[str]:
            return list(await asyncio.gather(*(echo(client, f"t{n} l{k} s{i}") for i in range(5))))

        try:
            for k in range(6):
                results[n, k] = run_strict(functools.partial(main, k))
        except BaseException as exc:  # reported below, with the thread's number
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    assert errors == []
    assert results == {
        (n, k): [said(f"t{n} l{k} s{i}") for i in range(5)] for n in range(6) for k in range(6)
    }


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts /proc/self/fd")
def test_loops_that_come_and_go_leave_no_descriptors_behind(client: ConverseClient) -> None:
    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    async def one(i: int) -> str:
        return await echo(client, f"loop {i}")

    assert run_strict(functools.partial(one, -1)) == said("loop -1")
    before = open_fds()
    for i in range(40):
        assert run_strict(functools.partial(one, i)) == said(f"loop {i}")
    # A loop's own descriptors, and the socket pair that wakes it, go when a later loop starts.
    assert open_fds() <= before + 4


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts /proc/self/fd")
def test_loops_dropped_without_closing_leave_no_descriptors_behind(
    client: ConverseClient,
) -> None:
    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    def one_dropped_loop(i: int) -> None:
        loop = asyncio.new_event_loop()
        assert loop.run_until_complete(echo(client, f"dropped {i}")) == said(f"dropped {i}")
        # Not closed: the loop goes when nobody keeps it (its own __del__ closes it).

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # "unclosed event loop"
        one_dropped_loop(-1)
        gc.collect()
        before = open_fds()
        for i in range(40):
            one_dropped_loop(i)
            gc.collect()
    assert open_fds() <= before + 4


class SomeFuturesFail(asyncio.SelectorEventLoop):
    """A loop whose every fourth future refuses its result (while `refusing`), as a future
    subclass might."""

    def __init__(self) -> None:
        super().__init__()
        self.made = 0
        self.refusing = True

    def create_future(self) -> asyncio.Future[Any]:
        self.made += 1
        if self.made % 4 or not self.refusing:
            return super().create_future()
        return RefusingFuture(loop=self)


class RefusingFuture(asyncio.Future):  # type: ignore[type-arg]
    def set_result(self, result: Any) -> None:
        raise RuntimeError("this future refuses its result")


def test_a_future_that_fails_to_wake_does_not_strand_the_others(client: ConverseClient) -> None:
    # All replies arrive while the loop is blocked, so they are woken in one batch; the
    # futures that refuse their result stay pending, and every other call completes.
    async def main() -> tuple[list[str], int]:
        tasks = [
            asyncio.ensure_future(
                client.converse_async(messages=[{"role": "user", "content": [{"text": f"{i}"}]}])
            )
            for i in range(24)
        ]
        await asyncio.sleep(0)  # every request starts
        loop.refusing = False  # (asyncio.wait's own futures must work)
        time.sleep(0.5)  # every reply arrives while the loop is blocked
        done, pending = await asyncio.wait(tasks, timeout=5)
        for task in pending:
            task.cancel()
        texts = sorted(t.result()["output"]["message"]["content"][0]["text"] for t in done)
        return texts, len(pending)

    loop = SomeFuturesFail()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        texts, stuck = loop.run_until_complete(main())
    finally:
        loop.close()
    assert stuck == 6  # one future in four refused to be woken
    assert len(texts) == 18 and all(t.startswith("You said: ") for t in texts)
    assert reported and all(
        "refuses its result" in str(context.get("exception")) for context in reported
    )
