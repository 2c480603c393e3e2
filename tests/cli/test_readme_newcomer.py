"""The newcomer's path, verbatim: the commands the README and `make demo` print work on demo.db."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.support.cli import run_cli

pytestmark = pytest.mark.slow   # the full default demo, as `make demo` builds it

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _sh_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, re.DOTALL)


def _newcomer_lines() -> list[str]:
    """The first block after `make demo` and the MRR block: both say they work on the demo's store."""
    intro = README.split("`make demo` ends by printing", 1)[1]
    mrr = README.split("## MRR", 1)[1]
    return [*_sh_blocks(intro)[0].splitlines(), *_sh_blocks(mrr)[0].splitlines()]


def _makefile_lines() -> list[str]:
    recipe = (ROOT / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    return [line.strip() for line in re.findall(r'@echo "(.*)"', recipe) if line.strip().startswith(("billing-connector", "export"))]


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("newcomer")
    result = run_cli(["demo", "--db", str(folder / "demo.db"), "--report", str(folder / "r.html")])
    assert result.exit_code == 0, result.output
    return folder


def _run_verbatim(lines, folder, monkeypatch):
    monkeypatch.chdir(folder)
    env: dict[str, str] = {}
    ran = 0
    for line in lines:
        words = shlex.split(line, comments=True)
        if not words or words[0] == "source":
            continue
        if words[0] == "export":
            name, value = words[1].split("=", 1)
            env[name] = value
            continue
        assert words[0] == "billing-connector", line
        result = run_cli(words[1:], base=None, key=None, env=env)  # a newcomer has no key set
        assert result.exit_code == 0, f"{line}\n{result.output}"
        assert result.output.strip(), f"{line} printed nothing"
        ran += 1
    return ran


def test_the_readme_newcomer_commands_work_verbatim(demo_dir, monkeypatch):
    assert _run_verbatim(_newcomer_lines(), demo_dir, monkeypatch) >= 8
    assert (demo_dir / "mrr.html").exists()   # report --html, as written


def test_what_make_demo_prints_works_verbatim(demo_dir, monkeypatch):
    assert _run_verbatim(_makefile_lines(), demo_dir, monkeypatch) >= 3
