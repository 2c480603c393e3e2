"""Revenue segments: neutral tables → stored, policy-neutral pieces (``mrr_segments``).

Provider-neutral: it reads the neutral rows of the store's provider
(``store.provider``; a store holds one provider account).

Per customer, three kinds of pieces, each pointing at what it came from:

* ``invoice_line`` — history: a recurring (or usage, or proration) invoice line
  over its service period, at its list amount excluding tax, tagged
  ``invoice_basis`` plus ``invoice:<status>``, ``refunded_full``/``refunded_partial``,
  ``credited``, ``trialing``, ``proration``. A proration line is stored at the
  full-period list price of its quantity (negative for the credit of the old
  one), so that "the new price counts from the change" holds in history.
* ``subscription_item`` — the present: the live subscription's item from its
  current period start (or from the day a proration line or an update event in
  that period says it took its present price or quantity), split at the period
  end into ``current`` and
  ``renewal`` pieces, tagged ``subscription_basis`` plus its status
  (``trialing``, ``past_due``, ``unpaid``, ``incomplete``, ``incomplete_expired``,
  ``paused``), ``pause_collection``, ``pending_cancel``.
* ``discount`` — a negative piece per discount and base piece, tagged
  ``discount:forever|repeating|once|unknown``, spanning what the discount covers.

Both bases are stored in full; :func:`effective_segments` (segments_effective.py)
chooses one per subscription and day, so a period is never counted twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timezone
from fractions import Fraction
from typing import Any

from ..store import Store
from ..store import first_load
from ..store.bulk import is_empty
from ..store import quarantine
from ..store.quarantine import Rejected
from ..values import MAX_ABS_NUMBER, OutOfRange
from .fact_writes import chunks, select_in
from .model import (SEGMENT_MIGRATIONS, SEGMENT_PRIMARY_KEY, SEGMENTS, SEGMENTS_TABLE, UNPLACED_KEY, UNPLACED_TABLE,
                    segment_row)
from .segment_writes import rows_by_customer
from .segments_effective import effective_segments  # noqa: F401  (public API lives here)
from .segments_live import ENDED_STATUSES, LiveSubscriptionPieces, dated_changes_window, day_of as _day
from .segments_pricing import gross_amount, inclusive_tax_share, split_line


def _plans(store: Store, plan_ids: set[str]) -> dict[str, dict[str, Any]]:
    ids = sorted(p for p in plan_ids if p)
    names = [column[1] for column in store.db.execute("PRAGMA table_info(billing_plans)").fetchall()]
    rows = select_in(store.db, "SELECT * FROM billing_plans WHERE provider = ? AND _deleted = 0 AND id IN ({ids})",
                     ids, [store.provider]) if ids else []
    return {record["id"]: record for record in (dict(zip(names, row)) for row in rows)}


# The neutral tables the builder reads (the refresh chain makes sure they exist).
_NEUTRAL_TABLES = (
    "billing_subscriptions", "billing_subscription_items", "billing_discounts", "billing_invoices",
    "billing_invoice_lines", "billing_subscription_changes",
)


def _all_customers(store: Store) -> set[str]:
    customers: set[str] = set()
    for name in (*_NEUTRAL_TABLES, SEGMENTS_TABLE):
        if store.db[name].exists():
            customers |= {c for (c,) in store.db.execute(f"SELECT DISTINCT customer_id FROM {name}") if c}
    return customers


# Customers built and written at a time: a batch shares its queries and its writes.
BATCH_CUSTOMERS = 100


def build_segments(store: Store, customer_ids: Iterable[str] | None = None, as_of: date | None = None) -> set[str]:
    """(Re)write the stored segments of these customers (None = all) as known on ``as_of``
    (default today, UTC: which recorded changes still date anything, see ``dated_changes_window``);
    returns the customers whose segments changed.

    Reads the neutral tables, which the refresh chain (connector.refresh) has brought up to date.
    Works a batch of customers at a time; into an empty segments table (a first sync) it writes
    without looking for rows to remove, and builds the table's indexes after the load.
    """
    store.migrate("mrr", SEGMENT_MIGRATIONS)
    window = dated_changes_window(as_of or datetime.now(timezone.utc).date())
    with store.db.atomic():
        wanted = _all_customers(store) if customer_ids is None else set(customer_ids)
        fresh = {table: is_empty(store.db, table) for table in (SEGMENTS_TABLE, UNPLACED_TABLE)}
        with first_load.deferred(store, [table for table, empty in fresh.items() if empty]):
            changed = _build_batches(store, sorted(wanted), window, fresh)
    return changed


def _build_batches(store: Store, wanted: list[str], window, fresh: Mapping[str, bool]) -> set[str]:
    changed: set[str] = set()
    for batch in chunks(wanted, BATCH_CUSTOMERS):
        neutral = {table: rows_by_customer(store, table, store.provider, batch) for table in _NEUTRAL_TABLES}
        plan_ids = {row["plan_id"] for table in ("billing_subscription_items", "billing_invoice_lines")
                    for rows in neutral[table].values() for row in rows}
        plans = _plans(store, plan_ids)
        segments, unplaced = {}, {}
        for customer_id in batch:
            built = _built_or_quarantined(store, customer_id, window, neutral, plans)
            if built is not None:
                builder, segments[customer_id] = built
                unplaced[customer_id] = builder.unplaced
        changed |= store.replace_customers(SEGMENTS_TABLE, SEGMENT_PRIMARY_KEY, store.provider, segments,
                                           fresh=fresh[SEGMENTS_TABLE])
        store.replace_customers(UNPLACED_TABLE, UNPLACED_KEY, store.provider, unplaced, fresh=fresh[UNPLACED_TABLE])
    return changed


def customers_dated_differently(store: Store, before: date | None, after: date) -> set[str]:
    """Customers whose recorded changes date something on one of the two as-of days and not on the
    other (an event leaving Stripe's window): their segments must be rebuilt when the day moves."""
    if before is None or before == after or not store.db["billing_subscription_changes"].exists():
        return set()
    (a_from, a_until), (b_from, b_until) = dated_changes_window(before), dated_changes_window(after)
    spans = [(min(a_from, b_from), max(a_from, b_from)), (min(a_until, b_until), max(a_until, b_until))]
    found: set[str] = set()
    for low, high in spans:
        found |= {c for (c,) in store.db.execute(
            "SELECT DISTINCT customer_id FROM billing_subscription_changes WHERE _deleted = 0 "
            "AND changed_at >= ? AND changed_at < ?", [low, high]) if c}
    return found


# A segment row's amounts in minor units, each checked for range: ``segment_row`` writes exactly the
# table's columns, so these are all its ``*_minor`` values without asking every value its column's name.
_MINOR_COLUMNS = tuple(name for name in SEGMENTS.column_names if name.endswith("_minor"))


def _built_or_quarantined(store: Store, customer_id: str, window, neutral, plans
                          ) -> tuple["_CustomerSegments", list[dict[str, Any]]] | None:
    """(the builder, a customer's segments), or None when a value cannot be computed with (the
    customer is quarantined under ``mrr_segments`` and keeps its earlier segments; the others go on)."""
    try:
        own = {table: rows.get(customer_id, []) for table, rows in neutral.items()}
        builder = _CustomerSegments(store, customer_id, window, own, plans)
        rows = builder.build()
        for row in rows:
            for column in _MINOR_COLUMNS:
                value = row[column]
                if isinstance(value, int) and abs(value) > MAX_ABS_NUMBER:
                    raise OutOfRange(f"{column} out of range: {value}")
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        reason = f"MRR segments not computed: {type(exc).__name__}: {exc}"
        quarantine.record(store, [Rejected.of("mrr_segments", {"id": customer_id}, reason)])
        return None
    return builder, rows


def _json_list(text: str | None) -> list[Any]:
    """A list column's value (``json.loads(text or "[]")``), without the parser for the common empty list."""
    return [] if not text or text == "[]" else json.loads(text)


class _CustomerSegments(LiveSubscriptionPieces):
    def __init__(self, store: Store, customer_id: str, window: tuple[int, int] | None,
                 neutral: Mapping[str, list[dict[str, Any]]], plans: Mapping[str, dict[str, Any]]):
        """``neutral``: the customer's live rows per neutral table, each sorted by id; ``plans``: at
        least the plans its items and lines name."""
        self.store = store
        self.cid = customer_id
        self.subscriptions = {s["id"]: s for s in neutral["billing_subscriptions"]}
        self.items = neutral["billing_subscription_items"]
        self.discounts = {d["id"]: d for d in neutral["billing_discounts"]}
        self.invoices = {i["id"]: i for i in neutral["billing_invoices"]}
        self.lines = sorted(neutral["billing_invoice_lines"], key=lambda r: (r["invoice_id"], r["id"]))
        # the lines of each item and of each subscription, in the order of ``lines``: what every live item
        # looks through (its opening line, a proration, a refund), not all the customer's lines each time
        self.lines_of_item: dict[Any, list[dict[str, Any]]] = {}
        self.lines_of_subscription: dict[Any, list[dict[str, Any]]] = {}
        for line in self.lines:
            self.lines_of_item.setdefault(line["subscription_item_id"], []).append(line)
            self.lines_of_subscription.setdefault(line["subscription_id"], []).append(line)
        changes = neutral["billing_subscription_changes"]
        # only what Stripe still keeps dates a change: the same for a store synced for years and a fresh one.
        # Events go after 30 days; a schedule phase (no event id) is kept with its schedule. Nothing after
        # the as-of day dates anything.
        self.changes = [c for c in changes if window is None or (
            (c["event_id"] is None or window[0] <= (c["changed_at"] or 0)) and (c["changed_at"] or 0) < window[1])]
        self.plans = plans
        self.out: list[dict[str, Any]] = []
        self.unplaced: list[dict[str, Any]] = []
        # what every line of an invoice or a subscription asks again (the rows do not change meanwhile)
        self._known: dict[tuple[str, Any], Any] = {}

    def _once(self, key: tuple[str, Any], compute: Callable[[], Any]) -> Any:
        """``compute()``'s value, computed the first time ``key`` is asked for (an exception is raised each time)."""
        if key not in self._known:
            self._known[key] = compute()
        return self._known[key]

    def unplace(self, object_type: str, object_id: str, reason: str, amount: int | None, currency: str | None) -> None:
        """Something with a recurring price the rules cannot place: counted with its amount, never dropped."""
        self.unplaced.append({"provider": self.store.provider, "customer_id": self.cid, "object_type": object_type,
                              "object_id": object_id, "reason": reason, "amount_minor": amount,
                              "currency": (currency or "").lower() or None})

    def build(self) -> list[dict[str, Any]]:
        for line in self.lines:
            self.invoice_line(line)
        for item in self.items:
            self.subscription_item(item)
        return self.out

    def piece(self, **kwargs: Any) -> dict[str, Any]:
        row = segment_row(provider=self.store.provider, customer_id=self.cid, **kwargs)
        self.out.append(row)
        return row

    # ---- history: invoice lines ---------------------------------------
    def invoice_tags(self, invoice: Mapping[str, Any]) -> list[str]:
        """The invoice's tags, once per invoice (each of its lines and each live item asks): not to be changed."""
        return self._once(("invoice_tags", invoice["id"]), lambda: self._invoice_tags(invoice))

    @staticmethod
    def _invoice_tags(invoice: Mapping[str, Any]) -> list[str]:
        tags = [f"invoice:{invoice['status']}"]
        paid = invoice.get("amount_paid_minor") or 0
        refunded = invoice.get("amount_refunded_minor") or 0
        if paid > 0 and refunded >= paid:
            tags.append("refunded_full")
        elif refunded > 0:
            tags.append("refunded_partial")
        if invoice.get("amount_credited_minor"):
            tags.append("credited")
        return tags

    def invoice_line(self, line: Mapping[str, Any]) -> None:
        invoice = self.invoices.get(line["invoice_id"])
        plan = self.plans.get(line["plan_id"])
        start, end = _day(line["period_start_at"]), _day(line["period_end_at"])
        if line["kind"] not in ("recurring", "usage", "proration") or invoice is None:
            return
        problem = ("its price is not in the store" if plan is None
                   else "its price has no billing interval" if not plan.get("interval")
                   else "it has no service period" if start is None or end is None
                   else "its service period is empty" if end <= start else None)
        if problem:
            self.unplace("invoice_line", line["id"], f"{line['kind']} line: {problem}", line["amount_minor"],
                         line["currency"])
            return
        subscription = self.subscriptions.get(line["subscription_id"]) or {}
        tags = ["invoice_basis", *self.invoice_tags(invoice)]
        if subscription.get("canceled_at"):
            tags.append("cancel_requested")
        trial_start, trial_end = self._once(("trial", line["subscription_id"]), lambda: (
            _day(subscription.get("trial_start_at")), _day(subscription.get("trial_end_at"))))
        if trial_start and trial_end and trial_start <= start < trial_end:
            tags.append("trialing")
        slot = line["subscription_item_id"] or f"{line['subscription_id']}|{line['plan_id']}"
        detail = {
            "invoice": invoice["id"], "invoice_line": line["id"], "subscription_item": line["subscription_item_id"],
            "price": line["plan_id"], "quantity": line["quantity"], "slot": slot, "kind": line["kind"],
            "amount_paid": invoice.get("amount_paid_minor"), "amount_refunded": invoice.get("amount_refunded_minor"),
            "amount_credited": invoice.get("amount_credited_minor"), "tax": line["tax_minor"],
            "subscription_ended": self._once(("stops", line["subscription_id"]), lambda: self.stops(subscription)),
            "canceled_at": _day(subscription["canceled_at"]).isoformat() if subscription.get("canceled_at") else None,
            "period_start": start.isoformat(),
        }
        common = dict(currency=line["currency"], start=start, end=end, interval=plan["interval"],
                      interval_count=plan["interval_count"] or 1, subscription_id=line["subscription_id"])
        segment_id = f"line:{invoice['id']}:{line['id']}"
        if line["kind"] == "proration":
            full = gross_amount(plan, line["quantity"])
            if full is None:
                self.unplace("invoice_line", line["id"], "proration line: its price's amount is not known "
                             "(tiers or unit amount missing)", line["amount_minor"], line["currency"])
                return
            share = self.net_share(plan, None, line)
            sign = -1 if line["amount_minor"] < 0 else 1
            amount = sign * int(round(full * share if share else full))
            self.piece(segment_id=segment_id, source_type="invoice_line", source_id=line["id"], amount_minor=amount,
                       tags=[*tags, "proration"], detail={**detail, "billed": line["amount_minor"]}, **common)
            return
        series = "usage" if line["kind"] == "usage" else "mrr"
        discounts = _json_list(line["discount_amounts"])
        list_excl, discount_excl = split_line(line["amount_minor"], line["discount_minor"], line["net_minor"])
        if "trialing" in tags and not line["amount_minor"] and gross_amount(plan, line["quantity"]):
            # a trial bills $0 for its price: the trialing span is the price's (counted only with trials_count),
            # as the live subscription's trial piece is
            share = self.net_share(plan, None, line)
            full = gross_amount(plan, line["quantity"])
            list_excl = int(round(full * share)) if share else int(round(full))
        self.piece(segment_id=segment_id, source_type="invoice_line", source_id=line["id"], amount_minor=list_excl,
                   series=series, tags=tags, detail=detail, **common)
        remaining = discount_excl
        for index, entry in enumerate(discounts):
            share = remaining if index == len(discounts) - 1 else (
                round(Fraction(discount_excl * entry["amount"], line["discount_minor"])) if line["discount_minor"] else 0)
            remaining -= share
            discount = self.discounts.get(entry["discount"]) or {}
            self.piece(segment_id=f"line_discount:{invoice['id']}:{line['id']}:{index}", source_type="discount",
                       source_id=entry["discount"] or "", amount_minor=-share, series=series,
                       tags=[*tags, "discount", f"discount:{discount.get('duration') or 'unknown'}"],
                       detail={"parent": segment_id, "discount": entry["discount"], "coupon": discount.get("coupon_id"),
                               "invoice_line": line["id"]}, **common)

    def stops(self, subscription: Mapping[str, Any]) -> str | None:
        """The day a subscription stopped counting on the subscription basis: when it ended
        (canceled at once: churn then, not at the billed period's end) or became unpaid."""
        days = []
        if subscription.get("status") in ENDED_STATUSES:
            end = subscription.get("ended_at") or subscription.get("canceled_at")
            days.append(_day(end) if end else None)
        if subscription.get("status") == "unpaid" or (
                subscription.get("status") in ENDED_STATUSES and any(
                    c["subscription_id"] == subscription["id"] and c.get("status") == "unpaid" for c in self.changes)):
            days.append(self.unpaid_since(subscription))
        known = [d for d in days if d is not None]
        return min(known).isoformat() if known else None

    def net_share(self, plan: Mapping[str, Any], item: Mapping[str, Any] | None,
                  line: Mapping[str, Any] | None = None) -> Fraction | None:
        """The share of a price's amount that is not tax (None: all of it, or unknown).

        One answer per price and item, whatever piece asks (live item, proration
        line), so a change of source never moves MRR by a rounding cent:

        1. an ``exclusive`` price carries no tax;
        2. inclusive tax rates on the item (else the subscription's defaults), whatever the
           price's ``tax_behavior`` says (``unspecified`` with an inclusive rate is inclusive);
        3. else the latest recurring invoice line of the price (same item first) that
           carried inclusive tax (for an ``inclusive`` price, any line): its net ÷ billed;
        4. else, for a proration line, the line itself.
        """
        if plan.get("tax_behavior") == "exclusive":
            return None
        if item is None and line is not None:
            item = next((i for i in self.items if i["id"] == line["subscription_item_id"]), None)
        rates = _json_list((item or {}).get("tax_rates"))
        subscription_id = (item or line or {}).get("subscription_id")
        if not rates and subscription_id:
            rates = _json_list((self.subscriptions.get(subscription_id) or {}).get("tax_rates"))
        share = inclusive_tax_share(rates)
        if share is not None:
            return share
        inclusive_price = plan.get("tax_behavior") == "inclusive"
        item_id = (item or {}).get("id")
        evidence = [x for x in self.lines if x["kind"] == "recurring" and x["plan_id"] == plan.get("id")
                    and x["amount_minor"] - x["discount_minor"] and (inclusive_price or x["tax_inclusive_minor"])]
        evidence.sort(key=lambda x: (x["subscription_item_id"] == item_id, x["period_start_at"] or 0, x["id"]),
                      reverse=True)
        for known in [*evidence, *([line] if line is not None else [])]:
            billed = known["amount_minor"] - known["discount_minor"]
            if billed and (inclusive_price or known["tax_inclusive_minor"]):
                return Fraction(known["net_minor"], billed)
        return None
