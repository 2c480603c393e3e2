"""The doctor's environment checks: the Python version and the installed packages' versions."""

from __future__ import annotations

import importlib.metadata
import re
import sys

from .check import ERROR, OK, WARNING, Check

PACKAGE = "billing-connector"
MINIMUM_PYTHON = (3, 11)


def check_python(version: tuple[int, ...] = tuple(sys.version_info[:3])) -> list[Check]:
    text = ".".join(map(str, version))
    if version[:2] < MINIMUM_PYTHON:
        wanted = ".".join(map(str, MINIMUM_PYTHON))
        return [Check("python", ERROR, f"Python {text}", f"install Python {wanted} or newer and reinstall billing-connector")]
    return [Check("python", OK, f"Python {text}")]


_SPEC = re.compile(r"(<=|>=|==|!=|<|>|~=)\s*([0-9][0-9a-zA-Z.*]*)")


def _release(version: str) -> tuple[int, ...]:
    """The leading numeric release of a version text: "16.2.0rc1" → (16, 2, 0)."""
    parts = []
    for piece in version.split("."):
        digits = re.match(r"\d+", piece)
        if not digits:
            break
        parts.append(int(digits.group()))
        if digits.group() != piece:
            break
    return tuple(parts)


def version_satisfies(installed: str, specifier: str) -> bool:
    """Whether ``installed`` meets a requirement's comparisons (">=16,<17"), by release numbers."""
    have = _release(installed)
    for op, wanted_text in _SPEC.findall(specifier):
        wanted = _release(wanted_text.rstrip(".*"))
        width = max(len(have), len(wanted))
        a, b = have + (0,) * (width - len(have)), wanted + (0,) * (width - len(wanted))
        ok = {
            ">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b, "!=": a != b,
            "==": a[:len(wanted)] == wanted, "~=": a >= b and a[:len(wanted) - 1] == wanted[:-1],
        }[op]
        if not ok:
            return False
    return True


def _requirements(metadata=importlib.metadata) -> list[tuple[str, str, str | None]]:
    """(name, specifier, extra or None) for each declared requirement of billing-connector."""
    out = []
    for line in metadata.requires(PACKAGE) or []:
        requirement, _, marker = line.partition(";")
        extra = re.search(r'extra\s*==\s*"([^"]+)"', marker)
        name = re.match(r"[A-Za-z0-9_.-]+", requirement.strip()).group()
        specifier = requirement.strip()[len(name):].split("]")[-1].strip()
        out.append((name, specifier, extra.group(1) if extra else None))
    return out


def check_dependencies(metadata=importlib.metadata) -> list[Check]:
    """Installed versions of the required packages, and of the optional export extras."""
    try:
        own = metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return [Check("billing-connector", ERROR, "not installed as a package", "in the checkout: pip install .")]
    checks = [Check("billing-connector", OK, f"version {own}")]
    seen = set()
    for name, specifier, extra in _requirements(metadata):
        if extra not in (None, "postgres", "duckdb") or name in seen:
            continue          # test-only packages are not the user's concern
        seen.add(name)
        label = f"package {name}"
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            if extra is None:
                checks.append(Check(label, ERROR, "not installed", f"pip install '{name}{specifier}'"))
            else:
                checks.append(Check(
                    label, OK, f"not installed (only the {extra} export target needs it)",
                ))
            continue
        if specifier and not version_satisfies(installed, specifier):
            checks.append(Check(label, ERROR if extra is None else WARNING, f"{installed} installed, {specifier} required",
                                f"pip install '{name}{specifier}'"))
        else:
            checks.append(Check(label, OK, installed))
    return checks
