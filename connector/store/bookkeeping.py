"""The store's bookkeeping: ``_meta`` (account, mode, change sequence), ``_sync_state`` (cursors)
and ``_pending_children`` (child lists an interrupted read still has to read).

One account and one mode (test or live) per file, recorded in ``_meta`` and
checked before a sync writes; a stream's cursor is written in the same
transaction as the page it follows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import StoreError
from .sql import canonical_json, now_iso


@dataclass(frozen=True)
class AccountIdentity:
    provider: str
    account_id: str
    livemode: bool
    api_version: str


class Bookkeeping:
    """Meta, account binding, change sequence and sync state of :class:`~connector.store.Store` (a mixin)."""

    # ---- meta -------------------------------------------------------------
    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM _meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO _meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    def account(self) -> AccountIdentity | None:
        if self.meta("account_id") is None:
            return None
        return AccountIdentity(
            provider=self.meta("provider") or "",
            account_id=self.meta("account_id") or "",
            livemode=self.meta("livemode") == "1",
            api_version=self.meta("api_version") or "",
        )

    def bind_account(self, identity: AccountIdentity) -> None:
        """Record the account this store holds, or refuse one that differs.

        Raises StoreError (nothing written) when the file already holds another
        account, the other mode, or data fetched under another API version.
        """
        current = self.account()
        if current is None:
            with self.db.atomic():
                self.set_meta("provider", identity.provider)
                self.set_meta("account_id", identity.account_id)
                self.set_meta("livemode", "1" if identity.livemode else "0")
                self.set_meta("api_version", identity.api_version)
            return
        mode = {True: "live", False: "test"}
        if current.livemode != identity.livemode:
            raise StoreError(
                f"{self.path} holds {mode[current.livemode]}-mode data but the key is "
                f"{mode[identity.livemode]}-mode: use a {mode[current.livemode]} key or another --db"
            )
        if (current.provider, current.account_id) != (identity.provider, identity.account_id):
            raise StoreError(
                f"{self.path} holds account {current.account_id} ({current.provider}), "
                f"not {identity.account_id}: use that account's key or another --db"
            )
        if current.api_version != identity.api_version:
            raise StoreError(
                f"{self.path} was synced with API version {current.api_version}, this "
                f"connector pins {identity.api_version}: run `sync --full-refresh` into a new --db"
            )

    # ---- change sequence --------------------------------------------------
    def current_seq(self) -> int:
        return int(self.meta("seq", "0") or 0)

    def _claim_seq(self) -> int:
        """The sequence number the open transaction will stamp on changed rows."""
        return self.current_seq() + 1

    def _commit_seq(self, seq: int) -> None:
        self.set_meta("seq", str(seq))

    # ---- sync state -------------------------------------------------------
    def get_state(self, stream: str) -> dict[str, Any] | None:
        """The committed cursor of a stream for the bound account, or None."""
        account = self.account()
        if account is None:
            return None
        row = self.db.execute(
            "SELECT state FROM _sync_state WHERE provider = ? AND account_id = ? AND stream = ?",
            [account.provider, account.account_id, stream],
        ).fetchone()
        return json.loads(row[0]) if row else None

    def set_state(self, stream: str, state: Mapping[str, Any]) -> bool:
        """Write a stream's cursor (inside the page's transaction). Returns True if it changed."""
        account = self.account()
        if account is None:
            raise StoreError("the store has no account bound yet; sync binds it first")
        text = canonical_json(state)
        before = self.db.conn.total_changes
        self.db.execute(
            "INSERT INTO _sync_state(provider, account_id, stream, state, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(provider, account_id, stream) DO UPDATE SET "
            "state = excluded.state, updated_at = excluded.updated_at "
            "WHERE _sync_state.state IS NOT excluded.state",
            [account.provider, account.account_id, stream, text, now_iso()],
        )
        return self.db.conn.total_changes > before

    # ---- child lists a read still has to read apart ------------------------
    def pending_children(self, stream: str) -> list[tuple[str, str]]:
        """(child table, parent id) of the lists ``stream``'s read left to read."""
        return [(table, parent) for table, parent in self.db.execute(
            "SELECT child_table, parent_id FROM _pending_children WHERE stream = ? ORDER BY child_table, parent_id",
            [stream])]

    def add_pending_children(self, stream: str, entries: list[tuple[str, str]]) -> None:
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO _pending_children(stream, child_table, parent_id) VALUES (?, ?, ?)",
            [(stream, table, parent) for table, parent in entries])

    def drop_pending_child(self, stream: str, child_table: str, parent_id: str) -> None:
        self.db.execute("DELETE FROM _pending_children WHERE stream = ? AND child_table = ? AND parent_id = ?",
                        [stream, child_table, parent_id])

    def clear_pending_children(self, stream: str) -> None:
        """A new read of ``stream`` starts: what an earlier one left to read is not its work."""
        self.db.execute("DELETE FROM _pending_children WHERE stream = ?", [stream])

    def all_states(self) -> dict[str, dict[str, Any]]:
        account = self.account()
        if account is None:
            return {}
        return {
            stream: {"state": json.loads(state), "updated_at": updated_at}
            for stream, state, updated_at in self.db.execute(
                "SELECT stream, state, updated_at FROM _sync_state "
                "WHERE provider = ? AND account_id = ? ORDER BY stream",
                [account.provider, account.account_id],
            ).fetchall()
        }
