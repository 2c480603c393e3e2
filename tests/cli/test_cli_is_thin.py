"""cli/ only parses, calls connector.app and prints: it opens no store and runs no SQL."""

from __future__ import annotations

import ast
from pathlib import Path

import connector.cli

CLI = Path(connector.cli.__file__).parent
# What a command module must leave to connector.app: opening the store, its bookkeeping, the refresh chain.
JOBS_ONLY = ("store", "refresh", "sync_health", "mrr.views", "mrr.queries", "mrr.engine.policy_of_store")


def _problems(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 2 and node.module:
            if node.module.startswith(JOBS_ONLY) and node.module != "store.failures":
                found.append(f"{path.name}:{node.lineno}: imports {node.module}")
        elif isinstance(node, ast.Attribute) and node.attr in ("execute", "executemany", "atomic"):
            found.append(f"{path.name}:{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Name) and node.id in ("open_store", "opened"):
            found.append(f"{path.name}:{node.lineno}: {node.id}")
    return found


def test_no_command_module_opens_the_store_or_runs_sql():
    assert [p for path in sorted(CLI.glob("*.py")) for p in _problems(path)] == []


def test_the_check_catches_a_command_that_reads_the_store_itself(tmp_path):
    module = tmp_path / "bad_cmd.py"
    module.write_text("from ..store import opened\nfrom ..sync_health import last_sync\n"
                      "def cmd(db):\n    with opened(db) as store:\n        store.db.execute('select 1')\n")
    assert _problems(module) == [
        "bad_cmd.py:1: imports store", "bad_cmd.py:2: imports sync_health",
        "bad_cmd.py:4: opened", "bad_cmd.py:5: .execute",
    ]
