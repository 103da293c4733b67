"""Turns the native awaitables into coroutines, so that ``asyncio.create_task`` takes them."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable
