"""`billing-connector --help` and `status` load no provider SDK: a command imports what it needs when it runs.

Each check runs in a fresh interpreter (this one has imported everything) and
reads ``sys.modules`` afterwards.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from connector.store import open_store

# The provider SDKs, the FX library and what they pull in; none is needed to parse options or read a store.
HEAVY = ("stripe", "chargebee", "currency_converter", "requests", "httpx", "rich")


def _loaded_after(code: str) -> list[str]:
    probe = (f"{code}\nimport json, sys\n"
             f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def _command(*args: str) -> str:
    return ("from connector.cli import main\n"
            f"try:\n    main({list(args)!r}, standalone_mode=False)\nexcept SystemExit:\n    pass")


def test_importing_the_cli_loads_no_provider_sdk():
    assert _loaded_after("import connector.cli") == []


def test_help_loads_no_provider_sdk():
    assert _loaded_after(_command("--help")) == []


def test_status_loads_no_provider_sdk(tmp_path):
    db = tmp_path / "billing.db"
    open_store(db).close()
    assert _loaded_after(_command("status", "--db", str(db))) == []


@pytest.mark.parametrize("module", ["stripe", "rich"])
def test_the_probe_sees_an_sdk_a_command_imports(module):
    # the check can fail: a module imported on the way is seen
    assert module in _loaded_after(f"import connector.cli\nimport {module}")
