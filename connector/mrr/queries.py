"""Read the MRR facts back: current MRR, history per day or month, customer-months, metrics.

Each function returns plain rows (dicts) with amounts in minor units and a
``currency`` column; the CLI turns them into exact decimals in major units.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from .facts import METRICS_TABLE, MONTHS_TABLE, MOVEMENTS_TABLE, RUNS_TABLE, ensure_tables
from .metrics import COUNTERS, DERIVED
from .movements import MOVEMENT_KINDS


def fetch_rows(store, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    cursor = store.db.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def current_mrr(store, day: date) -> list[dict[str, Any]]:
    """MRR and paying customers per currency on ``day``."""
    ensure_tables(store)
    iso = day.isoformat()
    return fetch_rows(
        store,
        f"SELECT currency, SUM(mrr_minor) AS mrr_minor, COUNT(DISTINCT customer_id) AS customers "
        f"FROM {RUNS_TABLE} WHERE _deleted = 0 AND start_date <= ? AND (end_date IS NULL OR end_date > ?) "
        "AND mrr_minor > 0 GROUP BY currency ORDER BY currency",
        [iso, iso],
    )


def current_mrr_by_customer(store, day: date) -> list[dict[str, Any]]:
    """Each paying customer's MRR on ``day`` (for conversion to a reporting currency)."""
    ensure_tables(store)
    iso = day.isoformat()
    return fetch_rows(
        store,
        f"SELECT customer_id, currency, mrr_minor FROM {RUNS_TABLE} WHERE _deleted = 0 AND start_date <= ? "
        "AND (end_date IS NULL OR end_date > ?) ORDER BY customer_id, currency",
        [iso, iso],
    )


def monthly_metrics(store, since: str | None = None, until: str | None = None) -> list[dict[str, Any]]:
    """One row per month and currency with every counter and derived metric."""
    ensure_tables(store)
    columns = ", ".join(("month", "currency", *COUNTERS, *DERIVED, "policy"))
    return fetch_rows(
        store,
        f"SELECT {columns} FROM {METRICS_TABLE} WHERE _deleted = 0 AND month >= ? AND month <= ? "
        "ORDER BY month, currency",
        [since or "0000-00", until or "9999-99"],
    )


def customer_months(store, since: str | None = None, until: str | None = None, customer_id: str | None = None) -> list[dict[str, Any]]:
    ensure_tables(store)
    sql = (
        f"SELECT customer_id, month, currency, mrr_minor, movement, movement_minor, cause FROM {MONTHS_TABLE} "
        "WHERE _deleted = 0 AND month >= ? AND month <= ?"
    )
    params: list[Any] = [since or "0000-00", until or "9999-99"]
    if customer_id is not None:
        sql += " AND customer_id = ?"
        params.append(customer_id)
    return fetch_rows(store, sql + " ORDER BY customer_id, currency, month", params)


def day_movements(store, customer_id: str | None = None) -> list[dict[str, Any]]:
    ensure_tables(store)
    sql = (
        f"SELECT customer_id, currency, day, movement, amount_minor, mrr_before_minor, mrr_after_minor, "
        f"cause, source_ids FROM {MOVEMENTS_TABLE} WHERE _deleted = 0"
    )
    params: list[Any] = []
    if customer_id is not None:
        sql += " AND customer_id = ?"
        params.append(customer_id)
    return fetch_rows(store, sql + " ORDER BY customer_id, currency, day", params)


def history_by_month(store, since: str | None = None, until: str | None = None) -> list[dict[str, Any]]:
    """One row per month and currency: MRR, customers, each movement, net new MRR."""
    return [
        {
            "period": row["month"],
            "currency": row["currency"],
            "mrr_minor": row["mrr_minor"],
            "customers": row["customers"],
            **{f"{kind}_minor": row[f"{kind}_minor"] for kind in MOVEMENT_KINDS},
            "net_new_mrr_minor": row["net_new_mrr_minor"],
        }
        for row in monthly_metrics(store, since, until)
    ]


def history_by_day(store, since: date | None, until: date) -> list[dict[str, Any]]:
    """One row per day and currency from ``since`` (default: the first movement) to ``until``.

    Built from the change points only: the MRR and customer count carry
    forward between movements, so a day costs one row of output, not a query.
    """
    ensure_tables(store)
    changes = fetch_rows(
        store,
        f"SELECT currency, day, movement, SUM(amount_minor) AS amount_minor, "
        "SUM(CASE WHEN mrr_before_minor <= 0 AND mrr_after_minor > 0 THEN 1 "
        "WHEN mrr_before_minor > 0 AND mrr_after_minor <= 0 THEN -1 ELSE 0 END) AS customers_delta "
        f"FROM {MOVEMENTS_TABLE} WHERE _deleted = 0 AND day <= ? GROUP BY currency, day, movement ORDER BY day",
        [until.isoformat()],
    )
    if not changes:
        return []
    by_day: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    currencies = sorted({c["currency"] for c in changes})
    for change in changes:
        bucket = by_day[(change["day"], change["currency"])]
        bucket[change["movement"]] += change["amount_minor"]
        bucket["customers_delta"] += change["customers_delta"]
    first = date.fromisoformat(changes[0]["day"])
    start = since or first
    level = dict.fromkeys(currencies, 0)
    customers = dict.fromkeys(currencies, 0)
    rows = []
    day = min(first, start)
    while day <= until:
        iso = day.isoformat()
        for currency in currencies:
            bucket = by_day.get((iso, currency), {})
            movements = {kind: bucket.get(kind, 0) for kind in MOVEMENT_KINDS}
            level[currency] += sum(movements.values())
            customers[currency] += bucket.get("customers_delta", 0)
            if day >= start:
                rows.append({
                    "period": iso, "currency": currency, "mrr_minor": level[currency],
                    "customers": customers[currency], **{f"{k}_minor": v for k, v in movements.items()},
                    "net_new_mrr_minor": sum(movements.values()),
                })
        day += timedelta(days=1)
    return rows
