"""A store with MRR facts in three currencies: the public playbook sample in USD
(imported through connector.mrr.importer) plus hand-made JPY and KWD customers
whose ids would break HTML if they were not escaped."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from connector.mrr import engine
from connector.mrr.importer import import_subscription_periods
from connector.mrr.model import segment_row, write_customer_segments
from connector.mrr.policy import load_policy
from connector.store import open_store

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "mrr_playbook_subscription_periods.csv"
AS_OF = date(2019, 12, 15)
HOSTILE_ID = '<script>alert("x")</script>&co'


def _manual(store, customer_id, currency, start, end, amount_minor, interval="month"):
    row = segment_row(
        segment_id=f"manual:{customer_id}:{start}", provider="manual", customer_id=customer_id,
        source_type="import", source_id=f"manual@{start}", currency=currency,
        start=date.fromisoformat(start), end=date.fromisoformat(end) if end else None,
        amount_minor=amount_minor, interval=interval,
    )
    write_customer_segments(store, "manual", customer_id, [row])


def build_store(path) -> object:
    store = open_store(path)
    import_subscription_periods(store, SAMPLE, currency="USD")
    _manual(store, HOSTILE_ID, "jpy", "2019-01-01", None, 12000, interval="year")   # ¥1,000 a month
    _manual(store, "cus_jp_2", "jpy", "2019-03-01", "2019-09-01", 3000)
    _manual(store, "cus_kw_1", "kwd", "2019-10-01", None, 12345)                     # 12.345 KWD
    engine.rebuild(store, load_policy("default"), as_of=AS_OF)
    return store
