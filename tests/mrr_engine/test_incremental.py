"""Incremental updates leave exactly the rows a full recompute leaves."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.mrr import engine
from connector.mrr.facts import CUSTOMER_TABLES, METRICS_TABLE
from connector.mrr.model import write_customer_segments
from connector.store import open_store

from tests.support.segments import FakePolicy, stored_segments, write

CUSTOMERS = ["c1", "c2", "c3", "c4"]
TABLES = (*CUSTOMER_TABLES, METRICS_TABLE)

period = st.tuples(
    st.integers(0, 400),                      # start offset in days
    st.one_of(st.none(), st.integers(1, 200)),  # length in days, None = open
    st.integers(0, 9000),                     # monthly amount in minor units
    st.sampled_from(["usd", "eur"]),
)
customer_periods = st.lists(period, max_size=4)
change = st.tuples(st.sampled_from(CUSTOMERS), customer_periods)


def live_rows(store):
    result = {}
    for table in TABLES:
        cursor = store.db.execute(f"SELECT * FROM {table} WHERE _deleted = 0 ORDER BY id")
        names = [d[0] for d in cursor.description]
        result[table] = [
            {k: v for k, v in zip(names, row) if k not in ("_synced_at", "_seq")} for row in cursor.fetchall()
        ]
    return result


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    initial=st.fixed_dictionaries({c: customer_periods for c in CUSTOMERS}),
    changes=st.lists(st.lists(change, min_size=1, max_size=3), max_size=4),
    min_gap=st.sampled_from([0, 20]),
    ignore_blips=st.booleans(),
    day_steps=st.lists(st.integers(0, 70), min_size=4, max_size=4),
)
def test_incremental_equals_full_recompute(initial, changes, min_gap, ignore_blips, day_steps):
    policy = FakePolicy(reactivation_min_gap_days=min_gap, same_month_new_churn_ignored=ignore_blips)
    incremental = open_store(None)
    as_of = date(2023, 6, 15)
    for customer_id, periods in initial.items():
        write(incremental, customer_id, periods)
    engine.rebuild(incremental, policy, as_of=as_of, segment_source=stored_segments)
    for step, batch in enumerate(changes):
        as_of = as_of + timedelta(days=day_steps[step])  # the nightly run's day moves on
        for customer_id, periods in batch:
            write(incremental, customer_id, periods)
        stats = engine.update(
            incremental, policy, {c for c, _ in batch}, as_of=as_of, segment_source=stored_segments
        )
        assert stats.full is False
        full = open_store(None)
        _copy_segments(incremental, full)
        engine.rebuild(full, policy, as_of=as_of, segment_source=stored_segments)
        assert live_rows(incremental) == live_rows(full)
        full.close()
    incremental.close()


def _copy_segments(source, target):
    cursor = source.db.execute("SELECT * FROM mrr_segments WHERE _deleted = 0")
    names = [d[0] for d in cursor.description]
    rows = [{k: v for k, v in zip(names, row) if k not in ("_synced_at", "_seq", "_deleted")} for row in cursor]
    by_customer = {}
    for row in rows:
        by_customer.setdefault(row["customer_id"], []).append(row)
    for customer_id, customer_rows in by_customer.items():
        write_customer_segments(target, "import", customer_id, customer_rows)


def test_a_rerun_with_nothing_changed_writes_nothing(store):
    write(store, "c1", [(0, 90, 1000, "usd"), (120, None, 2000, "usd")])
    policy = FakePolicy()
    first = engine.rebuild(store, policy, as_of=date(2023, 12, 1), segment_source=stored_segments)
    assert (first.rows_written, first.metrics_rows_written) == (2 + 3 + 12, 12)  # runs, movements (new, churn, reactivation), Jan..Dec
    seq = store.current_seq()
    again = engine.rebuild(store, policy, as_of=date(2023, 12, 1), segment_source=stored_segments)
    incremental = engine.update(store, policy, {"c1"}, as_of=date(2023, 12, 1), segment_source=stored_segments)
    assert (again.rows_written, again.metrics_rows_written) == (0, 0)
    assert (incremental.full, incremental.rows_written, incremental.metrics_rows_written) == (False, 0, 0)
    assert store.current_seq() == seq


def test_another_policy_recomputes_everything(store):
    write(store, "c1", [(0, 90, 1000, "usd")])
    engine.rebuild(store, FakePolicy(), as_of=date(2023, 12, 1), segment_source=stored_segments)
    stats = engine.update(
        store, FakePolicy(name="stripe"), {"c9"}, as_of=date(2023, 12, 1), segment_source=stored_segments
    )
    assert (stats.full, stats.customers) == (True, 1)
    assert store.db.execute("SELECT DISTINCT policy FROM mrr_customer_months").fetchall() == [("stripe",)]
