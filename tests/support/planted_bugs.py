"""Negative controls of the fault campaign: bugs planted in the CLI it drives must make it fail.

Each control is a ``sitecustomize.py`` put first on the CLI's PYTHONPATH
(``faults.campaign(plant=...)``): every sync and export the campaign runs,
the clean reference included, carries the bug. A campaign that compared a run
with another run of the same code, or searched only its raw output for the key,
reported these as "0 lost" and "0 leaks". The controls are
tests/campaign/test_negative_control_*.py, one module each so they run in
parallel under `--dist loadscope`.
"""

from __future__ import annotations

import textwrap

from tests.support.faults import RETRY_WAIT_SECONDS, faults

PLANTS = {
    # one customer in three never stored, in every run (the clean one too)
    "dropped_customer": """
        import hashlib
        import connector.sync.full as full
        import connector.sync.pages as pages

        original = pages.prepare_page

        def prepare_page(stream, page, *where):
            if stream == "customers":
                page.objects = [o for o in page.objects
                                if int(hashlib.sha256(o["id"].encode()).hexdigest(), 16) % 3]
            return original(stream, page, *where)

        pages.prepare_page = full.prepare_page = prepare_page
    """,
    # the key written to a log file in the working directory
    "key_in_log_file": """
        import os
        with open("billing-connector.log", "a") as log:
            log.write("starting with key " + os.environ.get("STRIPE_API_KEY", "") + "\\n")
    """,
    # the key base64-encoded on stderr, inside a longer text
    "key_base64_on_stderr": """
        import base64, os, sys
        sys.stderr.write("debug: " + base64.b64encode(b"Bearer " + os.environ.get("STRIPE_API_KEY", "").encode()).decode() + "\\n")
    """,
    # the key URL-encoded in a file left in the temp dir
    "key_urlencoded_in_temp_dir": """
        import os, tempfile, urllib.parse
        handle, path = tempfile.mkstemp(suffix=".req")
        os.write(handle, ("GET /v1/customers?key=" + urllib.parse.quote(os.environ.get("STRIPE_API_KEY", "") + "/")).encode())
        os.close(handle)
    """,
}


def run_with(plants: list[str], tmp_path):
    (tmp_path / "sitecustomize.py").write_text("\n".join(textwrap.dedent(PLANTS[name]) for name in plants))
    # seed 14: run 0 draws network faults but no in-process crash, so every sync is the CLI's
    return faults.campaign(runs=1, seed=14, customers=12, kill_points=0, workers=1, plant=str(tmp_path),
                           retry_wait=RETRY_WAIT_SECONDS)
