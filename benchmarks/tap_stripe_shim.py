"""Run Singer's tap-stripe (from PyPI, in a venv of its own) against a Stripe-like server.

    python3 -m venv /tmp/tap-stripe-venv && /tmp/tap-stripe-venv/bin/pip install tap-stripe
    STRIPE_API_BASE=http://127.0.0.1:PORT /tmp/tap-stripe-venv/bin/python benchmarks/tap_stripe_shim.py \\
        --config config.json --catalog catalog.json > records.jsonl

``benchmarks/sync_throughput.py --compare-tap-stripe PYTHON`` runs it for you, beside this
connector's sync on the same account. Run by the tap's interpreter, not ours (the tap pins an old
``stripe`` SDK). What is changed in the tap, and why — nothing that makes it page faster or slower:

* the SDK's ``api_base`` is the server's address (the tap has no setting for it);
* the tap's request timer reads the stream's name from an ``api.stripe.com`` URL and fails on any
  other host: it is left out;
* its start-up check reads ``/v1/accounts/{id}`` for a dashboard name: answered here;
* it pins API 2022-11-15 and expands ``plan.tiers`` on subscriptions, invoice items and invoice
  lines; the demo serves today's version only, where those carry no ``plan`` (Stripe would answer
  the tap in its pinned version): those three expansions are dropped, the others (a charge's
  refunds, a customer's sources, subscriptions and tax ids, a plan's tiers) are kept.
"""

from __future__ import annotations

import os
import sys

import stripe
import tap_stripe

stripe.api_base = os.environ["STRIPE_API_BASE"]
tap_stripe.apply_request_timer_to_client = lambda client: None


def _account(*_args, **_kwargs):
    return stripe.util.convert_to_stripe_object(
        {"id": "acct_benchmark", "object": "account", "settings": {"dashboard": {"display_name": "demo"}}})


stripe.Account.retrieve = staticmethod(_account)
for _stream in ("subscriptions", "invoice_items", "invoice_line_items"):
    tap_stripe.STREAM_TO_EXPAND_FIELDS[_stream] = []

if __name__ == "__main__":
    sys.argv[0] = "tap-stripe"
    tap_stripe.main()
