"""boto3's client line ports by changing one name: ``fastconverse.client("bedrock-runtime",
...)`` and ``ConverseClient(service_name=...)`` take boto3's arguments, a botocore
``Config`` maps where it can and is refused clearly where it cannot, and a service name is
never taken for a model id."""

from __future__ import annotations

from typing import Any

import boto3
import fastconverse
import pytest
from botocore.config import Config
from conftest import AKID, SECRET, user
from fastconverse import ConverseClient
from fastconverse.testing import FakeBedrock

CREDS = {"aws_access_key_id": AKID, "aws_secret_access_key": SECRET}


def test_boto3s_line_with_one_name_changed(fake_bedrock: FakeBedrock) -> None:
    kwargs: dict[str, Any] = dict(
        service_name="bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=fake_bedrock.url,
        config=Config(retries={"total_max_attempts": 1}),
        **CREDS,
    )
    request = dict(modelId="m", messages=[user("hi")])
    theirs = boto3.client(**kwargs).converse(**request)
    ours = fastconverse.client(**kwargs).converse(**request)
    assert ours["output"] == theirs["output"] and ours["stopReason"] == theirs["stopReason"]


def test_positional_service_name_is_the_service(fake_bedrock: FakeBedrock) -> None:
    for client in (
        fastconverse.client("bedrock-runtime", "eu-west-1", endpoint_url=fake_bedrock.url, **CREDS),
        ConverseClient("bedrock-runtime", "eu-west-1", endpoint_url=fake_bedrock.url, **CREDS),
        ConverseClient(service_name="bedrock-runtime", region_name="eu-west-1", **CREDS),
    ):
        assert client.model_id is None and client.region_name == "eu-west-1"
    client = ConverseClient("bedrock-runtime", region_name="us-east-1", **CREDS)
    with pytest.raises(ValueError, match="modelId"):  # no default model: the service is not one
        client.converse(messages=[user("hi")])


@pytest.mark.parametrize("service", ["bedrock", "s3", "bedrock-agent-runtime", "sagemaker-runtime"])
def test_other_services_are_refused(service: str) -> None:
    with pytest.raises(ValueError, match=rf"model_id: '{service}' is an AWS service, not a model"):
        ConverseClient(service, region_name="us-east-1")
    with pytest.raises(ValueError, match=r"service_name: .* only speaks 'bedrock-runtime'"):
        ConverseClient(service_name=service, region_name="us-east-1")
    with pytest.raises(ValueError, match=rf"boto3.client\('{service}'\)"):
        fastconverse.client(service, region_name="us-east-1")


def test_a_service_botocore_knows_is_not_a_model_but_a_bare_model_id_is() -> None:
    with pytest.raises(ValueError, match="'kinesis' is an AWS service"):
        ConverseClient("kinesis", region_name="us-east-1")
    for model in ("m", "fake", "us.anthropic.claude-3-5-haiku-20241022-v1:0"):
        assert ConverseClient(model, region_name="us-east-1").model_id == model


def test_config_retries_and_timeouts_map(fake_bedrock: FakeBedrock) -> None:
    def made(config: Config) -> Any:
        return fastconverse.client(
            "bedrock-runtime", endpoint_url=fake_bedrock.url, config=config, **CREDS
        )

    # botocore's max_attempts counts retries: 2 means three attempts in all
    for _ in range(2):
        fake_bedrock.enqueue_error("ThrottlingException")
    client = made(Config(region_name="us-west-2", retries={"max_attempts": 2, "mode": "standard"}))
    assert client.region_name == "us-west-2"
    assert client.converse(modelId="m", messages=[user("hi")])["stopReason"] == "end_turn"
    assert len(fake_bedrock.requests) == 3
    fake_bedrock.reset()
    once = {"total_max_attempts": 1}
    fake_bedrock.enqueue_error("ThrottlingException")
    with pytest.raises(fastconverse.errors.ThrottlingError):
        client = made(Config(region_name="us-east-1", retries=once))
        client.converse(modelId="m", messages=[user("hi")])
    fake_bedrock.enqueue_text("slow", first_byte_delay=2.0)
    with pytest.raises(fastconverse.errors.EndpointError, match="timed out"):
        client = made(Config(region_name="us-east-1", read_timeout=0.3, retries=once))
        client.converse(modelId="m", messages=[user("hi")])
    # the argument wins over the config's region, as in boto3
    assert (
        fastconverse.client(
            "bedrock-runtime", "eu-central-1", config=Config(region_name="us-west-2"), **CREDS
        ).region_name
        == "eu-central-1"
    )


def test_adaptive_retries_warn_that_they_run_as_standard() -> None:
    with pytest.warns(UserWarning, match="RateLimit"):
        fastconverse.client(
            "bedrock-runtime",
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 10, "mode": "adaptive"}),
        )


def test_config_without_effect_is_accepted() -> None:
    client = fastconverse.client(
        "bedrock-runtime",
        region_name="us-east-1",
        config=Config(user_agent_extra="app/1.0", max_pool_connections=50),
    )
    assert client.region_name == "us-east-1"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"config": Config(proxies={"https": "http://proxy:3128"})}, r"config: .*proxies="),
        ({"config": Config(use_fips_endpoint=True)}, "use_fips_endpoint=True"),
        ({"config": Config(signature_version="v4a")}, "signature_version='v4a'"),
        ({"config": {"retries": {"max_attempts": 2}}}, "config: expected a botocore"),
        ({"verify": False}, "verify: fastconverse always verifies"),
        ({"verify": "/etc/ca.pem"}, "verify="),
        ({"use_ssl": False}, "use_ssl: .*endpoint_url"),
        ({"api_version": "2020-01-01"}, "api_version: .*'2023-09-30'"),
    ],
)
def test_what_cannot_be_honoured_is_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        fastconverse.client("bedrock-runtime", region_name="us-east-1", **kwargs)


def test_plain_http_endpoint_with_use_ssl_false(fake_bedrock: FakeBedrock) -> None:
    client = fastconverse.client(
        "bedrock-runtime",
        region_name="us-east-1",
        use_ssl=False,
        endpoint_url=fake_bedrock.url,
        api_version="2023-09-30",
        **CREDS,
    )
    assert client.converse(modelId="m", messages=[user("hi")])["stopReason"] == "end_turn"


def test_the_module_and_the_factory_coexist() -> None:
    from fastconverse.client import ConverseClient as FromModule

    assert FromModule is ConverseClient and callable(fastconverse.client)
    assert "client" in fastconverse.__all__ and "Template" in fastconverse.__all__
