"""`FreeportClientConfig` in a config: the ``client`` tag picks the client; mistakes are one ConfigError line."""

from __future__ import annotations

from typing import Any

import pytest

from dwh.config import StrictModel, validate_model
from dwh.errors import ConfigError
from dwh.secrets import SCRUBBER
from dwh.strategies.freeport import FreeportClientConfig, HttpFreeportClient, LakehouseFreeportClient


class FreeportBlock(StrictModel):
    """The part of the jobs' ``freeport`` block that holds the client."""

    client: FreeportClientConfig


def parse(client: Any) -> FreeportBlock:
    """The block with `client`, validated as a job would (errors as `ConfigError`)."""
    return validate_model(FreeportBlock, {"client": client}, argument="--release_job")


def test_the_tag_picks_the_client() -> None:
    http = parse({"client": "HTTP", "base_url": "https://freeport.example.com/api/", "token": "env:FREEPORT_TOKEN"})
    assert isinstance(http.client, HttpFreeportClient)
    assert http.client.base_url == "https://freeport.example.com/api"
    assert http.client.timeout_seconds == 30
    assert http.client.describe() == "HTTP freeport.example.com"
    assert isinstance(parse({"client": "LAKEHOUSE"}).client, LakehouseFreeportClient)


@pytest.mark.parametrize(
    ("client", "message"),
    [
        ({"client": "SFTP"}, "client: client 'SFTP' is not one of HTTP, LAKEHOUSE"),
        ({"base_url": "https://x"}, "client: missing client"),
        ({"client": "HTTP", "token": "env:T"}, "client.base_url: required field is missing"),
        ({"client": "HTTP", "base_url": "https://x"}, "client.token: required field is missing"),
        (
            {"client": "HTTP", "base_url": "ftp://x", "token": "env:T"},
            "client.base_url: 'ftp://x' is not an http(s) URL",
        ),
        (
            {"client": "HTTP", "base_url": "https://x", "token": "env:T", "timeout_seconds": 0},
            "client.timeout_seconds: Input should be greater than 0",
        ),
        ({"client": "LAKEHOUSE", "base_url": "https://x"}, "client.base_url: unknown field (check the spelling)"),
    ],
)
def test_config_errors_name_the_field(client: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(client)
    assert str(caught.value) == f"--release_job: {message}"


def test_a_literal_token_is_masked_from_the_moment_it_is_parsed() -> None:
    block = parse({"client": "HTTP", "base_url": "https://x", "token": "fp-literal-secret-42"})
    assert "fp-literal-secret-42" not in repr(block)
    assert SCRUBBER.scrub("sent Bearer fp-literal-secret-42") == "sent Bearer ***"
