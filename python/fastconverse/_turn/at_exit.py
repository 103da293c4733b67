"""Glue between the native core and asyncio: ending what is still under way at interpreter
exit."""

from __future__ import annotations

import atexit


def _drain() -> None:
    # Abort the calls still under way, and let wake-ups already in progress finish, before
    # the interpreter finalizes.
    from fastconverse import _core

    _core._drain()


# Note: registered when the package is imported (it is, by fastconverse/__init__), so that it
# runs after any exit hook a program registers later: those may still await fastconverse.
atexit.register(_drain)
