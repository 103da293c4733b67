"""Which variant a new conversation gets: at random (seeded), in turn, or by a user key."""

from __future__ import annotations

import hashlib
import random
from _thread import allocate_lock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

MODES = ("random", "round_robin", "sticky")


def sticky_index(experiment: str, user: str, count: int) -> int:
    """The same experiment and user give the same index in every process and on every
    machine: sha256 of both (Python's ``hash`` of a str is salted per process), its first
    eight bytes as a fraction of 2**64, scaled to ``count``."""
    digest = hashlib.sha256(f"{experiment}\x00{user}".encode()).digest()
    return int.from_bytes(digest[:8], "big") * count >> 64


class Assigner:
    """Hands out variant names; safe to share between threads."""

    def __init__(self, experiment: str, names: Sequence[str], mode: str, seed: int | None):
        self._experiment = experiment
        self._names = tuple(names)
        self._mode = mode
        self._rng = random.Random(seed)
        self._next = 0
        self._lock = allocate_lock()

    def assign(self, user: str | None) -> str:
        if self._mode == "sticky":
            if user is None:
                raise ValueError(
                    "user: this experiment assigns variants by user (assignment='sticky'); "
                    "pass user='...' (any stable key: a user or session id)"
                )
            return self._names[sticky_index(self._experiment, user, len(self._names))]
        with self._lock:
            if self._mode == "round_robin":
                name = self._names[self._next % len(self._names)]
                self._next += 1
                return name
            return self._names[self._rng.randrange(len(self._names))]
