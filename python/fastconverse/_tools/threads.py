"""Where tool calls (and async hooks called from sync code) run outside the caller's
thread: a thread pool, a thread of its own for a call with a timeout, and a private event
loop on a daemon thread; each made again in a child after ``fork()``."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar


async def _await(value: Awaitable[Any]) -> Any:
    return await value


async def _caught(work: Awaitable[Any]) -> tuple[bool, Any]:
    """``(False, result)``, or ``(True, exception)`` when ``work`` raised one."""
    try:
        return False, await work
    except Exception as exc:
        return True, exc


def run_coroutine(value: Awaitable[Any]) -> Any:
    """Waits for an awaitable from sync code (which may be inside a running loop, as in
    Jupyter), on the private loop; its result or exception."""
    return asyncio.run_coroutine_threadsafe(_await(value), _private_loop()).result()


T = TypeVar("T")

_lock = threading.Lock()
_executor: concurrent.futures.ThreadPoolExecutor | None = None
_loop: asyncio.AbstractEventLoop | None = None


def _pool() -> concurrent.futures.ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            workers = max(32, 4 * (os.cpu_count() or 1))
            _executor = concurrent.futures.ThreadPoolExecutor(
                workers, thread_name_prefix="fastconverse-tool"
            )
        return _executor


def _own_thread(job: Callable[[], T]) -> concurrent.futures.Future[T]:
    """Runs a call that has a timeout on a daemon thread of its own: a thread cannot be
    stopped, and one that never returns must not take a place in the shared pool for good
    (nor keep the interpreter from exiting)."""
    future: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(job())
            except BaseException as exc:
                future.set_exception(exc)

    threading.Thread(target=run, name="fastconverse-tool-timed", daemon=True).start()
    return future


def _after_fork_in_child() -> None:
    """The pool's threads and the private loop's thread stay in the parent: make new ones
    (and a new lock: a parent thread may have held it) in a child after ``fork()``."""
    global _lock, _executor, _loop
    _lock = threading.Lock()
    _executor = None
    _loop = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _private_loop() -> asyncio.AbstractEventLoop:
    """An event loop on its own daemon thread, for coroutine tools called from sync code
    (which may itself be running inside an event loop, as in Jupyter)."""
    global _loop
    with _lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(
                target=loop.run_forever, name="fastconverse-tool-loop", daemon=True
            ).start()
            _loop = loop
        return _loop
