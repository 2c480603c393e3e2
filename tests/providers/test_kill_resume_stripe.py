"""kill -9 at a random committed page of a Stripe sync: the rerun converges to a clean run's rows
(tests/support/kill_resume.py)."""

from __future__ import annotations

import pytest

from tests.support.kill_resume import kill_and_resume


@pytest.mark.slow
def test_kill_9_at_a_random_page_then_rerun_equals_a_clean_run(tmp_path):
    kill_and_resume("stripe", tmp_path)
