"""The README's exit-code table is the contract: every row, produced by a real command."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from connector.errors import EXIT_CODES
from tests.support.cli import run_cli

README = Path(__file__).resolve().parents[2] / "README.md"
TWO_RETRIES = {"BILLING_CONNECTOR_MAX_RETRIES": "2"}  # a retried failure gives up quickly


def readme_exit_codes() -> dict[int, str]:
    section = README.read_text().split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {int(code): meaning for code, meaning in re.findall(r"^\| (\d+) \| (.+) \|$", section, re.MULTILINE)}


def test_the_readme_table_lists_exactly_the_codes_in_code():
    assert sorted(readme_exit_codes()) == sorted(EXIT_CODES) == list(range(10))


@pytest.fixture
def synced(fake, tmp_path):
    db = tmp_path / "billing.db"
    assert run_cli(["sync", "--db", str(db), "--quiet", "--streams", "customers"], env=TWO_RETRIES).exit_code == 0
    return db


def _row_0(fake, synced, tmp_path):
    return run_cli(["status", "--db", str(synced)], env=TWO_RETRIES), ""


def _row_1(fake, synced, tmp_path):
    # doctor found an error: no key in the environment (its checklist goes to stdout)
    result = run_cli(["doctor", "--db", str(synced)], key=None, env=TWO_RETRIES)
    assert re.search(r"^ERROR +API key +", result.stdout, re.MULTILINE), result.stdout
    return result, ""


def _row_2(fake, synced, tmp_path):
    return run_cli(["mrr", "history", "--since", "2024-13", "--db", str(synced)], env=TWO_RETRIES), "--since '2024-13' is not a month"


def _row_3(fake, synced, tmp_path):
    return run_cli(["sync", "--db", str(synced)], key=None, env=TWO_RETRIES), "no API key"


def _row_4(fake, synced, tmp_path):
    fake.faults.append((r"/v1/invoices", lambda p: fake.error(403, "permission_denied", "rak_invoice_read")))
    return run_cli(["sync", "--db", str(synced), "--streams", "customers,invoices"], env=TWO_RETRIES), "invoices"


def _row_5(fake, synced, tmp_path):
    foreign = tmp_path / "app.db"
    sqlite3.connect(foreign).execute("CREATE TABLE users (id INTEGER)").connection.close()
    return run_cli(["status", "--db", str(foreign)], env=TWO_RETRIES), "not a billing-connector store"


def _row_6(fake, synced, tmp_path):
    fake.faults.append((r"/v1/customers", lambda p: fake.error(429, "rate_limit", "slow down", headers={"Retry-After": "0"})))
    return run_cli(["sync", "--db", str(synced), "--streams", "customers", "--full-refresh"], env=TWO_RETRIES), "rate limited on GET /v1/customers"


def _row_7(fake, synced, tmp_path):
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    return run_cli(["export", "--to", f"csv:{not_a_folder}", "--db", str(synced)], env=TWO_RETRIES), "csv:"


def _row_9(fake, synced, tmp_path):
    # another process holds the store's writer lock (as a running sync does) while `sync` starts
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pathlib import Path; from connector.store.lock import acquire; "
         "acquire(Path(sys.argv[1])); print('held', flush=True); sys.stdin.read()", str(synced)],
        cwd=Path(__file__).resolve().parents[2], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        result = run_cli(["sync", "--db", str(synced), "--quiet", "--streams", "customers"], env=TWO_RETRIES)
    finally:
        holder.communicate("", timeout=30)
    return result, f"another process (pid {holder.pid}) holds {synced}"


def _row_8(fake, synced, tmp_path):
    def with_an_object_without_id(params):
        status, headers, body = fake.page(sorted(fake.objects["customers"].values(), key=lambda o: o["created"],
                                                  reverse=True), params, "/v1/customers")
        page = json.loads(body)
        page["data"].append({"object": "customer", "created": 1})
        return status, headers, json.dumps(page)

    fake.faults.append((r"/v1/customers", with_an_object_without_id))
    result = run_cli(["sync", "--db", str(synced), "--streams", "customers", "--full-refresh"], env=TWO_RETRIES)
    return result, "1 records could not be stored or mapped and were quarantined"


ROWS = {0: _row_0, 1: _row_1, 2: _row_2, 3: _row_3, 4: _row_4, 5: _row_5, 6: _row_6, 7: _row_7, 8: _row_8, 9: _row_9}
PENDING: dict[int, str] = {}


@pytest.mark.parametrize("code", sorted(EXIT_CODES))
def test_every_row_of_the_table_is_what_a_real_command_returns(code, fake, synced, tmp_path):
    if code in PENDING:
        pytest.skip(f"exit {code} comes with {PENDING[code]}")
    result, fragment = ROWS[code](fake, synced, tmp_path)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    if code > 1:
        prefix = "warning: " if code == 8 else "error: "  # 8: the run completed
        errors = [line for line in result.stderr.splitlines() if line.startswith(prefix)]
        assert errors and fragment in "\n".join(errors), result.stderr


def test_a_bogus_export_target_is_a_usage_error_and_opens_nothing(synced):
    result = run_cli(["export", "--to", "mysql://u@h/db", "--db", str(synced)], env=TWO_RETRIES)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: unknown export target 'mysql': use postgres://")
