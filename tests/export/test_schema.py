"""Table discovery, column types, the target registry and the optional extras."""

from __future__ import annotations

import sys

import pytest

from connector.errors import ConfigError, ExportError
from connector.export import TARGETS, export, make_target
from connector.export.duckdb_target import DuckDBTarget
from connector.export.files import FileTarget
from connector.export.postgres import PostgresTarget
from connector.export.schema import changed_rows, data_tables, logical_type, select_tables, table_schema
from connector.store import open_store
from connector.store.raw_stripe import RAW_TABLES

from tests.support.export_store import ACCOUNT, DERIVED_TABLE, EXPECTED_TABLE_TYPES


def test_every_data_table_is_discovered_and_nothing_else(built_store):
    built_store.db.execute("CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT)")  # no _seq: not data
    assert data_tables(built_store) == sorted([*RAW_TABLES, DERIVED_TABLE])
    assert select_tables(built_store, ["customers", DERIVED_TABLE, "customers"]) == ["customers", DERIVED_TABLE]
    with pytest.raises(ConfigError, match=r"^no such data table in the store: notes, nope; choose from charges, "):
        select_tables(built_store, ["notes", "nope"])


def test_column_types_follow_the_documented_conventions(built_store):
    derived = table_schema(built_store, DERIVED_TABLE)
    assert {c.name: c.type for c in derived.columns} == EXPECTED_TABLE_TYPES
    assert derived.primary_key == ("_account_id", "customer_id", "month_date")
    customers = table_schema(built_store, "customers")
    assert [(c.name, c.type) for c in customers.columns] == [
        ("id", "text"), ("created", "timestamp"), ("livemode", "boolean"), ("email", "text"),
        ("currency", "text"), ("data", "json"), ("_synced_at", "timestamp"), ("_deleted", "boolean"),
        ("_seq", "bigint"), ("_account_id", "text"),
    ]
    assert table_schema(built_store, "invoice_line_items").primary_key == ("_account_id", "id", "invoice")
    # by declared type, never by value: an epoch name stored as text stays text, a *_date integer stays bigint
    assert logical_type("created", "TEXT") == "text"
    assert logical_type("due_date", "INTEGER") == "timestamp"
    assert logical_type("renewal_date", "INTEGER") == "bigint"
    assert logical_type("amount", "NUMERIC") == "text"
    assert logical_type("current_period_end_at", "INTEGER") == "timestamp"  # the neutral schema's instants
    assert logical_type("tiers", "TEXT") == "json" and logical_type("month", "TEXT") == "text"
    assert logical_type("blob", "BLOB") == "bytes"


def test_a_table_with_its_own_account_column_is_refused(built_store):
    built_store.db.execute("CREATE TABLE odd (id TEXT PRIMARY KEY, _account_id TEXT, _seq INTEGER)")
    with pytest.raises(ExportError, match=r"^table odd has its own _account_id column, which the export adds; rename it$"):
        table_schema(built_store, "odd")


def test_a_value_that_does_not_fit_its_type_is_named(built_store):
    built_store.db.execute(f"UPDATE {DERIVED_TABLE} SET mrr_minor = 'lots' WHERE customer_id = 'cus_1'")
    schema = table_schema(built_store, DERIVED_TABLE)
    with pytest.raises(ExportError) as caught:
        list(changed_rows(built_store, schema, 0, built_store.current_seq(), ACCOUNT.account_id))
    assert str(caught.value).startswith(f"{DERIVED_TABLE}.mrr_minor holds 'lots', not a bigint (")
    assert str(caught.value).endswith("row starting 'cus_1'")


def test_with_a_skipped_list_an_unfit_row_is_left_out_and_the_rest_sent(built_store):
    built_store.db.execute("UPDATE customers SET created = 253402300800 + 400 * 86400 WHERE id = 'cus_1'")
    schema = table_schema(built_store, "customers")
    skipped = []
    rows = list(changed_rows(built_store, schema, 0, built_store.current_seq(), ACCOUNT.account_id, skipped=skipped))
    live = built_store.db.execute("select count(*) from customers").fetchone()[0]
    assert len(rows) == live - 1 and "cus_1" not in [row[0] for row in rows]
    assert skipped == [("cus_1", "customers.created holds 253436860800, not a timestamp (date out of range: "
                                 "253436860800 is not in years 1..9999); row starting 'cus_1'")]


def test_changed_rows_are_the_seq_window_with_the_account(built_store):
    schema = table_schema(built_store, "coupons")
    rows = list(changed_rows(built_store, schema, 0, built_store.current_seq(), "acct_x"))
    assert len(rows) == 1 and rows[0][0] == "co_1" and rows[0][4] == 12.5 and rows[0][-1] == "acct_x"
    assert list(changed_rows(built_store, schema, 5, built_store.current_seq(), "acct_x")) == []


def test_registry_maps_every_scheme(built_store, tmp_path):
    assert sorted(TARGETS) == ["csv", "duckdb", "jsonl", "parquet", "postgres", "postgresql"]
    assert isinstance(make_target("postgres://u@h/d", built_store), PostgresTarget)
    assert isinstance(make_target("POSTGRESQL://u@h/d", built_store), PostgresTarget)
    assert isinstance(make_target(f"duckdb:{tmp_path}/x.duckdb", built_store), DuckDBTarget)
    assert isinstance(make_target(f"jsonl:{tmp_path}", built_store), FileTarget)
    assert make_target(f"CSV:{tmp_path}", built_store).identity == f"csv:{tmp_path}"
    with pytest.raises(ConfigError, match=r"^unknown export target 'mysql': use postgres://user@host/db, duckdb:PATH"):
        make_target("mysql://u@h/d", built_store)
    with pytest.raises(ConfigError, match="^--schema applies to postgres and duckdb targets"):
        make_target(f"csv:{tmp_path}", built_store, schema="s")


def test_store_without_account_is_refused():
    store = open_store(None)
    with pytest.raises(ExportError, match="run `billing-connector sync` first"):
        export(store, "csv:/tmp/never-written")
    store.close()


@pytest.mark.parametrize("target,extra,module", [
    ("postgresql://postgres@127.0.0.1/test", "postgres", "psycopg"),
    ("duckdb:{tmp}/x.duckdb", "duckdb", "duckdb"),
    ("parquet:{tmp}/p", "parquet", "duckdb"),
])
def test_missing_extra_names_the_install_command(built_store, tmp_path, monkeypatch, target, extra, module):
    monkeypatch.setitem(sys.modules, module, None)  # what an absent package looks like to import
    with pytest.raises(ExportError) as caught:
        export(built_store, target.format(tmp=tmp_path), tables=["coupons"])
    assert str(caught.value) == (
        f"this export target needs the {module} package: pip install '.[{extra}]' in the billing-connector checkout"
    )
    assert built_store.db.execute("SELECT count(*) FROM _export_watermarks WHERE seq >= 0").fetchone() == (0,)


def test_the_neutral_and_mrr_tables_get_their_documented_types(store):
    """The real schemas of the other layers, so a renamed convention shows up here."""
    from connector.mapping.schema import ensure_schema
    from connector.mrr.facts import ensure_tables

    ensure_schema(store)
    ensure_tables(store)   # the segment tables too
    types = {
        table: {c.name: c.type for c in table_schema(store, table).columns}
        for table in data_tables(store) if table.startswith(("billing_", "mrr_"))
    }
    subscriptions = types["billing_subscriptions"]
    assert [subscriptions[c] for c in ("created_at", "current_period_end_at", "cancel_at_period_end", "discount_ids")] \
        == ["timestamp", "timestamp", "boolean", "json"]
    assert types["billing_discounts"]["percent_off"] == "text"  # exact decimal text, never a float
    assert types["billing_invoice_lines"]["service_start_date"] == "date"
    assert types["billing_invoice_lines"]["net_minor"] == "bigint"
    assert types["billing_plans"]["tiers"] == "json"
    assert types["mrr_movements"]["day"] == "date" and types["mrr_movements"]["source_ids"] == "json"
    assert types["mrr_customer_months"]["month"] == "text" and types["mrr_customer_months"]["mrr_minor"] == "bigint"
    assert types["mrr_segments"]["start_date"] == "date" and types["mrr_segments"]["tags"] == "json"
    assert "double" not in {t for table in types.values() for t in table.values()}
