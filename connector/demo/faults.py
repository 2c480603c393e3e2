"""Realism knobs of the demo server: latency, rate limits, injected faults, counters.

Knobs (constructor arguments, CLI flags, or ``POST /_demo/config`` at runtime):

* ``latency_ms`` (+ ``latency_jitter_ms``, uniform ±, seeded) before every answer;
* ``rate_limit`` requests/s for the whole account and ``per_endpoint_rate_limit``
  per endpoint: token buckets holding one second of tokens. A request finding the
  bucket empty gets 429 ``rate_limit`` with ``Stripe-Should-Retry: true`` and, when
  ``retry_after`` is set, ``Retry-After: <seconds>``;
* ``faults``: ``{class: probability}``, drawn from a RNG seeded with ``fault_seed``.
  Classes: ``500``, ``502``, ``503`` (with ``Stripe-Should-Retry: true``), ``reset``
  (connection closed, no response), ``malformed`` (200, body not JSON), ``truncated``
  (200, the JSON cut in half, Content-Length matching the cut body), ``slow`` (sleep
  ``slow_seconds`` first, then answer normally);
* ``rules``: targeted faults, each ``{"path": "/v1/customers", "fault": "500"}`` plus
  any of ``method``, ``starting_after`` (that cursor), ``page`` (the Nth page of a
  list, counted from the cursor's position and ``limit``), ``nth`` (only the Nth
  request to the path), ``from_nth`` (every request from the Nth on) and ``times``
  (fire at most that often). ``fault`` is a class above or any HTTP status
  (``"404"``, ``"400"``...). A path ending in ``*`` is a prefix.

Rate limiting is decided first (a 429 is not a fault), then rules, then random faults.
Control endpoints (``/_demo/...``) bypass all of it and are not counted.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field, fields

FAULT_CLASSES = ("500", "502", "503", "reset", "malformed", "truncated", "slow")


@dataclass
class Knobs:
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    rate_limit: float | None = None
    per_endpoint_rate_limit: float | None = None
    retry_after: int | None = None
    faults: dict = field(default_factory=dict)
    fault_seed: int = 0
    slow_seconds: float = 5.0
    rules: list = field(default_factory=list)
    forbidden_streams: list = field(default_factory=list)

    @classmethod
    def names(cls) -> set[str]:
        return {f.name for f in fields(cls)}


class TokenBucket:
    def __init__(self, rate: float):
        self.rate = float(rate)
        self.capacity = max(1.0, self.rate)
        self.tokens = self.capacity
        self.updated = time.monotonic()

    def take(self) -> bool:
        moment = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (moment - self.updated) * self.rate)
        self.updated = moment
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Realism:
    """Knobs plus the state they need; one lock, since handlers run in threads."""

    def __init__(self, **knobs):
        self.lock = threading.Lock()
        self.knobs = Knobs()
        self.path_counts: dict[str, int] = {}
        self.rule_fired: dict[int, int] = {}
        self.configure(**knobs)
        self.reset_stats()

    def configure(self, **knobs) -> dict:
        unknown = set(knobs) - Knobs.names()
        if unknown:
            raise ValueError(f"unknown demo server setting(s): {', '.join(sorted(unknown))}")
        for name, value in knobs.items():
            if name == "faults":
                bad = set(value or {}) - set(FAULT_CLASSES)
                if bad:
                    raise ValueError(f"unknown fault class(es) {sorted(bad)}; use {', '.join(FAULT_CLASSES)}")
                value = {str(k): float(v) for k, v in (value or {}).items()}
            setattr(self.knobs, name, value)
        with self.lock:
            self.rng = random.Random(f"faults/{self.knobs.fault_seed}")
            self.bucket = TokenBucket(self.knobs.rate_limit) if self.knobs.rate_limit else None
            self.endpoint_buckets: dict[str, TokenBucket] = {}
            if "rules" in knobs:
                self.rule_fired = {}
                self.path_counts = {}
        return self.settings()

    def settings(self) -> dict:
        return {name: getattr(self.knobs, name) for name in sorted(Knobs.names())}

    # -- decisions --------------------------------------------------------------------
    def latency_seconds(self) -> float:
        knobs = self.knobs
        if not knobs.latency_ms and not knobs.latency_jitter_ms:
            return 0.0
        with self.lock:
            jitter = self.rng.uniform(-knobs.latency_jitter_ms, knobs.latency_jitter_ms) if knobs.latency_jitter_ms else 0
        return max(0.0, (knobs.latency_ms + jitter) / 1000.0)

    def admit(self, endpoint: str) -> bool:
        """False when a rate limit says 429."""
        with self.lock:
            if self.bucket is not None and not self.bucket.take():
                return False
            rate = self.knobs.per_endpoint_rate_limit
            if rate:
                bucket = self.endpoint_buckets.setdefault(endpoint, TokenBucket(rate))
                if not bucket.take():
                    return False
        return True

    def fault_for(self, method: str, path: str, params: dict, page_number: int | None) -> str | None:
        """The fault class (or HTTP status as text) this request gets, if any."""
        with self.lock:
            count = self.path_counts[path] = self.path_counts.get(path, 0) + 1
            for number, rule in enumerate(self.knobs.rules):
                if self._rule_matches(rule, method, path, params, page_number, count):
                    fired = self.rule_fired.get(number, 0)
                    if rule.get("times") is not None and fired >= int(rule["times"]):
                        continue
                    self.rule_fired[number] = fired + 1
                    return str(rule.get("fault", rule.get("status", "500")))
            for fault_class in FAULT_CLASSES:
                probability = self.knobs.faults.get(fault_class, 0.0)
                if probability and self.rng.random() < probability:
                    return fault_class
        return None

    @staticmethod
    def _rule_matches(rule, method, path, params, page_number, count) -> bool:
        pattern = rule.get("path", "*")
        if pattern.endswith("*"):
            if not path.startswith(pattern[:-1]):
                return False
        elif path != pattern:
            return False
        if rule.get("method") and rule["method"].upper() != method:
            return False
        if "starting_after" in rule and params.get("starting_after") != rule["starting_after"]:
            return False
        if "page" in rule and page_number != int(rule["page"]):
            return False
        if "nth" in rule and count != int(rule["nth"]):
            return False
        if "from_nth" in rule and count < int(rule["from_nth"]):
            return False
        return True

    # -- counters ----------------------------------------------------------------------
    def reset_stats(self) -> None:
        with self.lock:
            self.counters = {"total": 0, "successful": 0, "rate_limited": 0, "by_status": {},
                             "faults": {}, "endpoints": {}, "first_request_at": None, "last_request_at": None,
                             "per_second": {}}

    def count(self, endpoint: str, status: int | None, fault: str | None) -> None:
        moment = time.time()
        with self.lock:
            counters = self.counters
            counters["total"] += 1
            if status is not None:
                key = str(status)
                counters["by_status"][key] = counters["by_status"].get(key, 0) + 1
                if 200 <= status < 300 and fault not in ("malformed", "truncated"):
                    counters["successful"] += 1
                if status == 429:
                    counters["rate_limited"] += 1
            if fault:
                counters["faults"][fault] = counters["faults"].get(fault, 0) + 1
            counters["endpoints"][endpoint] = counters["endpoints"].get(endpoint, 0) + 1
            counters["first_request_at"] = counters["first_request_at"] or moment
            counters["last_request_at"] = moment
            # answers per endpoint in each second since the first request (how a client paced itself)
            second = int(moment - counters["first_request_at"])
            timeline = counters["per_second"].setdefault(endpoint, [])
            timeline.extend([0] * (second + 1 - len(timeline)))
            timeline[second] += 1

    def stats(self) -> dict:
        with self.lock:
            return {**self.counters, "by_status": dict(self.counters["by_status"]),
                    "faults": dict(self.counters["faults"]), "endpoints": dict(self.counters["endpoints"]),
                    "per_second": {k: list(v) for k, v in self.counters["per_second"].items()}}
