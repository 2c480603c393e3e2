"""A first sync's bulk load (store/first_load.py): the same rows as the upserts it replaces, its
indexes back at the end, a killed load finished by the next open."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.store import AccountIdentity, first_load, open_store

ACCOUNT = AccountIdentity("stripe", "acct_1", False, "2026-10-28.endive")
LINES = "invoice_line_items"
LINE_KEY = ("id", "invoice")


def _customer(cid, version=0, deleted=False):
    return {"id": cid, "object": "customer", "created": 1700000000 + version, "livemode": False,
            "email": f"{cid}.{version}@x", **({"deleted": True} if deleted else {})}


def _line(lid, invoice, amount):
    return {"id": lid, "object": "line_item", "invoice": invoice, "currency": "usd", "amount": amount,
            "period": {"start": 1, "end": 2}}


def _apply(store, operations):
    """The sync's writes: pages of customers (a key may come twice) and invoices' line lists
    replaced by parent, several parents at once or one (as pages.py and full.py write them)."""
    for kind, payload in operations:
        with store.db.atomic():
            if kind == "customers":
                rows = [store.raw_tables["customers"].to_row(_customer(cid, version)) for cid, version in payload]
                store.upsert_rows("customers", ("id",), rows)
            else:
                parents, lines = payload
                rows = [store.raw_tables[LINES].to_row(_line(lid, invoice, amount)) for lid, invoice, amount in lines]
                scope = {"invoice": parents[0]} if len(parents) == 1 and kind == "one" else {"invoice": parents}
                store.replace_scope(LINES, LINE_KEY, scope, rows)


def _rows(store, table, key):
    """Every row, soft-deleted ones included, but the write's stamps (sequence, time, rowid)."""
    columns = [c for (_cid, c, *_rest) in store.db.execute(f"PRAGMA table_info({table})")
               if c not in ("_seq", "_synced_at")]
    return sorted(store.db.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall())


def _indexes(store):
    return sorted(store.db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                                   "AND tbl_name NOT LIKE '\\_%' ESCAPE '\\'").fetchall())


_ids = st.sampled_from([f"cus_{n}" for n in range(6)])
_invoices = st.sampled_from([f"in_{n}" for n in range(4)])
_customer_page = st.tuples(st.just("customers"), st.lists(st.tuples(_ids, st.integers(0, 3)), max_size=5))


@st.composite
def _line_lists(draw):
    parents = draw(st.lists(_invoices, min_size=1, max_size=3, unique=True))
    lines = draw(st.lists(st.tuples(st.sampled_from(["il_a", "il_b", "il_c"]), st.sampled_from(parents),
                                    st.integers(0, 2)), max_size=5, unique_by=lambda line: line[:2]))
    return (draw(st.sampled_from(["one", "many"])) if len(parents) == 1 else "many", (parents, lines))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_customer_page, _line_lists()), max_size=8))
def test_a_load_stores_what_the_upserts_would(tmp_path_factory, operations):
    """Against the change-only upserts and list replacements on the same writes: every row the same,
    soft-deleted ones included: keys sent twice (the last row wins), a parent's list written again
    (longer, shorter, empty), a line under two invoices."""
    stores = {}
    for way in ("upserts", "load"):
        store = open_store(str(tmp_path_factory.mktemp(way) / "store.db"))
        store.bind_account(ACCOUNT)
        if way == "load":
            assert set(first_load.begin(store)) == set(store.raw_tables)
        _apply(store, operations)
        first_load.finish(store)
        stores[way] = store
    for table, key in (("customers", ("id",)), (LINES, LINE_KEY)):
        assert _rows(stores["load"], table, key) == _rows(stores["upserts"], table, key)
    assert _indexes(stores["load"]) == _indexes(stores["upserts"])
    assert stores["load"].loading == {} and stores["load"].meta(first_load.META_KEY) is None
    for store in stores.values():
        store.close()


def test_a_load_killed_midway_is_finished_by_the_next_open(tmp_path):
    path = str(tmp_path / "store.db")
    store = open_store(path)
    store.bind_account(ACCOUNT)
    first_load.begin(store)
    dropped = {name for name, _sql in _indexes(open_store(str(tmp_path / "fresh.db")))} - {n for n, _ in _indexes(store)}
    assert {"idx_customers_key", "idx_invoice_line_items_key", "idx_invoice_line_items_invoice"} <= dropped
    assert "idx_customers__seq" not in dropped and "idx_customers_created" not in dropped   # rows come in order
    _apply(store, [("customers", [("cus_1", 0), ("cus_2", 0)]), ("customers", [("cus_1", 1)]),
                   ("many", (["in_1"], [("il_a", "in_1", 1), ("il_b", "in_1", 2)])),
                   ("one", (["in_1"], [("il_a", "in_1", 3)]))])
    store.close()   # killed: the load was never finished
    assert json.loads(open_store(path, read_only=True).meta(first_load.META_KEY))   # a reader leaves it be
    store = open_store(path)
    assert store.meta(first_load.META_KEY) is None and store.loading == {}
    assert _indexes(store) == _indexes(open_store(str(tmp_path / "fresh2.db")))
    assert store.db.execute("SELECT id, created, _deleted FROM customers ORDER BY id").fetchall() == [
        ("cus_1", 1700000001, 0), ("cus_2", 1700000000, 0)]
    assert store.db.execute(f"SELECT id, amount, _deleted FROM {LINES} ORDER BY id").fetchall() == [
        ("il_a", 3, 0), ("il_b", 2, 1)]
    assert not store.db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", [first_load.PARENTS_TABLE]).fetchone()
    store.close()


def _as_before_migration_0006(store):
    """The store as a version before the charges' covering index left it: their customer index alone."""
    with store.db.atomic():
        store.db.execute("DELETE FROM _migrations WHERE name = '0006_charges_refund_index'")
        store.db.execute("DROP INDEX IF EXISTS idx_charges_customer_refunded")
        recorded = json.loads(store.meta(first_load.META_KEY) or "{}")
        old = 'CREATE INDEX "idx_charges_customer" ON "charges" ("customer")'
        if "charges" in recorded:
            recorded["charges"] = [old if "idx_charges_customer_refunded" in sql else sql for sql in recorded["charges"]]
            store.set_meta(first_load.META_KEY, json.dumps(recorded))
        else:
            store.db.execute(old)


@pytest.mark.parametrize("killed_load", [False, True], ids=["store", "killed first load"])
def test_a_store_made_before_the_charges_covering_index_gets_it_in_place_of_the_old_one(tmp_path, killed_load):
    path = str(tmp_path / "store.db")
    store = open_store(path)
    store.bind_account(ACCOUNT)
    if killed_load:
        first_load.begin(store)
    _apply(store, [("customers", [("cus_1", 0)])])
    _as_before_migration_0006(store)
    store.close()
    store = open_store(path)   # migrates, then finishes a recorded load
    assert store.meta(first_load.META_KEY) is None
    assert _indexes(store) == _indexes(open_store(str(tmp_path / "fresh.db")))
    names = {name for name, _sql in _indexes(store)}
    assert "idx_charges_customer_refunded" in names and "idx_charges_customer" not in names
    store.close()


def test_a_write_by_key_ends_that_tables_load_first(tmp_path):
    store = open_store(str(tmp_path / "store.db"))
    store.bind_account(ACCOUNT)
    first_load.begin(store)
    _apply(store, [("customers", [("cus_1", 0), ("cus_1", 1), ("cus_2", 0)])])
    store.changes = {}
    with store.db.atomic():
        assert store.mark_deleted("customers", [{"id": "cus_1"}]) == 1
    assert "customers" not in store.loading and LINES in store.loading
    assert store.db.execute("SELECT id, created, _deleted FROM customers ORDER BY id").fetchall() == [
        ("cus_1", 1700000001, 1), ("cus_2", 1700000000, 0)]
    assert store.changes["customers"] == {"created": -1, "updated": 1, "deleted": 1}   # the key sent twice
    assert "customers" not in json.loads(store.meta(first_load.META_KEY))
    first_load.finish(store)
    assert store.loading == {} and store.meta(first_load.META_KEY) is None
    store.close()


def test_a_table_with_rows_or_made_before_the_key_index_is_written_as_before(tmp_path):
    store = open_store(str(tmp_path / "store.db"))
    store.bind_account(ACCOUNT)
    _apply(store, [("customers", [("cus_1", 0)])])
    # a table a version before this one made: its key is its PRIMARY KEY, whose index cannot be dropped
    store.db.execute("DROP TABLE products")
    store.db.execute('CREATE TABLE products ("id" TEXT NOT NULL, "data" TEXT NOT NULL, PRIMARY KEY ("id"))')
    loading = first_load.begin(store)
    assert "customers" not in loading and "products" not in loading and LINES in loading
    first_load.finish(store)
    store.close()


def test_a_first_sync_leaves_the_indexes_a_new_store_declares(demo_store):
    """The demo's store (a first sync, then MRR): every raw table's indexes as a new store declares them."""
    synced, fresh = open_store(demo_store, read_only=True), open_store(None)

    def raw_indexes(store):
        return [index for index in _indexes(store) if index[1].split(" ON ")[1].split(" ")[0].strip('"') in store.raw_tables]

    # (the mapping adds an index or two of its own to raw tables: idx_refunds_charge_neutral)
    assert len(raw_indexes(fresh)) > len(fresh.raw_tables) and set(raw_indexes(fresh)) <= set(raw_indexes(synced))
    assert synced.meta(first_load.META_KEY) is None and not synced.db.execute(
        "SELECT 1 FROM sqlite_master WHERE name = ?", [first_load.PARENTS_TABLE]).fetchone()
    synced.close()
    fresh.close()


def _derived(store):
    """A derived table as this version declares one (its key a unique index of its own)."""
    from connector.store.tables import Table

    table = Table("derived", (("customer_id", "TEXT", ""), ("month", "TEXT", ""), ("mrr", "INTEGER", "")),
                  primary_key=("customer_id", "month"))
    table.create_step({"customer": ("customer_id",)})(store.db)
    return ("customer_id", "month")


def test_a_first_build_loads_without_any_index_and_keeps_the_last_row_of_a_key(store):
    key = _derived(store)
    before = _indexes(store)
    with store.db.atomic(), first_load.deferred(store, ["derived"]):
        assert store.unkeyed == {"derived"} and not [i for i in _indexes(store) if "derived" in i[0]]
        store.load_rows("derived", key, [{"customer_id": "c1", "month": "2024-01", "mrr": 1},
                                         {"customer_id": "c2", "month": "2024-01", "mrr": 2}])
        store.upsert_rows("derived", key, [{"customer_id": "c1", "month": "2024-01", "mrr": 3}])
    assert _indexes(store) == before and store.loading == {} and store.unkeyed == set()
    assert store.db.execute("SELECT customer_id, mrr FROM derived ORDER BY 1").fetchall() == [("c1", 3), ("c2", 2)]


def test_a_table_holding_rows_keeps_its_key_while_it_loads_and_a_failed_load_leaves_every_index(store):
    key = _derived(store)
    with store.db.atomic():
        store.upsert_rows("derived", key, [{"customer_id": "c1", "month": "2024-01", "mrr": 1, "_deleted": 1}])
    before = _indexes(store)
    with store.db.atomic(), first_load.deferred(store, ["derived"]):
        assert store.unkeyed == set() and [n for n, _ in _indexes(store) if "derived" in n] == ["idx_derived_key"]
        store.load_rows("derived", key, [{"customer_id": "c1", "month": "2024-01", "mrr": 2}])   # replaces the gone row
    assert store.db.execute("SELECT customer_id, mrr, _deleted FROM derived").fetchall() == [("c1", 2, 0)]
    with pytest.raises(RuntimeError), store.db.atomic(), first_load.deferred(store, ["derived"]):
        raise RuntimeError("the build failed")
    assert _indexes(store) == before and store.loading == {} and store.unkeyed == set()
