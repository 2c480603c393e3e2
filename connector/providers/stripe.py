"""The Stripe adapter: the official SDK, a pinned API version, plain dicts out.

Requests go through ``StripeClient.raw_request`` so responses become plain
dicts straight from JSON (no SDK object per record: that would cost more CPU
than the rest of the sync together). The SDK's own retries are off; every
failure is classified here, once, into ``http.Retryable`` or a final
``ConnectorError``, and retried by ``http.call_with_retries``. Nothing past
this module imports ``stripe``.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from collections.abc import Mapping
from typing import Any

import stripe

from .. import parse_slots
from ..constants import MAX_RESPONSE_BYTES, PAGE_SIZE, STRIPE_API_VERSION
from ..errors import PermissionDenied
from ..http import RateLimiter, RequestTally, Retryable, RetryPolicy, call_with_retries
from ..store import AccountIdentity
from . import stripe_catalog, stripe_request, stripe_sdk_logging  # noqa: F401 (the SDK's log calls made quiet and safe on import)
from .base import CursorGone, EventPage, Page
from .paging import CursorLedger, check_page
from .read_ahead import ReadAhead, request_key
from .stripe_catalog import EVENTS_PATH, PERMISSIONS, STREAMS, TEST_CLOCKS_PATH, StripeChild, expand, object_id_in_path
from .stripe_expansions import split_expansions, unexpanded_discounts
from .stripe_errors import ExpansionRefused, NotFound, ResourceMissing, classify, endpoint_of
from .stripe_events import EventWindows
from .stripe_transport import BoundedHTTPClient

__all__ = ["PERMISSIONS", "STREAMS", "StripeProvider", "classify", "endpoint_of"]

# The account id recorded when the API has no /v1/account (see `identify`), by livemode.
UNKNOWN_ACCOUNT_ID = {False: "acct_unknown_test", True: "acct_unknown_live"}

log = logging.getLogger("billing_connector.stripe")

# The SDK's client telemetry is off. On, it writes an id of its own under ~/.config/stripe (from
# a cron job: a file in the user's home the tool never declared) and sends it, the platform and
# the previous request's id and duration with every request: the tool keeps nothing but its
# store, and Stripe needs none of it to answer. (It also spared a JSON text per request.)
stripe.enable_telemetry = False


class StripeProvider:
    """Stripe, through one ``StripeClient`` shared by all fetcher threads."""

    name = "stripe"
    label = "Stripe"
    streams = STREAMS
    # Events: how far back they reach, the permission they need, and the ones a first
    # full read also stores (the mapping dates changes from them).
    events_retention_seconds = stripe_catalog.EVENTS_RETENTION_SECONDS
    events_permission = stripe_catalog.EVENTS_PERMISSION
    history_stream = stripe_catalog.HISTORY_STREAM
    history_event_types = stripe_catalog.HISTORY_EVENT_TYPES

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str | None = None,
        timeout: float = 30.0,
        limiter: RateLimiter | None = None,
        retry_policy: RetryPolicy | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ):
        base = {"api": api_base.rstrip("/")} if api_base else None
        self._client = stripe.StripeClient(
            api_key=api_key,
            stripe_version=STRIPE_API_VERSION,
            max_network_retries=0,  # retries are ours: http.call_with_retries
            base_addresses=base,
            http_client=BoundedHTTPClient(timeout=timeout, max_bytes=max_response_bytes),
        )
        self.limiter = limiter
        self.retry_policy = retry_policy or RetryPolicy()
        self._lock = threading.Lock()
        self.tally = RequestTally()  # requests made, per route (endpoint_of)
        self.retries = 0
        self.rate_limited = 0  # 429s (each also counted in retries)
        self.nested_workers = 32
        self._nested: ThreadPoolExecutor | None = None
        self._unexpandable: set[str] = set()  # streams whose server refused our expansions
        self._cursors = CursorLedger()  # the loop guard's memory, per listing
        self._events = EventWindows(lambda params, listing: self._list(
            EVENTS_PATH, params, stream="events", ledger=self._cursors, listing=listing))
        self._read_ahead = ReadAhead()   # a first sync's first pages, asked for while the account is named

    @property
    def requests_made(self) -> int:
        return self.tally.total

    # ---- one request --------------------------------------------------------
    def _get(
        self, path: str, params: Mapping[str, Any], *, stream: str | None, is_list: bool = False
    ) -> dict[str, Any]:
        ahead = self._read_ahead.take(request_key(path, params))   # made already: read_ahead_first_pages
        return self._fetch(path, params, stream=stream, is_list=is_list, ahead=ahead)

    def _fetch(
        self, path: str, params: Mapping[str, Any], *, stream: str | None, is_list: bool = False,
        ahead: Future | None = None,
    ) -> dict[str, Any]:
        """The request's answer, retried as ``retry_policy`` says. ``ahead``: its first attempt's
        response, requested already (``read_ahead.py``), read here as if this attempt had made it:
        parsed under this job's parse slot, a 429 or an error retried the same way."""
        what = f"GET {path}"

        def attempt() -> dict[str, Any]:
            nonlocal ahead
            parse_slots.requesting()
            if ahead is not None:
                response, ahead = ahead, None
                body, status, headers = response.result()   # raises what that request met
            else:
                body, status, headers = self._send(path, params, what, stream)
            data = self._read_answer(body, status, headers, what, stream)
            if is_list and (data.get("object") != "list" or not isinstance(data.get("data"), list)):
                # A 200 whose body is not the list asked for is a broken transfer, not an empty page.
                raise Retryable("transport", f"{path} did not return a list object")
            return data

        def on_retry(exc: Retryable) -> None:
            with self._lock:
                self.retries += 1
                self.rate_limited += exc.kind == "rate_limited"
            if exc.kind == "rate_limited" and self.limiter is not None:
                self.limiter.on_rate_limited()

        return call_with_retries(attempt, self.retry_policy, what=what, on_retry=on_retry)

    def _send(self, path: str, params: Mapping[str, Any], what: str, stream: str | None,
              counted: bool = True) -> tuple[Any, int, Any]:
        """One GET, its body unread (``stripe_request.send``); ``counted``: rate-limited and tallied."""
        return stripe_request.send(self._client._requestor, self.limiter, self.tally if counted else None,
                                   path, params, what, stream)

    def _read_answer(self, body: Any, status: int, headers: Any, what: str, stream: str | None) -> dict[str, Any]:
        return stripe_request.read_answer(self._client._requestor, body, status, headers, what, stream)

    def _get_expanded(
        self, path: str, params: Mapping[str, Any], *, stream: str, is_list: bool = False
    ) -> dict[str, Any]:
        """``_get`` with the request's expansions, or without them once the server refused them.

        Stripe expands these fields under the pinned version, so a refusal means
        a Stripe-compatible server whose objects have no such field (an older
        shape): reading them unexpanded beats failing the whole stream. The
        refusal is remembered per stream so it costs one extra request a run.
        """
        plain, expand = split_expansions(params)
        if expand and stream not in self._unexpandable:
            try:
                return self._get(path, {**plain, **expand}, stream=stream, is_list=is_list)
            except ExpansionRefused as exc:
                with self._lock:
                    first = stream not in self._unexpandable
                    self._unexpandable.add(stream)
                if first:
                    log.warning("%s; reading %s without the expansion", exc, stream)
        return self._get(path, plain, stream=stream, is_list=is_list)

    # ---- provider interface -----------------------------------------------
    def identify(self) -> AccountIdentity:
        livemode = self._key_livemode()
        try:
            account_id = self._get("/v1/account", {}, stream=None)["id"]
        except NotFound:
            # Stripe itself always serves /v1/account; a Stripe-compatible server
            # (a fake, a recording proxy) may not. The key's mode is all we can
            # know then, so the store is bound to an id naming only that mode: it
            # still refuses the other mode, but cannot tell two such servers apart.
            account_id = UNKNOWN_ACCOUNT_ID[livemode]
            log.warning(
                "GET /v1/account was not found (404): the account id is recorded as %s; "
                "keep one --db per account", account_id,
            )
        return AccountIdentity("stripe", account_id, livemode, STRIPE_API_VERSION)

    def _key_livemode(self) -> bool:
        key = self._client._requestor.api_key or ""  # the SDK keeps the key; we never print it
        return "_live_" in key

    def test_clocks(self) -> list[str]:
        """Ids of the test clocks (test mode only: live mode has none, and no such endpoint)."""
        if self._key_livemode():
            return []
        clocks, _ = self._read_all(TEST_CLOCKS_PATH, {}, "test_clocks")
        return [clock["id"] for clock in clocks]

    def partitions(self, stream: str) -> list[str]:
        """Test mode lists a test clock's objects only when asked for that clock."""
        return self.test_clocks() if STREAMS[stream].by_test_clock else []

    def list_page(
        self, stream: str, *, page_token: str | None, updated_since: int | None = None,
        created_gte: int | None = None, created_lt: int | None = None, partition: str | None = None,
        defer_children: bool = False,
    ) -> Page:
        """One page, newest first; the token is the last object's id (``starting_after``).

        Stripe lists have no updated-since filter: its streams are kept up to
        date by events, so ``updated_since`` is refused rather than ignored.
        An embedded child list that must be read in full (truncated, or its
        discounts' coupons unexpanded) is read here, or with ``defer_children``
        left out of ``page.children`` and named in ``page.deferred`` for
        :meth:`read_children` (the sync then pages on without waiting for it).
        """
        if updated_since is not None:
            raise ValueError("Stripe lists cannot filter by update time; its streams follow events")
        spec = STREAMS[stream]
        params: dict[str, Any] = {"limit": PAGE_SIZE, **spec.list_params}
        if partition:
            params["test_clock"] = partition
        if page_token:
            params["starting_after"] = page_token
        if created_gte is not None:
            params["created[gte]"] = created_gte
        if created_lt is not None:
            params["created[lt]"] = created_lt
        # One listing per created range: a slice keeps its range while it pages, and a
        # re-read after a fall-back (no range) cannot meet cursors of requests still in flight.
        listing = (stream, created_gte, created_lt)
        try:
            objects, next_token = self._list(
                spec.path, params, stream=stream, ledger=self._cursors, listing=listing,
                created_gte=created_gte, created_lt=created_lt, creation_field=spec.creation_field,
            )
        except CursorGone:
            self._cursors.forget(listing)  # the range is re-read from its start: its cursors recur
            raise
        page = Page(objects=objects, next_token=next_token)
        for child in spec.children:
            to_read = [self._needs_read(stream, obj, child) for obj in objects]
            if self.limiter is not None and any(to_read):
                # work known ahead on the child's endpoint (the busiest one, for invoice lines)
                first = next(obj["id"] for obj, read in zip(objects, to_read) if read)
                self.limiter.expect(endpoint_of(child.list_request(first)[0]), sum(to_read))
            if defer_children:
                page.deferred[child.table] = [obj["id"] for obj, read in zip(objects, to_read) if read]
                page.children[child.table] = [
                    (obj["id"], child.embedded_in(obj)) for obj, read in zip(objects, to_read) if not read]
                continue
            # Child lists are read in parallel: one invoice page can hold a dozen invoices
            # with more than 10 lines, and reading them one after the other would keep the
            # page (and its slice) waiting for seconds.
            pending = [
                self._nested_pool().submit(self._read_child_list, stream, obj["id"], child) if read else None
                for obj, read in zip(objects, to_read)
            ]
            if any(to_read):
                parse_slots.requesting()   # the page waits on the network: its slot goes to a job with work
            page.children[child.table] = []
            for obj, future in zip(objects, pending):
                if future is None:
                    page.children[child.table].append((obj["id"], child.embedded_in(obj)))
                    continue
                children, requests = future.result()
                page.requests += requests
                page.children[child.table].append((obj["id"], children))
        return page

    def list_waiting(self, stream: str) -> int:
        """Requests for the stream's list waiting at the rate limiter (its endpoint, or the account, busy)."""
        return self.limiter.waiting(endpoint_of(STREAMS[stream].path)) if self.limiter is not None else 0

    def list_in_flight_needed(self, stream: str) -> int | None:
        """Requests in flight the stream's list endpoint can use at its limit and the latency seen
        (None: unknown yet, or no limiter)."""
        return self.limiter.endpoint_in_flight_needed(endpoint_of(STREAMS[stream].path)) if self.limiter is not None else None

    def read_children(self, stream: str, child_table: str, parent_id: str) -> list[dict[str, Any]]:
        """A parent's complete child list, one that ``list_page(defer_children=True)`` named in ``deferred``."""
        child = next(c for c in STREAMS[stream].children if c.table == child_table)
        return self._read_child_list(stream, parent_id, child)[0]

    def _nested_pool(self) -> ThreadPoolExecutor:
        """Threads for nested-list follow-ups; the rate limiter, not this pool, sets the pace."""
        with self._lock:
            if self._nested is None:
                self._nested = ThreadPoolExecutor(max_workers=self.nested_workers, thread_name_prefix="nested")
            return self._nested

    def read_ahead_first_pages(self, streams: list[str]) -> None:
        """Ask now for the first page of each stream a first sync reads (its plain listing, with the
        expansions ``list_page`` asks for) and, in test mode, for the test clocks: the sync takes the
        answers when it makes those requests (``read_ahead.py``). For a store with nothing in it yet:
        a store read before asks for other pages first (events, a resumed slice)."""
        requests = {}
        for stream in streams:
            spec = STREAMS.get(stream)
            if spec is None:
                continue   # not a list of the catalog (the events stream pages by its own window)
            plain, expansions = split_expansions({"limit": PAGE_SIZE, **spec.list_params})
            params = {**plain, **expansions}
            requests[request_key(spec.path, params)] = self._read_ahead_call(spec.path, params, stream)
        if not self._key_livemode():
            params = {"limit": PAGE_SIZE}
            requests[request_key(TEST_CLOCKS_PATH, params)] = self._read_ahead_call(TEST_CLOCKS_PATH, params, "test_clocks")
        self._read_ahead.start(requests)

    def _read_ahead_call(self, path: str, params: dict[str, Any], stream: str):
        """The request alone, its body left unread: the sync parses it when it takes it, under its
        own bound on parsed pages (``parse_slots``), not a dozen pages parsed at once beside it."""
        return lambda: self._send(path, params, f"GET {path}", stream)

    def close(self) -> None:
        self._read_ahead.close()
        if self._nested is not None:
            self._nested.shutdown(wait=False, cancel_futures=True)
            self._nested = None

    def _needs_read(self, stream: str, parent: dict[str, Any], child: StripeChild) -> bool:
        """Whether the parent's embedded child list is not the whole list the store needs.

        Truncated (``has_more``), or carrying discounts whose coupons only a read
        of the child list itself can expand (when the server takes expansions).
        """
        embedded = parent.get(child.field) or {}
        return bool(embedded.get("has_more")) or (
            child.discounts_need_coupons and stream not in self._unexpandable
            and unexpanded_discounts(parent, list(embedded.get("data") or [])))

    def _read_child_list(self, stream: str, parent_id: str, child: StripeChild) -> tuple[list[dict[str, Any]], int]:
        """(the whole child list, requests made), read from the child's own endpoint."""
        path, extra = child.list_request(parent_id)
        children, requests = self._read_all(path, extra, stream)
        return child.named(children, parent_id), requests

    def _read_all(self, path: str, extra: Mapping[str, Any], stream: str) -> tuple[list[dict[str, Any]], int]:
        """Every page of a nested list, through the paging chokepoint."""
        items: list[dict[str, Any]] = []
        ledger = CursorLedger()
        after: str | None = None
        requests = 0
        while True:
            params: dict[str, Any] = {"limit": PAGE_SIZE, **extra}
            if after:
                params["starting_after"] = after
            data, after = self._list(path, params, stream=stream, ledger=ledger, listing=path)
            requests += 1
            items.extend(data)
            if after is None:
                return items, requests

    # ---- the paging chokepoint ------------------------------------------------
    def _list(
        self, path: str, params: Mapping[str, Any], *, stream: str, ledger: CursorLedger, listing: Any,
        created_gte: int | None = None, created_lt: int | None = None, creation_field: str = "created",
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of any list: (objects, the next page's cursor or None). Every list request passes here.

        The page is checked by ``paging.check_page`` (empty page with has_more,
        the cursor object handed back, objects outside the created range) and
        the cursor that follows it is recorded in ``ledger`` under ``listing``:
        a cursor followed twice is a loop. Raises PaginationError / FilterIgnored.
        """
        after = params.get("starting_after")
        read = ledger.read(listing, after)
        body = self._get_expanded(path, params, stream=stream, is_list=True)
        objects, has_more = body["data"], bool(body.get("has_more"))
        next_cursor = check_page(path, objects, has_more, after=after, created_gte=created_gte, created_lt=created_lt,
                                 creation_field=creation_field)
        if next_cursor is not None:
            if after is not None:
                ledger.follow(read, path, next_cursor)
            ledger.handed(listing, read, next_cursor)
        return objects, next_cursor

    def fetch_object(self, stream: str, object_id: str) -> dict[str, Any] | None:
        spec = STREAMS[stream]
        params = expand(*spec.detail_expand)
        path = f"{spec.path}/{object_id_in_path(object_id)}"
        try:
            obj = self._get_expanded(path, params, stream=stream)
        except ResourceMissing:
            return None  # Stripe's own word that it is gone: the caller soft-deletes it
        except NotFound:
            # A 404 that is not Stripe's resource_missing (a proxy's page, a JSON error
            # without the code) proves nothing: fail the stream, delete nothing.
            raise NotFound(
                f"GET {path} answered 404 without Stripe's resource_missing error (a proxy, or "
                "STRIPE_API_BASE not pointing at Stripe?); nothing was marked deleted: run sync again"
            ) from None
        if obj.get("deleted") is True:
            return None
        return obj

    def fetch_children(self, stream: str, parent: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        """Complete child lists of a re-fetched parent (incremental sync)."""
        return {
            child.table: (self._read_child_list(stream, parent["id"], child)[0] if self._needs_read(stream, parent, child)
                          else child.embedded_in(parent))
            for child in STREAMS[stream].children
        }

    def events_page(self, *, types: list[str], occurred_after: int, occurred_until: int,
                    page_token: str | None) -> EventPage:
        """One page of events in ``(occurred_after, occurred_until]`` (``stripe_events.py``)."""
        return self._events.page(types=types, occurred_after=occurred_after, occurred_until=occurred_until,
                                 page_token=page_token)

    # Routing events to streams is catalog data.
    changed_objects = staticmethod(stripe_catalog.changed_objects)
    event_time = staticmethod(stripe_catalog.event_time)

    def check_stream_access(self, stream: str) -> str | None:
        path = STREAMS[stream].path if stream in STREAMS else EVENTS_PATH
        try:
            self._get(path, {"limit": 1}, stream=stream)
        except PermissionDenied as exc:
            return str(exc)
        return None
