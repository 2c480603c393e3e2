"""`doctor` through click against the request-level fake Stripe: exact lines, exit codes, no secret."""

from __future__ import annotations

import json
import os
import time

import pytest
import responses

from connector.store import AccountIdentity, open_store
from tests.support.postgres import POSTGRES_DSN
from tests.support.fakestripe import small_account
from tests.support.cli import run_cli

STREAMS = (
    "customers", "products", "prices", "plans", "coupons", "promotion_codes", "subscriptions",
    "invoices", "invoice_items", "credit_notes", "charges", "refunds", "events",
)


@pytest.fixture(autouse=True)
def _away_from_any_config(tmp_path, monkeypatch):
    """A ./config.toml in the checkout must not leak into these runs."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def fake():
    account = small_account(customers=3)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        account.install(rsps)
        # the Postgres export check talks to the real local server, not to `responses`
        rsps.add_passthru("postgresql://")
        yield account


@pytest.fixture
def synced_store(tmp_path):
    """A store as a sync leaves it: bound to the fake account, finished a minute ago."""
    path = tmp_path / "billing.db"
    store = open_store(path)
    store.bind_account(AccountIdentity("stripe", "acct_fake", False, "2026-10-28.endive"))
    with store.db.atomic():
        store.set_meta("last_sync_finished_at", str(int(time.time()) - 60))
        store.set_meta("last_sync_ok", "1")
    store.close()
    return path


def checks_of(result) -> dict[str, tuple[str, str, str]]:
    payload = json.loads(result.output)
    return {c["name"]: (c["status"], c["detail"], c["action"]) for c in payload["checks"]}


def write_config(tmp_path, text: str, mode: int = 0o600):
    path = tmp_path / "config.toml"
    path.write_text(text)
    os.chmod(path, mode)
    return str(path)


def test_healthy_setup_exits_0_with_every_check(fake, synced_store, tmp_path):
    duck = tmp_path / "warehouse.duckdb"
    config = write_config(tmp_path, f'export.targets = ["csv:{tmp_path}/out", "duckdb:{duck}", "{POSTGRES_DSN}"]\n')
    result = run_cli(["doctor", "--json", "--db", str(synced_store), "--config", config])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert (payload["ok"], payload["errors"], payload["warnings"]) == (True, 0, 1)
    checks = checks_of(result)
    assert checks["API key"] == (
        "warning", "STRIPE_API_KEY: secret key, test mode, ending …x9Zq",
        "a restricted key with read access only is safer (Dashboard → Developers → API keys)",
    )
    assert checks["API"] == ("ok", "account acct_fake (test mode), API version 2026-10-28.endive", "")
    assert {name: checks[f"read {name}"] for name in STREAMS} == {name: ("ok", "allowed", "") for name in STREAMS}
    assert checks["config file"] == ("ok", f"{config} (mode 600)", "")
    assert checks["store journal"] == ("ok", "WAL", "")
    assert checks["store permissions"] == ("ok", "mode 600", "")
    assert "store account" not in checks        # the key reaches the account the store holds
    status, detail, _ = checks["store integrity"]
    assert status == "ok" and detail.startswith(f"{synced_store}, ") and detail.endswith("account acct_fake (test)")
    status, detail, _ = checks["last sync"]
    assert status == "ok" and detail.endswith(", 1 min ago")
    assert checks[f"export csv:{tmp_path}/out"] == ("ok", f"{tmp_path}/out will be created in {tmp_path}, writable", "")
    assert checks[f"export duckdb:{duck}"] == ("ok", f"warehouse.duckdb will be created in {tmp_path}, writable", "")
    assert [v for k, v in checks.items() if k.startswith("export postgresql://")] == [("ok", "connected", "")]
    assert checks["python"][0] == "ok" and checks["package stripe"][0] == "ok"
    # nothing was created by looking
    assert not (tmp_path / "out").exists() and not duck.exists()


def test_no_key_is_an_error_and_the_api_is_not_called(fake, synced_store):
    result = run_cli(["doctor", "--db", str(synced_store)], key=None)
    assert result.exit_code == 1
    lines = [" ".join(line.split()) for line in result.output.splitlines()]   # column widths follow the names
    assert ("ERROR API key no API key: set STRIPE_API_KEY in the environment "
            "(a restricted read-only key is enough; see README)") in lines
    assert "warning API not checked: no usable API key" in lines
    assert fake.calls == []


def test_rejected_key_and_forbidden_stream_are_error_lines(fake, synced_store):
    fake.faults.append((r"/v1/credit_notes", lambda p: fake.error(403, "permission_denied", "rak_credit_note_read")))
    result = run_cli(["doctor", "--json", "--db", str(synced_store)])
    assert result.exit_code == 1
    status, detail, action = checks_of(result)["read credit_notes"]
    assert (status, action) == ("error", "give the key read access to credit_notes")
    assert "Credit notes: Read" in detail
    assert checks_of(result)["read customers"] == ("ok", "allowed", "")

    fake.faults.insert(0, (r"/v1/account", lambda p: fake.error(401, None, "Invalid API Key provided: sk_test_****9Zq")))
    result = run_cli(["doctor", "--json", "--db", str(synced_store)])
    assert result.exit_code == 1
    status, detail, _ = checks_of(result)["API"]
    assert status == "error" and "rejected the API key" in detail
    assert not any(name.startswith("read ") for name in checks_of(result))


def test_missing_store_warns_and_a_non_sqlite_store_is_an_error(fake, tmp_path):
    result = run_cli(["doctor", "--json", "--db", str(tmp_path / "none.db")])
    assert checks_of(result)["store"] == (
        "warning", f"no store at {tmp_path / 'none.db'} yet", "run `billing-connector sync --db ...` to create it",
    )
    assert result.exit_code == 0
    assert not (tmp_path / "none.db").exists()

    notes = tmp_path / "notes.txt"
    notes.write_text("not a database")
    result = run_cli(["doctor", "--json", "--db", str(notes)])
    assert result.exit_code == 1
    assert checks_of(result)["store"] == (
        "error", f"{notes} is not an SQLite file", "restore it from a backup or pass another --db",
    )
    assert notes.read_text() == "not a database"


def test_bad_config_is_an_error_line_and_the_rest_still_runs(fake, synced_store, tmp_path):
    config = write_config(tmp_path, 'stripe.api_key_env = "STRIPE_API_KEY"\n', mode=0o644)
    result = run_cli(["doctor", "--json", "--db", str(synced_store), "--config", config])
    assert result.exit_code == 1
    status, detail, _ = checks_of(result)["config file"]
    assert status == "error" and detail.endswith(f"(mode 644); run `chmod 600 {config}`")
    assert checks_of(result)["API"] == ("warning", "not checked: the config file did not load", "fix it, then rerun doctor")
    assert checks_of(result)["API key"][0] == "warning"      # still checked, from the environment
    assert checks_of(result)["store journal"] == ("ok", "WAL", "")
    assert fake.calls == []


def test_world_readable_config_without_a_key_reference_is_a_warning(fake, synced_store, tmp_path):
    config = write_config(tmp_path, "db = \"billing.db\"\n", mode=0o644)
    result = run_cli(["doctor", "--json", "--db", str(synced_store), "--config", config])
    assert checks_of(result)["config file"] == (
        "warning", f"{config} (mode 644) is readable by others", f"run `chmod 600 {config}`",
    )


def test_unreachable_and_unknown_export_targets_never_show_a_password(fake, synced_store, tmp_path):
    config = write_config(tmp_path, (
        'export.targets = ["postgresql://bob:hunter2secret@127.0.0.1:1/nowhere", '
        '"ftp://alice:s3cretpw@example.com/x", '
        f'"duckdb:{tmp_path}/missing-folder/w.duckdb"]\n'
    ))
    result = run_cli(["doctor", "--json", "--db", str(synced_store), "--config", config])
    assert result.exit_code == 1
    assert "hunter2secret" not in result.output and "s3cretpw" not in result.output
    checks = checks_of(result)
    pg = [v for k, v in checks.items() if k.startswith("export postgresql://bob@127.0.0.1:1/nowhere")]
    assert len(pg) == 1 and pg[0][0] == "error" and "cannot connect to postgresql://bob@127.0.0.1:1/nowhere" in pg[0][1]
    assert checks["export target"] == (
        "error", "unknown target type 'ftp'",
        "use postgres://user@host/db, duckdb:PATH, parquet:DIR, csv:DIR or jsonl:DIR",
    )
    assert checks[f"export duckdb:{tmp_path}/missing-folder/w.duckdb"] == (
        "error", f"folder {tmp_path}/missing-folder does not exist", "create the folder first",
    )


def test_text_output_puts_the_action_under_its_line(fake, tmp_path):
    result = run_cli(["doctor", "--db", str(tmp_path / "none.db")])
    lines = result.output.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("warning  store "))
    assert lines[index + 1].strip() == "→ run `billing-connector sync --db ...` to create it"
    assert result.exit_code == 0


def test_unavailable_api_is_an_error_after_a_short_retry_budget(fake, synced_store):
    fake.faults.append((r"/v1/account", lambda p: fake.error(503, None, "down")))
    result = run_cli(["doctor", "--json", "--db", str(synced_store)])
    assert result.exit_code == 1
    assert checks_of(result)["API"] == (
        "error",
        "provider unavailable on GET /v1/account (HTTP 503) after retries: run again later; "
        "the sync resumes from its last committed page",
        "check the key, the network and stripe.api_base",
    )
    assert [path for path, _ in fake.calls] == ["/v1/account", "/v1/account"]   # DOCTOR_MAX_RETRIES, not 8


def test_a_store_of_another_account_or_mode_is_an_error(fake, tmp_path):
    path = tmp_path / "live.db"
    store = open_store(path)
    store.bind_account(AccountIdentity("stripe", "acct_fake", True, "2026-10-28.endive"))
    store.close()
    result = run_cli(["doctor", "--json", "--db", str(path)])
    assert result.exit_code == 1
    assert checks_of(result)["store account"] == (
        "error", "the key reaches acct_fake (test), the store holds acct_fake (live)",
        "use that account's key and mode, or another --db",
    )
