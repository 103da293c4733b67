"""The runtime's awaitable, and the functions the package calls: at import, at exit,
after ``fork()``, and to check a content block."""

from collections.abc import Awaitable, Generator, Mapping
from typing import Any

from .events import TextDelta

# --- functions: fork.rs, errors.rs, runtime.rs, wire/request.rs ----------------------------

def _after_fork_in_child() -> None:
    """In a child after ``os.fork()``: a new runtime and new connections at next use."""

def _register_errors(classes: Mapping[str, type[BaseException]]) -> None:
    """Hands the classes of ``fastconverse.errors`` to the native layer (once, at import)."""

def _drain(timeout: float = 2.0) -> None:
    """Aborts the calls still awaited and waits for wake-ups under way (run at exit)."""

def _check_serving(
    service_tier: Any = None,
    performance_config: Any = None,
    request_metadata: Any = None,
) -> None:
    """A client's ``service_tier``, ``performance_config`` and ``request_metadata``, checked."""

def _text_delta(index: int, text: str) -> TextDelta:
    """A ``TextDelta`` made in Python (a structured output's tool input, streamed as text)."""

def _check_block(block: Mapping[str, Any]) -> None:
    """Checks one content block dict as Bedrock would take it (``ValueError`` if not)."""

# --- runtime.rs ----------------------------------------------------------------------------

class Bridge(Awaitable[Any]):
    """The one awaitable of the native module: starts when awaited; a cancelled await
    aborts the work and drops its result unread."""

    def __await__(self) -> Generator[Any, None, Any]: ...
    def send(self, value: Any) -> Any: ...
    def throw(self, kind: Any, value: Any = None, traceback: Any = None) -> Any: ...
    def close(self) -> None: ...
