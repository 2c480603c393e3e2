"""The tests' own layout: helpers live in tests/support, and no test module imports another.

A test module (``test_*.py``) or a ``conftest.py`` imports from ``tests.support``,
the package under test and third-party libraries only: never from another test
module or a conftest (pytest imports those itself; importing them by hand runs
their fixtures' module twice and hides which helper is shared). A file under
tests/ that is neither a test module, a conftest nor a package marker is a
helper, and helpers belong in tests/support, which in turn imports no test module.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _is_test_file(path: Path) -> bool:
    return path.name.startswith("test_") or path.name == "conftest.py"


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in the file; relative imports keep their leading dots."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            if node.module is None or (node.module == "tests" and not node.level):
                # `from . import x` / `from tests import x`: the modules are the names imported
                separator = "." if node.module else ""
                found += [(node.lineno, f"{base}{separator}{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, base))
    return found


def _breaks_the_rule(module: str) -> bool:
    if module.startswith("."):
        return True  # relative: a sibling test module, conftest or helper
    return (module == "tests" or module.startswith("tests.")) and not (
        module == "tests.support" or module.startswith("tests.support."))


def layout_problems(root: Path = TESTS) -> list[str]:
    support = root / "support"
    problems = []
    for path in sorted(root.rglob("*.py")):
        where = path.relative_to(root.parent)
        in_support = support in path.parents
        if not in_support and not _is_test_file(path) and path.name != "__init__.py":
            problems.append(f"{where}: a helper outside tests/support")
            continue
        if not (in_support or _is_test_file(path)):
            continue
        for line, module in _imported_modules(path):
            if _breaks_the_rule(module):
                problems.append(f"{where}:{line}: imports {module}")
    return problems


def test_test_modules_import_only_the_support_layer():
    assert layout_problems() == []


def test_the_rule_catches_each_way_of_breaking_it(tmp_path):
    # a tree that breaks the rule once in every way it can be broken
    root = tmp_path / "tests"
    (root / "support").mkdir(parents=True)
    (root / "sync").mkdir()
    (root / "support" / "fake.py").write_text("from tests.sync.test_a import helper\n")
    (root / "sync" / "helpers.py").write_text("")
    (root / "sync" / "conftest.py").write_text("from .helpers import x\n")
    (root / "sync" / "test_a.py").write_text(
        "import tests.sync.conftest\nfrom tests.sync import test_b\nfrom . import conftest\n"
        "from tests.support.fake import ok\nfrom connector.store import open_store\nimport pytest\n")
    assert layout_problems(root) == [
        "tests/support/fake.py:1: imports tests.sync.test_a",
        "tests/sync/conftest.py:1: imports .helpers",
        "tests/sync/helpers.py: a helper outside tests/support",
        "tests/sync/test_a.py:1: imports tests.sync.conftest",
        "tests/sync/test_a.py:2: imports tests.sync",
        "tests/sync/test_a.py:3: imports .conftest",
    ]
