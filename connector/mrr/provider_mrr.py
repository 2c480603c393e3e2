"""The provider's own per-subscription MRR beside ours: a reconciliation aid, never an input.

Chargebee keeps an ``mrr`` on every subscription, computed by its published
rules (active and non-renewing subscriptions; trials, one-time charges and
taxes excluded; coupons only when ``included_in_mrr``). ``explain`` shows it
next to what our policy counts for the same subscription on the day asked, so
a difference can be traced piece by piece. The MRR engine never reads it. The
provider's figure is the one last synced (Chargebee keeps no history of it).
A provider without such a field (Stripe) has no rows here.
"""

from __future__ import annotations

from typing import Any

from .queries import fetch_rows

# provider -> (raw table, its customer column, its currency column, its MRR column)
PROVIDER_MRR_FIELDS = {"chargebee": ("subscriptions", "customer_id", "currency_code", "mrr")}


def provider_mrr(store, customer_id: str, ours: dict[str, int]) -> list[dict[str, Any]]:
    """One row per subscription of the customer: the provider's MRR and ours (``ours``: subscription -> minor)."""
    fields = PROVIDER_MRR_FIELDS.get(store.provider)
    if fields is None or not store.db[fields[0]].exists():
        return []
    table, customer_column, currency_column, mrr_column = fields
    rows = fetch_rows(
        store, f'SELECT id, status, "{currency_column}" AS currency, "{mrr_column}" AS mrr FROM "{table}" '
        f'WHERE _deleted = 0 AND "{customer_column}" = ? ORDER BY id', [customer_id])
    return [{
        "subscription_id": row["id"],
        "status": row["status"],
        "currency": (row["currency"] or "").lower() or None,
        "provider_mrr_minor": row["mrr"],
        "our_mrr_minor": ours.get(row["id"], 0),
        "difference_minor": None if row["mrr"] is None else ours.get(row["id"], 0) - row["mrr"],
    } for row in rows]


def provider_mrr_totals(store) -> dict[str, int]:
    """The provider's own MRR summed per currency over its live subscriptions (empty without such a field)."""
    fields = PROVIDER_MRR_FIELDS.get(store.provider)
    if fields is None or not store.db[fields[0]].exists():
        return {}
    table, _customer, currency_column, mrr_column = fields
    rows = fetch_rows(store, f'SELECT lower("{currency_column}") AS currency, sum("{mrr_column}") AS mrr '
                      f'FROM "{table}" WHERE _deleted = 0 GROUP BY 1 ORDER BY 1')
    return {row["currency"]: row["mrr"] for row in rows if row["currency"] and row["mrr"]}
