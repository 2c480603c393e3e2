"""Backfill rebuilds every customer's segments even when the neutral data did not change.

After an upgrade changes how segments are built, map_all finds nothing new, so
a backfill that only rebuilt the customers it mapped would keep the old pieces.
"""

from __future__ import annotations

from datetime import date

from connector import refresh
from connector.mrr import engine
from connector.mrr.policy import load_policy

from tests.support.stripe_objects import customer, invoice, item, line, load, price, segments_for, subscription, table


def test_backfill_rebuilds_segments_written_by_an_older_builder(store, monkeypatch):
    monthly = price("price_m", 10000)
    paid = invoice("in_1", [line("il_1", "in_1", "price_m", 10000, "2025-03-01", "2025-04-01")])
    load(store, customers=[customer()], prices=[monthly], invoices=[paid],
         subscriptions=[subscription(items=[item("si_1", monthly, start="2025-03-01", end="2025-04-01")])])
    segments_for(store)
    built = table(store, "mrr_segments")
    # What an older builder left: a wrong amount on the live item and a piece it no longer makes.
    store.db.execute("UPDATE mrr_segments SET amount_minor = 5000 WHERE segment_id = 'item:si_1:current'")
    store.db.execute("UPDATE mrr_segments SET _deleted = 1 WHERE segment_id = 'item:si_1:renewal'")
    monkeypatch.setattr(engine, "today_utc", lambda: date(2025, 5, 10))
    result = refresh.backfill(store, load_policy("default"))
    assert table(store, "mrr_segments") == built
    assert (result["mapped_customers"], result["segment_customers"], result["horizon_month"]) == (0, 1, "2025-05")
    assert store.db.execute(
        "SELECT month, mrr_minor FROM mrr_monthly_metrics WHERE _deleted = 0 ORDER BY month"
    ).fetchall() == [("2025-03", 10000), ("2025-04", 10000), ("2025-05", 10000)]
