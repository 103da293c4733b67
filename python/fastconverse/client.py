"""``ConverseClient``: the native client, with coroutines for its async methods."""

from __future__ import annotations

from typing import Any

from fastconverse import _core

__all__ = ["ConverseClient"]


class ConverseClient(_core.ConverseClient):
    """A client of Bedrock Runtime's Converse API.

    Args:
        model_id: Default model of calls without ``modelId`` (and of new conversations).
        region_name: AWS region; otherwise from the environment or profile.
        profile_name: Shared-config profile to use (SSO profiles included).
        endpoint_url: Another endpoint, e.g. a VPC endpoint or ``FakeBedrock().url``.
        aws_access_key_id: Explicit credentials (with ``aws_secret_access_key``), instead of
            the default chain (environment, profiles, SSO, container and instance roles).
        aws_secret_access_key: See ``aws_access_key_id``.
        aws_session_token: For temporary credentials.
        max_attempts: Attempts per call, the first included (the SDK's standard retries).
        connect_timeout: Seconds to wait for a connection.
        read_timeout: Seconds to wait for a response to start.
    """

    async def converse_async(self, **kwargs: Any) -> dict[str, Any]:
        """``converse`` as a coroutine; the HTTP request runs without holding the GIL."""
        return await super().converse_async(**kwargs)

    async def converse_stream_async(self, **kwargs: Any) -> dict[str, Any]:
        """``converse_stream`` as a coroutine; iterate ``["stream"]`` with ``async for``."""
        return await super().converse_stream_async(**kwargs)
