"""`sync`, `status`, `auth` through click: exit codes, one-line errors, nothing written, no secret."""

from __future__ import annotations

import json
import os

import pytest

from connector.errors import EXIT_AUTH, EXIT_OK, EXIT_PERMISSION, EXIT_STORE, EXIT_USAGE
from connector.store import AccountIdentity, open_store
from tests.support.keys import CANARY_KEY
from tests.support.cli import run_cli


def one_line_error(result):
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert len(lines) >= 1 and lines[-1].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[-1]


def test_sync_then_status(fake, tmp_path):
    db = str(tmp_path / "b.db")
    result = run_cli(["sync", "--db", db, "--streams", "customers,subscriptions,invoices"])
    assert result.exit_code == EXIT_OK, result.stderr
    status = run_cli(["status", "--db", db, "--json"])
    info = json.loads(status.stdout)
    assert info["account_id"] == "acct_fake" and info["mode"] == "test"
    customers = next(row for row in info["streams"] if row["stream"] == "customers")
    assert customers["rows"] == 6 and customers["phase"] == "incremental"
    assert customers["next_run"] == "apply the changes since its events cursor"
    assert info["last_sync"]["ok"] is True and info["partial"] is False and info["warning"] is None
    with open(db, "rb") as f:
        assert CANARY_KEY.encode() not in f.read()


def test_quiet_sync_prints_nothing(fake, tmp_path):
    result = run_cli(["sync", "--db", str(tmp_path / "b.db"), "--streams", "customers", "--quiet"])
    assert result.exit_code == 0 and result.output == ""


@pytest.mark.parametrize("key, fragment", [
    (None, "no API key: set STRIPE_API_KEY"),
    ("hunter2", "does not look like a Stripe secret or restricted key (unknown key type, unknown mode, ending"),
    ("sk_test_abc\r\nX-Injected: 1", "STRIPE_API_KEY holds a space, control or non-ASCII character"),
    ("sk_test_51H abc0000000000", "STRIPE_API_KEY holds a space, control or non-ASCII character"),
    ("sk_test_51Hünïcode00000000", "STRIPE_API_KEY holds a space, control or non-ASCII character"),
])
def test_missing_or_malformed_key_exits_3_and_writes_nothing(fake, tmp_path, key, fragment):
    db = tmp_path / "b.db"
    result = run_cli(["sync", "--db", str(db)], key=key)
    assert result.exit_code == EXIT_AUTH
    assert fragment in one_line_error(result)
    assert not db.exists()


def test_rejected_key_exits_3_and_creates_no_store(fake, tmp_path):
    fake.faults.append((r"/v1/account", lambda p: fake.error(401, None, "Invalid API Key provided: sk_test_****9Zq")))
    db = tmp_path / "b.db"
    result = run_cli(["sync", "--db", str(db)])
    assert result.exit_code == EXIT_AUTH and "rejected the API key" in one_line_error(result)
    assert not db.exists()


def test_store_of_the_other_mode_is_refused_untouched(fake, tmp_path):
    db = tmp_path / "live.db"
    store = open_store(db)
    store.bind_account(AccountIdentity("stripe", "acct_fake", True, "2026-10-28.endive"))
    store.close()
    before = db.read_bytes()
    result = run_cli(["sync", "--db", str(db)])
    assert result.exit_code == EXIT_STORE
    assert db.read_bytes() == before
    assert "live-mode data but the key is test-mode" in one_line_error(result)
    store = open_store(db)
    assert store.table_counts()["customers"] == 0 and store.all_states() == {}


def test_non_sqlite_db_is_refused_and_left_alone(fake, tmp_path):
    db = tmp_path / "notes.txt"
    db.write_text("not a database")
    result = run_cli(["sync", "--db", str(db)])
    assert result.exit_code == EXIT_STORE and "restore it" in one_line_error(result)
    assert db.read_text() == "not a database"


def test_forbidden_stream_exits_4_naming_it_and_keeps_the_rest(fake, tmp_path):
    fake.faults.append((r"/v1/invoices", lambda p: fake.error(403, "permission_denied", "rak_invoice_read")))
    db = str(tmp_path / "b.db")
    result = run_cli(["sync", "--db", db, "--streams", "customers,invoices"])
    assert result.exit_code == EXIT_PERMISSION
    assert "invoices" in result.stderr and "Invoices: Read" in result.stderr
    assert open_store(db).table_counts()["customers"] == 6


def test_unknown_stream_and_bad_toml_are_usage_errors(fake, tmp_path):
    result = run_cli(["sync", "--db", str(tmp_path / "b.db"), "--streams", "customerz"])
    assert result.exit_code == EXIT_USAGE and "unknown stream 'customerz'" in one_line_error(result)
    cfg = tmp_path / "config.toml"
    cfg.write_text("db = \n")
    os.chmod(cfg, 0o600)
    result = run_cli(["sync", "--config", str(cfg)])
    assert result.exit_code == EXIT_USAGE and "invalid TOML" in one_line_error(result)


def test_auth_reports_account_mode_key_and_stream_access(fake):
    fake.faults.append((r"/v1/credit_notes", lambda p: fake.error(403, "permission_denied", "rak_credit_note_read")))
    result = run_cli(["auth", "--json"])
    assert result.exit_code == EXIT_PERMISSION
    assert result.stderr == "error: the key may not read credit_notes: grant Read on them to the restricted key\n"
    info = json.loads(result.stdout)
    assert info["account_id"] == "acct_fake" and info["mode"] == "test"
    assert info["key"] == "secret key, test mode, ending …x9Zq"
    streams = {row["stream"]: row for row in info["streams"]}
    assert streams["customers"] == {"stream": "customers", "readable": True, "reason": None}
    assert streams["credit_notes"]["readable"] is False and "Credit notes: Read" in streams["credit_notes"]["reason"]


def test_status_without_store_is_a_clear_error(tmp_path):
    result = run_cli(["status", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == EXIT_STORE and "run `billing-connector sync` first" in one_line_error(result)
