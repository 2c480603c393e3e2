"""The fault campaign's short version: a few seeded runs under every fault class, nothing lost.

Kills land at any committed change (raw pages and the MRR refresh) or inside the
export, as in the long run (RELIABILITY.md); "lost" is counted against the
account the demo server holds, and the key is searched in every file the runs wrote.
"""

from __future__ import annotations

import re

import pytest

from tests.support.faults import RETRY_WAIT_SECONDS, faults

HEADLINE = re.compile(
    r"^(\d+) faults over 3 runs \((\d+) kill points\): 0 records lost, 0 duplicates, "
    r"0 cursor regressions, MRR delta 0, 0 secret leaks, integrity_check ok$"
)


@pytest.mark.slow
def test_a_short_campaign_loses_nothing():
    # 20 customers: still pages in every stream to fault and kill between; what is checked (nothing
    # lost, no duplicate, no regression, MRR = a full recompute, no leak) does not grow with the account
    outcome = faults.campaign(runs=3, seed=11, customers=20, kill_points=3, workers=3, kill_during="any",
                              retry_wait=RETRY_WAIT_SECONDS)
    assert outcome["problems"] == []
    match = HEADLINE.match(outcome["line"])
    assert match, outcome["line"]
    totals = outcome["totals"]
    # every injected fault is counted: the server's own counters plus kills and crashes
    assert int(match.group(1)) == totals["faults"] + totals["kills"] + totals["crashes"]
    assert totals["faults"] > 0 and int(match.group(2)) == totals["kills"] >= 1
    # each landed kill and crash says where it landed (--details shows it per run)
    assert sum(outcome["sites"].values()) == totals["kills"] + totals["crashes"]
    assert set(outcome["sites"]) <= {"raw", "mrr", "after", "export", "exception/sync", "disk_full/sync",
                                     "disk_full/mrr", "disk_full/export-store", "disk_full/export-target"}
    assert outcome["ok"] is True


def test_plans_are_seeded():
    assert faults.plan_run(11, 2, 1, "raw") == faults.plan_run(11, 2, 1, "raw")
    assert faults.plan_run(11, 2, 1) != faults.plan_run(12, 2, 1)
