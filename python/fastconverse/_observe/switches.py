"""Whether a turn is observed, asked once per turn start, and the hooks it then runs with.

Logging is on while ``logging.getLogger("fastconverse")`` takes records (INFO, or WARNING
once a handler is set up: Python's default, warnings to no handler, does not count);
tracing while OpenTelemetry has a tracer or meter provider set. Neither ``logging`` nor
``opentelemetry`` is imported to find out: a module nobody imported was configured by
nobody. So a turn nobody observes pays two dictionary lookups.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from typing import Any

    from fastconverse.hooks import Hooks

_logger: Any = None


def logging_on() -> bool:
    global _logger
    if _logger is None:
        logging = sys.modules.get("logging")
        if logging is None:
            return False
        _logger = logging.getLogger("fastconverse")
    return bool(
        _logger.isEnabledFor(20)  # (logging.INFO)
        or (_logger.isEnabledFor(30) and _logger.hasHandlers())
    )


def tracing_on() -> bool:
    if "opentelemetry.trace" not in sys.modules:
        return False
    from fastconverse._observe.traces import configured

    return configured()


def observed(hooks: Hooks | None, log: bool, tracing: bool, log_content: bool) -> Hooks:
    """`hooks` after the observers' (they see each request before the user's hooks, and
    report the failures those cause)."""
    from fastconverse.hooks import Hooks

    first: list[Any] = []
    if log:
        from fastconverse._observe.logs import log_hook

        first.append(log_hook(log_content))
    if tracing:
        from fastconverse._observe.traces import trace_hook

        first.append(trace_hook())
    return Hooks(first) + hooks
