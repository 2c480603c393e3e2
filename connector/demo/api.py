"""What the demo server answers, independent of HTTP plumbing: Stripe's API semantics.

``DemoApi.handle(method, path, params, key)`` returns ``(status, headers, body bytes)``.
Routes (``{id}`` any id; lists newest first, ``limit`` 1..100 default 10,
``starting_after``/``ending_before``, ``created`` filters, ``expand[]``):

    GET    /v1/account
    GET    /v1/test_helpers/test_clocks[/{id}]        (the account's one clock)
    GET    /v1/{customers,products,prices,plans,coupons,promotion_codes,subscriptions,
               invoices,invoice_payments,invoiceitems,credit_notes,charges,refunds,events}[/{id}]
    GET    /v1/subscription_items?subscription=sub_x   (required; items in subscription order)
    GET    /v1/subscription_items/{id}
    GET    /v1/invoices/{id}/lines                     (lines in invoice order)
    POST   /v1/customers, /v1/customers/{id}, /v1/subscriptions/{id}, /v1/refunds
    POST   /v1/prices, /v1/coupons, /v1/tax_rates, /v1/subscriptions, /v1/subscription_schedules[/{id}]
    GET    /v1/tax_rates/{id}, /v1/subscription_schedules/{id}   (live.py: billing as the clock moves)
    DELETE /v1/customers/{id}, /v1/subscriptions/{id}, /v1/coupons/{id}

``/v1/subscriptions`` lists every status but ``canceled`` and ``incomplete_expired``
unless ``status`` says otherwise (``status=all`` lists all). ``/v1/events`` serves
the last 30 days only and filters by ``type`` (``*`` wildcard) or ``types[]``.
Deleted customers, coupons and products answer detail with ``{"id", "object",
"deleted": true}``. ``expand[]`` works as on Stripe for every reference the demo
holds (``expansion.py``: ``data.`` first on lists, nested paths, at most four levels,
400 for a property that cannot be expanded); ``items`` and ``lines`` are always
embedded (ten entries, ``has_more``). Tiered prices carry ``tiers`` only when it is
expanded, as on Stripe; an invoice's ``payments`` (its invoice payments) only when
``payments`` is expanded.
"""

from __future__ import annotations

import json
import re

from .account import FILTER_FIELDS
from .billing import EMBEDDED_LIST_LIMIT, embedded_list
from .expansion import Expander, collapse_references
from .events import RETENTION_SECONDS
from .ids import DAY
from .listing import MissingCursor, dumps, list_body
from .mutations import DemoRequestError, missing
from .unmodelled import stripe_object

PATH_STREAMS = {
    "customers": "customers", "products": "products", "prices": "prices", "plans": "plans",
    "coupons": "coupons", "promotion_codes": "promotion_codes", "subscriptions": "subscriptions",
    "subscription_items": "subscription_items", "invoices": "invoices", "invoiceitems": "invoice_items",
    "credit_notes": "credit_notes", "charges": "charges", "refunds": "refunds", "events": "events",
    "invoice_payments": "invoice_payments",
}
OBJECT_NAMES = {
    "customers": "customer", "products": "product", "prices": "price", "plans": "plan", "coupons": "coupon",
    "promotion_codes": "promotion_code", "subscriptions": "subscription",
    "subscription_items": "subscription_item", "invoices": "invoice", "invoice_items": "invoiceitem",
    "credit_notes": "credit_note", "charges": "charge", "refunds": "refund", "events": "event",
    "invoice_line_items": "line_item", "invoice_payments": "invoice_payment",
}
PERMISSIONS = {
    "customers": "rak_customer_read", "products": "rak_product_read", "prices": "rak_price_read",
    "plans": "rak_plan_read", "coupons": "rak_coupon_read", "promotion_codes": "rak_promotion_code_read",
    "subscriptions": "rak_subscription_read", "subscription_items": "rak_subscription_read",
    "invoices": "rak_invoice_read", "invoice_line_items": "rak_invoice_read", "invoice_items": "rak_invoice_read",
    "credit_notes": "rak_credit_note_read", "charges": "rak_charge_read", "refunds": "rak_refund_read",
    "events": "rak_event_read", "invoice_payments": "rak_invoice_read",
}
KEY_PREFIXES = ("sk_test_", "rk_test_", "sk_live_", "rk_live_")
_ROUTE = re.compile(r"^/v1/(?P<collection>[a-z_]+)(?:/(?P<id>[^/]+))?(?P<lines>/lines)?/?$")
_HIDDEN_STATUSES = {"canceled", "incomplete_expired"}
_LIVE_COLLECTIONS = ("tax_rates", "subscription_schedules")


def mask_key(key: str) -> str:
    """Stripe's way of naming a key in an error: its ``xx_mode_`` prefix, stars, the last four characters."""
    parts = key.split("_")
    prefix = "_".join(parts[:2]) + "_" if len(parts) > 2 else ""
    if len(key) - len(prefix) <= 8:
        return prefix + "****"
    return f"{prefix}****{key[-4:]}"


def error_body(status: int, message: str, error_type: str = "invalid_request_error", **extra) -> tuple:
    return status, {}, json.dumps({"error": {"type": error_type, "message": message, **extra}}).encode()


def endpoint_of(method: str, path: str) -> str:
    """The path template a request counts under in the stats (ids replaced by ``{id}``)."""
    match = _ROUTE.match(path)
    if not match:
        return f"{method} {path}"
    template = f"/v1/{match['collection']}" + ("/{id}" if match["id"] else "") + ("/lines" if match["lines"] else "")
    return f"{method} {template}"


class DemoApi:
    def __init__(self, account, realism):
        self.account = account
        self.realism = realism
        self._refund_ids: tuple[int, dict[str, list[str]]] = (-1, {})   # (refunds then, ids by charge)

    # -- entry point ------------------------------------------------------------------------
    def authenticate(self, key: str | None) -> tuple | None:
        """None when the key is acceptable, else the 401 answer."""
        if not key:
            return error_body(401, "You did not provide an API key. You need to provide your API key in the "
                                   "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                                   "YOUR_SECRET_KEY').")
        if not key.startswith(KEY_PREFIXES):
            return error_body(401, f"Invalid API Key provided: {mask_key(key)}")
        return None

    def handle(self, method: str, path: str, params: dict, key: str) -> tuple:
        try:
            status, body = self._route(method, path, params, key)
        except DemoRequestError as error:
            return error.status, {}, json.dumps(error.body).encode()
        if "_live_" in key:
            body = body.replace(b'"livemode":false', b'"livemode":true')
        return status, {}, body

    def page_number(self, path: str, params: dict) -> int | None:
        """Which page of a list this request asks for (1 without a cursor), for fault rules."""
        match = _ROUTE.match(path)
        cursor = params.get("starting_after")
        if not match or match["id"] or not isinstance(cursor, str):
            return None if match is None or match["id"] else 1
        stream = PATH_STREAMS.get(match["collection"])
        try:
            limit = max(1, min(100, int(params.get("limit", 10))))
        except (TypeError, ValueError):
            return None
        index = self.account.indexes.get(stream)
        with self.account.lock:
            if index is None or cursor not in index.created:
                return None
            position = len(index.keys) - 1 - index._position(cursor)
        return (position + 1) // limit + 1

    def _route(self, method: str, path: str, params: dict, key: str) -> tuple[int, bytes]:
        if path.rstrip("/") == "/v1/account" and method == "GET":
            return 200, dumps(self._account_object())
        if path.startswith("/v1/test_helpers/test_clocks") and method == "GET":
            return 200, self._test_clocks(path, params)
        match = _ROUTE.match(path)
        if match and match["collection"] in _LIVE_COLLECTIONS and not match["lines"]:
            return 200, dumps(self._mutate(method, match["collection"], match["id"], params))
        stream = PATH_STREAMS.get(match["collection"]) if match else None
        if stream is None:
            raise DemoRequestError(404, f"Unrecognized request URL ({method}: {path}). Please see "
                                        "https://stripe.com/docs or we can help at https://support.stripe.com/.")
        object_id = match["id"]
        checked_stream = "invoice_line_items" if match["lines"] else stream
        if checked_stream in self.realism.knobs.forbidden_streams:
            raise DemoRequestError(
                403, f"The provided key '{mask_key(key)}' does not have the required permissions for this "
                     f"endpoint on account '{self.account.account_id}'. Having the "
                     f"'{PERMISSIONS[checked_stream]}' permission would allow this request to continue.")
        if method == "GET":
            if match["lines"]:
                return 200, self._invoice_lines(object_id, params)
            if object_id:
                return 200, self._detail(stream, object_id, params)
            return 200, self._list(stream, params, path)
        return 200, dumps(self._mutate(method, stream, object_id, params))

    def _test_clocks(self, path: str, params: dict) -> bytes:
        """The account's one test clock: its list and its detail."""
        clock = self.account.catalog.test_clock
        clock_id = path.rstrip("/")[len("/v1/test_helpers/test_clocks/"):] if path.count("/") > 3 else None
        if clock_id is not None:
            if clock_id != clock["id"]:
                raise missing("test_helpers.test_clock", clock_id)
            return dumps(clock)
        self._limit(params)
        after, _ = self._cursors(params)
        if after and after != clock["id"]:
            raise DemoRequestError(400, f"No such object: '{after}'", code="resource_missing", param="starting_after")
        return list_body([] if after else [dumps(clock)], False, "/v1/test_helpers/test_clocks")

    def _mutate(self, method: str, stream: str, object_id: str | None, params: dict) -> dict:
        account = self.account
        table = {
            ("POST", "customers", False): lambda: account.create_customer(params),
            ("POST", "prices", False): lambda: account.create_price(params),
            ("POST", "coupons", False): lambda: account.create_coupon(params),
            ("POST", "subscriptions", False): lambda: account.create_subscription(params),
            ("POST", "customers", True): lambda: account.update_customer(object_id, params),
            ("DELETE", "customers", True): lambda: account.delete_customer(object_id),
            ("POST", "subscriptions", True): lambda: account.update_subscription(object_id, params),
            ("DELETE", "subscriptions", True): lambda: account.cancel_subscription(object_id),
            ("POST", "refunds", False): lambda: account.create_refund(params),
            ("DELETE", "coupons", True): lambda: account.delete_coupon(object_id),
            # made through the API and read by id only (live.py)
            ("GET", "tax_rates", True): lambda: account.tax_rate(object_id),
            ("POST", "tax_rates", False): lambda: account.create_tax_rate(params),
            ("GET", "subscription_schedules", True): lambda: account.schedule_object(object_id),
            ("POST", "subscription_schedules", False): lambda: account.create_subscription_schedule(params),
            ("POST", "subscription_schedules", True): lambda: account.update_subscription_schedule(object_id, params),
        }
        action = table.get((method, stream, bool(object_id)))
        if action is None:
            raise DemoRequestError(404, f"Unrecognized request URL ({method}: /v1/{stream}). The demo server "
                                        "supports GET on every stream and a few mutations (see its docs).")
        with account.lock:
            return self._expand([action()], params.get("expand") or [])[0]

    def _account_object(self) -> dict:
        return stripe_object("account", {
            "id": self.account.account_id, "object": "account",
            "business_profile": stripe_object("account.business_profile",
                                              {"name": "Demo SaaS Inc.", "url": "https://demo-saas.example"}),
            "business_type": "company", "charges_enabled": True, "country": "US",
            "created": self.account.now - 1125 * DAY, "default_currency": "usd", "details_submitted": True,
            "email": "billing@demo-saas.example", "external_accounts": {
                "object": "list", "data": [], "has_more": False,
                "url": f"/v1/accounts/{self.account.account_id}/external_accounts"},
            "metadata": {}, "payouts_enabled": True, "type": "standard",
        })

    # -- reading ------------------------------------------------------------------------------
    @staticmethod
    def _limit(params: dict) -> int:
        raw = params.get("limit", 10)
        try:
            limit = int(raw)
        except (TypeError, ValueError):
            raise DemoRequestError(400, f"Invalid integer: {raw}", param="limit") from None
        if not 1 <= limit <= 100:
            raise DemoRequestError(400, "This value must be greater than or equal to 1 and less than or equal "
                                        "to 100.", param="limit")
        return limit

    @staticmethod
    def _cursors(params: dict) -> tuple[str | None, str | None]:
        after, before = params.get("starting_after"), params.get("ending_before")
        if after and before:
            raise DemoRequestError(400, "You may only specify one of these parameters: ending_before, "
                                        "starting_after.", param="starting_after")
        return after or None, before or None

    @staticmethod
    def _created_filter(value) -> dict:
        if value is None or value == "":
            return {}
        spec = value if isinstance(value, dict) else {"eq": value}
        for operator, bound in spec.items():
            if operator not in ("gt", "gte", "lt", "lte", "eq") or not str(bound).lstrip("-").isdigit():
                raise DemoRequestError(400, f"Invalid created[{operator}]: must be an integer Unix timestamp",
                                       param="created")
        return spec

    def _matcher(self, stream: str, params: dict):
        """A test on an object's attribute tuple for the list's filters, or None for no filter."""
        position = {name: index for index, name in enumerate(FILTER_FIELDS.get(stream, ()))}
        tests = []
        for name, index in position.items():
            wanted = params.get(name)
            if wanted is None or (stream == "subscriptions" and name == "status"):
                continue
            if stream == "events" and name == "type" and wanted.endswith("*"):
                prefix = wanted[:-1]
                tests.append(lambda a, index=index, prefix=prefix: (a[index] or "").startswith(prefix))
            else:
                tests.append(lambda a, index=index, wanted=wanted: a[index] == wanted)
        if stream == "events" and params.get("types"):
            wanted_types = set(params["types"])
            tests.append(lambda a: a[position["type"]] in wanted_types)
        if "test_clock" in position and params.get("test_clock") is None and (
                stream == "customers" or params.get("customer") is None):
            # Stripe leaves a test clock's objects out unless the list names the clock (or the customer).
            tests.append(lambda a, index=position["test_clock"]: a[index] is None)
        if stream == "subscriptions":
            status, index = params.get("status"), position["status"]
            if status is None:
                tests.append(lambda a: a[index] not in _HIDDEN_STATUSES)
            elif status != "all":
                tests.append(lambda a: a[index] == status)
        if not tests:
            return None
        return lambda attributes: all(test(attributes) for test in tests)

    def _list(self, stream: str, params: dict, path: str) -> bytes:
        limit = self._limit(params)
        after, before = self._cursors(params)
        expand = params.get("expand") or []
        if stream == "subscription_items":
            subscription_id = params.get("subscription")
            if not subscription_id:
                raise DemoRequestError(400, "Missing required param: subscription.", code="parameter_missing",
                                       param="subscription")
            with self.account.lock:
                items = self.account.item_lists.get(subscription_id)
                if items is None:
                    raise missing("subscription", subscription_id, "subscription")
                payloads, has_more = self._page_or_400(items.page, limit, after, before)
            return list_body(self._expand_payloads(payloads, expand, is_list=True), has_more, path)
        created = self._created_filter(params.get("created"))
        if stream == "events":
            floor = self.account.clock - RETENTION_SECONDS  # Stripe's retention: older events are gone
            created = dict(created)
            created["gte"] = max(int(created.get("gte", floor)), floor)
        index = self.account.indexes[stream]
        matches = self._matcher(stream, params)
        with self.account.lock:
            payloads, has_more = self._page_or_400(index.page, limit, after, before, created, matches)
            payloads = [self.account.render(stream, p) for p in payloads]
        return list_body(self._expand_payloads(payloads, expand, is_list=True), has_more, path)

    @staticmethod
    def _page_or_400(page, *args):
        try:
            return page(*args)
        except MissingCursor as error:
            cursor = error.args[0]
            param = "ending_before" if len(args) > 2 and args[2] == cursor else "starting_after"
            raise DemoRequestError(400, f"No such object: '{cursor}'", code="resource_missing",
                                   param=param) from None

    def _invoice_lines(self, invoice_id: str, params: dict) -> bytes:
        limit = self._limit(params)
        after, before = self._cursors(params)
        with self.account.lock:
            lines = self.account.line_lists.get(invoice_id)
            if lines is None:
                raise missing("invoice", invoice_id)
            payloads, has_more = self._page_or_400(lines.page, limit, after, before)
        payloads = self._expand_payloads(payloads, params.get("expand") or [], is_list=True)
        return list_body(payloads, has_more, f"/v1/invoices/{invoice_id}/lines")

    def _detail(self, stream: str, object_id: str, params: dict) -> bytes:
        payload = self.account.payload(stream, object_id)
        if payload is None:
            stub = self.account.deleted.get(object_id)
            if stub is not None and stub["object"] == OBJECT_NAMES[stream]:
                return dumps(stub)
            if stream == "events":
                raise DemoRequestError(404, f"No such event: '{object_id}'", code="resource_missing", param="id")
            raise missing(OBJECT_NAMES[stream], object_id)
        return self._expand_payloads([payload], params.get("expand") or [])[0]

    # -- expansions (expansion.py) --------------------------------------------------------------
    def _expand_payloads(self, payloads: list[bytes], expand: list[str], *, is_list: bool = False) -> list[bytes]:
        """Served bytes with the request's expansions applied (``data.`` first on lists)."""
        if not expand or not payloads:
            return payloads
        return [dumps(obj) for obj in self._expand([json.loads(p) for p in payloads], expand, is_list=is_list)]

    def _expand(self, objects: list[dict], expand: list[str], *, is_list: bool = False) -> list[dict]:
        return Expander(self._object, self._included).expand(objects, list(expand), is_list=is_list)

    def _object(self, collection: str, object_id: str) -> dict | None:
        """The object an id names, as its detail read serves it; a deleted one's stub."""
        account = self.account
        if collection == "subscription_schedules":
            return account.schedule_object(object_id) if object_id in account.schedules else None
        if collection == "discounts":
            discount = account.discounts.get(object_id)
            return collapse_references(discount) if discount is not None else None
        if collection == "coupons":
            coupon = next((c for c in account.catalog.coupons if c["id"] == object_id), None)
            if coupon is not None and object_id in account.deleted:
                # a deleted coupon is no longer listed, but the discounts that carry it still expand it
                return {**coupon, "valid": False}
        payload = account.payload(collection, object_id)
        if payload is not None:
            return json.loads(payload)
        return account.deleted.get(object_id)

    def _included(self, kind: str, holder: dict):
        if kind == "tiers":
            return self.account.tiers.get(holder["id"])
        if kind == "payments":
            return self._invoice_payments(holder["id"])
        if kind == "refunds":
            return self._charge_refunds(holder["id"])
        if kind == "subscriptions":
            return self._customer_subscriptions(holder["id"])
        if kind in ("sources", "tax_ids"):   # the demo's customers pay by payment method and have no tax ids
            return embedded_list([], f"/v1/customers/{holder['id']}/{kind}")
        raise KeyError(f"no includable field {kind!r} in the demo account")

    def _charge_refunds(self, charge_id: str) -> dict:
        """A charge's ``refunds`` when included: its ten most recent refunds (Stripe lists newest first)."""
        index = self.account.indexes["refunds"]
        with self.account.lock:
            by_charge = self._refunds_by_charge(index)
            refunds = [json.loads(index.payload[r]) for r in by_charge.get(charge_id, [])]
        return embedded_list(refunds, f"/v1/charges/{charge_id}/refunds")

    def _customer_subscriptions(self, customer_id: str) -> dict:
        """A customer's ``subscriptions`` when included: the first page of its subscriptions as the
        subscription list gives them by default (canceled ones left out), ten at most."""
        matches = self._matcher("subscriptions", {"customer": customer_id})
        with self.account.lock:   # one more than embedded: whether there are more
            payloads, _ = self.account.indexes["subscriptions"].page(EMBEDDED_LIST_LIMIT + 1, None, None, {}, matches)
        return embedded_list([json.loads(p) for p in payloads], f"/v1/customers/{customer_id}/subscriptions")

    def _refunds_by_charge(self, index) -> dict[str, list[str]]:
        """Each charge's refund ids, newest first: built again only when the refunds changed in number
        (a refund is only ever added), not once for every charge of a page."""
        cached = self._refund_ids
        if cached[0] != len(index):
            by_charge: dict[str, list[str]] = {}
            charge_at = FILTER_FIELDS["refunds"].index("charge")
            for _created, refund_id in reversed(index.keys):
                by_charge.setdefault(index.attributes[refund_id][charge_at], []).append(refund_id)
            self._refund_ids = cached = (len(index), by_charge)
        return cached[1]

    def _invoice_payments(self, invoice_id: str) -> dict:
        """An invoice's ``payments`` when included: its first ten invoice payments, as Stripe embeds lists."""
        index = self.account.indexes["invoice_payments"]
        payments = [json.loads(index.payload[p]) for p in self.account.payment_ids.get(invoice_id, [])]
        return embedded_list(payments, f"/v1/invoice_payments?invoice={invoice_id}")
