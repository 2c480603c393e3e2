"""The Chargebee adapter: API v2 over ``requests``, plain dicts out, a hard rate budget.

Every request goes through ``_get``: the site's :class:`MinuteBudget` (never
more than the budget per minute, a concurrency cap, Retry-After honoured),
one classification of failures (``chargebee_errors.classify``) and the shared
retry policy (``http.call_with_retries``). Lists are read through one
chokepoint, ``list_page``, in pages of 100 on the catalog's immutable sort key,
``include_deleted=true`` where the list accepts it, and ``updated_at[after]``
only on incremental reads. An invoice or credit note whose line items were
truncated (``line_items_next_offset``) is completed from its detail endpoint
before the page is handed over, its embedded lists merged in full.

It implements ``providers.base.Provider``: pages addressed by the opaque
``next_offset``, every stream kept up to date by ``updated_at[after]`` (or re-read
whole where the list has no such filter), the catalog (``chargebee_catalog``)
saying which.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3

from .. import parse_slots
from ..bounded_http import BoundedRequester, BoundedResponse, json_object
from ..endpoint_safety import endpoint_problem
from ..errors import AuthError, ConfigError, ConnectorError, PaginationError, UpstreamUnavailable
from ..http import RequestTally, Retryable, RetryPolicy, call_with_retries
from ..store import AccountIdentity
from .chargebee_budget import MinuteBudget
from . import chargebee_catalog
from .base import EventPage, Page
from .chargebee_catalog import EVENTS, LINE_ITEMS_PAGE_SIZE, PC1, PC2, STREAMS, CbStream, endpoint_of, streams_for
from .chargebee_errors import CatalogIncompatible, NotFound, classify
from .paging import CursorLedger

API_KEY_ENV = "CHARGEBEE_API_KEY"
API_VERSION = "v2"
_SITE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_LOOPBACK_NAMES = {"localhost"}


def site_base_url(site: str, api_base: str | None = None) -> str:
    """``https://{site}.chargebee.com/api/v2``; ``api_base`` only when it is a loopback address (tests, demo).

    Raises ConfigError for a malformed site name or a non-loopback ``api_base``:
    the key must never leave for a host that is not Chargebee's.
    """
    if not _SITE.match(site or ""):
        raise ConfigError(f"Chargebee site {site!r} is not a site name: use e.g. --site acme or --site acme-test")
    if api_base is None:
        return f"https://{site}.chargebee.com/api/{API_VERSION}"
    host = urlsplit(api_base).hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host in _LOOPBACK_NAMES
    if not loopback:
        raise ConfigError(f"Chargebee API base {host!r} is not loopback: only https://SITE.chargebee.com is used")
    # plain http only to a loopback host named exactly, and never through a proxy (the key is Basic auth)
    problem = endpoint_problem(api_base)
    if problem:
        raise ConfigError(problem.replace("api_base", "Chargebee API base", 1))
    return api_base.rstrip("/")


def describe_key(key: str) -> str:
    """What may be shown of a Chargebee key: the site mode its prefix names and its last 4 characters."""
    mode = "test site" if key.startswith("test_") else "live site" if key.startswith("live_") else "unknown site mode"
    tail = key[-4:] if len(key) >= 12 else "????"
    return f"Chargebee API key, {mode}, ending …{tail}"


def api_key_from_env(environ: Mapping[str, str] | None = None) -> str:
    key = (os.environ if environ is None else environ).get(API_KEY_ENV, "").strip()
    if not key:
        raise AuthError(f"{API_KEY_ENV} is not set: export a read-only API key of the Chargebee site")
    if not key.isascii() or not key.isprintable() or any(c.isspace() for c in key):
        raise AuthError(f"{API_KEY_ENV} holds a space, control or non-ASCII character, which a Chargebee key "
                        "never has: copy the key again")
    return key


def _unresolved(exc: requests.ConnectionError) -> bool:
    """Whether the host name did not resolve (a wrong site), as urllib3 types it."""
    reason = exc.args[0] if exc.args else None
    return isinstance(getattr(reason, "reason", reason), urllib3.exceptions.NameResolutionError)


class ChargebeeProvider:
    """One Chargebee site, read with one API key under one :class:`MinuteBudget`."""

    name = "chargebee"
    label = "Chargebee"
    # Every stream is kept up to date by `updated_at[after]` (events are a hint, not history):
    # the events list is one more stream (kept for `explain`), not a way to stay up to date,
    # so none of the events-pass settings apply.
    events_retention_seconds = 0
    events_permission = EVENTS.permission
    history_stream = None
    history_event_types: tuple[str, ...] = ()

    def __init__(
        self,
        site: str,
        api_key: str,
        *,
        budget: MinuteBudget,
        api_base: str | None = None,
        timeout: float = 30.0,
        retry_policy: RetryPolicy | None = None,
        catalog_version: str | None = None,
    ):
        self.site = site
        self.base_url = site_base_url(site, api_base)
        self._auth = (api_key, "")
        self.budget = budget
        self.timeout = timeout
        self.retry_policy = retry_policy or RetryPolicy()
        self.catalog_version = catalog_version
        self._requester = BoundedRequester(timeout, not_api_hint="is the API base Chargebee's API?")
        self._lock = threading.Lock()
        self.tally = RequestTally()  # requests made, per endpoint (endpoint_of)
        self.rate_limited = 0
        self.retries = 0
        self._offsets = CursorLedger()  # the loop guard's memory: offsets followed, per read

    @property
    def streams(self) -> dict[str, CbStream]:
        """The site's streams once its catalog version is known (``identify``); before, every stream
        of either version (so a stream name can be checked before any request)."""
        return streams_for(self.catalog_version) if self.catalog_version else dict(STREAMS)

    @property
    def requests_made(self) -> int:
        return self.tally.total

    # ---- one request ------------------------------------------------------
    def _send(self, path: str, params: Mapping[str, str]) -> BoundedResponse:
        """One HTTP GET inside the budget, bounded in time and size (``bounded_http``); failures classified."""
        parse_slots.requesting()
        with self.budget.request():
            self.tally.count(endpoint_of(path))
            return self._requester.request(
                "GET", self.base_url + path, what=f"GET {path}", params=dict(params), auth=self._auth,
                headers={"Accept": "application/json"}, connection_error=self._unresolved_site,
            )

    def _unresolved_site(self, exc: requests.ConnectionError) -> Exception | None:
        if _unresolved(exc):
            return ConfigError(f"the Chargebee site {self.site} does not resolve: check --site (e.g. acme or acme-test)")
        return None

    def _get(self, path: str, params: Mapping[str, str], *, permission: str = "") -> dict[str, Any]:
        what = f"GET {path}"
        last_failure: list[str] = []   # the kind of the last retryable failure

        def attempt() -> dict[str, Any]:
            try:
                return self._answer(self._send(path, params), what, permission)
            except Retryable as exc:
                last_failure[:] = [exc.kind]
                with self._lock:
                    self.retries += 1
                raise

        try:
            return call_with_retries(attempt, self.retry_policy, what=what, sleep=self.budget.clock.sleep)
        except UpstreamUnavailable:
            if last_failure != ["rate_limited"]:
                raise
            # The shared message names Stripe's knob; Chargebee's is the per-minute budget.
            raise UpstreamUnavailable(
                f"Chargebee kept answering 429 on {what} after {self.retry_policy.max_attempts} attempts: other "
                "integrations share the site's per-minute limit; lower the Chargebee requests per minute or run "
                "again later"
            ) from None

    def _answer(self, response: BoundedResponse, what: str, permission: str) -> dict[str, Any]:
        """The JSON body of a 200, else the classified failure raised (a 429 also stops the budget)."""
        if response.status == 200:
            return json_object(response.body, what)
        error = classify(response.status, response.body, response.headers,
                         what=what, site=self.site, permission=permission)
        if isinstance(error, Retryable) and error.kind == "rate_limited":
            with self._lock:
                self.rate_limited += 1
            self.budget.on_rate_limited(error.retry_after)
        raise error

    # ---- the site ---------------------------------------------------------
    def detect_catalog_version(self) -> str:
        """PC2 or PC1, from the site's configuration; remembered for ``streams``."""
        try:
            configs = self._get("/configurations", {}).get("configurations") or []
            version = next((c.get("product_catalog_version") for c in configs
                            if isinstance(c, dict) and c.get("product_catalog_version")), None)
        except NotFound:
            version = None
        if version not in (PC1, PC2):
            # No configuration endpoint: the PC2 list answers configuration_incompatible on a PC1 site.
            try:
                self._get("/item_prices", {"limit": "1"})
                version = PC2
            except CatalogIncompatible:
                version = PC1
        self.catalog_version = version
        return version

    def require_catalog(self, supported: tuple[str, ...] = (PC2, PC1)) -> str:
        """The site's catalog version, or ConfigError naming it when the caller does not support it."""
        version = self.catalog_version or self.detect_catalog_version()
        if version not in supported:
            raise ConfigError(
                f"the Chargebee site {self.site} uses Product Catalog {version[1:]}.0, which this command does "
                "not read: migrate the site to Product Catalog 2.0 or use a release that supports it"
            )
        return version

    def identify(self) -> AccountIdentity:
        version = self.catalog_version or self.detect_catalog_version()
        return AccountIdentity(
            provider=self.name, account_id=self.site, livemode=not self.site.endswith("-test"),
            api_version=f"{API_VERSION}/pc{version[1:]}",
        )

    # ---- lists --------------------------------------------------------------
    def _stream(self, stream: str) -> CbStream:
        spec = EVENTS if stream == EVENTS.name else self.streams.get(stream)
        if spec is None:
            raise ConfigError(f"unknown Chargebee stream {stream!r} for this site: use one of {', '.join(self.streams)}")
        return spec

    def list_page(
        self, stream: str, *, page_token: str | None, updated_since: int | None = None,
        created_gte: int | None = None, created_lt: int | None = None, partition: str | None = None,
    ) -> Page:
        """One page, oldest first on the immutable sort key, embedded line lists completed.

        Raises PaginationError when the server hands back the offset it was
        given, an offset this read already followed, or another page after an
        empty list (each would loop forever). The catalog declares no creation
        slices or partitions for Chargebee, so none may be asked for.
        """
        if created_gte is not None or created_lt is not None or partition is not None:
            raise ValueError("Chargebee lists are read whole, by offset: no creation slices or partitions")
        spec = self._stream(stream)
        params = spec.full_params
        if updated_since is not None and spec.updated_filter:
            params[f"{spec.update_field}[after]"] = str(updated_since)
        if page_token is not None:
            params["offset"] = page_token
        data = self._get(spec.path, params, permission=spec.permission)
        entries = data.get("list")
        if not isinstance(entries, list):
            raise Retryable("transport", f"{spec.path} did not return a list")
        next_token = data.get("next_offset")
        if next_token is not None and (next_token == page_token or not entries):
            raise PaginationError(
                f"Chargebee list {spec.path} would loop (offset {next_token!r} "
                f"{'repeated' if entries else 'after an empty page'}): run again; if it persists, report it"
            )
        if next_token is not None:   # a read from its start is a read of its own: its offsets may recur
            listing = (stream, updated_since)
            read = self._offsets.read(listing, page_token)
            if page_token is not None:
                self._offsets.follow(read, spec.path, next_token)
            self._offsets.handed(listing, read, next_token)
        objects = [entry[spec.resource] for entry in entries if isinstance(entry, dict) and spec.resource in entry]
        requests_made = 1
        if spec.completion:
            for obj in objects:
                requests_made += self._complete_lines(spec, obj)
        children = {
            table: [(obj["id"], list(obj.get(field) or [])) for obj in objects]
            for table, field in spec.children.items()
        }
        return Page(objects, next_token, children, requests_made)

    def latest_time(self, stream: str) -> int | None:
        """The newest record's ``update_field`` (one request, newest first), None on an empty list:
        where a windowed first read (``first_read_window_seconds``) counts back from."""
        spec = self._stream(stream)
        data = self._get(spec.path, {"limit": "1", "sort_by[desc]": spec.sort_by or spec.update_field},
                         permission=spec.permission)
        entries = data.get("list")
        if not isinstance(entries, list):
            raise Retryable("transport", f"{spec.path} did not return a list")
        newest = entries[0].get(spec.resource) if entries and isinstance(entries[0], dict) else None
        value = newest.get(spec.update_field) if isinstance(newest, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def _complete_lines(self, spec: CbStream, obj: dict[str, Any]) -> int:
        """Fetch the rest of a truncated line list into ``obj``; the number of requests made."""
        offset = obj.pop(spec.completion, None)
        made, seen = 0, set()
        while offset is not None:
            if offset in seen:
                raise PaginationError(f"Chargebee {spec.resource} {obj['id']} line items would loop at {offset!r}")
            seen.add(offset)
            detail = self._get(
                f"{spec.path}/{obj['id']}",
                {"line_items_limit": str(LINE_ITEMS_PAGE_SIZE), "line_items_offset": offset},
                permission=spec.permission,
            )[spec.resource]
            made += 1
            for field in spec.children.values():
                obj.setdefault(field, []).extend(detail.get(field) or [])
            offset = detail.get(spec.completion)
        return made

    def iter_pages(self, stream: str, *, updated_since: int | None = None) -> Iterator[Page]:
        """Every page of a read, with the loop guard across the whole read (an offset seen twice)."""
        token: str | None = None
        seen: set[str] = set()
        while True:
            page = self.list_page(stream, page_token=token, updated_since=updated_since)
            yield page
            if page.next_token is None:
                return
            if page.next_token in seen:
                raise PaginationError(f"Chargebee list {stream} returned offset {page.next_token!r} twice: run again")
            seen.add(page.next_token)
            token = page.next_token

    def fetch_object(self, stream: str, object_id: str) -> dict[str, Any] | None:
        """The current object; None when it is gone or deleted. Line lists completed."""
        spec = self._stream(stream)
        try:
            data = self._get(f"{spec.path}/{object_id}", {}, permission=spec.permission)
        except NotFound:
            return None
        obj = data.get(spec.resource)
        if not isinstance(obj, dict) or obj.get("deleted"):
            return None
        if spec.completion:
            self._complete_lines(spec, obj)
        return obj

    def partitions(self, stream: str) -> list[str]:
        return []

    def close(self) -> None:
        """Nothing held between requests beyond per-thread sessions, which close with their threads."""

    def fetch_children(self, stream: str, parent: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        """None kept apart: embedded lists stay in the parent, completed by ``fetch_object``."""
        return {}

    def events_page(
        self, *, types: list[str], occurred_after: int, occurred_until: int, page_token: str | None
    ) -> EventPage:
        """One page of events in (occurred_after, occurred_until], oldest first."""
        params = EVENTS.full_params
        params["occurred_at[after]"] = str(occurred_after)
        params["occurred_at[before]"] = str(occurred_until + 1)   # Chargebee's bound is exclusive
        if types:
            params["event_type[in]"] = json.dumps(sorted(types), separators=(",", ":"))
        if page_token is not None:
            params["offset"] = page_token
        data = self._get(EVENTS.path, params, permission=EVENTS.permission)
        events = [e["event"] for e in data.get("list") or [] if isinstance(e, dict) and "event" in e]
        next_token = data.get("next_offset")
        if next_token is not None and (next_token == page_token or not events):
            raise PaginationError(f"Chargebee events list would loop at offset {next_token!r}: run again")
        return EventPage(events, next_token)

    # Routing events to streams is catalog data.
    changed_objects = staticmethod(chargebee_catalog.changed_objects)
    event_time = staticmethod(chargebee_catalog.event_time)

    def check_stream_access(self, stream: str) -> str | None:
        """None if the key may read the stream, else a one-line reason (one request)."""
        spec = STREAMS.get(stream) or (EVENTS if stream == EVENTS.name else None)
        if spec is None:
            return f"unknown Chargebee stream {stream!r}"
        try:
            self._get(spec.path, {"limit": "1"}, permission=spec.permission)
        except CatalogIncompatible:
            return f"{stream}: not part of this site's Product Catalog version"
        except ConnectorError as exc:
            return str(exc)
        return None
