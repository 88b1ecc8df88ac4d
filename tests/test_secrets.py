"""dwh.secrets: every reference scheme against a real backend, the scrubber, and scrubbed log lines.

``aws-secretsmanager:`` and ``aws-ssm:`` go through real boto3 to moto's standalone server;
``databricks:`` goes through the real databricks-sdk (``WorkspaceClient().dbutils.secrets``) to a local HTTP
server speaking the Databricks secrets REST API. Unresolvable references are `ConfigError` lines that name
the field and never carry secret content.
"""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from dwh.config import Secret, StrictModel
from dwh.errors import ConfigError
from dwh.logs import LOG_FORMAT, ScrubbingFormatter, configure_logging
from dwh.secrets import SCRUBBER, is_reference, resolve_reference, resolve_secrets


class Connection(StrictModel):
    """A nested block with a secret."""

    user: str
    password: Secret


class SecretsConfig(StrictModel):
    """Secrets in every position resolve_secrets walks: a field, a nested model, a list, a dict."""

    token: Secret | None = None
    connection: Connection | None = None
    webhooks: list[Secret] = []
    properties: dict[str, Secret] = {}


def resolve_one(reference: str, field: str = "token") -> str:
    """Resolve `reference` as the ``token`` field of a config and return the value."""
    config = SecretsConfig.model_validate({"token": reference})
    config = resolve_secrets(config)
    assert config.token is not None
    return config.token.get_secret_value()


def unresolvable(reference: str) -> str:
    """The ConfigError line for a reference that cannot be resolved."""
    with pytest.raises(ConfigError) as caught:
        resolve_one(reference)
    assert caught.value.field == "token"
    return str(caught.value)


# --- env: and file: ------------------------------------------------------------------------------------------


def test_env_and_file_references_resolve_everywhere_in_a_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DWH_TEST_TOKEN", "tok-from-env-1")
    secret_file = tmp_path / "pg_password"
    secret_file.write_text("pw-from-file-2\n")
    config = SecretsConfig.model_validate(
        {
            "token": "env:DWH_TEST_TOKEN",
            "connection": {"user": "etl", "password": f"file:{secret_file}"},
            "webhooks": ["https://hooks.example/literal-3", "env:DWH_TEST_TOKEN"],
            "properties": {"password": "env:DWH_TEST_TOKEN"},
        }
    )
    validated = config
    config = resolve_secrets(config)
    assert config.token == SecretStr("tok-from-env-1")
    # The validated config is left as the user wrote it: the resolved values live in the copy only.
    assert validated.token == SecretStr("env:DWH_TEST_TOKEN")
    assert validated.connection is not None and validated.connection.password == SecretStr(f"file:{secret_file}")
    assert [w.get_secret_value() for w in validated.webhooks][1] == "env:DWH_TEST_TOKEN"
    assert config.connection is not None
    assert config.connection.password.get_secret_value() == "pw-from-file-2"  # trailing newline dropped
    assert [w.get_secret_value() for w in config.webhooks] == ["https://hooks.example/literal-3", "tok-from-env-1"]
    assert config.properties["password"].get_secret_value() == "tok-from-env-1"
    assert "tok-from-env-1" not in repr(config)
    masked = SCRUBBER.scrub("tok-from-env-1 / pw-from-file-2 / https://hooks.example/literal-3")
    assert masked == "*** / *** / ***"


def test_unresolvable_references_name_the_nested_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DWH_TEST_MISSING", raising=False)
    config = SecretsConfig.model_validate({"webhooks": ["https://ok.example/hook", "env:DWH_TEST_MISSING"]})
    with pytest.raises(ConfigError) as caught:
        config = resolve_secrets(config)
    assert str(caught.value) == (
        "webhooks[1]: cannot resolve secret reference env:DWH_TEST_MISSING: "
        "environment variable DWH_TEST_MISSING is not set"
    )
    config = SecretsConfig.model_validate({"connection": {"user": "u", "password": "file:/nonexistent/pw"}})
    with pytest.raises(ConfigError, match=r"^connection\.password: cannot resolve .* No such file or directory$"):
        config = resolve_secrets(config)


def test_a_secret_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    binary = tmp_path / "token.bin"
    binary.write_bytes(b"\xff\xfe secret")
    config = SecretsConfig.model_validate({"connection": {"user": "u", "password": f"file:{binary}"}})
    with pytest.raises(
        ConfigError, match=r"^connection\.password: cannot resolve .*: secret file .* is not UTF-8 text$"
    ):
        config = resolve_secrets(config)


def test_what_is_a_reference() -> None:
    assert is_reference("env:X") and is_reference("aws-ssm:/a/b") and is_reference("databricks:s/k")
    assert not is_reference("plain-password") and not is_reference("vault:x") and not is_reference("env:")


# --- AWS through moto's server -------------------------------------------------------------------------------


@pytest.fixture
def aws_secrets(aws_env: str) -> Any:
    """A Secrets Manager with a plain secret and a JSON secret, and an SSM SecureString parameter."""
    import boto3

    secrets = boto3.client("secretsmanager")
    secrets.create_secret(Name="dwh/plain", SecretString="plain-secret-41")
    secrets.create_secret(Name="dwh/json", SecretString=json.dumps({"user": "etl", "password": "json-secret-42"}))
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/dwh/api_token", Value="ssm-secret-43", Type="SecureString", Overwrite=True)
    yield secrets
    for name in ("dwh/plain", "dwh/json"):
        secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    ssm.delete_parameter(Name="/dwh/api_token")


@pytest.mark.integration
def test_aws_references_resolve(aws_secrets: Any) -> None:
    assert resolve_one("aws-secretsmanager:dwh/plain") == "plain-secret-41"
    assert resolve_one("aws-secretsmanager:dwh/json#password") == "json-secret-42"
    assert resolve_one("aws-ssm:/dwh/api_token") == "ssm-secret-43"
    assert SCRUBBER.scrub("plain-secret-41 json-secret-42 ssm-secret-43") == "*** *** ***"


@pytest.mark.integration
def test_unresolvable_aws_references_carry_no_secret_content(aws_secrets: Any) -> None:
    missing_key = unresolvable("aws-secretsmanager:dwh/json#passwd")
    assert missing_key == (
        "token: cannot resolve secret reference aws-secretsmanager:dwh/json#passwd: "
        "AWS secret dwh/json has no JSON key 'passwd'"
    )
    not_json = unresolvable("aws-secretsmanager:dwh/plain#password")
    assert "plain-secret-41" not in not_json and "has no JSON key 'password'" in not_json
    assert "(ResourceNotFoundException)" in unresolvable("aws-secretsmanager:dwh/nope")
    assert "SSM parameter /dwh/nope not readable (ParameterNotFound)" in unresolvable("aws-ssm:/dwh/nope")
    for line in (missing_key, not_json):
        assert "json-secret-42" not in line and "etl" not in line


# --- Databricks through the real SDK and a local REST server -------------------------------------------------


@pytest.fixture
def databricks_workspace(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> HTTPServer:
    """A local server speaking the secrets API (scope ``etl`` holds ``pg_password``), found via the SDK's env."""
    for name in ("DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET", "DATABRICKS_USERNAME", "DATABRICKS_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABRICKS_HOST", httpserver.url_for("/").rstrip("/"))
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-test-token")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "no-databrickscfg"))
    stored = {("etl", "pg_password"): "dbx-secret-44"}

    def get_secret(request: Request) -> Response:
        key = (request.args.get("scope"), request.args.get("key"))
        if key not in stored:
            body = {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Secret {key[1]} does not exist"}
            return Response(json.dumps(body), status=404, content_type="application/json")
        value = base64.b64encode(stored[key].encode()).decode()  # type: ignore[index]
        return Response(json.dumps({"key": key[1], "value": value}), content_type="application/json")

    # The SDK first looks for host metadata; a 404 means "use what the environment says".
    httpserver.expect_request("/.well-known/databricks-config").respond_with_data("", status=404)
    httpserver.expect_request("/api/2.0/secrets/get", method="GET").respond_with_handler(get_secret)
    return httpserver


def test_databricks_reference_resolves_over_rest(databricks_workspace: HTTPServer) -> None:
    assert resolve_one("databricks:etl/pg_password") == "dbx-secret-44"
    [request] = [req for req, _ in databricks_workspace.log if req.path == "/api/2.0/secrets/get"]
    assert request.args.to_dict() == {"scope": "etl", "key": "pg_password"}
    assert request.headers["Authorization"] == "Bearer dapi-test-token"
    assert SCRUBBER.scrub("dbx-secret-44") == "***"


def test_missing_databricks_secret_is_a_config_error(databricks_workspace: HTTPServer) -> None:
    assert unresolvable("databricks:etl/nope") == (
        "token: cannot resolve secret reference databricks:etl/nope: "
        "Databricks secret etl/nope not readable (ResourceDoesNotExist)"
    )


def test_databricks_reference_without_a_workspace_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_RUNTIME_VERSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "no-databrickscfg"))
    assert "Databricks secret etl/pg_password not readable" in unresolvable("databricks:etl/pg_password")
    assert "expected databricks:scope/key" in unresolvable("databricks:just-a-scope")


# --- the scrubber and scrubbed logs --------------------------------------------------------------------------


def test_scrubber_masks_every_written_form_of_a_secret() -> None:
    secret = 'p@ss w/"quote"'
    SCRUBBER.register(secret)
    assert SCRUBBER.scrub(f"dsn=postgresql://u:p%40ss%20w%2F%22quote%22@db/x and {secret}") == (
        "dsn=postgresql://u:***@db/x and ***"
    )
    assert SCRUBBER.scrub(json.dumps({"password": secret})) == '{"password": "***"}'
    assert SCRUBBER.scrub("q=p%40ss%20w/%22quote%22&form=p%40ss+w%2F%22quote%22") == "q=***&form=***"
    webhook = "https://hooks.example/services/T0/B0/abcdef"
    SCRUBBER.register(webhook)
    assert SCRUBBER.scrub("posting to https%3A//hooks.example/services/T0/B0/abcdef failed") == "posting to *** failed"


def test_scrubber_ignores_tiny_values_and_forgets_on_clear() -> None:
    SCRUBBER.register("abc")
    SCRUBBER.register("")
    SCRUBBER.register(None)
    assert SCRUBBER.scrub("abc abcd") == "abc abcd"
    SCRUBBER.register("abcd")
    assert SCRUBBER.scrub("abc abcd") == "abc ***"
    SCRUBBER.clear()
    assert SCRUBBER.scrub("abc abcd") == "abc abcd"


def test_literal_values_are_registered_when_resolved() -> None:
    assert resolve_reference("literal-secret-45", field="password") == "literal-secret-45"
    assert SCRUBBER.scrub("the literal-secret-45") == "the ***"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """A handler on the root logger writing to a string, removed afterwards with anything main() added."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    yield stream
    for extra in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(extra)
    root.setLevel(level)


def test_logged_traceback_is_scrubbed(log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DWH_TEST_TOKEN", "tok-in-traceback-46")
    token = resolve_one("env:DWH_TEST_TOKEN")
    configure_logging()  # also makes handlers the platform installed before us scrub
    log = logging.getLogger("dwh.test")
    try:
        raise RuntimeError(f"API rejected {token}")
    except RuntimeError:
        log.exception("call with %s failed", token)
    text = log_stream.getvalue()
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: API rejected ***" in text
    assert "call with *** failed" in text
    assert "tok-in-traceback-46" not in text


def test_scrubbing_formatter_on_its_own() -> None:
    SCRUBBER.register("formatter-secret-47")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "value=%s", ("formatter-secret-47",), None)
    assert ScrubbingFormatter(LOG_FORMAT).format(record).endswith("x: value=***")
