"""A refund reaches its invoice only through invoice payments, as on Stripe since 2025-03-31.basil.

The demo server sends charges without ``invoice`` and invoices without ``charge``
or ``payments`` unless expanded. A full refund created after the first sync
(POST /v1/refunds, then the events pass) must make that period unpaid, and the
incrementally-synced store must hold the same facts as a fresh full sync.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import requests

from connector.http import RateLimiter
from connector.refresh import refresh_after_sync
from connector.mrr.policy import load_policy
from connector.providers.stripe import StripeProvider
from connector.store import open_store
from connector.sync import run_sync
from connector.demo import server as demo_server
from tests.support.store_checks import snapshot
from tests.support.keys import CANARY_KEY

POLICY = load_policy("default")


def _sync(path, server, **kwargs):
    provider = StripeProvider(CANARY_KEY, api_base=server.url, limiter=RateLimiter(500))
    store = open_store(path)
    if store.account() is None:
        store.bind_account(provider.identify())
    report = run_sync(store, provider, streams=list(provider.streams), workers=8, **kwargs)
    assert report.failures == {}
    refresh_after_sync(store, POLICY)
    return store, report


def _month(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m")


def _a_paid_period_to_refund(store):
    """(invoice, charge, customer, month) of a paid monthly period of a one-subscription customer,
    linked to its charge by nothing but its invoice payment."""
    rows = store.db.execute(
        "select i.id, c.id, i.customer, l.period_start_at, l.period_end_at from invoices i "
        "join invoice_payments p on p.invoice = i.id and p.status = 'paid' "
        "join charges c on json_extract(c.data, '$.payment_intent') = p.payment_intent and c.status = 'succeeded' and c.amount_refunded = 0 "
        "join billing_invoice_lines l on l.invoice_id = i.id and l.kind = 'recurring' "
        "where i.status = 'paid' and i.amount_paid > 0 and i.customer in "
        "  (select customer from subscriptions group by customer having count(*) = 1) "
        "and not exists (select 1 from credit_notes n where n.invoice = i.id) "
        "and l.period_end_at - l.period_start_at between 28 * 86400 and 31 * 86400 "
        "and l.period_end_at < strftime('%s', 'now') - 40 * 86400 "
        "order by i.created desc, i.id"
    ).fetchall()
    invoice_id, charge_id, customer_id, start, end = rows[0]
    charge = json.loads(store.db.execute("select data from charges where id = ?", [charge_id]).fetchone()[0])
    assert "invoice" not in charge
    invoice = json.loads(store.db.execute("select data from invoices where id = ?", [invoice_id]).fetchone()[0])
    assert "charge" not in invoice and "payment_intent" not in invoice
    # the month whose last day the refunded period covers
    month = _month(end - 86400) if _month(end - 86400) == _month(start) else _month(start)
    return invoice_id, charge_id, customer_id, month


def _customer_month(store, customer_id, month):
    row = store.db.execute("select mrr_minor from mrr_customer_months where _deleted = 0 and customer_id = ? "
                           "and month = ?", [customer_id, month]).fetchone()
    return row[0] if row else 0


def _derived(path):
    return {name: rows for name, rows in snapshot(path).items() if name.startswith(("billing_", "mrr_"))}


def test_a_full_refund_found_through_invoice_payments_makes_its_period_unpaid(tmp_path):
    with demo_server.DemoServer(customers=40, seed=3) as server:
        store, _ = _sync(tmp_path / "incremental.db", server)
        assert store.db.execute("select count(*) from invoice_payments").fetchone()[0] > 0
        invoice_id, charge_id, customer_id, month = _a_paid_period_to_refund(store)
        paid_mrr = _customer_month(store, customer_id, month)
        assert paid_mrr > 0

        response = requests.post(f"{server.url}/v1/refunds", data={"charge": charge_id},
                                 headers={"Authorization": f"Bearer {CANARY_KEY}"}, timeout=10)
        assert response.status_code == 200
        refund_id = response.json()["id"]
        # The sync stays 60 s behind now; step its clock past that instead of waiting.
        store, report = _sync(tmp_path / "incremental.db", server, clock=lambda: time.time() + 120)
        assert report.full_reads == []

        assert store.db.execute("select invoice_id, amount_minor from billing_refunds where id = ?",
                                [refund_id]).fetchone() == (invoice_id, json.loads(response.content)["amount"])
        assert _customer_month(store, customer_id, month) == 0
        store.close()

        fresh, _ = _sync(tmp_path / "full.db", server, clock=lambda: time.time() + 120)
        assert _customer_month(fresh, customer_id, month) == 0
        fresh.close()
    incremental, full = _derived(tmp_path / "incremental.db"), _derived(tmp_path / "full.db")
    assert incremental.keys() == full.keys() and "mrr_customer_months" in full
    for name in full:
        assert incremental[name] == full[name], name
