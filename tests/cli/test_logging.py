"""-v/-vv, --log-level and --log-format json (one object per line, for log shippers; never the key)."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.cli import root_logging_kept, run_cli
from tests.support.keys import CANARY_KEY


@pytest.fixture(autouse=True)
def _no_account_endpoint(fake):
    """A Stripe-compatible server without /v1/account: the sync logs a warning and goes on."""
    fake.faults.append((r"/v1/account", lambda p: fake.error(404, "resource_missing", "Unrecognized request URL")))



def test_json_log_lines_carry_timestamp_level_logger_message(fake, tmp_path):
    result = run_cli(["sync", "--db", str(tmp_path / "b.db"), "--streams", "customers", "--log-format", "json"])
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert records, result.stderr
    record = records[0]
    assert list(record) == ["timestamp", "level", "logger", "message"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["timestamp"])
    assert (record["level"], record["logger"]) == ("warning", "billing_connector.stripe")
    assert record["message"].startswith("GET /v1/account was not found (404)")
    assert CANARY_KEY not in result.stderr and CANARY_KEY[-4:] not in result.stderr


@pytest.mark.parametrize("flags, shown", [
    ([], {"warning"}),
    (["-v"], {"warning", "info"}),
    (["-vv"], {"warning", "info", "debug"}),
    (["--log-level", "error"], set()),
])
def test_verbosity_before_or_after_the_command(fake, tmp_path, flags, shown):
    for where in ("before", "after"):
        db = str(tmp_path / f"{where}.db")
        args = ["sync", "--db", db, "--streams", "customers", "--format", "json"]
        args = [*flags, *args] if where == "before" else [*args, *flags]
        result = run_cli(args)
        assert result.exit_code == 0, result.stderr
        levels = {line.split(":", 1)[0].split(" ", 1)[0] for line in result.stderr.splitlines() if line}
        assert levels == shown, (where, result.stderr)
        if "debug" in shown:
            assert "debug [billing_connector.stripe]: GET /v1/customers" in result.stderr
            assert CANARY_KEY not in result.stderr


def test_quiet_keeps_errors_only_unless_a_level_is_named(fake, tmp_path):
    quiet = run_cli(["sync", "--db", str(tmp_path / "q.db"), "--streams", "customers", "--quiet"])
    assert quiet.exit_code == 0 and quiet.stderr == ""
    named = run_cli(["sync", "--db", str(tmp_path / "n.db"), "--streams", "customers", "--quiet", "--log-level", "warning"])
    assert named.stderr.startswith("warning: GET /v1/account was not found (404)")


def test_one_handler_keeps_its_filters_across_later_options(fake, tmp_path):
    """A filter put on the handler before the command's own options are read (secret redaction)
    still applies after `-v`, `--quiet` or `--log-format` given after the command change it."""
    import logging

    from connector import logsetup

    class Mark(logging.Filter):
        def filter(self, record):
            record.msg = f"[seen] {record.getMessage()}"
            record.args = None
            return True

    mark = Mark()
    with root_logging_kept():
        logsetup.configure()
        logsetup._handler.addFilter(mark)
        try:
            result = run_cli(["sync", "--db", str(tmp_path / "b.db"), "--streams", "customers", "--quiet",
                              "--log-level", "warning", "--log-format", "json"])
            record = json.loads(result.stderr.splitlines()[0])
            assert record["message"].startswith("[seen] GET /v1/account was not found (404)")
        finally:
            logsetup._handler.removeFilter(mark)
