"""The doctor's export-target checks: databases are connected to, folders inspected; nothing is written."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ConnectorError
from .check import ERROR, OK, Check


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _writable_place(directory: Path) -> tuple[bool, str]:
    """Whether an export may write into ``directory`` (existing or to be created)."""
    if directory.exists():
        if not directory.is_dir():
            return False, f"{directory} is a file, not a folder"
        return os.access(directory, os.W_OK | os.X_OK), f"{directory} exists"
    parent = _nearest_existing(directory)
    return parent.is_dir() and os.access(parent, os.W_OK | os.X_OK), f"{directory} will be created in {parent}"


def probe_target(spec: str) -> Check:
    """Connect to (databases) or inspect (files) one export target; writes nothing."""
    from ..constants import EXPORT_TARGET_EXAMPLES
    from ..export import TARGETS
    from ..export.base import require_extra
    from ..export.duckdb_target import DuckDBTarget
    from ..export.files import FileTarget
    from ..export.postgres import PostgresTarget

    scheme = spec.split(":", 1)[0].lower() if ":" in spec else ""
    if scheme not in TARGETS:
        # only the scheme is shown: the rest of an unknown spec may hold a password
        return Check("export target", ERROR, f"unknown target type {scheme or spec!r}", f"use {EXPORT_TARGET_EXAMPLES}")
    try:
        if scheme in PostgresTarget.schemes:
            target = PostgresTarget(spec)
            try:
                with target:
                    pass
            except ConnectorError as exc:
                return Check(f"export {target.identity}", ERROR, str(exc), "start the server or fix the URL in export.targets")
            return Check(f"export {target.identity}", OK, "connected")
        if scheme in DuckDBTarget.schemes:
            target = DuckDBTarget(spec)
            if target.path.exists():
                duckdb = require_extra("duckdb", "duckdb")
                try:
                    duckdb.connect(str(target.path), read_only=True).close()
                except duckdb.Error as exc:
                    return Check(f"export {target.identity}", ERROR, f"cannot open: {str(exc).splitlines()[0]}",
                                 "close other programs using the file, or export to another path")
                return Check(f"export {target.identity}", OK, "file opens")
            folder = target.path.parent
            if not folder.is_dir():
                return Check(f"export {target.identity}", ERROR, f"folder {folder} does not exist", "create the folder first")
            usable = os.access(folder, os.W_OK | os.X_OK)
            return _place_check(target.identity, usable, f"{target.path.name} will be created in {folder}")
        target = FileTarget(spec)
        usable, where = _writable_place(target.directory)
        return _place_check(target.identity, usable, where)
    except ConnectorError as exc:
        return Check(f"export {scheme}", ERROR, str(exc), "fix export.targets in the config file")


def _place_check(identity: str, usable: bool, where: str) -> Check:
    if usable:
        return Check(f"export {identity}", OK, f"{where}, writable")
    return Check(f"export {identity}", ERROR, f"{where}, not writable", "fix the folder's permissions or choose another")


def check_export_targets(targets: list[str]) -> list[Check]:
    if not targets:
        return [Check("export targets", OK, "none configured (export.targets)")]
    return [probe_target(spec) for spec in targets]
