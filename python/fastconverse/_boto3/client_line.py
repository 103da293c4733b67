"""boto3's client line: ``fastconverse.client("bedrock-runtime", region_name=...)``.

Code written for boto3 ports by changing ``boto3.client(...)`` into
``fastconverse.client(...)``: the same arguments, a ``botocore.config.Config`` mapped onto
the client's settings where it maps, and a clear error for what cannot be honoured. A
service name is never taken for a model id.
"""

from __future__ import annotations

import os
from _collections_abc import Mapping  # (collections.abc's, without importing collections)

from fastconverse._boto3.aws_names import API_VERSION, SERVICE_NAME, check_service

TYPE_CHECKING = False  # (typing stays off the import path; mypy takes this name as true)
if TYPE_CHECKING:
    from typing import Any

    from fastconverse import _core
    from fastconverse.client import ConverseClient

__all__ = ["SERVICE_NAME", "client"]


def client(
    service_name: str,
    region_name: str | None = None,
    api_version: str | None = None,
    use_ssl: bool | None = True,
    verify: bool | str | None = None,
    endpoint_url: str | None = None,
    aws_access_key_id: str | None = None,
    aws_secret_access_key: str | None = None,
    aws_session_token: str | None = None,
    config: Any = None,
    aws_account_id: str | None = None,
    *,
    model_id: str | None = None,
    profile_name: str | None = None,
    max_conversations: int = 1000,
    store: str | os.PathLike[str] | _core.Store | None = None,
    rate_limit: _core.RateLimit | None = None,
    guardrail_config: Mapping[str, Any] | None = None,
) -> ConverseClient:
    """A ``ConverseClient``, made as ``boto3.client`` makes a client (same arguments).

    ``service_name`` must be ``"bedrock-runtime"``. From ``config`` (a
    ``botocore.config.Config``): ``region_name``, ``connect_timeout``, ``read_timeout`` and
    ``retries`` (``max_attempts`` counts retries as in botocore, ``total_max_attempts`` all
    attempts; ``mode`` standard or legacy; adaptive retries as standard, with a warning:
    its client-side rate limiting is ``RateLimit``'s job here). User-agent settings,
    ``max_pool_connections`` and ``parameter_validation`` are accepted and have no effect
    (input is always validated); proxies, client certificates, FIPS or dual-stack endpoints,
    ``tcp_keepalive``, other signature versions, ``verify`` other than True and
    ``use_ssl=False`` without ``endpoint_url`` are refused with a ``ValueError``.
    The keyword-only arguments are ``ConverseClient``'s own.

    Service errors of its boto3-shaped calls read as botocore's: ``str(error)`` is
    ``ClientError``'s text, retry suffix included (the hint and details stay attributes);
    its conversations keep fastconverse's own text.
    """
    from fastconverse.client import ConverseClient

    check_service(service_name)
    if api_version is not None and api_version != API_VERSION:
        raise ValueError(
            f"api_version: Bedrock Runtime has one API version, {API_VERSION!r}; "
            f"got {api_version!r}"
        )
    if use_ssl is False and endpoint_url is None:
        raise ValueError(
            "use_ssl: Bedrock Runtime's endpoints are HTTPS only; for a plain-HTTP endpoint "
            "(a proxy, FakeBedrock) pass endpoint_url='http://...'"
        )
    if verify not in (None, True):
        raise ValueError(
            f"verify: fastconverse always verifies TLS certificates against the system's "
            f"trust store; verify={verify!r} cannot be honoured"
        )
    settings = _settings(config) if config is not None else {}
    # botocore's defaults: standard retries, 3 attempts in all (adaptive retries are
    # standard ones to botocore's retry handler as well)
    retry_mode = "legacy" if settings.pop("retry_mode", None) == "legacy" else "standard"
    attempts: int = settings.setdefault("max_attempts", 3)
    made = ConverseClient(
        model_id,
        profile_name,
        region_name if region_name is not None else settings.pop("region_name", None),
        endpoint_url=endpoint_url,
        aws_access_key_id=aws_access_key_id,
        aws_secret_access_key=aws_secret_access_key,
        aws_session_token=aws_session_token,
        max_conversations=max_conversations,
        store=store,
        rate_limit=rate_limit,
        guardrail_config=guardrail_config,
        **{k: v for k, v in settings.items() if k != "region_name"},
    )
    made._botocore_retries = (retry_mode, attempts)  # (its errors in botocore's words)
    return made


# Config options with no effect on Bedrock Runtime calls, or none that matters to a result.
_NO_EFFECT = frozenset(
    {
        "user_agent",
        "user_agent_extra",
        "user_agent_appid",
        "parameter_validation",
        "max_pool_connections",
        "s3",
        "s3_disable_express_session_auth",
        "endpoint_discovery_enabled",
        "inject_host_prefix",
        "request_min_compression_size_bytes",
        "disable_request_compression",
        "request_checksum_calculation",
        "response_checksum_validation",
        "account_id_endpoint_mode",
        "client_context_params",
    }
)


def _settings(config: Any) -> dict[str, Any]:
    """``ConverseClient`` settings from a ``botocore.config.Config``."""
    given = getattr(config, "_user_provided_options", None)
    defaults = getattr(type(config), "OPTION_DEFAULTS", None)
    if not isinstance(given, Mapping):
        if not isinstance(defaults, Mapping):
            raise TypeError(
                f"config: expected a botocore.config.Config, got {type(config).__name__}"
            )
        given = {
            name: getattr(config, name, default)
            for name, default in defaults.items()
            if getattr(config, name, default) != default
        }
    settings: dict[str, Any] = {}
    refused = []
    for name, value in given.items():
        if name in ("region_name", "connect_timeout", "read_timeout"):
            if value is not None:
                settings[name] = value
        elif name == "retries":
            settings.update(_retries(value))
        elif name == "signature_version":
            if value not in (None, "v4"):
                refused.append(f"signature_version={value!r} (fastconverse signs with SigV4)")
        elif name == "defaults_mode":
            if value not in (None, "legacy"):
                refused.append(f"defaults_mode={value!r} (set the timeouts and retries)")
        elif name not in _NO_EFFECT and value not in (None, False, {}):
            refused.append(f"{name}={value!r}")
    if refused:
        raise ValueError(
            f"config: fastconverse cannot honour {', '.join(refused)}; it maps region_name, "
            f"connect_timeout, read_timeout and retries"
        )
    return settings


def _retries(retries: Any) -> dict[str, Any]:
    if not isinstance(retries, Mapping):
        raise TypeError(f"config.retries: expected a dict, got {type(retries).__name__}")
    unknown = set(retries) - {"max_attempts", "total_max_attempts", "mode"}
    if unknown:
        raise ValueError(f"config.retries: unknown keys {sorted(unknown)}")
    mode = retries.get("mode")
    if mode not in (None, "standard", "legacy", "adaptive"):
        raise ValueError(
            f"config.retries: mode must be 'standard', 'legacy' or 'adaptive', got {mode!r}"
        )
    if mode == "adaptive":
        import warnings  # (here: the rest of the package never warns)

        warnings.warn(
            "config.retries: 'adaptive' retries run as 'standard' ones; for client-side rate "
            "limiting give the client a fastconverse.RateLimit",
            stacklevel=4,
        )
    settings: dict[str, Any] = {"retry_mode": mode} if mode is not None else {}
    if "total_max_attempts" in retries:
        return {**settings, "max_attempts": retries["total_max_attempts"]}
    if "max_attempts" in retries:  # botocore counts retries here, not attempts
        retry_count = retries["max_attempts"]
        if isinstance(retry_count, bool) or not isinstance(retry_count, int) or retry_count < 0:
            raise ValueError(
                f"config.retries: max_attempts (retries after the first attempt) must be an "
                f"int >= 0, got {retry_count!r}"
            )
        return {**settings, "max_attempts": retry_count + 1}
    return settings
