"""The public mrr-playbook sample imported and its monthly movements checked by hand."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from connector.mrr import engine
from connector.mrr.importer import ImportFileError, import_subscription_periods

from tests.support.segments import FakePolicy, stored_segments
from tests.support.cli import run_cli

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "mrr_playbook_subscription_periods.csv"


@pytest.fixture
def playbook(store):
    written = import_subscription_periods(store, SAMPLE, currency="USD")
    assert written == 121
    engine.rebuild(store, FakePolicy(), as_of=date(2026, 11, 23), segment_source=stored_segments)
    return store


def months_of(store, customer_id):
    return [
        tuple(r)
        for r in store.db.execute(
            "SELECT month, mrr_minor, movement, movement_minor FROM mrr_customer_months "
            "WHERE customer_id = ? AND _deleted = 0 ORDER BY month",
            [customer_id],
        ).fetchall()
    ]


def test_customer_1_by_hand(playbook):
    # periods: 2018-11..2019-02 $50, 2019-04..2019-06 $50, 2019-06..2019-08 $75
    assert months_of(playbook, "1") == [
        ("2018-11", 5000, "new", 5000),
        ("2018-12", 5000, "", 0),
        ("2019-01", 5000, "", 0),
        ("2019-02", 0, "churn", -5000),
        ("2019-04", 5000, "reactivation", 5000),
        ("2019-05", 5000, "", 0),
        ("2019-06", 7500, "expansion", 2500),
        ("2019-07", 7500, "", 0),
        ("2019-08", 0, "churn", -7500),
    ]


def test_customer_5_by_hand(playbook):
    # 50 (Nov 18), 25 (Dec 18 - Mar 19), gap, 50, 25, 50, 25 (Oct-Nov), 40 (Dec 19)
    assert months_of(playbook, "5") == [
        ("2018-11", 5000, "new", 5000),
        ("2018-12", 2500, "contraction", -2500),
        ("2019-01", 2500, "", 0),
        ("2019-02", 2500, "", 0),
        ("2019-03", 0, "churn", -2500),
        ("2019-07", 5000, "reactivation", 5000),
        ("2019-08", 2500, "contraction", -2500),
        ("2019-09", 5000, "expansion", 2500),
        ("2019-10", 2500, "contraction", -2500),
        ("2019-11", 2500, "", 0),
        ("2019-12", 4000, "expansion", 1500),
        ("2020-01", 0, "churn", -4000),
    ]


def test_customer_10_by_hand(playbook):
    rows = months_of(playbook, "10")
    movements = [r for r in rows if r[2]]
    assert movements == [
        ("2018-04", 8000, "new", 8000),
        ("2018-05", 0, "churn", -8000),
        ("2018-09", 5000, "reactivation", 5000),
        ("2018-10", 2500, "contraction", -2500),
        ("2019-04", 5000, "expansion", 2500),
        ("2019-05", 2500, "contraction", -2500),
        ("2019-06", 5000, "expansion", 2500),
        ("2019-11", 2500, "contraction", -2500),
        ("2019-12", 3500, "expansion", 1000),
        ("2020-01", 0, "churn", -3500),
    ]
    assert len(rows) == 2 + 17  # 2018-04..05, then 2018-09..2020-01


def test_customer_2_by_hand(playbook):
    assert months_of(playbook, "2") == [
        ("2017-09", 2500, "new", 2500),
        ("2017-10", 2500, "", 0),
        ("2017-11", 0, "churn", -2500),
    ]


def test_every_customers_movements_sum_to_their_mrr(playbook):
    for customer_id, total, last in playbook.db.execute(
        "SELECT customer_id, SUM(movement_minor), "
        "(SELECT mrr_minor FROM mrr_customer_months m2 WHERE m2.customer_id = m.customer_id ORDER BY month DESC LIMIT 1) "
        "FROM mrr_customer_months m GROUP BY customer_id"
    ).fetchall():
        assert total == last, customer_id


def test_reimport_writes_nothing(playbook):
    assert import_subscription_periods(playbook, SAMPLE, currency="USD") == 0


def test_bad_rows_are_listed_and_nothing_is_imported(store, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "subscription_id,customer_id,start_date,end_date,monthly_amount\n"
        "1,c1,2020-01-01,2020-03-01,10\n"
        "2,c1,2020-13-01,,10\n"
        "3,c2,2020-05-01,2020-04-01,10\n"
        "4,c3,2020-01-01,,-5\n"
        "5,c4,2020-01-01,,1.005\n"
        "6,c5,2020-01-01,,ten\n"
    )
    with pytest.raises(ImportFileError) as error:
        import_subscription_periods(store, bad, currency="USD")
    assert str(error.value).splitlines()[1:] == [
        "line 3: start_date '2020-13-01' is not a date (YYYY-MM-DD)",
        "line 4: end_date 2020-04-01 is before start_date 2020-05-01",
        "line 5: monthly_amount -5 is negative",
        "line 6: monthly_amount 1.005 has more than 2 decimals for USD",
        "line 7: monthly_amount 'ten' is not a number",
    ]
    assert error.value.exit_code == 2
    assert store.db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'mrr_segments'").fetchone()[0] == 0 or (
        store.db.execute("SELECT count(*) FROM mrr_segments").fetchone()[0] == 0
    )


def test_unknown_currency_is_refused(store):
    with pytest.raises(ImportFileError, match="unknown currency 'USX'"):
        import_subscription_periods(store, SAMPLE, currency="USX")


def test_amounts_use_the_currency_exponent(store, tmp_path):
    path = tmp_path / "jpy.csv"
    path.write_text("subscription_id,customer_id,start_date,end_date,monthly_amount\ns1,c1,2020-01-01,,1500\n")
    import_subscription_periods(store, path, currency="JPY")
    assert store.db.execute("SELECT currency, amount_minor, end_date FROM mrr_segments").fetchall() == [("jpy", 1500, None)]
    path.write_text("subscription_id,customer_id,start_date,end_date,monthly_amount\ns1,c1,2020-01-01,,15.5\n")
    with pytest.raises(ImportFileError, match="more than 0 decimals for JPY"):
        import_subscription_periods(store, path, currency="JPY")


def test_every_customer_month_matches_the_dbt_playbook_sql(playbook):
    import duckdb

    from connector.mrr.playbook_sql import playbook_customer_months

    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE periods AS SELECT customer_id::VARCHAR AS customer_id, start_date::DATE AS start_date, "
        "nullif(end_date, '')::DATE AS end_date, (monthly_amount::DECIMAL(18, 2) * 100)::BIGINT AS mrr_minor "
        f"FROM read_csv('{SAMPLE}', header = true, all_varchar = true)"
    )
    expected = playbook_customer_months(connection, "2026-11-01")
    ours = playbook.db.execute(
        "SELECT customer_id, month, mrr_minor, start_mrr_minor, movement, movement_minor "
        "FROM mrr_customer_months WHERE _deleted = 0 ORDER BY customer_id, month"
    ).fetchall()
    assert len(ours) == 410
    assert ours == [tuple(row) for row in expected]


def test_with_the_real_policy_and_segment_builder_the_rows_are_the_same(playbook):
    from connector.mrr.policy import load_policy
    from connector.store import open_store

    real = open_store(None)
    import_subscription_periods(real, SAMPLE, currency="USD")
    stats = engine.rebuild(real, load_policy("default"), as_of=date(2026, 11, 23))
    assert (stats.customers, stats.rows_written, stats.metrics_rows_written) == (55, 698, 29)
    columns = "customer_id, month, currency, mrr_minor, start_mrr_minor, movement, movement_minor, cause"
    query = f"SELECT {columns} FROM mrr_customer_months WHERE _deleted = 0 ORDER BY id"
    assert real.db.execute(query).fetchall() == playbook.db.execute(query).fetchall()
    real.close()


def test_the_cli_end_to_end_with_the_real_modules(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./config.toml
    monkeypatch.delenv("BILLING_CONNECTOR_POLICY", raising=False)

    db = str(tmp_path / "real.db")
    imported = run_cli(["import", "subscription-periods", str(SAMPLE), "--currency", "USD", "--db", db])
    assert imported.exit_code == 0, imported.output
    result = run_cli(["mrr", "customers", "--customer", "5", "--since", "2019-07",
                                       "--until", "2019-09", "--format", "csv", "--db", db])
    assert result.stdout.splitlines() == [
        "customer_id,month,currency,mrr,movement,movement_amount,cause",
        "5,2019-07,USD,50.00,reactivation,50.00,reactivation",
        "5,2019-08,USD,25.00,contraction,-25.00,plan_change",
        "5,2019-09,USD,50.00,expansion,25.00,plan_change",
    ]
