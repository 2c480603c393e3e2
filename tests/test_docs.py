"""Docs that cannot drift: every command and option has help and is in the README's reference."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from connector.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
REFERENCE = README.split("## Command reference", 1)[1].split("\n## ", 1)[0]
# Options every command takes, documented once above the reference table.
SHARED = {"--config", "--db", "--help", "-h", "--format", "--json", "--verbose", "--log-level", "--log-format"}


def commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


ALL = list(commands(main))


def test_every_command_is_listed():
    assert len(ALL) >= 15


@pytest.mark.parametrize("path, command", ALL, ids=[" ".join(p) for p, _ in ALL])
def test_command_has_help_with_an_example_and_a_reference_row(path, command):
    assert command.help and command.help.strip(), f"{' '.join(path)} has no help"
    assert "Example" in command.help, f"{' '.join(path)}'s help shows no example"
    rows = [line for line in REFERENCE.splitlines() if f"`billing-connector {' '.join(path)}`" in line]
    assert rows, f"README's command reference lacks `billing-connector {' '.join(path)}`"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{' '.join(path)} {param.opts[0]} has no help text"
            long_opts = [o for o in param.opts if o.startswith("--") and o not in SHARED]
            for opt in long_opts:
                assert re.search(re.escape(opt) + r"\b", rows[0]), (
                    f"README's row for {' '.join(path)} does not mention {opt}"
                )


def test_the_shared_options_are_documented_above_the_table():
    intro = REFERENCE.split("| command |", 1)[0]
    for option in SHARED - {"--help", "-h"}:
        assert option in intro, f"README's command reference does not explain {option}"


def test_readme_shows_the_two_commands_first():
    first_screen = README[:1500]
    assert "make demo" in first_screen and "make test" in first_screen


def test_every_exit_code_is_documented():
    from connector.errors import EXIT_CODES

    table = README.split("## Exit codes", 1)[1]
    for code in EXIT_CODES:
        assert re.search(rf"^\| {code} \|", table, re.M), f"exit code {code} is not in the README"
