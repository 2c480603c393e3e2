"""File exports are safe to open and to leave lying around: spreadsheet formulas neutralised,
the store's mode whatever the umask, and no planted symlink ever written through."""

from __future__ import annotations

import os
import stat

import pytest

from connector.export import export
from connector.export.file_formats import _csv_field, neutralised

from tests.support.export_store import customer, files_snapshot, store_snapshot, columns_of


@pytest.mark.parametrize(("text", "cell"), [
    ("=HYPERLINK(\"http://evil\",\"x\")", "\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\""),
    ("+1+cmd|' /C calc'!A0", "\"'+1+cmd|' /C calc'!A0\""),
    ("-2+3", "\"'-2+3\""),
    ("@SUM(A1)", "\"'@SUM(A1)\""),
    ("\t=1", "\"'\t=1\""),
    ("\r=1", "\"'\r=1\""),
    ("plain", "\"plain\""),
    ("a=b", "\"a=b\""),
])
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_quote(text, cell):
    assert _csv_field(text) == cell


@pytest.mark.parametrize(("value", "cell"), [(-1999, "-1999"), (-0.5, "-0.5"), (42, "42"), (None, "")])
def test_numbers_stay_numbers(value, cell):
    assert _csv_field(value) == cell


def test_neutralised_leaves_other_text_alone():
    assert neutralised("cus_1") == "cus_1" and neutralised("") == ""


def test_an_export_neutralises_formulas_from_upstream(built_store, tmp_path):
    with built_store.db.atomic():
        built_store.upsert_objects("customers", [customer("cus_evil", 1700000100, email="=cmd|' /C calc'!A0")])
    export(built_store, f"csv:{tmp_path / 'out'}", tables=["customers"])
    text = next((tmp_path / "out" / "customers").glob("*.csv")).read_text()
    assert "\"'=cmd|' /C calc'!A0\"" in text
    assert ",\"=cmd" not in text


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_files_get_the_store_mode_whatever_the_umask(built_store, tmp_path, fmt):
    out = tmp_path / "out"
    old = os.umask(0o022)
    try:
        export(built_store, f"{fmt}:{out}", tables=["customers", "coupons"])
        os.chmod(built_store.path, 0o640)
        with built_store.db.atomic():
            built_store.upsert_objects("customers", [customer("cus_new", 1700000200)])
        export(built_store, f"{fmt}:{out}", tables=["customers"])
    finally:
        os.umask(old)
    first, second = sorted((out / "customers").iterdir())
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    assert stat.S_IMODE(second.stat().st_mode) == 0o640  # the store's mode, as it is now
    assert stat.S_IMODE((out / "manifest.json").stat().st_mode) == 0o640


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_a_symlink_planted_at_the_temporary_name_is_not_followed(built_store, tmp_path, fmt, monkeypatch):
    import connector.export.files as files

    out = tmp_path / "out"
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's own file\n")
    stamp = "20990101T000000.000000Z"

    class FixedClock:
        @staticmethod
        def now(tz=None):
            from datetime import datetime
            return datetime(2099, 1, 1, tzinfo=tz)

    monkeypatch.setattr(files, "datetime", FixedClock)
    seq = built_store.current_seq()
    ext = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}[fmt]
    cleanup = files.FileTarget._remove_leftovers

    def plant_after_cleanup(self):
        # planted after the run cleared its leftovers, just before it writes
        cleanup(self)
        (out / "customers").mkdir(parents=True, exist_ok=True)
        (out / "customers" / f"{stamp}_0-{seq}.{ext}.tmp").symlink_to(victim)
        (out / "manifest.json.tmp").symlink_to(victim)

    monkeypatch.setattr(files.FileTarget, "_remove_leftovers", plant_after_cleanup)
    export(built_store, f"{fmt}:{out}", tables=["customers"])
    assert victim.read_text() == "the user's own file\n"
    assert files_snapshot(out, fmt, "customers") == store_snapshot(
        built_store, "customers", columns_of(built_store, "customers"))
