"""``python -m connector.demo.server`` prints one line, serves, and stops on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import requests

from tests.support.demo import NOW, TEST_KEY


def test_cli_prints_one_line_serves_and_stops_on_sigterm():
    process = subprocess.Popen(
        [sys.executable, "-m", "connector.demo.server", "--port", "0", "--customers", "20", "--seed", "2",
         "--now", str(NOW), "--rate-limit", "1000", "--fault", "500=0", "--rule",
         json.dumps({"path": "/v1/plans", "fault": "503"}), "--forbidden-stream", "refunds"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:") and line.endswith("\n")
        url = line.split()[-1]
        headers = {"Authorization": f"Bearer {TEST_KEY}"}
        assert requests.get(url + "/v1/customers", headers=headers, timeout=10).status_code == 200
        assert requests.get(url + "/v1/plans", headers=headers, timeout=10).status_code == 503
        assert requests.get(url + "/v1/refunds", headers=headers, timeout=10).status_code == 403
        settings = requests.get(url + "/_demo/config", timeout=10).json()
        assert (settings["rate_limit"], settings["faults"]) == (1000.0, {"500": 0.0})
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert (out, err) == ("", "")
