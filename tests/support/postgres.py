"""Where the real PostgreSQL the Postgres tests use listens.

The CI machine runs one on 127.0.0.1:5432 (trust auth, database `test`);
BILLING_CONNECTOR_TEST_POSTGRES overrides the DSN.
"""

from __future__ import annotations

import os

POSTGRES_DSN = os.environ.get("BILLING_CONNECTOR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
