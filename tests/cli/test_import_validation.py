"""`import subscription-periods`: delimiter detection, the header it read, date range, empty
periods, --dry-run, --currency required; a rejected file creates no store."""

from __future__ import annotations

import pytest

from tests.support.cli import run_cli

HEADER = ["subscription_id", "customer_id", "start_date", "end_date", "monthly_amount"]


@pytest.fixture(autouse=True)
def _here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)   # no stray ./config.toml, and a place to see what gets created


def _write(tmp_path, text, name="periods.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_the_delimiter_is_detected(tmp_path, sep):
    rows = [HEADER, ["s1", "c1", "2024-01-01", "", "10.50"], ["s2", "c2", "2024-02-01", "2024-05-01", "99"]]
    path = _write(tmp_path, "".join(sep.join(row) + "\n" for row in rows))
    result = run_cli(["import", "subscription-periods", path, "--currency", "EUR", "--db", "b.db"])
    assert (result.exit_code, result.stderr) == (0, "imported 2 segment rows; MRR updated for 2 customers\n")


def test_missing_columns_show_the_header_read_and_create_no_store(tmp_path):
    path = _write(tmp_path, "subscription;customer;start;end;amount\ns1;c1;2024-01-01;;10\n")
    result = run_cli(["import", "subscription-periods", path, "--currency", "EUR", "--db", "b.db"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {path}: missing column(s) subscription_id, customer_id, start_date, end_date, monthly_amount; "
        "the header read (separator ';') was 'subscription;customer;start;end;amount'; expected "
        "subscription_id, customer_id, start_date, end_date, monthly_amount\n"
    )
    assert not (tmp_path / "b.db").exists()


def test_dates_outside_1970_2100_and_empty_periods_are_refused_by_line(tmp_path):
    path = _write(tmp_path, ",".join(HEADER) + "\n"
                  "s1,c1,1969-12-31,,10\n"
                  "s2,c2,2024-01-01,2101-01-01,10\n"
                  "s3,c3,2024-03-01,2024-03-01,10\n"
                  "s4,c4,0202-01-01,,10\n"
                  "s5,c5,1970-01-01,2100-12-31,10\n")
    result = run_cli(["import", "subscription-periods", path, "--currency", "USD", "--db", "b.db"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {path}: 4 bad row(s), nothing imported:",
        "line 2: start_date 1969-12-31 is outside 1970-2100; check the year",
        "line 3: end_date 2101-01-01 is outside 1970-2100; check the year",
        "line 4: the period 2024-03-01 to 2024-03-01 is empty (end_date is exclusive)",
        "line 5: start_date 0202-01-01 is outside 1970-2100; check the year",
    ]
    assert not (tmp_path / "b.db").exists()


def test_dry_run_validates_and_writes_nothing(tmp_path):
    path = _write(tmp_path, ",".join(HEADER) + "\ns1,c1,2024-01-01,,10\ns2,c1,2024-02-01,,5\n")
    result = run_cli(["import", "subscription-periods", path, "--currency", "USD", "--dry-run", "--db", "b.db"])
    assert result.exit_code == 0
    assert result.stderr == f"{path}: 2 periods for 1 customers are valid; nothing written (--dry-run)\n"
    assert not (tmp_path / "b.db").exists()


def test_currency_is_required(tmp_path):
    path = _write(tmp_path, ",".join(HEADER) + "\ns1,c1,2024-01-01,,10\n")
    result = run_cli(["import", "subscription-periods", path, "--db", "b.db"])
    assert result.exit_code == 2 and "Missing option '--currency'" in result.stderr
    assert not (tmp_path / "b.db").exists()
