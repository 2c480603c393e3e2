"""Checks against the truth, not against another run of the same code (benchmarks/faults.py).

* ``account_reference`` / ``account_delta``: the objects the demo server's account holds
  (``DemoAccount.objects``, children included) against the store's live raw rows — a bug
  that drops a customer in every run, the clean one included, still shows as lost.
* ``export_delta``: every store row, at its last ``_seq``, must be in a file export folder.
* ``secret_forms`` / ``leaks``: the key, and its base64 and URL-encoded forms, searched in
  every byte a run wrote — outputs, logs and every file under its working folder (the store,
  its WAL, exports, reports, logs and the temp dir all live there).
"""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path
from urllib.parse import quote, quote_plus

# Streams whose objects the account holds in full; `events` is a log the store keeps in part.
ACCOUNT_STREAMS = ("customers", "products", "prices", "plans", "coupons", "promotion_codes", "subscriptions",
                   "invoices", "invoice_items", "credit_notes", "charges", "refunds", "subscription_items",
                   "invoice_line_items", "invoice_payments")


# Fields the sync asks Stripe to add (`expand[]`) that the account holds apart or not at all.
_EXPANDED_ONLY = ("tiers", "payments")


def _unexpanded(value, top: bool = False):
    if isinstance(value, dict):
        return {k: (_ids(v) if k == "discounts" else _unexpanded(v)) for k, v in value.items()
                if not (top and k in _EXPANDED_ONLY)}
    if isinstance(value, list):
        return [_unexpanded(v) for v in value]
    return value


def _ids(value):
    return [d.get("id") if isinstance(d, dict) else d for d in value] if isinstance(value, list) else value


def comparable(obj: dict) -> str:
    """An object's text with only what a request's expansions change taken out.

    A stored subscription, its items or an invoice has its ``discounts`` expanded, an
    invoice its ``payments`` and a price its ``tiers``; the account holds them
    unexpanded. Everything else must be equal, field for field.
    """
    return json.dumps(_unexpanded(obj, top=True), sort_keys=True)


def account_reference(account) -> dict[str, dict[str, str]]:
    """stream -> {id: comparable text} of everything the account holds."""
    return {stream: {obj["id"]: comparable(obj) for obj in account.objects(stream)} for stream in ACCOUNT_STREAMS}


def account_delta(reference: dict[str, dict[str, str]], db: Path) -> tuple[int, int, list[str]]:
    """(account objects missing from the store or different there, live store rows the account
    does not hold, a few examples)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    lost = phantoms = 0
    examples: list[str] = []
    try:
        for stream, held in reference.items():
            stored = {i: comparable(json.loads(d)) for i, d in
                      conn.execute(f'SELECT id, data FROM "{stream}" WHERE _deleted = 0')}
            for object_id, text in held.items():
                if stored.get(object_id) != text:
                    lost += 1
                    if len(examples) < 3:
                        examples.append(f"{stream} {object_id} {'differs' if object_id in stored else 'missing'}")
            extra = set(stored) - set(held)
            phantoms += len(extra)
            examples += [f"{stream} {i} not in the account" for i in sorted(extra)[:max(0, 3 - len(examples))]]
    finally:
        conn.close()
    return lost, phantoms, examples


def export_delta(db: Path, directory: Path) -> tuple[int, list[str]]:
    """Store rows whose last version (by ``_seq``) is missing from a jsonl export folder."""
    from connector.export.schema import ACCOUNT_COLUMN, data_tables, table_schema
    from connector.store import open_store

    manifest = json.loads((directory / "manifest.json").read_text())
    store = open_store(db, create=False)
    lost, examples = 0, []
    try:
        for table in data_tables(store):
            key = [c for c in table_schema(store, table).primary_key if c != ACCOUNT_COLUMN]
            exported: dict[tuple, int] = {}
            for entry in manifest.get("tables", {}).get(table, {}).get("files", []):
                for line in (directory / entry["path"]).read_text().splitlines():
                    row = json.loads(line)
                    k = tuple(row[c] for c in key)
                    exported[k] = max(exported.get(k, -1), row["_seq"])
            for row in store.db.execute(f'SELECT {", ".join(key)}, _seq FROM "{table}"'):
                if exported.get(tuple(row[:-1]), -1) < row[-1]:
                    lost += 1
                    if len(examples) < 3:
                        examples.append(f"export lacks {table} {row[:-1]} at seq {row[-1]}")
    finally:
        store.close()
    return lost, examples


def secret_forms(secret: str) -> list[bytes]:
    """The secret as written, URL-encoded, and as it appears inside any base64 text.

    Inside a longer base64 text the secret's encoding depends on where it starts
    (3 byte offsets) and on its neighbours at both ends; the middle part, which
    only the secret's own bytes decide, is searched for each offset, in the
    standard and the URL-safe alphabet.
    """
    raw = secret.encode()
    forms = {raw, quote(secret, safe="").encode(), quote_plus(secret).encode()}
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw + b"\0\0\0")
        start = 4 if offset else 0
        end = 4 * ((offset + len(raw)) // 3)
        middle = encoded[start:end]
        forms.add(middle)
        forms.add(middle.translate(bytes.maketrans(b"+/", b"-_")))
    return sorted(forms)


def leaks(secret: str, texts: list[bytes], folder: Path) -> tuple[int, list[str]]:
    """(outputs or files holding the secret in any form, where)."""
    forms = secret_forms(secret)
    found: list[str] = []
    for index, text in enumerate(texts):
        if any(form in text for form in forms):
            found.append(f"output #{index}")
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(form in data for form in forms):
                found.append(str(path.relative_to(folder)))
    return len(found), found
