"""`doctor`: a checklist of everything a nightly sync depends on, each line ok / warning / error.

Each check returns :class:`Check` lines and never raises for an expected
failure: a ConnectorError becomes an error line carrying its own message (which
already says what to do). The key is shown only through ``describe_key``; the
store is opened read-only; export targets are only connected to, never written.
A network check uses a short retry budget so a dead API fails in seconds, not
after the sync's five-minute budget.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import sqlite3
import stat
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from . import doctor_chargebee
from .config import SETTINGS, Settings, describe_key, endpoint_problem, load_settings
from .errors import ConnectorError

OK, WARNING, ERROR = "ok", "warning", "error"
PACKAGE = "billing-connector"
MINIMUM_PYTHON = (3, 11)
# A nightly cron run plus a generous margin; older than this and the figures are stale.
STALE_SYNC_SECONDS = 36 * 3600
DOCTOR_MAX_RETRIES = 2
DOCTOR_MAX_RETRY_SECONDS = 10.0
DOCTOR_TIMEOUT_SECONDS = 10.0
SQLITE_HEADER = b"SQLite format 3\x00"

Account = tuple[str, str] | None     # (account id, "live" | "test") the key reaches


@dataclass(frozen=True)
class Check:
    name: str
    status: str          # ok | warning | error
    detail: str          # what was found
    action: str = ""     # what to do about it (empty when nothing is needed)

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


# ---- environment -----------------------------------------------------------------


def check_python(version: tuple[int, ...] = tuple(sys.version_info[:3])) -> list[Check]:
    text = ".".join(map(str, version))
    if version[:2] < MINIMUM_PYTHON:
        wanted = ".".join(map(str, MINIMUM_PYTHON))
        return [Check("python", ERROR, f"Python {text}", f"install Python {wanted} or newer and reinstall billing-connector")]
    return [Check("python", OK, f"Python {text}")]


_SPEC = re.compile(r"(<=|>=|==|!=|<|>|~=)\s*([0-9][0-9a-zA-Z.*]*)")


def _release(version: str) -> tuple[int, ...]:
    """The leading numeric release of a version text: "16.2.0rc1" → (16, 2, 0)."""
    parts = []
    for piece in version.split("."):
        digits = re.match(r"\d+", piece)
        if not digits:
            break
        parts.append(int(digits.group()))
        if digits.group() != piece:
            break
    return tuple(parts)


def version_satisfies(installed: str, specifier: str) -> bool:
    """Whether ``installed`` meets a requirement's comparisons (">=16,<17"), by release numbers."""
    have = _release(installed)
    for op, wanted_text in _SPEC.findall(specifier):
        wanted = _release(wanted_text.rstrip(".*"))
        width = max(len(have), len(wanted))
        a, b = have + (0,) * (width - len(have)), wanted + (0,) * (width - len(wanted))
        ok = {
            ">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b, "!=": a != b,
            "==": a[:len(wanted)] == wanted, "~=": a >= b and a[:len(wanted) - 1] == wanted[:-1],
        }[op]
        if not ok:
            return False
    return True


def _requirements(metadata=importlib.metadata) -> list[tuple[str, str, str | None]]:
    """(name, specifier, extra or None) for each declared requirement of billing-connector."""
    out = []
    for line in metadata.requires(PACKAGE) or []:
        requirement, _, marker = line.partition(";")
        extra = re.search(r'extra\s*==\s*"([^"]+)"', marker)
        name = re.match(r"[A-Za-z0-9_.-]+", requirement.strip()).group()
        specifier = requirement.strip()[len(name):].split("]")[-1].strip()
        out.append((name, specifier, extra.group(1) if extra else None))
    return out


def check_dependencies(metadata=importlib.metadata) -> list[Check]:
    """Installed versions of the required packages, and of the optional export extras."""
    try:
        own = metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return [Check("billing-connector", ERROR, "not installed as a package", "in the checkout: pip install .")]
    checks = [Check("billing-connector", OK, f"version {own}")]
    seen = set()
    for name, specifier, extra in _requirements(metadata):
        if extra not in (None, "postgres", "duckdb") or name in seen:
            continue          # test-only packages are not the user's concern
        seen.add(name)
        label = f"package {name}"
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            if extra is None:
                checks.append(Check(label, ERROR, "not installed", f"pip install '{name}{specifier}'"))
            else:
                checks.append(Check(
                    label, OK, f"not installed (only the {extra} export target needs it)",
                ))
            continue
        if specifier and not version_satisfies(installed, specifier):
            checks.append(Check(label, ERROR if extra is None else WARNING, f"{installed} installed, {specifier} required",
                                f"pip install '{name}{specifier}'"))
        else:
            checks.append(Check(label, OK, installed))
    return checks


# ---- configuration and key ----------------------------------------------------------


def check_config(settings: Settings) -> list[Check]:
    return _config_file_check(settings) + [_sources_check(settings)]


def _config_file_check(settings: Settings) -> list[Check]:
    if not settings.config_path:
        return [Check("config file", OK, "none found: defaults and environment variables apply")]
    path = Path(settings.config_path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return [Check("config file", WARNING, f"{path} (mode {mode:o}) is readable by others",
                      f"run `chmod 600 {path}`")]
    return [Check("config file", OK, f"{path} (mode {mode:o})")]


def _sources_check(settings: Settings) -> Check:
    """Where each setting came from: file, env, flag or default (the file wins over defaults only)."""
    parts = []
    for setting in SETTINGS:
        source = settings.sources.get(setting.name, "default")
        label = {"file": f"file {settings.config_path}", "env": f"env {setting.env}"}.get(source, source)
        parts.append(f"{setting.name}: {label}")
    return Check("settings", OK, "; ".join(parts))


def check_endpoint(settings: Settings, environ: Mapping[str, str]) -> tuple[list[Check], bool]:
    """Whether the key may be sent to the configured API base; (checks, usable)."""
    problem = endpoint_problem(settings.api_base, environ)
    base = settings.api_base or "https://api.stripe.com"
    source = settings.sources.get("api_base", "default")
    if problem:
        return [Check("API endpoint", ERROR, problem, "use an https:// api_base (or unset it for Stripe)")], False
    return [Check("API endpoint", OK, f"{base} ({source})")], True


def check_key(settings: Settings, environ: Mapping[str, str]) -> tuple[list[Check], bool]:
    """The key's type, mode and last 4 characters; (checks, usable)."""
    try:
        key = settings.api_key(environ)
    except ConnectorError as exc:
        return [Check("API key", ERROR, str(exc), "set it where billing-connector runs (the shell, or the cron line)")], False
    description = describe_key(key)
    if key.startswith("sk_"):
        return [Check("API key", WARNING, f"{settings.api_key_env}: {description}",
                      "a restricted key with read access only is safer (Dashboard → Developers → API keys)")], True
    return [Check("API key", OK, f"{settings.api_key_env}: {description}")], True


def check_api(settings: Settings, auth: Callable[[Settings], dict[str, Any]] | None = None) -> tuple[list[Check], Account]:
    """One call for the account, one tiny list per stream (connector.app.auth); also the key's account."""
    if auth is None:
        from .app import auth
    quick = replace(
        settings,
        max_retries=DOCTOR_MAX_RETRIES,
        max_retry_seconds=DOCTOR_MAX_RETRY_SECONDS,
        timeout_seconds=min(settings.timeout_seconds, DOCTOR_TIMEOUT_SECONDS),
    )
    try:
        info = auth(quick)
    except ConnectorError as exc:
        return [Check("API", ERROR, str(exc), "check the key, the network and stripe.api_base")], None
    checks = [Check("API", OK, f"account {info['account_id']} ({info['mode']} mode), API version {info['api_version']}")]
    wanted = set(settings.streams) if settings.streams else None
    needed = info.get("needed")   # what a sync with these settings reads (auth says)
    for row in info["streams"]:
        stream, access = row["stream"], row["reason"]
        if row["readable"]:
            checks.append(Check(f"read {stream}", OK, "allowed"))
        elif needed is not None and stream == "events" and stream not in needed:
            checks.append(Check(f"read {stream}", WARNING, access,
                                "not needed: this provider's streams are kept up to date by update time"))
        elif wanted is not None and stream not in wanted and stream != "events":
            checks.append(Check(f"read {stream}", WARNING, access, "not synced (stripe.streams), so not needed yet"))
        else:
            cost = " (without it, every sync re-reads each stream in full)" if stream == "events" else ""
            checks.append(Check(f"read {stream}", ERROR, access, f"give the key read access to {stream}{cost}"))
    return checks, (info["account_id"], info["mode"])


# ---- store -------------------------------------------------------------------------


def _human_size(size: int) -> str:
    return f"{size:,} bytes" if size < 1024 * 1024 else f"{size / (1024 * 1024):,.1f} MiB"


def _age(seconds: float) -> str:
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{int(seconds // 86400)} days"


def check_store(path: str, now: float | None = None, account: Account = None) -> list[Check]:
    """Integrity, WAL, size, permissions, last sync age and (given the key's ``account``) whose
    data it holds; read-only (nothing in the file changes)."""
    store_path = Path(path)
    if not store_path.exists():
        return [Check("store", WARNING, f"no store at {store_path} yet", "run `billing-connector sync --db ...` to create it")]
    if store_path.is_dir():
        return [Check("store", ERROR, f"{store_path} is a directory", "pass a file path with --db")]
    with open(store_path, "rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    if header and header != SQLITE_HEADER:
        return [Check("store", ERROR, f"{store_path} is not an SQLite file", "restore it from a backup or pass another --db")]
    try:
        conn = sqlite3.connect(f"{store_path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return [Check("store", ERROR, f"cannot open {store_path}: {exc}", "check the file and its folder's permissions")]
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchall()
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        meta = _read_meta(conn)
    except sqlite3.DatabaseError as exc:
        return [Check("store", ERROR, f"{store_path} is unreadable ({exc})", "restore it from a backup")]
    finally:
        conn.close()
    if not {"_meta", "_migrations"} <= tables:
        what = "an SQLite file but not a billing-connector store" if tables else "an empty file, not a billing-connector store"
        return [Check("store", ERROR, f"{store_path} is {what}", "pass the store's path with --db")]
    checks = []
    size = sum(os.path.getsize(p) for p in (store_path, Path(f"{store_path}-wal")) if p.exists())
    stored_account = meta.get("account_id")
    mode_text = {"1": "live", "0": "test"}.get(meta.get("livemode", ""), "no account yet")
    summary = f"{store_path}, {_human_size(size)}, account {stored_account or '–'} ({mode_text})"
    if [row[0] for row in integrity] != ["ok"]:
        problems = "; ".join(str(row[0]) for row in integrity[:3])
        checks.append(Check("store integrity", ERROR, f"{summary}: {problems}", "restore the store from a backup"))
    else:
        checks.append(Check("store integrity", OK, summary))
    if account and stored_account and (stored_account, mode_text) != account:
        checks.append(Check("store account", ERROR, f"the key reaches {account[0]} ({account[1]}), the store holds "
                            f"{stored_account} ({mode_text})", "use that account's key and mode, or another --db"))
    if journal.lower() != "wal":
        checks.append(Check("store journal", WARNING, f"journal_mode {journal}, not wal",
                            "run `billing-connector sync` once: it switches the store to WAL"))
    else:
        checks.append(Check("store journal", OK, "WAL"))
    file_mode = stat.S_IMODE(store_path.stat().st_mode)
    if file_mode & (stat.S_IRWXG | stat.S_IRWXO):
        checks.append(Check("store permissions", WARNING, f"mode {file_mode:o}: others can read your billing data",
                            f"run `chmod 600 {store_path}`"))
    else:
        checks.append(Check("store permissions", OK, f"mode {file_mode:o}"))
    checks.append(_last_sync(meta, time.time() if now is None else now))
    return checks


def _read_meta(conn: sqlite3.Connection) -> dict[str, str]:
    has_meta = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_meta'").fetchone()
    if not has_meta:
        return {}
    return {key: value for key, value in conn.execute("SELECT key, value FROM _meta").fetchall()}


def _last_sync(meta: Mapping[str, str], now: float) -> Check:
    finished = meta.get("last_sync_finished_at")
    if not finished:
        return Check("last sync", WARNING, "never finished", "run `billing-connector sync`")
    age = max(now - int(finished), 0)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(int(finished)))
    if meta.get("last_sync_ok") == "0":
        return Check("last sync", WARNING, f"{when} ({_age(age)} ago) ended with failed streams",
                     "rerun `billing-connector sync` and read its errors")
    if age > STALE_SYNC_SECONDS:
        return Check("last sync", WARNING, f"{when}, {_age(age)} ago", "check the cron line that runs `billing-connector sync`")
    return Check("last sync", OK, f"{when}, {_age(age)} ago")


# ---- export targets -------------------------------------------------------------------


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _writable_place(directory: Path) -> tuple[bool, str]:
    """Whether an export may write into ``directory`` (existing or to be created)."""
    if directory.exists():
        if not directory.is_dir():
            return False, f"{directory} is a file, not a folder"
        return os.access(directory, os.W_OK | os.X_OK), f"{directory} exists"
    parent = _nearest_existing(directory)
    return parent.is_dir() and os.access(parent, os.W_OK | os.X_OK), f"{directory} will be created in {parent}"


def probe_target(spec: str) -> Check:
    """Connect to (databases) or inspect (files) one export target; writes nothing."""
    from .export import TARGET_EXAMPLES, TARGETS
    from .export.base import require_extra
    from .export.duckdb_target import DuckDBTarget
    from .export.files import FileTarget
    from .export.postgres import PostgresTarget

    scheme = spec.split(":", 1)[0].lower() if ":" in spec else ""
    if scheme not in TARGETS:
        # only the scheme is shown: the rest of an unknown spec may hold a password
        return Check("export target", ERROR, f"unknown target type {scheme or spec!r}", f"use {TARGET_EXAMPLES}")
    try:
        if scheme in PostgresTarget.schemes:
            target = PostgresTarget(spec)
            try:
                with target:
                    pass
            except ConnectorError as exc:
                return Check(f"export {target.identity}", ERROR, str(exc), "start the server or fix the URL in export.targets")
            return Check(f"export {target.identity}", OK, "connected")
        if scheme in DuckDBTarget.schemes:
            target = DuckDBTarget(spec)
            if target.path.exists():
                duckdb = require_extra("duckdb", "duckdb")
                try:
                    duckdb.connect(str(target.path), read_only=True).close()
                except duckdb.Error as exc:
                    return Check(f"export {target.identity}", ERROR, f"cannot open: {str(exc).splitlines()[0]}",
                                 "close other programs using the file, or export to another path")
                return Check(f"export {target.identity}", OK, "file opens")
            folder = target.path.parent
            if not folder.is_dir():
                return Check(f"export {target.identity}", ERROR, f"folder {folder} does not exist", "create the folder first")
            usable = os.access(folder, os.W_OK | os.X_OK)
            return _place_check(target.identity, usable, f"{target.path.name} will be created in {folder}")
        target = FileTarget(spec)
        usable, where = _writable_place(target.directory)
        return _place_check(target.identity, usable, where)
    except ConnectorError as exc:
        return Check(f"export {scheme}", ERROR, str(exc), "fix export.targets in the config file")


def _place_check(identity: str, usable: bool, where: str) -> Check:
    if usable:
        return Check(f"export {identity}", OK, f"{where}, writable")
    return Check(f"export {identity}", ERROR, f"{where}, not writable", "fix the folder's permissions or choose another")


def check_export_targets(targets: list[str]) -> list[Check]:
    if not targets:
        return [Check("export targets", OK, "none configured (export.targets)")]
    return [probe_target(spec) for spec in targets]


# ---- the whole checklist -----------------------------------------------------------------


def run_doctor(
    config_path: str | None = None,
    *,
    db: str | None = None,
    now: float | None = None,
    provider: str | None = None,
    site: str | None = None,
) -> list[Check]:
    """Every check in order. Never raises for an expected problem: it becomes an error line.

    Reads the key from the process environment, as every other command does.
    """
    environ = os.environ
    checks = check_python() + check_dependencies()
    config_loaded = True
    try:
        settings = load_settings(config_path, flags={"db": db, "provider": provider, "chargebee_site": site},
                                 environ=environ)
        checks += check_config(settings)
    except ConnectorError as exc:
        checks.append(Check("config file", ERROR, str(exc), "fix the file (see config.example.toml) or pass --config"))
        settings, config_loaded = _settings_without_file(db, environ), False
    if settings.provider == "chargebee":
        endpoint_checks, endpoint_usable = doctor_chargebee.check_endpoint(settings, environ, Check)
        key_checks, key_usable = doctor_chargebee.check_key(settings, environ, Check)
    else:
        endpoint_checks, endpoint_usable = check_endpoint(settings, environ)
        key_checks, key_usable = check_key(settings, environ)
    checks += endpoint_checks + key_checks
    account: Account = None
    if not config_loaded:
        # the API base and the streams may be in the file: checking without them would mislead
        checks.append(Check("API", WARNING, "not checked: the config file did not load", "fix it, then rerun doctor"))
    elif not endpoint_usable:
        checks.append(Check("API", ERROR, "not checked: the key may not be sent to the configured API base",
                            "fix stripe.api_base / STRIPE_API_BASE, then rerun doctor"))
    elif key_usable:
        api_checks, account = check_api(settings)
        checks += api_checks
    else:
        checks.append(Check("API", WARNING, "not checked: no usable API key", "set the key, then rerun doctor"))
    checks += check_store(settings.db, now, account)
    if config_loaded:
        checks += check_export_targets(settings.export_targets)
    return checks


def _settings_without_file(db: str | None, environ: Mapping[str, str]) -> Settings:
    """Environment and flags only, for the checks that can still run when the file is broken."""
    try:
        # an empty TOML document stands in for the broken file (./config.toml would be read again)
        return load_settings(os.devnull, flags={"db": db}, environ=environ)
    except ConnectorError:
        return Settings(db=db) if db else Settings()


def exit_code(checks: list[Check]) -> int:
    return 1 if any(check.status == ERROR for check in checks) else 0
