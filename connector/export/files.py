"""File targets: ``parquet:DIR``, ``csv:DIR``, ``jsonl:DIR`` for BigQuery, Snowflake, Redshift loads.

Layout::

    DIR/manifest.json
    DIR/<table>/<run time>_<seq from>-<seq to>.<ext>

One folder per table, one file per export run holding the rows whose ``_seq``
is in ``(seq from, seq to]`` (every row with ``--full``, marked ``"full": true``
in the manifest). A loader applies files in manifest order and keeps, per
primary key, the row with the highest ``_seq``; ``_deleted`` says a row was
removed upstream.

Commit order per table, so no half-written file ever carries its final name:
write ``<name>.tmp``, rename it into place, then replace ``manifest.json``
atomically (written to a temporary name first). The manifest is the list of
committed files: a data file it does not list is the leftover of a killed run
and is removed by the next run; so is any ``*.tmp``.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ExportError
from ..private_files import mode_like
from . import file_formats
from .base import TableLoad, Target
from .file_formats import FORMATS
from .schema import TableSchema

MANIFEST = "manifest.json"
# Held while a run writes, so two runs never interleave their files and manifests.
LOCK_FILE = ".billing-connector.lock"
MANIFEST_VERSION = 1
_OUR_FILE = re.compile(r"^\d{8}T\d{6}\.\d{6}Z_\d+-\d+\.(parquet|csv|jsonl)(\.tmp)?$")


def _write_errors() -> tuple[type[BaseException], ...]:
    """OSError, plus DuckDB's errors when it is installed (Parquet is written by DuckDB)."""
    try:
        import duckdb
    except ImportError:
        return (OSError,)
    return (OSError, duckdb.Error)


class FileTarget(Target):
    schemes = tuple(FORMATS)

    def __init__(self, spec: str, *, store_path: str | None = None, account_id: str = ""):
        scheme, _, location = spec.partition(":")
        scheme = scheme.lower()
        if not location:
            raise ConfigError(f"{scheme} target needs a folder: --to {scheme}:DIR")
        self.format = scheme
        self.extension, make_writer = FORMATS[scheme]
        self._writer = make_writer()
        self.directory = Path(location).expanduser().resolve()
        self.identity = f"{scheme}:{self.directory}"
        # file names sort in run order: loaders let the later file win a tie on _seq
        self.run_stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        self.manifest: dict[str, Any] = {}
        self._store_path = store_path
        self._account_id = account_id
        # the files hold the store's data: they get the store's mode (private_files.py)
        self.mode = mode_like(store_path)
        self._writer.mode = self.mode
        # which store and which of its timelines the files come from (set by export())
        self.store_id = ""
        self.timeline = ""
        self._lock: Any = None

    @classmethod
    def from_spec(cls, spec: str, schema: str | None, store: Any) -> "FileTarget":
        if schema:
            raise ConfigError("--schema applies to postgres and duckdb targets, not to file folders")
        account = store.account()
        return cls(spec, store_path=store.path, account_id=account.account_id if account else "")

    # ---- opening: read the manifest, clear leftovers of a killed run ----------
    def open(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._take_lock()
            self.manifest = self._read_manifest()
            self._remove_leftovers()
        except OSError as exc:
            raise ExportError(f"{self.identity}: cannot use the folder: {exc.strerror}; check it and its permissions") from None

    def _take_lock(self) -> None:
        self._lock = open(self.directory / LOCK_FILE, "a")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            self._lock = None
            raise ExportError(
                f"{self.identity}: another export is writing to this folder; wait for it to finish"
            ) from None

    def _read_manifest(self) -> dict[str, Any]:
        path = self.directory / MANIFEST
        if not path.exists():
            return {"version": MANIFEST_VERSION, "format": self.format, "tables": {}}
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ExportError(f"{path} is not valid JSON ({exc}); restore it or export into an empty folder") from None
        if manifest.get("format") != self.format:
            raise ExportError(
                f"{self.directory} holds a {manifest.get('format')} export, not {self.format}; use another folder"
            )
        return manifest

    def _remove_leftovers(self) -> None:
        listed = {entry["path"] for table in self.manifest["tables"].values() for entry in table["files"]}
        for folder in self.directory.iterdir():
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                relative = f"{folder.name}/{path.name}"
                if _OUR_FILE.match(path.name) and relative not in listed:
                    path.unlink()
        leftover_manifest = self.directory / (MANIFEST + ".tmp")
        if leftover_manifest.exists():
            leftover_manifest.unlink()

    def close(self) -> None:
        self._writer.close()
        if self._lock is not None:
            self._lock.close()  # closing the file releases the lock
            self._lock = None

    # ---- schema ---------------------------------------------------------------
    def existing_columns(self, schema: TableSchema) -> set[str] | None:
        table = self.manifest["tables"].get(schema.name)
        if table is None:
            return None
        return {column["name"] for column in table["schema"]["columns"]}

    def last_export(self, schema: TableSchema, account_id: str, store_id: str) -> tuple[int, str] | None:
        """(seq to, timeline) of this store's last file of the table, as the manifest records it.

        Files written before stores had an id are matched by the store's path and
        carry no timeline ('').
        """
        table = self.manifest["tables"].get(schema.name)
        ours = [
            entry for entry in (table or {}).get("files", [])
            if entry.get("account_id") == account_id and (
                entry.get("store_id") == store_id
                or ("store_id" not in entry and entry.get("store") == self._store_path))
        ]
        if not ours:
            return None
        return ours[-1]["seq_to"], ours[-1].get("timeline", "")

    # ---- load -----------------------------------------------------------------
    def load(
        self, schema: TableSchema, rows: Iterable[tuple[Any, ...]], seq_from: int, seq_to: int, full: bool
    ) -> TableLoad:
        folder = self.directory / schema.name
        name = f"{self.run_stamp}_{seq_from}-{seq_to}.{self.extension}"
        final = folder / name
        temporary = folder / (name + ".tmp")
        manifest = json.loads(json.dumps(self.manifest))  # a copy: ours changes only once committed
        table = manifest["tables"].setdefault(schema.name, {"files": []})
        table["schema"] = schema.as_manifest()
        renamed = False
        try:
            folder.mkdir(parents=True, exist_ok=True)
            count = self._writer(temporary, schema, rows)
            if count:
                os.replace(temporary, final)
                renamed = True
                table["files"].append({
                    "path": f"{schema.name}/{name}",
                    "rows": count,
                    "seq_from": seq_from,
                    "seq_to": seq_to,
                    "full": full,
                    "account_id": self._account_id,
                    "store": self._store_path,
                    "store_id": self.store_id,
                    "timeline": self.timeline,
                    "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                })
            else:
                temporary.unlink()
            self._write_manifest(manifest)
        except _write_errors() as exc:
            _remove_quietly(temporary)
            if renamed:
                _remove_quietly(final)
            reason = getattr(exc, "strerror", None) or " ".join(str(exc).split("\n")[0].split())
            raise ExportError(
                f"{self.identity}: cannot write {schema.name}: {reason}; "
                "free some space or choose another folder, then run the export again"
            ) from None
        except BaseException:
            _remove_quietly(temporary)
            if renamed:
                _remove_quietly(final)
            raise
        self.manifest = manifest
        return TableLoad(rows_sent=count, files=[str(final)] if count else [])

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        manifest["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        temporary = self.directory / (MANIFEST + ".tmp")
        try:
            with file_formats.open_output(temporary, self.mode) as handle:
                handle.write(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.directory / MANIFEST)
        except BaseException:
            _remove_quietly(temporary)
            raise


def _remove_quietly(path: Path) -> None:
    """Remove a file of ours if it is there; a failure here must not hide the error being raised."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        return
