"""The PostgreSQL target (psycopg 3): ``postgres://user[:password]@host[:port]/db[?schema=billing]``.

Each table is loaded in one transaction: create the schema and table if
missing, add new upstream columns (never drop or recreate), COPY the changed
rows into a temporary staging table, then merge them with
``INSERT ... ON CONFLICT (primary key) DO UPDATE``, skipping rows already equal,
so a re-sent batch changes nothing, and record the load in
``_billing_connector_loads`` (base.LOADS_TABLE). A full load also removes this
account's rows the store does not have. A failure rolls the whole table back.

Every identifier is quoted by psycopg's ``sql.Identifier``; upstream column
names (metadata keys) never reach SQL as text. The password is used to connect
and nowhere else: identities and messages are built without it, and any
server message is scrubbed of it before it is shown.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, quote as url_quote, unquote, urlencode, urlsplit, urlunsplit

from ..errors import ExportError
from .base import LOADS_TABLE, TableLoad, Target, require_extra
from .schema import ACCOUNT_COLUMN, TableSchema

log = logging.getLogger("billing_connector.export")

DEFAULT_SCHEMA = "billing"
POSTGRES_TYPES = {
    "bigint": "bigint",
    "double": "double precision",
    "text": "text",
    "boolean": "boolean",
    "timestamp": "timestamptz",
    "json": "jsonb",
    "date": "date",
    "bytes": "bytea",
}
MAX_IDENTIFIER_BYTES = 63  # NAMEDATALEN - 1: longer names would be silently truncated
SECRET_QUERY_KEYS = frozenset({"password", "sslpassword"})
CONNECT_TIMEOUT_SECONDS = 10


class PostgresTarget(Target):
    schemes = ("postgres", "postgresql")

    def __init__(self, spec: str, schema: str | None = None):
        parts = urlsplit(spec)
        try:
            port = parts.port
        except ValueError:
            # the message names no part of the URL: it may hold a password
            raise ExportError("the PostgreSQL URL has an invalid port; expected postgresql://user@host:5432/database") from None
        query = parse_qsl(parts.query, keep_blank_values=True)
        self.schema = schema or dict(query).get("schema") or DEFAULT_SCHEMA
        password = unquote(parts.password) if parts.password else None
        self._secrets = [parts.password, password] if password else []
        self._secrets += [value for key, value in query if key in SECRET_QUERY_KEYS and value]
        # libpq does not know `schema`: it is ours, so it leaves the connection parameters.
        connect_query = [(k, v) for k, v in query if k != "schema"]
        self.user = unquote(parts.username) if parts.username else None
        # Connection parameters as keywords, never a URI for libpq to parse again: a password
        # holding an unencoded `@` (Python splits at the last one, libpq at the first) would
        # otherwise make libpq read part of it as the host name and print it in its error.
        self._connect_kwargs: dict[str, Any] = {
            key: value for key, value in (
                ("host", parts.hostname), ("port", port), ("dbname", unquote(parts.path.lstrip("/")) or None),
                ("user", self.user), ("password", password),
            ) if value is not None
        }
        self._connect_kwargs.update(connect_query)
        host = parts.hostname or "localhost"
        host = f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets
        netloc = (url_quote(self.user, safe="") + "@" if self.user else "") + host
        netloc += f":{port}" if port else ""
        public_query = sorted((k, v) for k, v in connect_query if k not in SECRET_QUERY_KEYS)
        public_query.append(("schema", self.schema))
        self.identity = urlunsplit(("postgresql", netloc, parts.path or "/", urlencode(public_query), ""))
        self._conn: Any = None
        self._psycopg: Any = None
        self._warned_no_loads_table = False

    # ---- connection ---------------------------------------------------------
    def open(self) -> None:
        self._psycopg = require_extra("psycopg", "postgres")
        _check_identifier(self.schema, "schema")
        try:
            self._conn = self._psycopg.connect(
                autocommit=True, **{"connect_timeout": CONNECT_TIMEOUT_SECONDS, **self._connect_kwargs}
            )
        except self._psycopg.Error as exc:
            raise ExportError(
                f"cannot connect to {self.identity}: {self._reason(exc)}; "
                "check host, port, database, user and password"
            ) from None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # ---- schema -------------------------------------------------------------
    def existing_columns(self, schema: TableSchema) -> set[str] | None:
        rows = self._query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
            [self.schema, schema.name],
            f"read the columns of {self.schema}.{schema.name}",
        )
        return {name for (name,) in rows} or None

    def last_export(self, schema: TableSchema, account_id: str, store_id: str) -> tuple[int, str] | None:
        sql = self._psycopg.sql
        if not self._query(_TABLE_EXISTS, [self.schema, LOADS_TABLE], f"look for {self.schema}.{LOADS_TABLE}"):
            return None
        rows = self._query(
            sql.SQL("SELECT seq_to, timeline FROM {} WHERE store_id = %s AND account_id = %s AND table_name = %s")
            .format(sql.Identifier(self.schema, LOADS_TABLE)),
            [store_id, account_id, schema.name],
            f"read {self.schema}.{LOADS_TABLE}",
        )
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

    def _ddl(self, cur: Any, schema: TableSchema) -> None:
        """Create the schema and table if missing, add missing columns; nothing when all is there.

        Statements run only when needed: ALTER TABLE locks out readers until the
        commit and needs ownership, and CREATE ... IF NOT EXISTS still needs the
        CREATE privilege, so a role that may only write rows keeps working.
        """
        sql = self._psycopg.sql
        for column in schema.column_names:
            _check_identifier(column, f"column of {schema.name}")
        _check_identifier(schema.name, "table")
        table = sql.Identifier(self.schema, schema.name)
        cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
            [self.schema, schema.name],
        )
        existing = {name for (name,) in cur.fetchall()}
        if existing:
            for column in schema.columns:
                if column.name not in existing:
                    cur.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                        table, sql.Identifier(column.name), sql.SQL(POSTGRES_TYPES[column.type])
                    ))
            return
        cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [self.schema])
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
        definitions = [
            sql.SQL("{} {}{}").format(
                sql.Identifier(c.name),
                sql.SQL(POSTGRES_TYPES[c.type]),
                sql.SQL(" NOT NULL" if c.name in schema.primary_key else ""),
            )
            for c in schema.columns
        ]
        definitions.append(sql.SQL("PRIMARY KEY ({})").format(_idents(sql, schema.primary_key)))
        cur.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(table, sql.SQL(", ").join(definitions)))

    # ---- load ---------------------------------------------------------------
    def load(
        self, schema: TableSchema, rows: Iterable[tuple[Any, ...]], seq_from: int, seq_to: int, full: bool
    ) -> TableLoad:
        sql = self._psycopg.sql
        table = sql.Identifier(self.schema, schema.name)
        stage = sql.Identifier("_billing_connector_stage")
        columns = _idents(sql, schema.column_names)
        sent = 0
        try:
            with self._conn.transaction(), self._conn.cursor() as cur:
                self._ddl(cur, schema)
                cur.execute(
                    sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(stage, table)
                )
                with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(stage, columns)) as copy:
                    for row in rows:
                        copy.write_row(row)
                        sent += 1
                removed = self._remove_absent(cur, schema, table, stage) if full else 0
                cur.execute(self._merge_sql(schema, table, stage))
                changed = cur.rowcount + removed
                self._record_load(cur, schema, seq_to)
        except ExportError:
            raise
        except self._psycopg.Error as exc:
            raise self._error(exc, f"load {schema.name}") from None
        return TableLoad(rows_sent=sent, rows_changed=changed)

    def _remove_absent(self, cur: Any, schema: TableSchema, table: Any, stage: Any) -> int:
        """Delete this account's rows that a full load does not hold: the store has no such row.

        Counted first, so the DELETE (and its privilege) is needed only when such rows exist.
        """
        sql = self._psycopg.sql
        same_key = sql.SQL(" AND ").join(
            sql.SQL("s.{k} = t.{k}").format(k=sql.Identifier(k)) for k in schema.primary_key)
        absent = sql.SQL("t.{} = %s AND NOT EXISTS (SELECT 1 FROM {} s WHERE {})").format(
            sql.Identifier(ACCOUNT_COLUMN), stage, same_key)
        cur.execute(sql.SQL("SELECT count(*) FROM {} t WHERE {}").format(table, absent), [self.account_id])
        count = cur.fetchone()[0]
        if count:
            cur.execute(sql.SQL("DELETE FROM {} t WHERE {}").format(table, absent), [self.account_id])
        return int(count)

    def _record_load(self, cur: Any, schema: TableSchema, seq_to: int) -> None:
        """Which store history the table now holds, committed with the load (base.LOADS_TABLE).

        A role that may only write rows cannot create the record table: the load
        goes on without it, and a warning says what a restored store would miss.
        """
        if not self.store_id:
            return
        sql = self._psycopg.sql
        loads = sql.Identifier(self.schema, LOADS_TABLE)
        cur.execute(_TABLE_EXISTS, [self.schema, LOADS_TABLE])
        if cur.fetchone() is None:
            cur.execute("SELECT has_schema_privilege(%s, 'CREATE')", [self.schema])
            if not cur.fetchone()[0]:
                if not self._warned_no_loads_table:
                    self._warned_no_loads_table = True
                    log.warning("%s: cannot create %s.%s (no CREATE on the schema): a store restored from a "
                                "backup will not be detected here; let the schema's owner export once",
                                self.identity, self.schema, LOADS_TABLE)
                return
            cur.execute(sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (store_id text NOT NULL, account_id text NOT NULL, "
                "table_name text NOT NULL, seq_to bigint NOT NULL, timeline text NOT NULL, "
                "loaded_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (store_id, account_id, table_name))"
            ).format(loads))
        cur.execute(sql.SQL(
            "INSERT INTO {} (store_id, account_id, table_name, seq_to, timeline) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (store_id, account_id, table_name) DO UPDATE SET seq_to = EXCLUDED.seq_to, "
            "timeline = EXCLUDED.timeline, loaded_at = now()"
        ).format(loads), [self.store_id, self.account_id, schema.name, seq_to, self.timeline])

    def _merge_sql(self, schema: TableSchema, table: Any, stage: Any) -> Any:
        sql = self._psycopg.sql
        names = schema.column_names
        updated = [name for name in names if name not in schema.primary_key]
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(n), sql.Identifier(n)) for n in updated
        )
        current = sql.SQL(", ").join(sql.SQL("{}.{}").format(table, sql.Identifier(n)) for n in updated)
        incoming = sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(n)) for n in updated)
        return sql.SQL(
            "INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage} "
            "ON CONFLICT ({pk}) DO UPDATE SET {assignments} WHERE ROW({current}) IS DISTINCT FROM ROW({incoming})"
        ).format(
            table=table, cols=_idents(sql, names), stage=stage, pk=_idents(sql, schema.primary_key),
            assignments=assignments, current=current, incoming=incoming,
        )

    # ---- errors -------------------------------------------------------------
    def _query(self, statement: str, params: list[Any], doing: str) -> list[tuple[Any, ...]]:
        try:
            with self._conn.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchall()
        except self._psycopg.Error as exc:
            raise self._error(exc, doing) from None

    def _error(self, exc: Exception, doing: str) -> ExportError:
        errors = self._psycopg.errors
        if isinstance(exc, errors.InsufficientPrivilege):
            reason = self._reason(exc)
            role = self.user or "the role"
            if "temporary" in reason:
                hint = f"GRANT TEMP ON DATABASE {self._database()} TO {role}"
            elif "for table" in reason or "must be owner" in reason:
                hint = f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA {self.schema} TO {role} (the owner adds columns)"
            else:
                hint = f"GRANT USAGE, CREATE ON SCHEMA {self.schema} TO {role}, or choose another --schema"
            return ExportError(f"{self.identity}: permission denied to {doing} ({reason}); {hint}")
        if isinstance(exc, self._psycopg.OperationalError):
            return ExportError(f"{self.identity}: connection lost while trying to {doing} ({self._reason(exc)}); run the export again")
        return ExportError(f"{self.identity}: could not {doing}: {self._reason(exc)}")

    def _database(self) -> str:
        return self.identity.split("?")[0].rsplit("/", 1)[-1] or "the database"

    def _reason(self, exc: Exception) -> str:
        """The server's first line, without any secret of the DSN."""
        text = " ".join(str(exc).split("\n")[0].split()) or type(exc).__name__
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


_TABLE_EXISTS = "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s"


def _idents(sql: Any, names: Iterable[str]) -> Any:
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def _check_identifier(name: str, what: str) -> None:
    if len(name.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
        raise ExportError(
            f"{what} name {name[:20]!r}... is longer than PostgreSQL's {MAX_IDENTIFIER_BYTES} bytes; rename it upstream"
        )
