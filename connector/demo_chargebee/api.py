"""What the fake Chargebee site answers, independent of HTTP: Chargebee API v2 list and retrieve semantics.

``SiteApi(site).handle(path, params)`` returns ``(status, body dict)``. Routes,
under ``/api/v2``: ``GET /configurations``; ``GET /{stream}`` and
``GET /{stream}/{id}`` for every stream of the catalog (and ``/events``).

Lists, as Chargebee documents them: ``limit`` 1..100 (default 10); ``offset``
is the opaque ``next_offset`` of the previous page (here a JSON array of the
last sort value and id, as Chargebee's own offsets look); ``sort_by[asc|desc]``
only on the attributes the list supports (400 otherwise); filters
``<attr>[is|is_not|in|not_in|after|before|on|between]`` on the attributes the
catalog declares (``updated_at``, ``created_at``, ``date``, ``occurred_at``,
``status``, ``event_type``, ``id``, ``customer_id``, ``subscription_id``);
``include_deleted=true`` only where the list accepts it, otherwise deleted
records are left out. Records with no ``updated_at`` never match an
``updated_at`` filter. Product Catalog endpoints of the other version answer
``configuration_incompatible``. A retrieve of an invoice or credit note embeds
at most ``line_items_limit`` (default 100, max 300) line items from
``line_items_offset``, and ``line_items_next_offset`` names the rest.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from ..providers.chargebee_catalog import EVENTS, PC1, PC2, STREAMS, CbStream
from .errors import ApiError, error_body

DEFAULT_LIMIT = 10
EMBEDDED_LINES = 100   # line items embedded in an invoice or credit note (lists and default retrieve)

# Sortable attributes per list (Chargebee's API reference; other attributes get a 400).
SORTABLE = {
    "customers": ("created_at", "updated_at"), "items": ("name", "id", "updated_at"),
    "item_prices": ("name", "id", "updated_at"), "coupons": ("created_at", "updated_at"),
    "subscriptions": ("created_at", "updated_at"), "invoices": ("date", "updated_at"),
    "credit_notes": ("date",), "transactions": ("date", "updated_at"), "events": ("occurred_at",),
}
_FILTERABLE = ("updated_at", "created_at", "date", "occurred_at", "status", "event_type", "id",
               "customer_id", "subscription_id")
_TIMESTAMPS = {"updated_at", "created_at", "date", "occurred_at"}
_LINE_LISTS = ("line_items", "line_item_discounts", "line_item_taxes")


def _in_list(text: str) -> list[str]:
    """Chargebee's `[a,b]` list syntax; JSON arrays and the official SDK's `['a', 'b']` too."""
    try:
        value = json.loads(text)
        if isinstance(value, list):
            return [str(v) for v in value]
    except ValueError:
        pass
    return [v.strip().strip("\"'") for v in text.strip("[]").split(",") if v.strip()]


def _matches(value: Any, op: str, arg: str, attr: str) -> bool:
    if attr in _TIMESTAMPS:
        if value is None:
            return False
        if op == "between":
            low, high = (int(x) for x in _in_list(arg))
            return low <= value <= high
        bound = int(arg)
        return {"after": value > bound, "before": value < bound, "on": value == bound}.get(op, False)
    if op == "is":
        return value == arg
    if op == "is_not":
        return value != arg
    if op == "in":
        return value in _in_list(arg)
    if op == "not_in":
        return value not in _in_list(arg)
    raise ApiError(400, "param_wrong_value", f"{attr}[{op}] : unsupported operator")


class SiteApi:
    def __init__(self, site, line_items_embedded: int = EMBEDDED_LINES):
        self.site = site
        self.line_items_embedded = line_items_embedded
        self.reindex()

    def reindex(self) -> None:
        """Rebuild the id and creation-order indexes after the site changed."""
        objects = self.site.objects
        self.by_id = {stream: {o["id"]: o for o in objs} for stream, objs in objects.items()}
        self.position = {stream: {o["id"]: i for i, o in enumerate(objs)} for stream, objs in objects.items()}

    def _spec(self, stream: str) -> CbStream:
        spec = EVENTS if stream == "events" else STREAMS.get(stream)
        if spec is None:
            raise ApiError(404, "resource_not_found", "Sorry, we couldn't find that resource")
        if spec.catalog is not None and spec.catalog != self.site.catalog:
            needed = "1.0" if spec.catalog == PC1 else "2.0"
            raise ApiError(400, "configuration_incompatible",
                           f"Stream is available only for Product Catalog {needed}")
        return spec

    def handle(self, path: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        try:
            return 200, self._route(path, params)
        except ApiError as exc:
            return exc.status, error_body(exc.status, exc.code, exc.message, exc.error_code)

    def _route(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        parts = [p for p in path.split("/") if p]
        if parts[:2] != ["api", "v2"] or len(parts) not in (3, 4):
            raise ApiError(404, "resource_not_found", "Sorry, we couldn't find that resource")
        if parts[2] == "configurations" and len(parts) == 3:
            catalog = self.site.catalog if self.site.catalog in (PC1, PC2) else PC2
            return {"configurations": [{"domain": f"{self.site.name}.chargebee.com",
                                        "product_catalog_version": catalog}]}
        spec = self._spec(parts[2])
        if len(parts) == 4:
            return self._retrieve(spec, parts[3], params)
        return self._list(spec, params)

    # ---- one object --------------------------------------------------------
    def _render(self, spec: CbStream, obj: dict[str, Any], offset: int = 0, limit: int | None = None) -> dict:
        """A copy of ``obj`` as the API shows it: line lists cut to one batch, the rest named."""
        out = copy.deepcopy(obj)
        if spec.completion and "line_items" in out:
            limit = limit or self.line_items_embedded
            lines = out["line_items"]
            batch = lines[offset:offset + limit]
            ids = {line["id"] for line in batch}
            out["line_items"] = batch
            for field in _LINE_LISTS[1:]:
                if field in out:
                    out[field] = [entry for entry in out[field] if entry["line_item_id"] in ids]
            if offset + limit < len(lines):
                out[spec.completion] = json.dumps([str(offset + limit), batch[-1]["id"]])
        return out

    def _entry(self, spec: CbStream, obj: dict[str, Any]) -> dict[str, Any]:
        entry = {spec.resource: self._render(spec, obj)}
        if spec.name == "subscriptions":
            customer = self.by_id["customers"].get(obj["customer_id"])
            if customer is not None:
                entry["customer"] = copy.deepcopy(customer)
        return entry

    def _retrieve(self, spec: CbStream, object_id: str, params: dict[str, str]) -> dict[str, Any]:
        obj = self.by_id.get(spec.name, {}).get(object_id)
        if obj is None:
            raise ApiError(404, "resource_not_found", f"{spec.resource} not found for {object_id}")
        if spec.completion:
            limit = int(params.get("line_items_limit", self.line_items_embedded))
            if not 1 <= limit <= 300:
                raise ApiError(400, "param_wrong_value", "line_items_limit : must be between 1 and 300")
            offset = 0
            if "line_items_offset" in params:
                try:
                    offset = int(json.loads(params["line_items_offset"])[0])
                except (ValueError, TypeError, IndexError):
                    raise ApiError(400, "param_wrong_value", "line_items_offset : invalid value") from None
            return {spec.resource: self._render(spec, obj, offset, limit)}
        return self._entry(spec, obj)

    # ---- lists ---------------------------------------------------------------
    def _sort_key(self, spec: CbStream, params: dict[str, str]) -> tuple[str | None, bool]:
        for direction in ("asc", "desc"):
            attr = params.get(f"sort_by[{direction}]")
            if attr is not None:
                if attr not in SORTABLE.get(spec.name, ()):
                    raise ApiError(400, "param_wrong_value", f"sort_by[{direction}] : invalid value {attr}")
                return attr, direction == "desc"
        return None, False

    def _filtered(self, spec: CbStream, params: dict[str, str]) -> list[dict[str, Any]]:
        objs = self.site.objects.get(spec.name, [])
        if params.get("include_deleted") == "true":
            if not spec.include_deleted:
                raise ApiError(400, "param_not_applicable", "include_deleted : not applicable for this list")
        else:
            objs = [o for o in objs if not o.get("deleted")]
        for key, arg in params.items():
            if "[" not in key or key.startswith("sort_by"):
                continue
            attr, op = key[:-1].split("[", 1)
            if attr not in _FILTERABLE or (attr == "updated_at" and not spec.updated_filter):
                raise ApiError(400, "param_not_applicable", f"{key} : not a filter of this list")
            objs = [o for o in objs if _matches(o.get(attr), op, arg, attr)]
        return objs

    def _list(self, spec: CbStream, params: dict[str, str]) -> dict[str, Any]:
        try:
            limit = int(params.get("limit", DEFAULT_LIMIT))
        except ValueError:
            limit = -1
        if not 1 <= limit <= 100:
            raise ApiError(400, "param_wrong_value", "limit : must be between 1 and 100")
        attr, descending = self._sort_key(spec, params)
        if attr is None and spec.sort_by in SORTABLE.get(spec.name, ()):
            attr = spec.sort_by          # the list's default order is by creation, ascending
        objs = self._filtered(spec, params)
        if attr is not None:
            numeric = attr in _TIMESTAMPS
            keys = [((o.get(attr) or 0) if numeric else str(o.get(attr)), o["id"]) for o in objs]
        else:   # lists without sort_by: creation order
            numeric = True
            keys = [(self.position[spec.name][o["id"]], o["id"]) for o in objs]
        order = sorted(range(len(objs)), key=lambda i: keys[i], reverse=descending)
        objs, keys = [objs[i] for i in order], [keys[i] for i in order]
        start = 0
        if "offset" in params:
            try:
                value, last_id = json.loads(params["offset"])
                after = (int(value) if numeric else str(value), str(last_id))
            except (ValueError, TypeError):
                raise ApiError(400, "param_wrong_value", "offset : invalid value") from None
            # keyset: the first record past the last one served, even if that one has gone since
            start = sum(1 for k in keys if (k >= after if descending else k <= after))
        page = objs[start:start + limit]
        body: dict[str, Any] = {"list": [self._entry(spec, o) for o in page]}
        if start + limit < len(objs):
            value, last_id = keys[start + limit - 1]
            body["next_offset"] = json.dumps([str(value), last_id])
        return body
