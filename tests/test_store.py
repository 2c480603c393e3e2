import json
import os
import stat
import time

import pytest

from connector.errors import StoreError
from connector.store import AccountIdentity, open_store, opening
from tests.support.damage import damage_the_last_pages

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


def test_a_new_store_has_large_pages_and_a_store_made_before_keeps_its_own(tmp_path, monkeypatch):
    made_now = open_store(tmp_path / "new.db")
    assert made_now.db.execute("PRAGMA page_size").fetchone()[0] == opening.NEW_STORE_PAGE_SIZE == 16384
    made_now.close()
    empty = tmp_path / "empty.db"
    empty.touch(mode=0o600)   # left empty (a run killed as it created the file): still new
    store = open_store(empty)
    assert store.db.execute("PRAGMA page_size").fetchone()[0] == 16384
    store.close()
    # a store made with SQLite's default pages (as before this version) is opened, written and read as it is
    with monkeypatch.context() as before:
        before.setattr(opening, "NEW_STORE_PAGE_SIZE", 4096)
        store = open_store(tmp_path / "older.db")
        store.bind_account(ACCOUNT)
        store.close()
    store = open_store(tmp_path / "older.db")
    with store.db.atomic():
        store.upsert_objects("customers", [_customer("cus_1")])
    assert store.db.execute("PRAGMA page_size").fetchone()[0] == 4096
    assert store.db.execute("SELECT count(*) FROM customers").fetchone()[0] == 1
    store.close()


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
    _refused_untouched(path)


def _refused_untouched(path, match="restore it from a backup"):
    before = path.read_bytes()
    with pytest.raises(StoreError, match=match):
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


def test_a_load_into_a_table_with_no_live_row_stores_what_the_upsert_would(tmp_path):
    """``load_rows`` (plain multi-row inserts, a first build's writes) against ``upsert_rows`` on the
    same table and rows: every row the same, meta columns but the write time included, a key held by
    a soft-deleted row and a key given twice (the later row wins) among them; more rows than one
    statement takes, so the multi-row and the single-row statements both run."""
    stores = {}
    for way in ("upsert_rows", "load_rows"):
        store = open_store(str(tmp_path / f"{way}.db"))
        store.db.execute("create table derived (customer_id text, month text, mrr integer, note text, "
                         "_synced_at text, _deleted integer not null default 0, _seq integer, "
                         "primary key (customer_id, month))")
        with store.db.atomic():
            store.upsert_rows("derived", ("customer_id", "month"),
                              [{"customer_id": "c0", "month": "2024-01", "mrr": 1, "note": "gone", "_deleted": 1}])
        rows = [{"customer_id": f"c{n % 70}", "month": f"2024-{1 + n // 70:02d}", "mrr": n, "note": None if n % 3 else "it's"}
                for n in range(150)]
        rows.append({"customer_id": "c1", "month": "2024-01", "mrr": 999, "note": "later"})
        with store.db.atomic():
            written = getattr(store, way)("derived", ("customer_id", "month"), rows)
        stores[way] = (written, store.db.execute(
            "select customer_id, month, mrr, note, _deleted, _seq from derived order by customer_id, month").fetchall())
        store.close()
    assert stores["load_rows"][1] == stores["upsert_rows"][1]
    assert ("c1", "2024-01", 999, "later", 0, 2) in stores["load_rows"][1]
    assert ("c0", "2024-01", 0, "it's", 0, 2) in stores["load_rows"][1]
    assert stores["load_rows"][0] == 151


def _connector_imports(path, package: str, root) -> set[str]:
    """The connector modules a file imports (relative imports resolved; ``from . import x`` as module x)."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("connector")}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]) if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            if not module.startswith("connector"):
                continue
            found.add(module)
            found |= {f"{module}.{a.name}" for a in node.names
                      if (root / f"{module}.{a.name}".replace(".", "/")).with_suffix(".py").exists()}
    return found


def test_no_module_the_store_imports_imports_the_store():
    """store/ sits below every other layer: nothing it imports leads back to it (the old
    store <-> streams <-> storefile circle)."""
    from pathlib import Path

    import connector

    root = Path(connector.__file__).parent.parent
    graph = {}
    for path in (root / "connector").rglob("*.py"):
        name = ".".join(path.relative_to(root).with_suffix("").parts)
        package = name.removesuffix(".__init__") if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name.removesuffix(".__init__")] = _connector_imports(path, package, root)
    in_store = lambda m: m == "connector.store" or m.startswith("connector.store.")   # noqa: E731
    seen, todo = set(), [m for s in graph if in_store(s) for m in graph[s] if not in_store(m)]
    circles = []
    while todo:
        module = todo.pop()
        if module in seen or module not in graph or in_store(module):
            continue
        seen.add(module)
        circles += [f"{module} imports {m}" for m in graph[module] if in_store(m)]
        todo += graph[module]
    assert seen and circles == []
    assert "connector.errors" in seen   # the walk does follow what the store imports


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


def _store_with_customers(path, count=3000):
    store = open_store(path)
    store.bind_account(ACCOUNT)
    with store.db.atomic():
        store.upsert_objects("customers", [_customer(f"cus_{n:05d}") for n in range(count)])
    return store


def test_a_big_store_is_quick_checked_weekly_and_the_pass_recorded(tmp_path, monkeypatch):
    """Past CHECK_EVERY_OPEN_BELOW a writing open checks the whole file only when the last passed
    check is a week old; a damaged page is then refused, untouched."""
    monkeypatch.setattr(opening, "CHECK_EVERY_OPEN_BELOW", 0)   # every store counts as big
    path = tmp_path / "big.db"
    store = _store_with_customers(path)                  # the first open checked it, and says when
    checked = int(store.meta(opening.META_CHECKED_AT))
    assert 0 <= time.time() - checked < 60
    store.close()
    damage_the_last_pages(path, 0.3)
    open_store(path).close()                             # checked less than a week ago: not again

    store = opening._open_writable(path, create=False)  # the record made 8 days old, nothing else
    store.db.execute("UPDATE _meta SET value = ? WHERE key = ?",
                     [str(checked - 8 * 86400), opening.META_CHECKED_AT])
    store.close()
    _refused_untouched(path)


def test_a_small_store_is_quick_checked_at_every_writing_open_with_nothing_recorded(tmp_path):
    path = tmp_path / "small.db"
    store = _store_with_customers(path)
    assert store.meta(opening.META_CHECKED_AT) is None
    store.close()
    damage_the_last_pages(path, 0.3)
    _refused_untouched(path)


def test_live_rows_are_counted_without_reading_the_tables(store):
    """Every sync's summary and ``status`` count each raw table's live rows: from the smallest index
    and the soft-deleted rows' partial index, never a scan of the table (3.7 GB at 20,000 customers)."""
    store.bind_account(ACCOUNT)
    with store.db.atomic():
        store.upsert_objects("customers", [_customer(f"cus_{n}") for n in range(5)])
        store.mark_deleted("customers", [{"id": "cus_1"}, {"id": "cus_3"}])
    counts = store.table_counts()
    assert counts["customers"] == 3 and counts["invoices"] == 0
    for table in store.raw_tables:
        (live,) = store.db.execute(f'SELECT count(*) FROM "{table}" WHERE _deleted = 0').fetchone()
        assert counts[table] == live
    for provider in ("stripe", "chargebee"):   # every raw table of either provider has the index
        fresh = open_store(None, provider=provider)
        indexes = {name for (name,) in fresh.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {f"idx_{table}__deleted" for table in fresh.raw_tables} <= indexes
        fresh.close()
    statements = []
    store.db.conn.set_trace_callback(statements.append)
    store.table_counts()
    store.db.conn.set_trace_callback(None)
    for sql in statements:
        plan = [row[3] for row in store.db.execute(f"EXPLAIN QUERY PLAN {sql}")]
        assert all("COVERING INDEX" in step for step in plan if step.startswith("SCAN ") and "CONSTANT" not in step), plan
