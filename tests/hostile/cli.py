"""Running the CLI against a hostile server: one environment, the key checked absent from all output."""

from __future__ import annotations

from click.testing import CliRunner

from connector.cli import main
from tests.conftest import CANARY_KEY

# Short budgets, so a misbehaving server costs a test seconds, not minutes.
FAST = {
    "BILLING_CONNECTOR_TIMEOUT_SECONDS": "1",
    "BILLING_CONNECTOR_MAX_RETRIES": "2",
    "BILLING_CONNECTOR_MAX_RETRY_SECONDS": "5",
}


def run_cli(args: list[str], base: str | None, **env: str):
    environ = {"STRIPE_API_KEY": CANARY_KEY, **FAST, **env}
    if base is not None:
        environ["STRIPE_API_BASE"] = base
    result = CliRunner().invoke(main, args, env=environ, catch_exceptions=False)
    assert CANARY_KEY not in result.output
    assert CANARY_KEY not in result.stderr
    return result


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]
