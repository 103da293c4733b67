"""Glue between the native core and asyncio: coroutines, result delivery, draining at exit."""

from __future__ import annotations

import asyncio
import atexit
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")


async def coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable


def deliver(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    """Sets the result of a native call on its loop (unless it was cancelled meanwhile)."""
    if future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def _drain() -> None:
    # Let results still on their way to a loop arrive before the interpreter finalizes.
    from fastconverse import _core

    _core._drain()


atexit.register(_drain)
