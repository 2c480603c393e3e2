"""Negative control: the key planted in a log file, on stderr (base64) and in the temp dir (URL-encoded)
is found, each named (tests/support/planted_bugs.py)."""

from __future__ import annotations

import re

import pytest

from tests.support.planted_bugs import run_with


@pytest.mark.slow
def test_the_key_is_found_in_a_log_file_on_stderr_in_base64_and_url_encoded_in_the_temp_dir(tmp_path):
    # the three leaks in one run (each campaign costs a clean sync and a run): each is named
    outcome = run_with(["key_in_log_file", "key_base64_on_stderr", "key_urlencoded_in_temp_dir"], tmp_path)
    assert outcome["ok"] is False and outcome["totals"]["lost"] == 0
    problems = "\n".join(outcome["problems"])
    assert "is in billing-connector.log" in problems            # the log file in the working directory
    assert "is in output #" in problems                          # stderr, base64
    assert re.search(r"is in tmp/tmp\w+\.req", problems)         # the temp dir, URL-encoded
    assert outcome["totals"]["leaks"] >= 3, outcome["line"]
