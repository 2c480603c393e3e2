"""The one way tests run a command: click's CliRunner with the canary key, checked never to leak.

Every run asserts the canary key is absent from stdout and stderr and that no
traceback was printed, whatever the command and however it ended. A command sets up
the process's root logger (level, handler) as its options say; the runner puts it
back afterwards, so a `--quiet` run cannot hide the log records a later test reads.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping, Sequence

from click.testing import CliRunner, Result

from connector.cli import main
from tests.support.fakestripe import BASE
from tests.support.keys import CANARY_KEY

# Short network budgets, so a misbehaving server costs a test seconds, not minutes.
FAST = {
    "BILLING_CONNECTOR_TIMEOUT_SECONDS": "1",
    "BILLING_CONNECTOR_MAX_RETRIES": "2",
    "BILLING_CONNECTOR_MAX_RETRY_SECONDS": "5",
}


@contextlib.contextmanager
def root_logging_kept() -> Iterator[None]:
    """The root logger's level and handlers as they were before the block, whatever it configured."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        yield
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers


def run_cli(
    args: Sequence[str],
    *,
    base: str | None = BASE,
    key: str | None = CANARY_KEY,
    env: Mapping[str, str | None] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    fast: bool = False,
    prog_name: str = "billing-connector",
) -> Result:
    """Run ``billing-connector ARGS`` in-process and return click's result.

    ``base``: the Stripe address (STRIPE_API_BASE), by default the `responses`
    fake's; None leaves it unset. ``key``: STRIPE_API_KEY, None leaves it unset
    (the tool reads that as no key). ``env`` goes on top (a None value unsets a
    variable); ``fast`` adds the short network budgets; ``cwd`` is the working
    folder for the run. Exceptions are not caught: a command that raises fails
    the test with its traceback.
    """
    environ: dict[str, str | None] = {"STRIPE_API_BASE": base, "STRIPE_API_KEY": key}
    if fast:
        environ.update(FAST)
    environ.update(env or {})
    with contextlib.chdir(cwd) if cwd is not None else contextlib.nullcontext(), root_logging_kept():
        result = CliRunner().invoke(main, list(args), env=environ, prog_name=prog_name, catch_exceptions=False)
    for stream in (result.stdout, result.stderr):
        assert CANARY_KEY not in stream
        assert "Traceback (most recent call last)" not in stream
    return result


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]
