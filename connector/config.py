"""Settings: ``config.toml`` < environment variables < command-line flags.

Every setting is declared once in ``SETTINGS`` (its TOML key, its environment
variable, its type, default and help); ``config.example.toml`` documents the same
list and a test keeps the two in step. The API key is not a setting: it is read
from the environment only (``STRIPE_API_KEY``, or the variable the TOML names in
``stripe.api_key_env``) and is only ever shown through :func:`describe_key`.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .constants import DEFAULT_API_KEY_ENV, DEFAULT_CONFIG_PATH, DEFAULT_DB_PATH
from .errors import AuthError, ConfigError


def _positive_float(value: Any) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError("must be greater than 0")
    return number


def _positive_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("must be a whole number")
    number = int(value)
    if number <= 0 or number != float(value):
        raise ValueError("must be a whole number greater than 0")
    return number


def _string(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("must be a non-empty string")
    return value


def _string_list(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("must be a list of names")
    return list(value)


@dataclass(frozen=True)
class Setting:
    name: str                  # attribute on Settings
    toml_key: str              # dotted key in config.toml
    env: str | None            # environment variable, if any
    parse: Callable[[Any], Any]
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("db", "db", "BILLING_CONNECTOR_DB", _string, DEFAULT_DB_PATH, "Path of the SQLite store."),
    Setting(
        "api_key_env", "stripe.api_key_env", None, _string, DEFAULT_API_KEY_ENV,
        "Name of the environment variable that holds the API key (the key itself is never in the file).",
    ),
    Setting(
        "api_base", "stripe.api_base", "STRIPE_API_BASE", _string, None,
        "Base URL of the server speaking the Stripe API (the demo server, localstripe, stripe-mock).",
    ),
    Setting(
        "max_requests_per_second", "stripe.max_requests_per_second",
        "BILLING_CONNECTOR_MAX_REQUESTS_PER_SECOND", _positive_float, None,
        "Request rate ceiling; default 80% of Stripe's limit (100/s live, 25/s test mode).",
    ),
    Setting(
        "max_requests_per_second_per_endpoint", "stripe.max_requests_per_second_per_endpoint",
        "BILLING_CONNECTOR_MAX_REQUESTS_PER_SECOND_PER_ENDPOINT", _positive_float, 25.0,
        "Cap per API route (e.g. /v1/invoices/:id/lines), under the account ceiling; Stripe's is about 25/s.",
    ),
    Setting(
        "max_in_flight", "stripe.max_in_flight", "BILLING_CONNECTOR_MAX_IN_FLIGHT", _positive_int, None,
        "Requests kept in flight at once; default: enough to fill the rate at the observed latency.",
    ),
    Setting(
        "timeout_seconds", "stripe.timeout_seconds", "BILLING_CONNECTOR_TIMEOUT_SECONDS", _positive_float, 30.0,
        "Timeout of one HTTP request.",
    ),
    Setting(
        "max_retries", "stripe.max_retries", "BILLING_CONNECTOR_MAX_RETRIES", _positive_int, 8,
        "Attempts per request before a run gives up (429, 5xx, resets, timeouts).",
    ),
    Setting(
        "max_retry_seconds", "stripe.max_retry_seconds", "BILLING_CONNECTOR_MAX_RETRY_SECONDS", _positive_float, 300.0,
        "Total time one request may spend retrying before the run gives up.",
    ),
    Setting(
        "streams", "stripe.streams", "BILLING_CONNECTOR_STREAMS", _string_list, None,
        "Streams to sync (default: all).",
    ),
    Setting(
        "policy", "mrr.policy", "BILLING_CONNECTOR_POLICY", _string, "default",
        "MRR policy preset: default, stripe, chartmogul, profitwell or chargebee.",
    ),
    Setting(
        "reporting_currency", "mrr.reporting_currency", "BILLING_CONNECTOR_REPORTING_CURRENCY", _string, None,
        "Currency to convert MRR into when rates are given (--rates).",
    ),
    Setting(
        "export_targets", "export.targets", None, _string_list, [],
        "Export targets `doctor` checks (postgres://..., duckdb:PATH, parquet:DIR, csv:DIR, jsonl:DIR).",
    ),
)
SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass
class Settings:
    db: str = DEFAULT_DB_PATH
    api_key_env: str = DEFAULT_API_KEY_ENV
    api_base: str | None = None
    max_requests_per_second: float | None = None
    max_requests_per_second_per_endpoint: float = 25.0
    max_in_flight: int | None = None
    timeout_seconds: float = 30.0
    max_retries: int = 8
    max_retry_seconds: float = 300.0
    streams: list[str] | None = None
    policy: str = "default"
    reporting_currency: str | None = None
    export_targets: list[str] = field(default_factory=list)
    # per-rule MRR overrides from the [mrr] table, validated by connector.mrr.policy
    mrr_rules: dict[str, Any] = field(default_factory=dict)
    config_path: str | None = None
    # where each setting's value came from: "default", "file", "env" or "flag"
    sources: dict[str, str] = field(default_factory=dict)

    def api_key(self, environ: Mapping[str, str] | None = None) -> str:
        """The API key from the environment; AuthError if it is missing or malformed."""
        environ = os.environ if environ is None else environ
        key = environ.get(self.api_key_env, "").strip()
        if not key:
            raise AuthError(
                f"no API key: set {self.api_key_env} in the environment "
                "(a restricted read-only key is enough; see README)"
            )
        if not key.startswith(("sk_", "rk_")) or key.count("_") < 2:
            raise AuthError(
                f"{self.api_key_env} does not look like a Stripe secret or restricted key "
                f"({describe_key(key)}); it should start with sk_ or rk_"
            )
        return key


def describe_key(key: str) -> str:
    """What may be shown of a key: its type, its mode and its last 4 characters."""
    kind = {"sk": "secret key", "rk": "restricted key", "pk": "publishable key"}.get(key[:2], "unknown key type")
    mode = "live" if "_live_" in key else "test" if "_test_" in key else "unknown mode"
    tail = key[-4:] if len(key) >= 12 else "????"
    return f"{kind}, {mode} mode, ending …{tail}"


def key_livemode(key: str) -> bool:
    return "_live_" in key


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already ends with "(at line L, column C)"
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _lookup(table: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    value: Any = table
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _known_keys() -> set[str]:
    return {s.toml_key for s in SETTINGS}


def _check_unknown_keys(path: Path, data: Mapping[str, Any]) -> None:
    known = _known_keys()
    sections = {k.split(".")[0] for k in known if "." in k}
    for key, value in data.items():
        if key == "mrr":
            continue  # per-rule overrides are validated by the MRR policy
        if key in sections and isinstance(value, Mapping):
            for sub in value:
                if f"{key}.{sub}" not in known:
                    raise ConfigError(f"{path}: unknown setting [{key}] {sub}; see config.example.toml")
        elif key not in known:
            raise ConfigError(f"{path}: unknown setting {key}; see config.example.toml")


def load_settings(
    config_path: str | None = None,
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every setting: defaults < config file < environment < flags.

    ``config_path`` None means ``./config.toml`` if it exists. Flags whose value
    is None were not given. Raises ConfigError naming the file, key or variable.
    """
    environ = os.environ if environ is None else environ
    flags = flags or {}
    settings = Settings()
    values: dict[str, Any] = {}
    sources: dict[str, str] = {s.name: "default" for s in SETTINGS}

    path: Path | None = None
    if config_path is not None:
        path = Path(config_path)
        if not path.exists():
            raise ConfigError(f"config file {path} not found; pass an existing file to --config")
    elif Path(DEFAULT_CONFIG_PATH).exists():
        path = Path(DEFAULT_CONFIG_PATH)

    data: dict[str, Any] = {}
    if path is not None:
        data = _read_toml(path)
        _check_unknown_keys(path, data)
        settings.config_path = str(path)
        for setting in SETTINGS:
            found, raw = _lookup(data, setting.toml_key)
            if found:
                values[setting.name] = _parse(setting, raw, f"{path}: {setting.toml_key}")
                sources[setting.name] = "file"
        mrr = data.get("mrr", {})
        if not isinstance(mrr, Mapping):
            raise ConfigError(f"{path}: [mrr] must be a table")
        settings.mrr_rules = {k: v for k, v in mrr.items() if k not in ("policy", "reporting_currency")}
        _check_permissions(path, data)

    for setting in SETTINGS:
        if setting.env and environ.get(setting.env, "") != "":
            values[setting.name] = _parse(setting, environ[setting.env], f"environment variable {setting.env}")
            sources[setting.name] = "env"

    for name, raw in flags.items():
        if raw is None:
            continue
        setting = SETTINGS_BY_NAME[name]
        values[name] = _parse(setting, raw, f"--{name.replace('_', '-')}")
        sources[name] = "flag"

    for name, value in values.items():
        setattr(settings, name, value)
    settings.sources = sources
    return settings


def _parse(setting: Setting, raw: Any, where: str) -> Any:
    try:
        return setting.parse(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {raw!r} {exc}") from None


def _check_permissions(path: Path, data: Mapping[str, Any]) -> None:
    """Refuse a config readable by others when it names where a secret lives.

    The file never holds the key itself, but a world-readable file that points
    at the secret's variable invites someone to put the key in it next; 0600 is
    what `billing-connector` itself writes.
    """
    found, _ = _lookup(data, "stripe.api_key_env")
    if not found:
        return
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path} names the API key variable but is readable by others "
            f"(mode {stat.S_IMODE(mode):o}); run `chmod 600 {path}`"
        )
