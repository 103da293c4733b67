"""Glue between the native core and asyncio: waking a waiting task, and ending what is still
under way at interpreter exit."""

from __future__ import annotations

import atexit

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    import asyncio
    from typing import Any


def wake(future: asyncio.Future[Any]) -> None:
    """Wakes the task awaiting a native call: its result is ready (unless it was cancelled
    meanwhile). The task itself then takes the result in, in its own context."""
    if not future.done():
        future.set_result(None)


def _drain() -> None:
    # Abort the calls still under way, and let wake-ups already in progress finish, before
    # the interpreter finalizes.
    from fastconverse import _core

    _core._drain()


# Note: registered when the package is imported (it is, by fastconverse/__init__), so that it
# runs after any exit hook a program registers later: those may still await fastconverse.
atexit.register(_drain)
