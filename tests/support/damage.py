"""Damage a store file from outside, as a failing disk or a copy cut short would."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def damage_the_last_pages(path: Path, share: float) -> None:
    """Overwrite the last ``share`` of a store's pages with bytes no page starts with (the schema's intact)."""
    with sqlite3.connect(path) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(path.read_bytes())
    pages = len(data) // page_size
    first = pages - int(pages * share)
    data[first * page_size:] = b"\xff" * (len(data) - first * page_size)
    path.write_bytes(bytes(data))
