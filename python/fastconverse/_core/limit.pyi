"""Rate limits: a Bedrock quota the clients' requests wait for."""

# --- limit/ --------------------------------------------------------------------------------

class RateLimit:
    """A Bedrock quota (requests and tokens per minute) that every request of the clients
    given it waits for. ``redis_url`` shares it across processes and machines (one Lua
    script per request, on the server's clock); ``burst`` is the seconds of quota that may
    go at once. A throttle from the service lowers the rate, which recovers over 30 s."""

    def __init__(
        self,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        *,
        redis_url: str | None = None,
        key: str = "fastconverse:ratelimit",
        burst: float = 1.0,
    ) -> None: ...
    @property
    def requests_per_minute(self) -> float | None: ...
    @property
    def tokens_per_minute(self) -> float | None: ...
    def stats(self) -> dict[str, float]:
        """``requests``, ``waits``, ``waited`` (seconds), ``throttles``, ``fallbacks`` and
        ``rate`` (the share of the quota in force), as this process saw them."""
