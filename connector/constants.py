"""Constants that more than one module relies on, kept in one place."""

# The Stripe API version every request pins. Objects are stored exactly as this
# version shapes them, so the mapping layer reads one shape per store; the version
# is recorded in the store's meta and a store synced under another one is refused.
STRIPE_API_VERSION = "2026-10-28.endive"

PAGE_SIZE = 100  # Stripe's maximum `limit` for list endpoints.

# Stripe's documented read limits. We default to a share of them (see
# DEFAULT_CEILING_SHARE) so the merchant's own traffic keeps some headroom.
STRIPE_LIVE_REQUESTS_PER_SECOND = 100
STRIPE_TEST_REQUESTS_PER_SECOND = 25
STRIPE_PER_ENDPOINT_REQUESTS_PER_SECOND = 25
DEFAULT_CEILING_SHARE = 0.8

# How far behind "now" the events scan stays: the events list is eventually
# consistent, so the newest few seconds may still gain events.
EVENTS_SAFETY_LAG_SECONDS = 60
# Stripe keeps events for 30 days; a cursor older than this re-reads in full.
EVENTS_RETENTION_SECONDS = 30 * 24 * 3600

DEFAULT_DB_PATH = "billing.db"
DEFAULT_CONFIG_PATH = "config.toml"
DEFAULT_API_KEY_ENV = "STRIPE_API_KEY"

# What `export --to` accepts (connector/export/ registers a target per scheme).
EXPORT_TARGET_EXAMPLES = "postgres://user@host/db, duckdb:PATH, parquet:DIR, csv:DIR or jsonl:DIR"

# The largest response body read, decompressed. A Stripe page of 100 objects with
# expansions is a few MB; anything near this is a broken or hostile server.
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
