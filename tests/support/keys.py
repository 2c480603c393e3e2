"""The API key every test that needs one uses.

Tests assert it never appears in output, logs, exceptions, the store or exports,
so it must look like a real test-mode secret key.
"""

from __future__ import annotations

CANARY_KEY = "sk_test_CANARY0secret0never0printed0x9Zq"
