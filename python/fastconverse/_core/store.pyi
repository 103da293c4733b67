"""Where conversations are kept: SQLite or Redis."""

import os
from collections.abc import Mapping
from typing import Any

# --- store/ --------------------------------------------------------------------------------

class Store:
    """Where conversations are kept: ``SQLiteStore`` or ``RedisStore``."""

    def _load(self, id: str) -> _Stored | None: ...
    def _list(
        self,
        max: int,
        metadata: Mapping[str, Any] | None = None,
        after: tuple[float, str] | None = None,
    ) -> list[tuple[str, int, float, float, str, int, dict[str, Any]]]: ...
    def _delete(self, id: str) -> bool: ...

class SQLiteStore(Store):
    """Conversations in one SQLite file (WAL mode): for one machine, several processes."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 5.0) -> None: ...
    @property
    def path(self) -> str: ...

class RedisStore(Store):
    """Conversations in Redis, for workers on many machines; ``ttl`` (seconds) expires a
    conversation after its last turn."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "fastconverse:",
        ttl: float | None = None,
        timeout: float = 5.0,
    ) -> None: ...
    @property
    def prefix(self) -> str: ...
    @property
    def ttl(self) -> int | None: ...

class _Stored:
    """A loaded conversation on its way into a ``Conversation``."""

    @property
    def settings(self) -> str: ...

def _store_from(store: Any) -> Store | None:
    """``ConverseClient(store=...)``, checked."""
