"""--db and --config before or after the command; BILLING_CONNECTOR_DB for every command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses

from tests.support.fakestripe import small_account
from tests.support.cli import run_cli


@pytest.fixture
def synced(tmp_path):
    db = tmp_path / "b.db"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        small_account(customers=3).install(rsps)
        assert run_cli(["--db", str(db), "sync", "--quiet", "--streams", "customers"]).exit_code == 0
    return db


@pytest.mark.parametrize("where", ["before", "after", "env"])
def test_db_before_or_after_the_command_or_from_the_environment(synced, tmp_path, monkeypatch, where):
    monkeypatch.chdir(tmp_path)   # no billing.db here: only the named store can answer
    args = {"before": ["--db", str(synced), "status", "--json"], "after": ["status", "--json", "--db", str(synced)],
            "env": ["status", "--json"]}[where]
    result = run_cli(args, env={"BILLING_CONNECTOR_DB": str(synced)} if where == "env" else None)
    assert result.exit_code == 0, result.stderr
    row = json.loads(result.stdout)["streams"][0]
    assert (row["stream"], row["rows"]) == ("customers", 3)


def test_the_db_after_the_command_wins(synced, tmp_path):
    result = run_cli(["--db", str(tmp_path / "other.db"), "status", "--db", str(synced)])
    assert result.exit_code == 0, result.stderr


def test_config_before_the_command(synced, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(f'db = "{synced}"\n')
    result = run_cli(["--config", str(config), "status", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["db"] == str(synced)


@pytest.mark.parametrize("shell, marker", [("bash", "complete -o nosort -F"), ("zsh", "compdef"), ("fish", "complete --no-files")])
def test_shell_completion_as_the_readme_documents_it(shell, marker):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"_BILLING_CONNECTOR_COMPLETE={shell}_source billing-connector" in readme
    result = run_cli([], env={"_BILLING_CONNECTOR_COMPLETE": f"{shell}_source"})
    assert result.exit_code == 0 and marker in result.output
