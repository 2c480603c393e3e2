"""Every HTTP request a provider makes, bounded in time and in size (issue 14).

``requests`` trusts the server: a body trickling in a byte a second resets the
read timeout at every byte (a 2 s timeout held a sync for 61 s), a 408 KB gzip
body inflates to 1.5 GB, and a redirect is followed. :class:`BoundedRequester`
guarantees, for the Stripe SDK's transport and for the Chargebee adapter alike:

* a **total deadline per request** (connect, headers, body): a watchdog thread
  shuts the socket down when it passes, whatever the server trickles;
* a **maximum decompressed size**: the body is read raw and inflated here in
  bounded steps, so a compression bomb stops at the cap, not in memory;
* **no redirects**, and no proxy from the environment for plain http (a proxy
  could read the key there; the caller checks the URL with ``endpoint_safety``);
* **the key never comes back in**: a successful answer holding the configured key (a
  server echoing the Authorization header into an object) has it replaced before
  anything parses or stores it (``redact.scrub_secrets``);
* failures typed once: a deadline, a reset or a truncated body is
  ``http.Retryable``; a body over the cap, an unknown encoding or a
  certificate that does not verify is final.

What ``requests.Session`` works out on every request (issue 18: a third of a request's
CPU) is worked out here once per origin: the environment's proxy for https (NO_PROXY
honoured), the CA bundle from REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE when ``verify`` is
True. The request is prepared here and handed to the adapter's ``send`` (pools, TLS,
proxy tunnels, typed errors; what ``responses`` intercepts in tests): no cookies are
kept, no ``.netrc`` is read. Each thread has its own adapter, its connections kept alive.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import socket
import threading
import time
import weakref
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
import urllib3

from . import parse_slots
from .constants import MAX_RESPONSE_BYTES
from .errors import ConnectorError
from .http import Retryable
from .redact import REDACTED, scrub_secrets
from .store import jsontext

log = logging.getLogger(__name__)

_READ_CHUNK = 64 * 1024
_INFLATE_STEP = 256 * 1024  # at most this much inflated per step, whatever one raw chunk holds
_MAX_ROUTES = 64  # origins remembered (a requester talks to one or two)
_DECODINGS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": 32 + zlib.MAX_WBITS}


class ResponseRefused(ConnectorError):
    """A response we will not read: larger than the cap, or in an encoding we did not ask for."""


def json_object(body: bytes | str, what: str) -> dict[str, Any]:
    """A successful response's body as a JSON object, parsed under the sync's bound on parsed pages
    (``parse_slots``); a body that is not one is a broken transfer (retried), one nested too deep to
    read is refused."""
    parse_slots.parsing()
    try:
        data = jsontext.loads(body)
    except ValueError:
        raise Retryable("transport", "response body was not valid JSON") from None
    except RecursionError:
        raise ResponseRefused(f"{what}: the response is JSON nested too deep to read; refusing it") from None
    if not isinstance(data, dict):
        raise Retryable("transport", "response body was not a JSON object")
    return data


class _Guard:
    """One request's deadline; the watchdog shuts its connection's socket when it passes."""

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds
        self.connection: Any = None   # the urllib3 connection the request runs on
        self.expired = False
        self.done = False

    def expire(self) -> bool:
        """Cut the request off; False when it has no socket yet (still connecting): try again soon."""
        if self.done:
            return True
        self.expired = True
        sock = getattr(self.connection, "sock", None)
        if sock is None:
            return False
        try:
            # socket.socket's own shutdown: an SSLSocket's would drop its TLS state under the reader
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass  # already closed by its owner: the request is over either way
        return True


# How late past its deadline the watchdog may cut a request (seconds). Every request's deadline
# passes, the finished ones' too (their guards stay queued: a heap cannot drop them cheaply), so
# waking for each on its own was a wake-up of this thread per request: 100 a second at Stripe's
# limit, each taking the GIL from the threads that parse. Deadlines are tens of seconds long; this
# thread wakes at most this often and expires all that are due at once.
_PRECISION = 0.25


class _Watchdog:
    """One daemon thread expiring guards in deadline order (not a timer thread per request)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Guard]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, guard: _Guard, at: float | None = None) -> None:
        with self._cond:
            heapq.heappush(self._heap, (guard.deadline if at is None else at, next(self._order), guard))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="request-deadlines", daemon=True)
                self._thread.start()
            if self._heap[0][2] is guard:
                # (a later deadline than the first needs no wake-up: the thread wakes for the first anyway)
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                now = time.monotonic()
                due = []
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap)[2])
                if not due:
                    self._cond.wait(max(self._heap[0][0] - now, _PRECISION))
                    continue
            for guard in due:
                if not guard.expire():
                    self.watch(guard, time.monotonic() + _PRECISION)


_WATCHDOG = _Watchdog()
_current = threading.local()  # the guard of the request this thread is making


class _TrackConnection:
    """Pool mixin: hand the connection a request runs on to that request's guard."""

    def _get_conn(self, timeout=None):  # noqa: ANN001 - urllib3's signature
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        guard = getattr(_current, "guard", None)
        if guard is not None:
            guard.connection = conn
        return conn


class _HTTPPool(_TrackConnection, urllib3.HTTPConnectionPool):
    pass


class _HTTPSPool(_TrackConnection, urllib3.HTTPSConnectionPool):
    pass


class _Adapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):  # noqa: ANN002, ANN003
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def proxy_manager_for(self, proxy, **kwargs):  # noqa: ANN001, ANN003
        manager = super().proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
        return manager


# What a requests.Session sends unless told otherwise, but only the encodings we can inflate in bounded steps.
_DEFAULT_HEADERS = requests.structures.CaseInsensitiveDict(
    {**requests.utils.default_headers(), "Accept-Encoding": "gzip, deflate"})


@dataclass(frozen=True)
class _Route:
    """What requests' Session works out from the environment on every request, once per origin."""

    proxies: dict[str, str]   # the environment's proxies for https (NO_PROXY applied); never any for http
    ca_bundle: str | None     # REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE, for https with ``verify=True``

    @classmethod
    def of(cls, url: str) -> "_Route":
        if not url.startswith("https:"):
            # Plain http never goes through a proxy from the environment: the key would be readable there.
            return cls({}, None)
        environ = os.environ
        return cls(requests.utils.get_environ_proxies(url),
                   environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE") or None)


def origin_of(url: str) -> str:
    """``scheme://host:port`` of an absolute URL, cheaply (what is decided once per origin is keyed by it).

    Everything before the third ``/``: the authority whole even when a ``?`` or ``#`` ends it early,
    so a check of the origin sees every character a parser could take for part of the host."""
    return "/".join(url.split("/", 3)[:3])


@dataclass(frozen=True)
class BoundedResponse:
    """A whole response, read within the deadline and the size cap."""

    status: int
    body: bytes
    headers: Mapping[str, str]


class BoundedRequester:
    """Requests that end by ``timeout`` seconds and ``max_bytes`` decompressed bytes; one session per
    thread and scheme. ``not_api_hint`` ends the message of a refused body (what to check)."""

    def __init__(self, timeout: float, max_bytes: int = MAX_RESPONSE_BYTES, *, not_api_hint: str = ""):
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._hint = not_api_hint
        self._local = threading.local()
        # every live thread's adapter, for close(); weakly: a finished thread's goes with its sockets
        self._adapters: weakref.WeakSet[_Adapter] = weakref.WeakSet()
        self._adapters_lock = threading.Lock()
        self._routes: dict[str, _Route] = {}  # per origin: the environment is read once, not per request

    def _adapter(self) -> _Adapter:
        adapter = getattr(self._local, "adapter", None)
        if adapter is None:
            adapter = self._local.adapter = _Adapter()
            with self._adapters_lock:
                self._adapters.add(adapter)
        return adapter

    def _route(self, url: str) -> _Route:
        origin = origin_of(url)
        route = self._routes.get(origin)
        if route is None:
            if len(self._routes) >= _MAX_ROUTES:
                self._routes.clear()
            route = self._routes[origin] = _Route.of(url)
        return route

    def request(
        self, method: str, url: str, *, what: str, headers: Mapping[str, str] | None = None, data: Any = None,
        params: Mapping[str, str] | None = None, auth: Any = None, verify: Any = True,
        connection_error: Callable[[requests.ConnectionError], Exception | None] | None = None,
    ) -> BoundedResponse:
        """One request, whole. ``connection_error`` may turn a failed connection into a final error
        (a host that does not resolve, say); otherwise it is retryable."""
        guard = _Guard(self.timeout)
        _current.guard = guard
        _WATCHDOG.watch(guard)
        try:
            response = self._send(method, url, headers, data, params, auth, verify)
            try:
                body = self._read_body(response, what)
            finally:
                response.close()
            if guard.expired:
                # cut by the watchdog, yet read to its "end": a socket shut mid-headers reads as the
                # headers' end and an empty body (a 200 with nothing in it), mid-body as a short one
                raise Retryable("transport", f"no complete response within {self.timeout:g}s")
            # (an error's text is redacted whole where its message is made: ``redact.redact``)
            scrubbed = scrub_secrets(body) if 200 <= response.status_code < 300 else None
            if scrubbed is not None:
                log.warning("%s: the server's answer contained the API key; it was replaced by %s before "
                            "anything was read or stored", what, REDACTED)
                body = scrubbed
            return BoundedResponse(response.status_code, body, response.headers)
        except requests.exceptions.SSLError:
            raise ConnectorError(
                f"{what}: the server's TLS certificate did not verify; refusing to send the key there"
            ) from None
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            if guard.expired:
                raise Retryable("transport", f"no complete response within {self.timeout:g}s") from None
            final = connection_error(exc) if connection_error and isinstance(exc, requests.ConnectionError) else None
            if final is not None:
                raise final from None
            raise Retryable("transport", f"connection failed ({type(exc).__name__})") from None
        finally:
            guard.done = True
            _current.guard = None

    def _send(self, method: str, url: str, headers: Mapping[str, str] | None, data: Any,
              params: Mapping[str, str] | None, auth: Any, verify: Any) -> requests.Response:
        """``Session.request`` less what we never use (cookies, ``.netrc``, redirects, hooks), the
        environment read once per origin (``_Route``); the adapter's ``send`` does the rest."""
        if params:
            encoded = urlencode([(k, v) for k, v in params.items() if v is not None], doseq=True)
            if encoded:
                url += ("&" if "?" in url else "?") + encoded
        prepared = requests.PreparedRequest()
        prepared.prepare_method(method)
        if url.isascii():
            prepared.url = url   # as built by the caller; urllib3 percent-encodes what a target may not hold
        else:
            prepared.prepare_url(url, None)   # an international host name: requests' IDNA encoding
        if headers:
            merged = _DEFAULT_HEADERS.copy()
            merged.update(headers)
            prepared.prepare_headers({k: v for k, v in merged.items() if v is not None})
        else:
            prepared.prepare_headers(_DEFAULT_HEADERS)
        prepared.prepare_body(data, None)
        if auth is not None:
            prepared.prepare_auth(auth)
        route = self._route(url)
        if route.ca_bundle and (verify is True or verify is None):
            verify = route.ca_bundle
        return self._adapter().send(
            prepared, stream=True, timeout=(self.timeout, self.timeout),
            verify=True if verify is None else verify, proxies=route.proxies,
        )

    def _read_body(self, response: requests.Response, what: str) -> bytes:
        encoding = (response.headers.get("Content-Encoding") or "identity").strip().lower()
        if encoding not in _DECODINGS and encoding != "identity":
            raise ResponseRefused(f"{what}: the response is in an encoding we did not ask for ({encoding[:40]})")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise self._too_large(what)
        inflater = zlib.decompressobj(_DECODINGS[encoding]) if encoding in _DECODINGS else None
        body = bytearray()
        raw_bytes = 0
        while True:
            chunk = response.raw.read(_READ_CHUNK, decode_content=False)
            if not chunk:
                break
            raw_bytes += len(chunk)
            if raw_bytes > self.max_bytes:
                raise self._too_large(what)
            if inflater is None:
                body += chunk
            else:
                self._inflate(inflater, chunk, body, what)
        if inflater is not None:
            body += inflater.flush()
            if len(body) > self.max_bytes:
                raise self._too_large(what)
        return bytes(body)

    def _inflate(self, inflater: Any, chunk: bytes, body: bytearray, what: str) -> None:
        """Inflate one raw chunk in steps of at most _INFLATE_STEP, stopping at the cap."""
        pending = chunk
        while pending:
            room = self.max_bytes - len(body)
            try:
                body += inflater.decompress(pending, min(_INFLATE_STEP, room + 1))
            except zlib.error:
                raise Retryable("transport", "response body did not decompress") from None
            if len(body) > self.max_bytes:
                raise self._too_large(what)
            pending = inflater.unconsumed_tail

    def _too_large(self, what: str) -> ResponseRefused:
        limit = self.max_bytes // (1024 * 1024)
        hint = f": {self._hint}" if self._hint else ""
        return ResponseRefused(f"{what}: the response is larger than {limit} MiB decompressed (the limit); refusing it{hint}")

    def close(self) -> None:
        """Close every thread's connections (a later request opens new ones)."""
        with self._adapters_lock:
            adapters = list(self._adapters)
        for adapter in adapters:
            adapter.close()
