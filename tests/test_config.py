import os
import tomllib
from pathlib import Path

import pytest

from connector.config import SETTINGS, describe_key, load_settings
from connector.errors import AuthError, ConfigError
from tests.support.keys import CANARY_KEY

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path, text, mode=0o600):
    path = tmp_path / "config.toml"
    path.write_text(text)
    os.chmod(path, mode)
    return str(path)


def test_precedence_file_then_env_then_flag(tmp_path):
    path = write(tmp_path, 'db = "from-file.db"\n[stripe]\nmax_requests_per_second = 10\ntimeout_seconds = 5\n')
    env = {"BILLING_CONNECTOR_DB": "from-env.db", "BILLING_CONNECTOR_MAX_REQUESTS_PER_SECOND": "20"}
    s = load_settings(path, flags={"max_requests_per_second": 30, "db": None}, environ=env)
    assert (s.db, s.max_requests_per_second, s.timeout_seconds) == ("from-env.db", 30.0, 5.0)
    assert s.sources["db"] == "env" and s.sources["max_requests_per_second"] == "flag"
    assert s.sources["timeout_seconds"] == "file" and s.sources["max_retries"] == "default"


def test_default_config_path_is_used_when_present(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, 'db = "here.db"\n')
    assert load_settings(None, environ={}).db == "here.db"


def test_bad_toml_names_file_line_and_column(tmp_path):
    path = write(tmp_path, 'db = "x"\n[stripe\n')
    with pytest.raises(ConfigError, match=r"config.toml: invalid TOML: .*line 2, column"):
        load_settings(path, environ={})


@pytest.mark.parametrize(
    "text, fragment",
    [
        ('[stripe]\nmax_requests_per_second = -1\n', "stripe.max_requests_per_second: -1 must be greater than 0"),
        ('[stripe]\nspeed = 3\n', r"unknown setting \[stripe\] speed"),
        ('colour = "red"\n', "unknown setting colour"),
    ],
)
def test_bad_values_and_unknown_keys_are_named(tmp_path, text, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_settings(write(tmp_path, text), environ={})


def test_bad_env_value_names_the_variable():
    with pytest.raises(ConfigError, match="BILLING_CONNECTOR_MAX_RETRIES"):
        load_settings(None, environ={"BILLING_CONNECTOR_MAX_RETRIES": "lots"})


def test_world_readable_config_naming_the_key_variable_is_refused(tmp_path):
    path = write(tmp_path, '[stripe]\napi_key_env = "MY_KEY"\n', mode=0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_settings(path, environ={})


def test_key_comes_from_the_named_variable_only(tmp_path):
    path = write(tmp_path, '[stripe]\napi_key_env = "MY_KEY"\n')
    s = load_settings(path, environ={})
    assert s.api_key({"MY_KEY": CANARY_KEY}) == CANARY_KEY
    with pytest.raises(AuthError, match="set MY_KEY"):
        s.api_key({"STRIPE_API_KEY": CANARY_KEY})


def test_malformed_key_error_shows_at_most_type_mode_and_last_four():
    s = load_settings(None, environ={})
    with pytest.raises(AuthError) as info:
        s.api_key({"STRIPE_API_KEY": "pk_test_publishable0000abcd"})
    assert "pk_test_publishable0000abcd" not in str(info.value) and "abcd" in str(info.value)
    assert describe_key(CANARY_KEY) == "secret key, test mode, ending …x9Zq"


def test_example_config_loads_and_documents_every_setting(tmp_path):
    text = (ROOT / "config.example.toml").read_text()
    data = tomllib.loads(text)
    for setting in SETTINGS:
        node, found = data, True
        for part in setting.toml_key.split("."):
            if part not in node:
                found = False
                break
            node = node[part]
        leaf = setting.toml_key.split(".")[-1]
        assert found or f"\n# {leaf} = " in text, f"config.example.toml lacks {setting.toml_key}"
        if setting.env:
            assert setting.env in text, f"config.example.toml does not name {setting.env}"
    load_settings(write(tmp_path, text), environ={})


def test_example_config_works_when_copied_as_the_readme_says(tmp_path, monkeypatch):
    """`cp config.example.toml config.toml` under the usual umask (0644): it loads, and leaves the
    rate, the server and the key's variable to their defaults (so test mode is not sent 80/s)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text((ROOT / "config.example.toml").read_text())
    os.chmod(tmp_path / "config.toml", 0o644)
    settings = load_settings(None, environ={})
    assert settings.config_path == "config.toml"
    assert settings.max_requests_per_second is None and settings.max_in_flight is None
    assert settings.max_requests_per_second_per_endpoint == 25.0
    for name in ("api_base", "api_key_env", "max_requests_per_second", "streams"):
        assert settings.sources[name] == "default", name


def test_endpoint_limits_from_a_toml_table_or_the_environment(tmp_path):
    path = write(tmp_path, '[stripe]\nendpoint_limits = { "/v1/invoices/:id/lines" = 20, "/v1/search" = 5 }\n')
    assert load_settings(path, environ={}).endpoint_limits == {"/v1/invoices/:id/lines": 20.0, "/v1/search": 5.0}
    env = {"BILLING_CONNECTOR_ENDPOINT_LIMITS": "/v1/invoices/:id/lines=10, /v1/customers=12.5"}
    assert load_settings(path, environ=env).endpoint_limits == {"/v1/invoices/:id/lines": 10.0, "/v1/customers": 12.5}
    assert load_settings(write(tmp_path, ""), environ={}).endpoint_limits is None


@pytest.mark.parametrize("value", ["/v1/customers", "customers=5", "/v1/customers=0", "/v1/customers=fast"])
def test_a_bad_endpoint_limit_is_a_config_error_naming_it(value):
    with pytest.raises(ConfigError, match="BILLING_CONNECTOR_ENDPOINT_LIMITS"):
        load_settings(None, environ={"BILLING_CONNECTOR_ENDPOINT_LIMITS": value})


def test_the_retry_settings_make_the_providers_retry_policy():
    from connector.connections import connect_stripe
    from connector.http import RetryPolicy

    def policy(environ):
        settings = load_settings(None, environ=environ)
        return connect_stripe(settings, {"STRIPE_API_KEY": CANARY_KEY}).provider.retry_policy

    # unset, the policy is the connector's own (max_retry_wait_seconds changes nothing by default)
    assert policy({}) == RetryPolicy()
    env = {"BILLING_CONNECTOR_MAX_RETRIES": "3", "BILLING_CONNECTOR_MAX_RETRY_SECONDS": "20",
           "BILLING_CONNECTOR_MAX_RETRY_WAIT_SECONDS": "2.5"}
    assert policy(env) == RetryPolicy(max_attempts=3, max_seconds=20.0, initial_wait=0.5, max_wait=2.5)
    with pytest.raises(ConfigError, match="BILLING_CONNECTOR_MAX_RETRY_WAIT_SECONDS"):
        load_settings(None, environ={"BILLING_CONNECTOR_MAX_RETRY_WAIT_SECONDS": "0"})
