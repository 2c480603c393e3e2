import json
import os
import stat

import pytest

from connector.errors import StoreError
from connector.store import AccountIdentity, open_store

ACCOUNT = AccountIdentity("stripe", "acct_1", False, "2026-10-28.endive")


def _customer(cid, **extra):
    return {"id": cid, "object": "customer", "created": 1700000000, "livemode": False, "email": f"{cid}@x", **extra}


def test_upsert_is_change_only_and_stamps_seq(store):
    store.bind_account(ACCOUNT)
    with store.db.atomic():
        assert store.upsert_objects("customers", [_customer("cus_1"), _customer("cus_2")]) == 2
    assert store.current_seq() == 1
    with store.db.atomic():
        assert store.upsert_objects("customers", [_customer("cus_1"), _customer("cus_2")]) == 0
    assert store.current_seq() == 1
    with store.db.atomic():
        assert store.upsert_objects("customers", [_customer("cus_1", name="New")]) == 1
    row = store.db.execute("select data, _seq, email from customers where id='cus_1'").fetchone()
    assert json.loads(row[0])["name"] == "New" and row[1] == 2 and row[2] == "cus_1@x"


def test_upsert_replaces_whole_object(store):
    store.bind_account(ACCOUNT)
    with store.db.atomic():
        store.upsert_objects("customers", [_customer("cus_1", stale_field="x")])
        store.upsert_objects("customers", [_customer("cus_1")])
    data = json.loads(store.db.execute("select data from customers").fetchone()[0])
    assert "stale_field" not in data


def test_soft_delete_keeps_row(store):
    store.bind_account(ACCOUNT)
    with store.db.atomic():
        store.upsert_objects("customers", [_customer("cus_1")])
        assert store.mark_deleted("customers", [{"id": "cus_1"}]) == 1
        assert store.mark_deleted("customers", [{"id": "cus_1"}]) == 0
    assert store.db.execute("select _deleted from customers").fetchall() == [(1,)]
    assert store.table_counts()["customers"] == 0


def test_state_round_trip_and_change_detection(store):
    store.bind_account(ACCOUNT)
    assert store.get_state("customers") is None
    assert store.set_state("customers", {"starting_after": "cus_2"}) is True
    assert store.set_state("customers", {"starting_after": "cus_2"}) is False
    assert store.get_state("customers") == {"starting_after": "cus_2"}


def test_page_and_cursor_roll_back_together(store):
    store.bind_account(ACCOUNT)
    with pytest.raises(RuntimeError):
        with store.db.atomic():
            store.upsert_objects("customers", [_customer("cus_1")])
            store.set_state("customers", {"starting_after": "cus_1"})
            raise RuntimeError("crash between page and commit")
    assert store.table_counts()["customers"] == 0
    assert store.get_state("customers") is None


@pytest.mark.parametrize(
    "other, fragment",
    [
        (AccountIdentity("stripe", "acct_1", True, "2026-10-28.endive"), "test-mode data but the key is live-mode"),
        (AccountIdentity("stripe", "acct_2", False, "2026-10-28.endive"), "holds account acct_1"),
        (AccountIdentity("stripe", "acct_1", False, "2020-08-27"), "API version"),
    ],
)
def test_other_account_or_mode_is_refused(store, other, fragment):
    store.bind_account(ACCOUNT)
    with pytest.raises(StoreError, match=fragment):
        store.bind_account(other)
    assert store.account() == ACCOUNT


def test_store_file_is_private_and_wal(tmp_path):
    path = tmp_path / "b.db"
    s = open_store(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    s.close()


def test_non_sqlite_file_is_refused_untouched(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 10)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not an SQLite file.*restore it"):
        open_store(path)
    assert path.read_bytes() == before


def test_corrupted_sqlite_is_refused(tmp_path):
    path = tmp_path / "c.db"
    s = open_store(path)
    s.close()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    path.write_bytes(bytes(data))
    before = path.read_bytes()
    with pytest.raises(StoreError, match="restore it from a backup"):
        open_store(path)
    assert path.read_bytes() == before


def test_replace_scope_soft_deletes_missing_rows(store):
    store.db.execute(
        "create table derived (customer_id text, month text, mrr integer, _synced_at text, "
        "_deleted integer not null default 0, _seq integer, primary key (customer_id, month))"
    )
    rows = [{"customer_id": "c1", "month": m, "mrr": 100} for m in ("2024-01", "2024-02")]
    assert store.replace_scope("derived", ("customer_id", "month"), {"customer_id": "c1"}, rows) == 2
    assert store.replace_scope("derived", ("customer_id", "month"), {"customer_id": "c1"}, rows[:1]) == 1
    live = store.db.execute("select month from derived where _deleted = 0").fetchall()
    assert live == [("2024-01",)]


def test_replace_scope_over_a_list_of_values_rewrites_each_and_leaves_the_rest(store):
    store.db.execute(
        "create table lines (id text, invoice text, amount integer, _synced_at text, "
        "_deleted integer not null default 0, _seq integer, primary key (id, invoice))"
    )
    key = ("id", "invoice")
    first = [{"id": f"l{n}", "invoice": inv, "amount": n} for inv in ("in_1", "in_2", "in_3") for n in (1, 2)]
    assert store.replace_scope("lines", key, {"invoice": ["in_1", "in_2", "in_3"]}, first) == 6
    seq = store.current_seq()
    # in_1 loses a line, in_2 loses both, in_3 is not in the scope and keeps its lines
    again = [{"id": "l1", "invoice": "in_1", "amount": 1}]
    assert store.replace_scope("lines", key, {"invoice": ["in_1", "in_2"]}, again) == 3
    live = store.db.execute("select id, invoice from lines where _deleted = 0 order by invoice, id").fetchall()
    assert live == [("l1", "in_1"), ("l1", "in_3"), ("l2", "in_3")]
    # the soft-deletes share one new sequence number; an empty list is an empty scope
    assert store.db.execute("select distinct _seq from lines where _deleted = 1").fetchall() == [(seq + 1,)]
    assert store.replace_scope("lines", key, {"invoice": []}, []) == 0
    with pytest.raises(ValueError, match="one scope column"):
        store.replace_scope("lines", key, {"invoice": ["in_1"], "id": ["l1"]}, [])


def test_the_store_package_imports_no_other_layer():
    """store/ is the bottom layer (no store <-> streams <-> storefile circle): it imports the
    connector's errors and nothing else of it."""
    import ast
    from pathlib import Path

    import connector.store

    package = Path(connector.store.__file__).parent
    outside = {}
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level >= 2 and node.module != "errors":
                outside[path.name] = node.module
            elif isinstance(node, (ast.Import, ast.ImportFrom)) and not getattr(node, "level", 0):
                names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                outside.update({path.name: n for n in names if n and n.startswith("connector")})
    assert outside == {}


def test_created_updated_and_deleted_are_told_apart(store):
    store.bind_account(ACCOUNT)
    with store.db.atomic():
        store.upsert_objects("customers", [_customer("cus_1"), _customer("cus_2")])
    store.changes = {}
    with store.db.atomic():
        # one new, one changed, one identical (not written, not counted)
        store.upsert_objects("customers", [_customer("cus_1", name="New"), _customer("cus_2"), _customer("cus_3")])
        store.mark_deleted("customers", [{"id": "cus_2"}, {"id": "cus_9"}])
    assert store.changes == {"customers": {"created": 1, "updated": 1, "deleted": 1}}


def test_no_tally_unless_asked(store):
    store.bind_account(ACCOUNT)
    with store.db.atomic():
        store.upsert_objects("customers", [_customer("cus_1")])
    assert store.changes is None
