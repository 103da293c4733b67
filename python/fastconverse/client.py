"""``ConverseClient``: the native client, with coroutines for its async methods."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

    # The native method takes the private `_toolbox`; this one the public tool options.
    def create_conversation(  # type: ignore[override]
        self,
        system_prompt: str | Sequence[Mapping[str, Any]] | None = None,
        *,
        conversation_id: str | None = None,
        model_id: str | None = None,
        inference_config: Mapping[str, Any] | None = None,
        additional_model_request_fields: Mapping[str, Any] | None = None,
        messages: Sequence[Mapping[str, Any]] | None = None,
        tools: Sequence[Any] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        max_tool_rounds: int = 16,
        max_tool_concurrency: int = 8,
        tool_timeout: float | None = None,
        raise_tool_errors: bool = False,
    ) -> _core.Conversation:
        """Starts a conversation, kept in this client's registry under its id.

        With ``tools`` (``@tool`` functions, ``Tool`` objects, plain typed functions or
        boto3 toolSpec dicts), ``send``, ``send_async`` and ``stream`` call the tools the
        model asks for and send their results back until it answers; see the README.
        """
        toolbox = None
        if tools is not None:
            from fastconverse._toolloop import ToolBox

            toolbox = ToolBox(
                tools,
                tool_choice=tool_choice,
                max_tool_rounds=max_tool_rounds,
                max_tool_concurrency=max_tool_concurrency,
                tool_timeout=tool_timeout,
                raise_tool_errors=raise_tool_errors,
            )
        elif tool_choice is not None:
            raise ValueError("tool_choice: this conversation has no tools; pass tools=[...] too")
        return super().create_conversation(
            system_prompt,
            conversation_id=conversation_id,
            model_id=model_id,
            inference_config=inference_config,
            additional_model_request_fields=additional_model_request_fields,
            messages=messages,
            _toolbox=toolbox,
        )
