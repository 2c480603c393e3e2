"""A provider for the configured settings: one builder per provider, registered in a dict.

Each builder reads its key from the environment (never from a file or a flag),
refuses a base URL the key must not travel to before any request, and sizes
the sync's concurrency on the provider's own limits: Stripe's requests per
second (a share of its documented limit for the key's mode), Chargebee's hard
per-minute budget and concurrency cap (a share of the plan's limit; every test
site is on the Starter limit). A provider's adapter (and its SDK) is imported
by its builder only: a Stripe sync never loads Chargebee's SDK, `status` neither.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .config import Settings, describe_key
from .endpoint_safety import require_safe_endpoint
from .errors import ConfigError
from .http import RateLimiter, RetryPolicy
from .providers.base import Provider
from .providers.chargebee_budget import DEFAULT_CONCURRENCY, MinuteBudget, budget_for
from .providers.stripe_catalog import default_rate
from .redact import register_secret

if TYPE_CHECKING:   # connect_stripe imports the sync package when it runs
    from .sync import InFlight


@dataclass
class Connection:
    provider: Provider
    key_description: str
    livemode: bool
    workers: int          # requests in flight the sync keeps (to begin with, when in_flight is given)
    pace: str             # the rate ceiling, for the log ("80 requests/s", "75 requests/minute")
    # how many requests to keep in flight as the server's latency shows (sync.InFlight); None:
    # ``workers`` throughout (set by the user, or the provider's own cap)
    in_flight: InFlight | None = None


def _retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(max_attempts=settings.max_retries, max_seconds=settings.max_retry_seconds,
                       max_wait=settings.max_retry_wait_seconds)


def connect_stripe(settings: Settings, environ: Mapping[str, str] | None = None) -> Connection:
    from .providers.stripe import StripeProvider
    from .sync import InFlight, default_in_flight

    require_safe_endpoint(settings.api_base, environ)
    key = settings.api_key(environ)
    livemode = "_live_" in key
    rate = settings.max_requests_per_second or default_rate(livemode)
    limiter = RateLimiter(rate, per_endpoint=min(rate, settings.max_requests_per_second_per_endpoint),
                          endpoint_rates=settings.endpoint_limits)
    provider = StripeProvider(
        key, api_base=settings.api_base, timeout=settings.timeout_seconds, limiter=limiter,
        retry_policy=_retry_policy(settings),
    )
    workers = settings.max_in_flight or default_in_flight(limiter.ceiling)
    # max_in_flight bounds nested-list follow-ups too: with 1, one request at a time
    provider.nested_workers = workers
    connection = Connection(provider, describe_key(key), livemode, workers, f"{limiter.ceiling:.0f} requests/s")
    if not settings.max_in_flight:   # a number the user set is kept; ours follows the latency
        connection.in_flight = InFlight(limiter, workers)
    return connection


def chargebee_budget(settings: Settings, site: str) -> int:
    """Requests per minute for the site: a share of its plan's limit (a test site's plan is Starter)."""
    plan = "starter" if site.endswith("-test") else settings.chargebee_plan
    return budget_for(plan, settings.chargebee_budget_share, settings.chargebee_requests_per_minute)


def connect_chargebee(settings: Settings, environ: Mapping[str, str] | None = None) -> Connection:
    from .providers import chargebee as chargebee_adapter

    site = settings.chargebee_site
    if not site:
        raise ConfigError(
            "no Chargebee site: pass --site acme (or acme-test), set CHARGEBEE_SITE or [chargebee] site"
        )
    if settings.chargebee_api_base is not None:
        require_safe_endpoint(settings.chargebee_api_base, environ)
    chargebee_adapter.site_base_url(site, settings.chargebee_api_base)  # a bad site name fails before the key is read
    key = chargebee_adapter.api_key_from_env(environ)
    register_secret(key)  # from here on no message, log line or stored text can carry it
    per_minute = chargebee_budget(settings, site)
    concurrency = min(settings.max_in_flight or DEFAULT_CONCURRENCY, per_minute)
    provider = chargebee_adapter.ChargebeeProvider(
        site, key, budget=MinuteBudget(per_minute, concurrency), api_base=settings.chargebee_api_base,
        timeout=settings.timeout_seconds, retry_policy=_retry_policy(settings),
    )
    return Connection(provider, chargebee_adapter.describe_key(key), not site.endswith("-test"), concurrency,
                      f"{per_minute} requests/minute")


CONNECTORS: dict[str, Callable[[Settings, Mapping[str, str] | None], Connection]] = {
    "stripe": connect_stripe,
    "chargebee": connect_chargebee,
}


def connect(settings: Settings, environ: Mapping[str, str] | None = None) -> Connection:
    """The configured provider, ready to identify its account. ConfigError / AuthError before any request."""
    return CONNECTORS[settings.provider](settings, environ)
