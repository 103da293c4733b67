"""AWS names a boto3 user passes where fastconverse expects others: services (never taken
for a model id) and regions (as boto3's second positional argument). Used by the client
and by boto3's client line, below both."""

from __future__ import annotations

import os

__all__ = ["API_VERSION", "SERVICE_NAME", "check_service", "is_region_name", "is_service_name"]

SERVICE_NAME = "bedrock-runtime"
API_VERSION = "2023-09-30"

# Services a Bedrock user may name by mistake; any other service botocore knows of is found
# in botocore's data directory when botocore is installed.
_SERVICES = frozenset(
    {
        "bedrock",
        "bedrock-agent",
        "bedrock-agent-runtime",
        "bedrock-agentcore",
        "bedrock-agentcore-control",
        "bedrock-data-automation",
        "bedrock-data-automation-runtime",
        "bedrock-runtime",
        "comprehend",
        "dynamodb",
        "kendra",
        "lambda",
        "s3",
        "sagemaker",
        "sagemaker-runtime",
        "secretsmanager",
        "sqs",
        "ssm",
        "sts",
        "textract",
    }
)
# What a service name is made of (no regex: compiling one at import costs more than this).
_SERVICE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def is_region_name(value: str) -> bool:
    """Whether ``value`` is an AWS region name (us-east-1, us-gov-west-1, eu-central-2...),
    as boto3 users pass second."""
    import re  # (here, not at the top: only a profile name given without a region is checked)

    return re.fullmatch(r"[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+", value) is not None


def is_service_name(value: str) -> bool:
    """Whether ``value`` names an AWS service rather than a model (model ids have dots,
    colons or slashes; bare words are checked against the services botocore knows)."""
    if value in _SERVICES:
        return True
    if not (value and _SERVICE_CHARS.issuperset(value)) or "--" in value or value[0] == "-":
        return False
    import importlib.util  # (here: most programs never need it)

    try:  # (finds botocore without importing it)
        spec = importlib.util.find_spec("botocore")
    except (ImportError, ValueError):
        return False
    locations = spec.submodule_search_locations if spec is not None else None
    return bool(locations) and any(
        os.path.isdir(os.path.join(str(place), "data", value)) for place in locations or ()
    )


def check_service(service_name: object, arg: str = "service_name") -> None:
    """Refuses any service but Bedrock Runtime."""
    if not isinstance(service_name, str):
        raise TypeError(f"{arg}: expected {SERVICE_NAME!r}, got {type(service_name).__name__}")
    if service_name != SERVICE_NAME:
        what = "an AWS service, not a model id" if arg == "model_id" else "another AWS service"
        raise ValueError(
            f"{arg}: {service_name!r} is {what}; fastconverse only speaks "
            f"{SERVICE_NAME!r} (Converse, ConverseStream, CountTokens). Use "
            f"boto3.client({service_name!r}) for that service"
        )
