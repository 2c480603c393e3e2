"""Revenue segments: the contract between the segment builders and the MRR engine.

Two shapes:

* ``mrr_segments`` (stored, policy-neutral): what a customer was billed, or is
  subscribed to, for a span of days — an amount per billing period with its
  interval, and ``tags`` saying what the policy may want to exclude (trialing,
  past_due, paused, pending_cancel, discount:once, ...). Written by the Stripe
  segment builder (``segments.py``) and by the CSV importer.
* :class:`Segment` (computed): the same span with a policy applied — a monthly
  amount in exact minor units, or dropped. The engine (ledger, movements,
  metrics) consumes only these, so it never knows which provider or rule
  produced them.

Days are UTC calendar days; ``end`` is exclusive and None means "still running".

The rounding rule (the only one; see docs/money.md): a billing-period amount is
normalised to a month with exact fractions — month ×1, year ÷12, week ×52/12,
day ×365/12 (the policy's factors), all ÷ interval_count — and rounded once, half
to even, to the currency's minor unit. Every later figure is a sum or difference
of these integers, so movements add up to MRR changes exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from functools import lru_cache
from typing import Any

import orjson

from ..store.tables import Table

SEGMENTS_TABLE = "mrr_segments"
SEGMENT_PRIMARY_KEY = ("segment_id",)

# Monthly factor per interval; the policy may override day and week.
DEFAULT_INTERVAL_FACTORS: dict[str, Fraction] = {
    "month": Fraction(1),
    "year": Fraction(1, 12),
    "week": Fraction(52, 12),
    "day": Fraction(365, 12),
}

# ISO 4217 exponents that differ from 2. Anything not listed has 2 decimals.
CURRENCY_EXPONENTS: dict[str, int] = {
    **{c: 0 for c in (
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf",
        "ugx", "vnd", "vuv", "xaf", "xof", "xpf", "isk",
    )},
    **{c: 3 for c in ("bhd", "iqd", "jod", "kwd", "lyd", "omr", "tnd")},
}


def currency_exponent(currency: str) -> int:
    return CURRENCY_EXPONENTS.get(currency.lower(), 2)


def round_half_even(value: Fraction) -> int:
    """Round an exact fraction to an integer, ties to even (banker's rounding)."""
    return round(value)  # Fraction.__round__ with no digits rounds half to even


def monthly_minor(
    amount_minor: int,
    interval: str,
    interval_count: int,
    factors: Mapping[str, Fraction] = DEFAULT_INTERVAL_FACTORS,
) -> int:
    """Normalise an amount billed every ``interval_count`` ``interval``s to a month."""
    if interval not in factors:
        raise ValueError(f"unknown billing interval {interval!r}")
    if interval_count <= 0:
        raise ValueError("interval_count must be positive")
    factor = factors[interval]
    # round_half_even(Fraction(amount_minor) * factor / interval_count) in integers: a refresh
    # normalises every segment, and Fraction arithmetic was a third of applying a policy
    numerator, denominator = amount_minor * factor.numerator, factor.denominator * interval_count
    quotient, remainder = divmod(numerator, denominator)     # floor: 0 <= remainder < denominator
    twice = 2 * remainder
    return quotient + 1 if twice > denominator or (twice == denominator and quotient % 2) else quotient


@dataclass(frozen=True)
class Segment:
    """A span of days with a constant monthly amount, after a policy was applied."""

    customer_id: str
    currency: str
    start: date
    end: date | None          # exclusive; None = open-ended
    mrr_minor: int
    series: str = "mrr"       # "mrr" or "usage"
    source_type: str = ""     # subscription_item | invoice_line | discount | import
    source_id: str = ""
    subscription_id: str | None = None
    cause: str = ""           # why this piece exists, for explain (plan, quantity, discount, ...)
    detail: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


SEGMENTS = Table(SEGMENTS_TABLE, (
    ("segment_id", "TEXT NOT NULL", "what the piece is and what it came from, as one text"),
    ("provider", "TEXT NOT NULL", "billing provider (or `import`)"),
    ("customer_id", "TEXT NOT NULL", "the provider's customer id"),
    ("subscription_id", "TEXT", "the subscription it belongs to, if any"),
    ("source_type", "TEXT NOT NULL", "subscription_item | invoice_line | discount | import"),
    ("source_id", "TEXT NOT NULL", "the id of that source"),
    ("series", "TEXT NOT NULL", "mrr or usage"),
    ("currency", "TEXT NOT NULL", "lower-case ISO 4217"),
    ("start_date", "TEXT NOT NULL", "first day"),
    ("end_date", "TEXT", "first day after it (None: still running)"),
    ("amount_minor", "INTEGER NOT NULL", "amount per billing period"),
    ("interval", "TEXT NOT NULL", "the billing period's unit"),
    ("interval_count", "INTEGER NOT NULL", "units per billing period"),
    ("tags", "TEXT NOT NULL", "JSON list: what a policy may rule on (trialing, past_due, ...)"),
    ("detail", "TEXT NOT NULL", "JSON object: what explain shows"),
), primary_key=SEGMENT_PRIMARY_KEY)

UNPLACED_TABLE = "mrr_unplaced"
UNPLACED_KEY = ("provider", "object_type", "object_id", "reason")
# What the segment builder could not place, with its amount and the reason.
UNPLACED = Table(UNPLACED_TABLE, (
    ("provider", "TEXT NOT NULL", "billing provider"),
    ("customer_id", "TEXT NOT NULL", "the provider's customer id"),
    ("object_type", "TEXT NOT NULL", "invoice_line, subscription_item, ..."),
    ("object_id", "TEXT NOT NULL", "its id"),
    ("reason", "TEXT NOT NULL", "why it could not be placed"),
    ("amount_minor", "INTEGER", "its amount, when known"),
    ("currency", "TEXT", "lower-case ISO 4217"),
), primary_key=UNPLACED_KEY)

# Migration steps (namespace ``mrr``): read and rewritten a customer at a time, hence the index.
_BY_CUSTOMER = {"customer": ("provider", "customer_id")}


SEGMENT_MIGRATIONS = [("0001_mrr_segments", SEGMENTS.create_step(_BY_CUSTOMER)),
                      ("0002_mrr_unplaced", UNPLACED.create_step(_BY_CUSTOMER))]


def unplaced_summary(store) -> list[dict[str, Any]]:
    """What the rules could not place, grouped for ``billing-connector status`` (never silently dropped)."""
    if not store.db[UNPLACED_TABLE].exists():
        return []
    cursor = store.db.execute(
        f"SELECT object_type, reason, currency, count(*), sum(coalesce(amount_minor, 0)) FROM {UNPLACED_TABLE} "
        "WHERE _deleted = 0 GROUP BY object_type, reason, currency ORDER BY object_type, reason, currency")
    return [{"object_type": t, "reason": r, "currency": c, "count": n, "amount_minor": a}
            for t, r, c, n, a in cursor.fetchall()]


# json.dumps(detail, sort_keys=True) with one encoder for all (json.dumps makes one per call when
# given options; a refresh writes a detail per segment): the same text
_standard_detail_json = json.JSONEncoder(sort_keys=True).encode
# The value types of a detail :func:`_detail_json` writes with orjson (exact types: no bool, no subclass).
_FLAT_VALUES = frozenset({str, int, type(None)})


def _detail_json(detail: Mapping[str, Any]) -> str:
    """``json.dumps(detail, sort_keys=True)``, the same text, at a third of the cost for what the builder
    writes: a flat dict of strings, integers and None whose strings hold no ``,``, ``:``, nor anything
    either writer escapes. orjson writes it compactly; every ``,`` and ``:`` of its text is then a separator
    (one ``:`` per key, one ``,`` between two), and json.dumps's separators are those plus a space. Anything
    else (a nested value, a float, a string needing an escape, an integer past 64 bits) is json.dumps's."""
    if type(detail) is not dict or not detail:
        return _standard_detail_json(detail)
    for value in detail.values():
        if type(value) not in _FLAT_VALUES:
            return _standard_detail_json(detail)
    try:
        raw = orjson.dumps(detail, option=orjson.OPT_SORT_KEYS)
    except TypeError:   # orjson.JSONEncodeError: a key that is not a string, an integer past 64 bits
        return _standard_detail_json(detail)
    # no backslash: no string needed an escape (a quote, a backslash, a control character); ASCII and no
    # DEL: json.dumps escapes neither (it escapes everything outside ' '..'~'); ASCII keys sort alike
    if (raw.count(b":") != len(detail) or raw.count(b",") != len(detail) - 1 or b"\\" in raw
            or not raw.isascii() or b"\x7f" in raw):
        return _standard_detail_json(detail)
    return raw.replace(b",", b", ").replace(b":", b": ").decode("ascii")


@lru_cache(maxsize=4096)
def _tags_json(tags: tuple[str, ...]) -> str:
    """A segment's stored tags text: a few dozen tag lists serve every segment of an account."""
    return json.dumps(sorted(set(tags)))


def segment_row(
    *,
    segment_id: str,
    provider: str,
    customer_id: str,
    source_type: str,
    source_id: str,
    currency: str,
    start: date,
    end: date | None,
    amount_minor: int,
    interval: str = "month",
    interval_count: int = 1,
    series: str = "mrr",
    subscription_id: str | None = None,
    tags: Sequence[str] = (),
    detail: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A stored segment row; amounts are per billing period, in minor units."""
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool):
        raise TypeError("amount_minor must be an int (minor units); never a float")
    return {
        "segment_id": segment_id,
        "provider": provider,
        "customer_id": customer_id,
        "subscription_id": subscription_id,
        "source_type": source_type,
        "source_id": source_id,
        "series": series,
        "currency": currency.lower(),
        "start_date": start.isoformat(),
        "end_date": end.isoformat() if end else None,
        "amount_minor": amount_minor,
        "interval": interval,
        "interval_count": interval_count,
        "tags": _tags_json(tuple(tags)),
        "detail": _detail_json(detail or {}),
    }


def write_customer_segments(store, provider: str, customer_id: str, rows: Sequence[Mapping[str, Any]]) -> int:
    """Replace one customer's stored segments (removed ones are soft-deleted)."""
    store.migrate("mrr", SEGMENT_MIGRATIONS)
    return store.replace_scope(
        SEGMENTS_TABLE, SEGMENT_PRIMARY_KEY, {"provider": provider, "customer_id": customer_id}, rows
    )


def _providers(store) -> list[str]:
    """The providers with stored segments (one, or a few with imports), each found by an index seek."""
    found: list[str] = []
    while True:
        after = " WHERE provider > ?" if found else ""
        (provider,) = store.db.execute(f"SELECT min(provider) FROM {SEGMENTS_TABLE}{after}", found[-1:]).fetchone()
        if provider is None:
            return found
        found.append(provider)


def read_segment_rows(store, customer_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Live stored segments, all or for some customers, in a stable order."""
    cursor = _segments_cursor(store, customer_ids, "*")
    if cursor is None:
        return []
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def read_segment_values(store, customer_ids: Iterable[str] | None, columns: Sequence[str]) -> list[tuple]:
    """:func:`read_segment_rows` as tuples of ``columns`` only (each an SQL expression of the table,
    in that order): the MRR refresh reads every segment it wrote back, and a dict of every column
    per row was a third of that read."""
    cursor = _segments_cursor(store, customer_ids, ", ".join(columns))
    return [] if cursor is None else cursor.fetchall()


def _segments_cursor(store, customer_ids: Iterable[str] | None, columns: str):
    """The live segments' ``columns``, all or for some customers, ordered by customer, start and id
    (None: nothing to read)."""
    store.migrate("mrr", SEGMENT_MIGRATIONS)
    sql = f"SELECT {columns} FROM {SEGMENTS_TABLE} WHERE _deleted = 0"
    params: list[Any] = []
    if customer_ids is not None:
        ids = list(customer_ids)
        providers = _providers(store)
        if not ids or not providers:
            return None
        # naming the providers lets SQLite use the (provider, customer_id) index: with customer_id
        # alone it scanned the whole table for every batch, a cost growing with the account squared
        sql += (f" AND provider IN ({', '.join('?' for _ in providers)})"
                f" AND customer_id IN ({', '.join('?' for _ in ids)})")
        params = [*providers, *ids]
    sql += " ORDER BY customer_id, start_date, segment_id"
    return store.db.execute(sql, params)
