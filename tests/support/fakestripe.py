"""A request-level fake of Stripe's list semantics for `responses`.

Newest first, `limit`, `starting_after`, `created[gte|lt|gt|lte]`, nested
lists, detail endpoints and events — enough to drive the sync exactly, with
hooks to inject failures per request. Every request is recorded.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from urllib.parse import parse_qs, urlparse

import responses

BASE = "https://fake-stripe.test"

PATHS = {
    "customers": "/v1/customers", "products": "/v1/products", "prices": "/v1/prices", "plans": "/v1/plans",
    "coupons": "/v1/coupons", "promotion_codes": "/v1/promotion_codes", "subscriptions": "/v1/subscriptions",
    "invoices": "/v1/invoices", "invoice_items": "/v1/invoiceitems", "credit_notes": "/v1/credit_notes",
    "charges": "/v1/charges", "refunds": "/v1/refunds",
}


class FakeStripe:
    def __init__(self, objects: dict[str, list[dict]] | None = None, account_id: str = "acct_fake"):
        self.objects: dict[str, dict[str, dict]] = defaultdict(dict)
        for stream, items in (objects or {}).items():
            for obj in items:
                self.objects[stream][obj["id"]] = obj
        self.account_id = account_id
        self.events: list[dict] = []
        self.calls: list[tuple[str, dict]] = []
        # (path regex, callable(params) -> (status, headers, body) | None) consulted first
        self.faults: list = []

    # ---- helpers for tests ------------------------------------------------
    def cursors(self, path: str) -> list:
        return [p.get("starting_after") for (pth, p) in self.calls if pth == path]

    def add_event(self, event_type: str, obj: dict, created: int) -> None:
        self.events.append(
            {"id": f"evt_{len(self.events) + 1:06d}", "object": "event", "type": event_type,
             "created": created, "data": {"object": obj}}
        )

    # ---- routing -----------------------------------------------------------
    def install(self, rsps: responses.RequestsMock) -> None:
        rsps.add_callback(responses.GET, re.compile(re.escape(BASE) + r"/v1/.*"), callback=lambda r: self.handle(r.url))

    def handle(self, address: str) -> tuple[int, dict[str, str], str]:
        """The answer to a GET of ``address``: (status, headers, body), whatever the transport."""
        url = urlparse(address)
        params = {k: v[-1] for k, v in parse_qs(url.query).items()}
        self.calls.append((url.path, params))
        for pattern, fault in self.faults:
            if re.fullmatch(pattern, url.path):
                result = fault(params)
                if result is not None:
                    return result
        if url.path == "/v1/account":
            return self.reply({"id": self.account_id, "object": "account"})
        if url.path == "/v1/events":
            return self.page(sorted(self.events, key=lambda e: (e["created"], e.get("id", "")), reverse=True), params, "/v1/events")
        if url.path == "/v1/subscription_items":
            sub = self.objects["subscriptions"][params["subscription"]]
            return self.page(sub["_all_items"], params, url.path)
        if url.path == "/v1/invoice_payments":
            return self.page(self.objects["invoices"][params["invoice"]].get("_all_payments", []), params, url.path)
        match = re.fullmatch(r"/v1/invoices/([^/]+)/lines", url.path)
        if match:
            return self.page(self.objects["invoices"][match.group(1)]["_all_lines"], params, url.path)
        for stream, path in PATHS.items():
            if url.path == path:
                # newest first by creation time: `created`, or an invoice item's `date`
                items = sorted(self.objects[stream].values(), key=lambda o: (o.get("created", o.get("date")), o["id"]),
                               reverse=True)
                return self.page([self.public(o) for o in items], params, path)
            if url.path.startswith(path + "/"):
                obj = self.objects[stream].get(url.path[len(path) + 1:])
                if obj is None:
                    return self.error(404, "resource_missing", "No such object")
                return self.reply(self.public(obj))
        return self.error(404, "resource_missing", "Unrecognized request URL")

    def public(self, obj: dict) -> dict:
        """The object as Stripe shows it: without the fake's own ``_`` fields."""
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def page(self, items: list[dict], params: dict, path: str):
        """One list page of ``items`` (newest first) as Stripe pages them for these ``params``."""
        # `created` filters the objects' creation time: `created`, or an invoice item's `date`
        field = "created" if items and "created" in items[0] else "date"
        for op, fn in (("gte", lambda c, v: c >= v), ("gt", lambda c, v: c > v), ("lt", lambda c, v: c < v), ("lte", lambda c, v: c <= v)):
            key = f"created[{op}]"
            if key in params:
                items = [o for o in items if fn(o[field], int(params[key]))] if items and field in items[0] else items
        if "starting_after" in params:
            ids = [o.get("id") for o in items]
            if params["starting_after"] not in ids:
                return self.error(400, "resource_missing", "No such object", param="starting_after")
            items = items[ids.index(params["starting_after"]) + 1:]
        limit = int(params.get("limit", 10))
        page = items[:limit]
        return self.reply({"object": "list", "data": page, "has_more": len(items) > limit, "url": path})

    @staticmethod
    def reply(body, status=200, headers=None):
        return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body)

    def error(self, status, code, message, param=None, headers=None):
        error = {"type": "invalid_request_error", "code": code, "message": message}
        if param:
            error["param"] = param
        return self.reply({"error": error}, status, headers)


def customer(n: int, created: int) -> dict:
    return {"id": f"cus_{n:05d}", "object": "customer", "created": created, "livemode": False, "email": f"c{n}@example.com"}


def subscription(n: int, created: int, customer_id: str, n_items: int) -> dict:
    items = [
        {"id": f"si_{n:05d}_{i:02d}", "object": "subscription_item", "created": created, "subscription": f"sub_{n:05d}",
         "price": {"id": "price_1", "object": "price"}, "quantity": 1}
        for i in range(n_items)
    ]
    url = f"/v1/subscription_items?subscription=sub_{n:05d}"
    return {
        "id": f"sub_{n:05d}", "object": "subscription", "created": created, "customer": customer_id, "status": "active",
        "livemode": False, "items": {"object": "list", "data": items[:10], "has_more": n_items > 10, "url": url},
        "_all_items": items,
    }


def invoice(n: int, created: int, customer_id: str, n_lines: int) -> dict:
    lines = [
        {"id": f"il_{n:05d}_{i:02d}", "object": "line_item", "invoice": f"in_{n:05d}", "amount": 100, "currency": "usd",
         "period": {"start": created, "end": created + 2592000}}
        for i in range(n_lines)
    ]
    return {
        "id": f"in_{n:05d}", "object": "invoice", "created": created, "customer": customer_id, "status": "paid",
        "currency": "usd", "total": 100 * n_lines, "livemode": False,
        "lines": {"object": "list", "data": lines[:10], "has_more": n_lines > 10, "url": f"/v1/invoices/in_{n:05d}/lines"},
        "_all_lines": lines,
    }


def small_account(customers: int = 25, start: int = 1_600_000_000, step: int = 3600) -> FakeStripe:
    custs = [customer(i, start + i * step) for i in range(customers)]
    subs = [subscription(i, start + i * step + 1, custs[i]["id"], 12 if i == 3 else 1 + i % 3) for i in range(customers)]
    invs = [invoice(i, start + i * step + 2, custs[i]["id"], 14 if i == 5 else 1 + i % 4) for i in range(customers)]
    return FakeStripe({"customers": custs, "subscriptions": subs, "invoices": invs})
