"""Settings: ``config.toml`` < environment variables < command-line flags.

Every setting is declared once in ``SETTINGS`` (its TOML key, its environment
variable, its type, default and help); ``config.example.toml`` documents the same
list and a test keeps the two in step. The API key is not a setting: it is read
from the environment only (``STRIPE_API_KEY``, or the variable the TOML names in
``stripe.api_key_env``) and is only ever shown through :func:`describe_key`.
"""

from __future__ import annotations

import math
import os
import re
import stat
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .constants import DEFAULT_API_KEY_ENV, DEFAULT_CONFIG_PATH, DEFAULT_DB_PATH, STRIPE_PER_ENDPOINT_REQUESTS_PER_SECOND
from .errors import AuthError, ConfigError
from .redact import register_secret

# Hosts the key may reach over plain http: this machine, named exactly (the demo,
# tests). Another 127.x alias or a name resolving to one is refused: it is an
# attacker's favourite way around a "loopback" check (a DNS name, a proxy rule).


def _positive_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("must be a finite number (not nan or infinity)")
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


def _endpoint_rates(value: Any) -> dict[str, float]:
    """Requests/s per endpoint: a TOML table, or ``ROUTE=RATE,ROUTE=RATE`` in the environment."""
    if isinstance(value, str):
        pairs = []
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            route, sep, rate = part.rpartition("=")
            if not sep or not route.strip():
                raise ValueError(f"{part!r} is not ROUTE=RATE (e.g. /v1/invoices/:id/lines=20)")
            pairs.append((route.strip(), rate))
        value = dict(pairs)
    if not isinstance(value, Mapping):
        raise ValueError("must be a table of route = requests per second")
    rates = {}
    for route, rate in value.items():
        if not isinstance(route, str) or not route.startswith("/"):
            raise ValueError(f"{route!r} is not an API route (e.g. /v1/invoices/:id/lines)")
        try:
            rates[route] = _positive_float(rate)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{route}: {exc}") from None
    return rates


@dataclass(frozen=True)
class Setting:
    name: str                  # attribute on Settings
    toml_key: str              # dotted key in config.toml
    env: str | None            # environment variable, if any
    parse: Callable[[Any], Any]
    default: Any
    help: str


PROVIDERS = ("stripe", "chargebee")


def _provider(value: Any) -> str:
    if value not in PROVIDERS:
        raise ValueError(f"is not a provider: use {' or '.join(PROVIDERS)}")
    return value


def _share(value: Any) -> float:
    share = _positive_float(value)
    if share > 1:
        raise ValueError("must be a share between 0 and 1 (e.g. 0.5 for half the plan's limit)")
    return share


SETTINGS: tuple[Setting, ...] = (
    Setting("db", "db", "BILLING_CONNECTOR_DB", _string, DEFAULT_DB_PATH, "Path of the SQLite store."),
    Setting(
        "provider", "provider", "BILLING_CONNECTOR_PROVIDER", _provider, "stripe",
        "Billing provider to sync: stripe or chargebee (one provider account per store).",
    ),
    Setting(
        "chargebee_site", "chargebee.site", "CHARGEBEE_SITE", _string, None,
        "Chargebee site name (acme, or acme-test for a test site); the key is CHARGEBEE_API_KEY.",
    ),
    Setting(
        "chargebee_plan", "chargebee.plan", "CHARGEBEE_PLAN", _string, "starter",
        "Chargebee plan, which sets the site's request limit: starter (150/min, every test site), "
        "performance (1,000/min) or enterprise (3,500/min).",
    ),
    Setting(
        "chargebee_budget_share", "chargebee.budget_share", "CHARGEBEE_BUDGET_SHARE", _share, 0.5,
        "Share of the plan's per-minute limit the sync may use; the rest stays with the site's other integrations.",
    ),
    Setting(
        "chargebee_requests_per_minute", "chargebee.requests_per_minute", "CHARGEBEE_REQUESTS_PER_MINUTE",
        _positive_int, None, "Requests per minute instead of the share (never above the plan's limit).",
    ),
    Setting(
        "chargebee_api_base", "chargebee.api_base", "CHARGEBEE_API_BASE", _string, None,
        "A loopback server speaking Chargebee's API (the demo, tests); the key never goes elsewhere.",
    ),
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
        "endpoint_limits", "stripe.endpoint_limits", "BILLING_CONNECTOR_ENDPOINT_LIMITS", _endpoint_rates, None,
        "Requests/s of routes whose limit is not the per-endpoint default (route = rate; env ROUTE=RATE,...).",
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
        "max_retry_wait_seconds", "stripe.max_retry_wait_seconds", "BILLING_CONNECTOR_MAX_RETRY_WAIT_SECONDS",
        _positive_float, 30.0, "Longest pause between two attempts (the backoff doubles up to it; caps a Retry-After).",
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
        "Currency every MRR read, explain, the report and the export also show converted into (ECB reference "
        "rates, the rates file first).",
    ),
    Setting(
        "rates_file", "mrr.rates_file", "BILLING_CONNECTOR_RATES_FILE", _string, None,
        "CSV of exchange rates (currency,rate[,month]) that takes precedence over the ECB's for the currencies it lists.",
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
    provider: str = "stripe"
    chargebee_site: str | None = None
    chargebee_plan: str = "starter"
    chargebee_budget_share: float = 0.5
    chargebee_requests_per_minute: int | None = None
    chargebee_api_base: str | None = None
    api_key_env: str = DEFAULT_API_KEY_ENV
    api_base: str | None = None
    max_requests_per_second: float | None = None
    max_requests_per_second_per_endpoint: float = STRIPE_PER_ENDPOINT_REQUESTS_PER_SECOND
    endpoint_limits: dict[str, float] | None = None
    max_in_flight: int | None = None
    timeout_seconds: float = 30.0
    max_retries: int = 8
    max_retry_seconds: float = 300.0
    max_retry_wait_seconds: float = 30.0
    streams: list[str] | None = None
    policy: str = "default"
    reporting_currency: str | None = None
    rates_file: str | None = None
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
        register_secret(key)  # from here on no message, log line or stored text can carry it
        if not key.startswith(("sk_", "rk_")) or key.count("_") < 2:
            raise AuthError(
                f"{self.api_key_env} does not look like a Stripe secret or restricted key "
                f"({describe_key(key)}); it should start with sk_ or rk_"
            )
        if not _KEY_CHARACTERS.fullmatch(key):
            # a line break would be a header injection, a space or an accent a key mangled in copying:
            # either way no request is made with it (requests would refuse it only as a "transport" failure)
            raise AuthError(
                f"{self.api_key_env} holds a space, control or non-ASCII character, which a Stripe key never "
                "has: copy the key again"
            )
        return key


# What a Stripe key is made of (sk_live_51H…, rk_test_…): letters, digits and underscores.
_KEY_CHARACTERS = re.compile(r"[A-Za-z0-9_]+")


def describe_key(key: str) -> str:
    """What may be shown of a key: its type, its mode and its last 4 characters."""
    kind = {"sk": "secret key", "rk": "restricted key", "pk": "publishable key"}.get(key[:2], "unknown key type")
    mode = "live mode" if "_live_" in key else "test mode" if "_test_" in key else "unknown mode"
    tail = key[-4:] if len(key) >= 12 and _KEY_CHARACTERS.fullmatch(key[-4:]) else "????"
    return f"{kind}, {mode}, ending …{tail}"


def _read_toml(path: Path) -> tuple[dict[str, Any], os.stat_result]:
    """The parsed file and the status of the very file read (one descriptor: no swap between check and read)."""
    try:
        with open(path, "rb") as handle:
            status = os.fstat(handle.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise ConfigError(f"config file {path} is not a regular file; pass a TOML file to --config")
            text = handle.read(1024 * 1024).decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; a config file is TOML") from None
    try:
        return tomllib.loads(text), status
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
        data, file_status = _read_toml(path)
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
        settings.mrr_rules = {k: v for k, v in mrr.items() if k not in ("policy", "reporting_currency", "rates_file")}
        _check_permissions(path, data, file_status)

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


def _check_permissions(path: Path, data: Mapping[str, Any], status: os.stat_result) -> None:
    """Refuse a config file others could have written when it steers the key.

    ``api_base`` decides where the key is sent and ``api_key_env`` which secret
    is read: a file setting either must be the user's own and writable by no
    one else, or whoever can write the cron job's directory receives the key.
    One naming the key variable must also be unreadable by others: it invites
    someone to put the key itself in it next. 0600 is what the tool writes.
    """
    steering = [key for key in ("stripe.api_base", "stripe.api_key_env", "chargebee.api_base") if _lookup(data, key)[0]]
    if not steering:
        return
    mode = stat.S_IMODE(status.st_mode)
    what = " and ".join(steering)
    if status.st_uid != os.geteuid():
        raise ConfigError(
            f"{path} sets {what} but is owned by another user (uid {status.st_uid}); "
            f"refusing it: use a config file you own, mode 600"
        )
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ConfigError(f"{path} sets {what} but others may write it (mode {mode:o}); run `chmod 600 {path}`")
    if "stripe.api_key_env" in steering and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path} names the API key variable but is readable by others "
            f"(mode {mode:o}); run `chmod 600 {path}`"
        )
