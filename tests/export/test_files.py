"""Parquet, CSV and JSONL folders, read back with duckdb's own readers."""

from __future__ import annotations

import errno
import json
import os

import duckdb
import pytest

from connector.errors import ExportError
from connector.export import export
from connector.export import file_formats
from connector.export.files import LOCK_FILE, FileTarget
from connector.export.schema import data_tables
from connector.export.watermarks import all_watermarks

from tests.support.export_store import DERIVED_TABLE, change_store, columns_of, files_snapshot, store_snapshot

FORMATS = ["parquet", "csv", "jsonl"]


def _assert_files_equal_store(store, directory, fmt):
    for table in data_tables(store):
        expected = store_snapshot(store, table, columns_of(store, table))
        actual = files_snapshot(directory, fmt, table)
        assert (actual["count"], actual["sha256"]) == (expected["count"], expected["sha256"]), table
        assert actual["rows"] == expected["rows"], table


def _listing(directory):
    """Every file but the lock file."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file() and p.name != LOCK_FILE)


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_incremental_deletes_and_new_columns(built_store, tmp_path, fmt):
    out = tmp_path / "out"
    first = export(built_store, f"{fmt}:{out}")
    assert first.target == f"{fmt}:{out}"
    assert len(first.files) == 6  # one per non-empty table
    _assert_files_equal_store(built_store, out, fmt)
    manifest = json.loads((out / "manifest.json").read_text())
    entry = manifest["tables"]["customers"]
    assert [(f["rows"], f["seq_from"], f["seq_to"], f["full"]) for f in entry["files"]] == [(5, 0, 6, True)]
    assert entry["files"][0]["path"].startswith("customers/") and entry["files"][0]["path"].endswith(f"_0-6.{fmt}")
    assert entry["schema"]["primary_key"] == ["_account_id", "id"]
    assert manifest["tables"]["refunds"]["files"] == []

    before = _listing(out)
    again = export(built_store, f"{fmt}:{out}")
    assert set(again.rows.values()) == {0} and again.files == []
    assert _listing(out) == before

    change_store(built_store)
    changed = export(built_store, f"{fmt}:{out}")
    assert {t: n for t, n in changed.rows.items() if n} == {"customers": 3, DERIVED_TABLE: 1}
    _assert_files_equal_store(built_store, out, fmt)

    with built_store.db.atomic():
        built_store.db.execute(f"ALTER TABLE {DERIVED_TABLE} ADD COLUMN arr_minor INTEGER")
        built_store.db.execute(f"UPDATE {DERIVED_TABLE} SET arr_minor = mrr_minor * 12")
    widened = export(built_store, f"{fmt}:{out}")
    assert widened.rows[DERIVED_TABLE] == 3 and widened.tables[DERIVED_TABLE].seq_from == 0
    _assert_files_equal_store(built_store, out, fmt)

    full = export(built_store, f"{fmt}:{out}", full=True)
    assert sum(full.rows.values()) == 17  # 16 + cus_9
    _assert_files_equal_store(built_store, out, fmt)
    assert not [p for p in _listing(out) if p.endswith(".tmp")]


def test_parquet_keeps_the_types(built_store, tmp_path):
    result = export(built_store, f"parquet:{tmp_path}", tables=[DERIVED_TABLE])
    with duckdb.connect() as conn:
        described = conn.execute(f"DESCRIBE SELECT * FROM read_parquet('{result.files[0]}')").fetchall()
    assert [(row[0], row[1]) for row in described] == [
        ("customer_id", "VARCHAR"), ("month_date", "DATE"), ("mrr_minor", "BIGINT"), ("currency", "VARCHAR"),
        ("share", "DOUBLE"), ("detail", "JSON"), ('x"; DROP TABLE customers;--', "VARCHAR"),
        ("period_end", "TIMESTAMP WITH TIME ZONE"), ("_synced_at", "TIMESTAMP WITH TIME ZONE"),
        ("_deleted", "BOOLEAN"), ("_seq", "BIGINT"), ("_account_id", "VARCHAR"),
    ]


def test_csv_text_conventions(built_store, tmp_path):
    result = export(built_store, f"csv:{tmp_path}", tables=["coupons"])
    text = open(result.files[0], encoding="utf-8").read()
    header, row, end = text.split("\n")
    assert header == '"id","created","livemode","duration","percent_off","amount_off","currency","data",' \
                     '"_synced_at","_deleted","_seq","_account_id"'
    assert row.startswith('"co_1",2023-11-14T22:13:20Z,false,"forever",12.5,,,"{""amount_off"":null,')
    assert row.endswith(',false,5,"acct_export1"') and end == ""


class _FullDisk:
    """A file whose writes fail as on a full disk."""

    def __init__(self, real):
        self._real = real

    def write(self, _text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._real.close()

    def __getattr__(self, name):
        return getattr(self._real, name)


@pytest.mark.parametrize("fmt", FORMATS)
def test_full_disk_leaves_folder_manifest_and_watermark_as_before(built_store, tmp_path, monkeypatch, fmt):
    out = tmp_path / "out"
    export(built_store, f"{fmt}:{out}", tables=["customers"])
    change_store(built_store)
    before = {p: (out / p).read_bytes() for p in _listing(out)}
    watermarks = all_watermarks(built_store, f"{fmt}:{out}")

    real_open = file_formats.open_output
    monkeypatch.setattr(file_formats, "open_output", lambda path, mode=0o600: _FullDisk(real_open(path, mode)))
    with pytest.raises(ExportError) as caught:
        export(built_store, f"{fmt}:{out}", tables=["customers", DERIVED_TABLE])
    assert str(caught.value) == (
        f"{fmt}:{out}: cannot write customers: No space left on device; "
        "free some space or choose another folder, then run the export again"
    )
    assert caught.value.exit_code == 7
    assert {p: (out / p).read_bytes() for p in _listing(out)} == before
    assert all_watermarks(built_store, f"{fmt}:{out}") == watermarks

    monkeypatch.setattr(file_formats, "open_output", real_open)
    export(built_store, f"{fmt}:{out}")
    _assert_files_equal_store(built_store, out, fmt)


def test_killed_between_file_and_manifest_then_rerun_equals_a_clean_export(built_store, tmp_path, monkeypatch):
    out = tmp_path / "out"
    original = FileTarget._write_manifest
    calls = []

    def dies_before_the_third_manifest(self, manifest):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the third table's file is renamed, its manifest entry is not written
        return original(self, manifest)

    monkeypatch.setattr(FileTarget, "_write_manifest", dies_before_the_third_manifest)
    with pytest.raises(KeyboardInterrupt):
        export(built_store, f"jsonl:{out}")
    monkeypatch.setattr(FileTarget, "_write_manifest", original)
    assert len(all_watermarks(built_store, f"jsonl:{out}")) == 2

    export(built_store, f"jsonl:{out}")
    clean = tmp_path / "clean"
    export(built_store, f"jsonl:{clean}")
    _assert_files_equal_store(built_store, out, "jsonl")
    manifest = json.loads((out / "manifest.json").read_text())
    listed = sorted(f["path"] for t in manifest["tables"].values() for f in t["files"])
    assert sorted(p for p in _listing(out) if p != "manifest.json") == listed
    assert [p.split("/")[0] for p in listed] == [p.split("/")[0] for p in _listing(clean) if p != "manifest.json"]


def test_killed_after_manifest_before_watermark_sends_nothing_twice(built_store, tmp_path, monkeypatch):
    import connector.export as export_module

    out = tmp_path / "out"
    original = export_module.set_watermark

    def dies_before_recording(store, target, table, seq, rows_sent, timeline=""):
        raise KeyboardInterrupt

    monkeypatch.setattr(export_module, "set_watermark", dies_before_recording)
    with pytest.raises(KeyboardInterrupt):
        export(built_store, f"csv:{out}", tables=["customers"])
    monkeypatch.setattr(export_module, "set_watermark", original)
    assert all_watermarks(built_store, f"csv:{out}") == {}

    rerun = export(built_store, f"csv:{out}", tables=["customers"])
    assert rerun.rows == {"customers": 0}
    assert all_watermarks(built_store, f"csv:{out}") == {"customers": built_store.current_seq()}
    assert files_snapshot(out, "csv", "customers") == store_snapshot(
        built_store, "customers", columns_of(built_store, "customers"))


def test_folder_of_another_format_is_refused(built_store, tmp_path):
    export(built_store, f"csv:{tmp_path}", tables=["coupons"])
    with pytest.raises(ExportError, match=r"holds a csv export, not jsonl; use another folder"):
        export(built_store, f"jsonl:{tmp_path}")


def test_a_second_run_on_the_same_folder_waits_its_turn(built_store, tmp_path):
    busy = FileTarget(f"csv:{tmp_path}")
    with busy:
        with pytest.raises(ExportError) as caught:
            export(built_store, f"csv:{tmp_path}")
    assert str(caught.value) == f"csv:{tmp_path}: another export is writing to this folder; wait for it to finish"
    assert all_watermarks(built_store, f"csv:{tmp_path}") == {}
    assert sum(export(built_store, f"csv:{tmp_path}").rows.values()) == 16
