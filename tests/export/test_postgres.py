"""The PostgreSQL target against the real server on 127.0.0.1:5432."""

from __future__ import annotations

import contextlib
import logging
import socket
from urllib.parse import urlencode

import pytest
from psycopg import sql

from connector.errors import ExportError
from connector.export import export
from connector.export.base import LOADS_TABLE
from connector.export.postgres import PostgresTarget
from connector.export.schema import data_tables
from connector.export.watermarks import all_watermarks

from tests.support.export_store import DERIVED_TABLE, EVIL_COLUMN, change_store, columns_of, postgres_snapshot, store_snapshot

SECRET = "Pa55w0rd-never-shown"


def _dsn(schema: str, user: str = "postgres", password: str | None = None, port: int = 5432) -> str:
    credentials = user + (f":{password}" if password else "")
    return f"postgresql://{credentials}@127.0.0.1:{port}/test?schema={schema}"


def _assert_target_equals_store(store, pg, schema):
    for table in data_tables(store):
        columns = columns_of(store, table)
        expected = store_snapshot(store, table, columns)
        actual = postgres_snapshot(pg, schema, table, columns)
        assert (actual["count"], actual["sha256"]) == (expected["count"], expected["sha256"]), table
        assert actual["rows"] == expected["rows"], table


def _tables_in(pg, schema):
    """The data tables in the schema (the export's own record of its loads left out)."""
    return sorted(r[0] for r in pg.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_name <> %s",
        [schema, LOADS_TABLE]
    ).fetchall())


def _loads_recorded(pg, schema):
    return sorted(tuple(r) for r in pg.execute(sql.SQL(
        "SELECT store_id, account_id, table_name, seq_to, timeline FROM {}").format(
        sql.Identifier(schema, LOADS_TABLE))).fetchall())


def test_full_then_incremental_then_full_again(built_store, pg, pg_schema):
    first = export(built_store, _dsn(pg_schema, password=SECRET))
    assert first.target == f"postgresql://postgres@127.0.0.1:5432/test?schema={pg_schema}"
    assert {t: n for t, n in first.rows.items() if n} == {
        "coupons": 1, "customers": 5, "invoice_line_items": 3, "invoices": 2, DERIVED_TABLE: 3, "subscriptions": 2,
    }
    assert _tables_in(pg, pg_schema) == sorted(data_tables(built_store))
    _assert_target_equals_store(built_store, pg, pg_schema)
    # the target's own record of which store history it holds, every table (base.LOADS_TABLE)
    store_id, timeline, seq = built_store.meta("store_id"), built_store.meta("timeline"), built_store.current_seq()
    assert _loads_recorded(pg, pg_schema) == sorted(
        (store_id, "acct_export1", table, seq, timeline) for table in data_tables(built_store))
    # the watermark is keyed without the password
    assert all_watermarks(built_store, first.target)[DERIVED_TABLE] == built_store.current_seq()
    assert SECRET not in repr(built_store.db.execute("SELECT * FROM _export_watermarks").fetchall())

    again = export(built_store, _dsn(pg_schema, password=SECRET))
    assert set(again.rows.values()) == {0}

    full = export(built_store, _dsn(pg_schema), full=True)
    assert sum(full.rows.values()) == 16
    assert {t.rows_changed for t in full.tables.values()} == {0}
    _assert_target_equals_store(built_store, pg, pg_schema)


def test_changes_deletes_and_new_columns_arrive(built_store, pg, pg_schema):
    export(built_store, _dsn(pg_schema))
    oid_before = pg.execute("SELECT %s::regclass::oid", [f'"{pg_schema}"."{DERIVED_TABLE}"']).fetchone()[0]
    change_store(built_store)
    result = export(built_store, _dsn(pg_schema))
    assert {t: n for t, n in result.rows.items() if n} == {"customers": 3, DERIVED_TABLE: 1}
    assert pg.execute(
        sql.SQL("SELECT _deleted, email FROM {} WHERE id = 'cus_3'").format(sql.Identifier(pg_schema, "customers"))
    ).fetchone() == (True, "cus_3@example.com")
    _assert_target_equals_store(built_store, pg, pg_schema)

    # a column added upstream: added in the target (same table, not recreated), filled for every row
    with built_store.db.atomic():
        built_store.db.execute(f"ALTER TABLE {DERIVED_TABLE} ADD COLUMN arr_minor INTEGER")
        built_store.db.execute(f"UPDATE {DERIVED_TABLE} SET arr_minor = mrr_minor * 12")
    result = export(built_store, _dsn(pg_schema))
    assert result.rows[DERIVED_TABLE] == 3 and result.tables[DERIVED_TABLE].seq_from == 0
    assert pg.execute("SELECT %s::regclass::oid", [f'"{pg_schema}"."{DERIVED_TABLE}"']).fetchone()[0] == oid_before
    assert pg.execute(
        "SELECT data_type FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
        "AND column_name = 'arr_minor'", [pg_schema, DERIVED_TABLE],
    ).fetchone() == ("bigint",)
    _assert_target_equals_store(built_store, pg, pg_schema)


def test_types_and_awkward_identifiers_round_trip(built_store, pg, pg_schema):
    export(built_store, _dsn(pg_schema))
    types = dict(pg.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
        [pg_schema, DERIVED_TABLE],
    ).fetchall())
    assert types == {
        "customer_id": "text", "month_date": "date", "mrr_minor": "bigint", "currency": "text",
        "share": "double precision", "detail": "jsonb", EVIL_COLUMN: "text",
        "period_end": "timestamp with time zone", "_synced_at": "timestamp with time zone",
        "_deleted": "boolean", "_seq": "bigint", "_account_id": "text",
    }
    row = pg.execute(
        sql.SQL("SELECT {}, detail, data FROM {} JOIN {} c ON c.id = customer_id WHERE month_date = '2023-11-30' "
                "AND customer_id = 'cus_1'").format(
            sql.Identifier(EVIL_COLUMN), sql.Identifier(pg_schema, DERIVED_TABLE), sql.Identifier(pg_schema, "customers"))
    ).fetchone()
    assert row[0] == "evil first'\"\n,"
    assert row[1] == {"items": ["si_1"], "note": "first"}
    assert row[2]["metadata"] == {EVIL_COLUMN: "kept", "plan": "pro"}
    assert _tables_in(pg, pg_schema).count("customers") == 1


def test_killed_mid_way_then_rerun_equals_a_clean_export(built_store, pg, pg_schema, monkeypatch, tmp_path):
    original = PostgresTarget.load
    calls = []

    def dies_on_the_third_table(self, schema, rows, *args, **kwargs):
        calls.append(schema.name)
        if len(calls) == 3:
            raise KeyboardInterrupt  # stands for a kill: not an error the exporter handles
        return original(self, schema, rows, *args, **kwargs)

    monkeypatch.setattr(PostgresTarget, "load", dies_on_the_third_table)
    with pytest.raises(KeyboardInterrupt):
        export(built_store, _dsn(pg_schema))
    monkeypatch.setattr(PostgresTarget, "load", original)
    identity = f"postgresql://postgres@127.0.0.1:5432/test?schema={pg_schema}"
    assert sorted(all_watermarks(built_store, identity)) == sorted(calls[:2])
    assert _tables_in(pg, pg_schema) == sorted(calls[:2])

    rerun = export(built_store, _dsn(pg_schema))
    assert rerun.rows[calls[0]] == 0 and rerun.rows[calls[1]] == 0
    _assert_target_equals_store(built_store, pg, pg_schema)
    assert set(export(built_store, _dsn(pg_schema)).rows.values()) == {0}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_server_is_one_line_and_changes_nothing(built_store, pg_schema):
    port = _free_port()
    with pytest.raises(ExportError) as caught:
        export(built_store, _dsn(pg_schema, password=SECRET, port=port))
    message = str(caught.value)
    assert message.startswith(f"cannot connect to postgresql://postgres@127.0.0.1:{port}/test?schema={pg_schema}: ")
    assert "\n" not in message and SECRET not in message
    assert caught.value.exit_code == 7
    assert built_store.db.execute("SELECT count(*) FROM _export_watermarks WHERE seq >= 0").fetchone() == (0,)


@pytest.mark.parametrize("password", ["se@cret-part", "two@at@signs-here"])
def test_an_unencoded_at_sign_in_the_password_shows_no_part_of_it(built_store, pg_schema, password):
    port = _free_port()
    with pytest.raises(ExportError) as caught:
        export(built_store, f"postgresql://postgres:{password}@127.0.0.1:{port}/test?schema={pg_schema}")
    message = str(caught.value)
    pieces = [p for p in password.split("@") if len(p) > 2]
    assert not [p for p in pieces if p in message], message
    assert "\n" not in message and caught.value.exit_code in (2, 7)


def test_sslmode_reaches_the_connection_and_the_identity(built_store, pg_schema, tmp_path):
    # the default is libpq's (`prefer`, or PGSSLMODE); verify-full with a missing root certificate
    # fails whether or not the server speaks TLS: the setting reached libpq
    dsn = f"postgresql://postgres@127.0.0.1:5432/test?sslmode=verify-full&sslrootcert={tmp_path}/none.crt"
    with pytest.raises(ExportError) as caught:
        export(built_store, dsn, schema=pg_schema)
    message = str(caught.value)
    query = urlencode([("sslmode", "verify-full"), ("sslrootcert", f"{tmp_path}/none.crt"), ("schema", pg_schema)])
    assert message.startswith(f"cannot connect to postgresql://postgres@127.0.0.1:5432/test?{query}: ")
    assert "ssl" in message.lower() and "\n" not in message


def test_unknown_role_with_password_is_refused_without_showing_it(built_store, pg_schema):
    with pytest.raises(ExportError) as caught:
        export(built_store, _dsn(pg_schema, user="no_such_role_bc", password=SECRET))
    message = str(caught.value)
    assert 'role "no_such_role_bc" does not exist' in message
    assert SECRET not in message and "\n" not in message
    assert built_store.db.execute("SELECT count(*) FROM _export_watermarks WHERE seq >= 0").fetchone() == (0,)


def test_permission_denied_schema_leaves_target_and_watermark_unchanged(built_store, pg, pg_schema):
    role = f"bc_reader_{pg_schema[-10:]}"
    pg.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(pg_schema)))
    pg.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        pg.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(pg_schema), sql.Identifier(role)))
        with pytest.raises(ExportError) as caught:
            export(built_store, _dsn(pg_schema, user=role, password=SECRET))
        message = str(caught.value)
        assert "permission denied" in message and f"GRANT USAGE, CREATE ON SCHEMA {pg_schema} TO {role}" in message
        assert SECRET not in message and "\n" not in message
        assert _tables_in(pg, pg_schema) == []
        assert built_store.db.execute("SELECT count(*) FROM _export_watermarks WHERE seq >= 0").fetchone() == (0,)
    finally:
        pg.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(pg_schema)))
        pg.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_identity_drops_every_secret_and_keeps_other_parameters():
    target = PostgresTarget(
        f"postgres://an%40alyst:{SECRET}@db.internal:6543/warehouse?sslmode=require&password=other&schema=s1"
    )
    assert target.identity == "postgresql://an%40alyst@db.internal:6543/warehouse?sslmode=require&schema=s1"
    assert PostgresTarget("postgresql://h/db", schema="s2").identity == "postgresql://h/db?schema=s2"
    assert PostgresTarget("postgresql://h/db").schema == "billing"
    assert PostgresTarget(f"postgresql://u:{SECRET}@[::1]:5432/db").identity == "postgresql://u@[::1]:5432/db?schema=billing"


@contextlib.contextmanager
def _row_writer_role(pg, schema):
    """A role with USAGE on the schema and SELECT, INSERT, UPDATE on its tables; dropped afterwards."""
    role = f"bc_writer_{schema[-10:]}"
    pg.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        pg.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), sql.Identifier(role)))
        pg.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA {} TO {}").format(
            sql.Identifier(schema), sql.Identifier(role)))
        yield role
    finally:
        pg.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        pg.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_a_role_that_may_only_write_rows_keeps_exporting(built_store, pg, pg_schema):
    export(built_store, _dsn(pg_schema))  # the owner creates the tables
    with _row_writer_role(pg, pg_schema) as role:
        change_store(built_store)
        result = export(built_store, _dsn(pg_schema, user=role))
        # a new identity (another user) re-sends everything; only the real changes are written
        assert sum(t.rows_changed for t in result.tables.values()) == 4
        _assert_target_equals_store(built_store, pg, pg_schema)

        pg.execute(sql.SQL("REVOKE INSERT ON ALL TABLES IN SCHEMA {} FROM {}").format(
            sql.Identifier(pg_schema), sql.Identifier(role)))
        with built_store.db.atomic():
            built_store.upsert_objects("customers", [{"id": "cus_new", "object": "customer", "created": 1}])
        with pytest.raises(ExportError) as caught:
            export(built_store, _dsn(pg_schema, user=role), tables=["customers"])
        assert str(caught.value).endswith(
            f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA {pg_schema} TO {role} (the owner adds columns)")


def test_a_role_that_cannot_create_the_load_record_still_exports_and_says_what_it_misses(
        built_store, pg, pg_schema, caplog):
    export(built_store, _dsn(pg_schema))
    # a target made before the load record existed: the tables are there, the record is not
    pg.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(pg_schema, LOADS_TABLE)))
    with _row_writer_role(pg, pg_schema) as role:
        change_store(built_store)
        with caplog.at_level(logging.WARNING):
            result = export(built_store, _dsn(pg_schema, user=role))
        assert sum(t.rows_changed for t in result.tables.values()) == 4
        _assert_target_equals_store(built_store, pg, pg_schema)
        assert [r.getMessage() for r in caplog.records] == [
            f"{result.target}: cannot create {pg_schema}.{LOADS_TABLE} (no CREATE on the schema): a store "
            "restored from a backup will not be detected here; let the schema's owner export once"]
        assert _tables_in(pg, pg_schema) == sorted(data_tables(built_store))
        assert pg.execute("SELECT to_regclass(%s)", [f"{pg_schema}.{LOADS_TABLE}"]).fetchone()[0] is None


def test_a_bad_value_is_left_out_and_quarantined_and_everything_else_exported(built_store, pg, pg_schema):
    built_store.db.execute(f"UPDATE {DERIVED_TABLE} SET mrr_minor = 'lots' WHERE customer_id = 'cus_2'")
    bad = built_store.db.execute(f"SELECT count(*) FROM {DERIVED_TABLE} WHERE customer_id = 'cus_2'").fetchone()[0]
    result = export(built_store, _dsn(pg_schema))
    assert result.skipped == bad >= 1
    assert [why for _key, why in result.tables[DERIVED_TABLE].skipped][0].startswith(
        f"{DERIVED_TABLE}.mrr_minor holds 'lots', not a bigint (")
    identity = f"postgresql://postgres@127.0.0.1:5432/test?schema={pg_schema}"
    assert sorted(all_watermarks(built_store, identity)) == sorted(data_tables(built_store))
    assert _tables_in(pg, pg_schema) == sorted(data_tables(built_store))
    assert pg.execute(sql.SQL("SELECT count(*) FROM {}.{} WHERE customer_id = 'cus_2'").format(
        sql.Identifier(pg_schema), sql.Identifier(DERIVED_TABLE))).fetchone()[0] == 0
    assert built_store.db.execute(
        "SELECT stream, count(*) FROM _quarantine GROUP BY stream").fetchall() == [(DERIVED_TABLE, bad)]


def test_a_url_with_a_bad_port_is_refused_without_echoing_it(built_store):
    with pytest.raises(ExportError) as caught:
        export(built_store, f"postgresql://u:{SECRET}@127.0.0.1:54x2/test")
    assert str(caught.value) == "the PostgreSQL URL has an invalid port; expected postgresql://user@host:5432/database"
