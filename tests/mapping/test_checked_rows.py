"""Rows the sync wrote from objects it had checked are only parsed by the mapping that follows in the
same process (``store.checked_seqs``, ``values.checked_object``): the same rows as checking them
again, and every row the sync did not write (another process, an older version, a soft-deleted
coupon's older text) is still checked (rows planted after the sync: tests/mrr_engine/test_quarantined_values.py)."""

from __future__ import annotations

import json
import shutil

import pytest
from hypothesis import given, settings, strategies as st

from connector.mapping import stripe as stripe_mapping
from connector.mapping.stripe import map_all
from connector.mrr.policy import load_policy
from connector.refresh import refresh_after_sync
from connector.store import canonical_json, open_store
from connector.store.checked import CheckedSeqs
from connector.values import MAX_ABS_NUMBER, checked_object, object_problem, parsed_object
from tests.support.odd_values import synced_demo
from tests.support.stripe_objects import IDENTITY, coupon, customer, discount, item, price, subscription

# The raw tables whose objects the mapping checks (events are parsed, never checked, by design).
CHECKED_TABLES = ("customers", "subscriptions", "subscription_items", "invoices", "invoice_line_items",
                  "invoice_payments", "charges", "refunds", "credit_notes", "coupons", "prices", "plans")


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    """A demo account synced in this process: the store file and the spans its sync noted."""
    path = tmp_path_factory.mktemp("checked") / "synced.db"
    return path, synced_demo(path)


def _copy(synced, folder, name, *, with_spans: bool):
    path, spans = synced
    shutil.copy(path, folder / name)
    store = open_store(folder / name)
    for first, last in spans if with_spans else []:
        store.checked_seqs.add(first, last)
    return store


def _tables(store) -> dict[str, list[tuple]]:
    """Every table the refresh writes, row for row (``_seq`` included; only the write times left out)."""
    names = [n for (n,) in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                                            "(name LIKE 'billing_%' OR name LIKE 'mrr_%' OR name = '_quarantine')")]
    out = {}
    for name in names:
        cursor = store.db.execute(f'SELECT * FROM "{name}"')
        columns = [d[0] for d in cursor.description]
        keep = [i for i, c in enumerate(columns) if c not in ("_synced_at", "first_seen", "last_seen", "run")]
        out[name] = sorted((tuple(row[i] for i in keep) for row in cursor.fetchall()), key=repr)
    return out


def _counting_parses(monkeypatch) -> dict[str, int]:
    calls = {"checked": 0, "parsed": 0}

    def counted(name, function):
        def wrapper(data):
            calls[name] += 1
            return function(data)
        return wrapper

    monkeypatch.setattr(stripe_mapping, "checked_object", counted("checked", checked_object))
    monkeypatch.setattr(stripe_mapping, "parsed_object", counted("parsed", parsed_object))
    return calls


def test_the_sync_notes_every_row_it_writes_to_a_checked_table(synced, tmp_path):
    store = _copy(synced, tmp_path, "a.db", with_spans=True)
    try:
        for table in CHECKED_TABLES:
            seqs = [s for (s,) in store.db.execute(f'SELECT _seq FROM "{table}" WHERE _deleted = 0')]
            assert all(s in store.checked_seqs for s in seqs), table
        assert store.db.execute("SELECT count(*) FROM invoice_line_items").fetchone()[0] > 0
    finally:
        store.close()


def test_rows_the_sync_checked_map_to_the_same_rows_as_rows_checked_again(synced, tmp_path, monkeypatch):
    calls = _counting_parses(monkeypatch)
    fast = _copy(synced, tmp_path, "fast.db", with_spans=True)
    slow = _copy(synced, tmp_path, "slow.db", with_spans=False)
    try:
        refresh_after_sync(fast, load_policy("default"))
        assert calls["checked"] > 100 and calls["parsed"] == 0   # every object only parsed
        calls.update(checked=0, parsed=0)
        refresh_after_sync(slow, load_policy("default"))
        assert calls["checked"] == 0 and calls["parsed"] > 100   # a store opened anew checks them all
        assert _tables(fast) == _tables(slow)
    finally:
        fast.close()
        slow.close()


def test_a_soft_deleted_coupon_is_checked_again_whatever_its_seq(tmp_path):
    """A soft delete stamps a new _seq on the text the row already held: that seq vouches for nothing."""
    store = open_store(tmp_path / "coupon.db")
    try:
        store.bind_account(IDENTITY)
        monthly = price("price_m", 10000)
        with store.db.atomic():
            store.upsert_objects("prices", [monthly])
            store.upsert_objects("coupons", [coupon("C20", "forever", percent_off=20)])
            store.upsert_objects("customers", [customer("cus_1")])
            store.upsert_objects("subscriptions", [subscription(
                "sub_1", "cus_1", [item("si_1", monthly, start="2025-03-01", end="2025-04-01")],
                discounts=[discount("di_1", "C20", "2025-01-01")])])
            odd = json.dumps(coupon("C20", "forever", amount_off=10**20, currency="usd"))
            store.db.execute("UPDATE coupons SET data = ?, _deleted = 1 WHERE id = 'C20'", [odd])
        store.checked_seqs.add(1, store.current_seq())   # as if this process had written every row
        map_all(store)
        held = store.db.execute("SELECT stream, object_id, reason FROM _quarantine").fetchall()
        assert held == [("coupons", "C20", "cannot be mapped: number out of range at amount_off: 100000000000000000000")]
    finally:
        store.close()


def test_spans_merge_and_answer_membership():
    seqs = CheckedSeqs()
    assert 1 not in seqs and not seqs
    seqs.add(3, 5)
    seqs.add(6, 6)      # the next page: one span
    seqs.add(9, 8)      # nothing written: nothing noted
    seqs.add(10, 12)
    seqs.add(1, 1)      # out of order: kept sorted
    seqs.add(2, 2)
    assert seqs.spans() == [(1, 6), (10, 12)]
    assert [s for s in range(0, 14) if s in seqs] == [1, 2, 3, 4, 5, 6, 10, 11, 12]
    assert None not in seqs and "3" not in seqs


def test_writes_that_raise_note_nothing(tmp_path):
    store = open_store(tmp_path / "raise.db")
    try:
        store.bind_account(IDENTITY)
        with pytest.raises(RuntimeError), store.db.atomic(), store.checked_seqs.writing(store):
            store.upsert_objects("customers", [customer("cus_1")])
            raise RuntimeError("the page's transaction fails")
        assert not store.checked_seqs
        with store.db.atomic(), store.checked_seqs.writing(store):
            store.upsert_objects("customers", [customer("cus_1")])
        assert store.checked_seqs.spans() == [(1, 1)]
    finally:
        store.close()


# values an object that passed the check can hold: any text (digit runs, escapes, a lone surrogate),
# integers and finite floats up to MAX_ABS_NUMBER, as Python writes them
_scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-MAX_ABS_NUMBER, max_value=MAX_ABS_NUMBER),
    st.floats(min_value=-MAX_ABS_NUMBER, max_value=MAX_ABS_NUMBER, allow_nan=False),
    st.text(), st.sampled_from(["12345678901234567890123", "1e400", "NaN", "\ud800", "é", "\x7f"]),
)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(["amount", "created", "period_end", "note", "x", "1e5"]), inner, max_size=4), max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(["amount", "created", "note", "lines"]), _values, max_size=5))
def test_a_checked_text_is_read_as_the_full_check_reads_it(fields):
    obj = {"id": "in_1", **fields}
    text = canonical_json(obj)
    if object_problem(obj, text) is not None:
        return   # the sync stores no such object
    data = text.encode("utf-8", "surrogatepass")
    assert repr(checked_object(data)) == repr(parsed_object(data))


@pytest.mark.parametrize("cut", ["one span", "two spans", "three spans", "none"])
def test_a_row_is_only_parsed_when_its_seq_is_in_a_noted_span(synced, tmp_path, monkeypatch, cut):
    """The mapping tests the one span a sync notes itself and asks ``checked_seqs`` about several:
    whichever, a live row is taken as checked exactly when its ``_seq`` is noted."""
    path, _spans = synced
    store = _copy(synced, tmp_path, "cut.db", with_spans=False)
    try:
        last = store.current_seq()
        spans = {"one span": [(3, last - 2)], "two spans": [(1, last // 3), (last // 2, last)],
                 "three spans": [(1, 5), (last // 3, last // 2), (last - 4, last)], "none": []}[cut]
        for first, end in spans:
            store.checked_seqs.add(first, end)
        assert len(store.checked_seqs.spans()) == len(spans)
        seq_of = {data.encode(): seq for table in CHECKED_TABLES
                  for data, seq in store.db.execute(f'SELECT data, _seq FROM "{table}" WHERE _deleted = 0')}
        read: dict[str, list[int]] = {"checked": [], "parsed": []}

        def noting(name, function):
            def wrapper(data):
                read[name].append(seq_of[bytes(data)])
                return function(data)
            return wrapper

        monkeypatch.setattr(stripe_mapping, "checked_object", noting("checked", checked_object))
        monkeypatch.setattr(stripe_mapping, "parsed_object", noting("parsed", parsed_object))
        map_all(store)
        noted = lambda seq: any(first <= seq <= end for first, end in spans)  # noqa: E731
        assert all(noted(seq) for seq in read["checked"]) and not any(noted(seq) for seq in read["parsed"])
        assert len(read["checked"]) + len(read["parsed"]) > 100
        assert (read["checked"] != []) == (cut != "none") and read["parsed"] != []
    finally:
        store.close()
