"""Fixtures for the export tests: a built store, and a real PostgreSQL schema per test.

PostgreSQL is the server tests/support/postgres.py names. Each test gets its own
uniquely named schema and drops it at the end.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import sql

from tests.support.export_store import build_store
from tests.support.postgres import POSTGRES_DSN


@pytest.fixture
def built_store(tmp_path):
    store = build_store(tmp_path / "store.db")
    yield store
    store.close()


@pytest.fixture
def pg():
    conn = psycopg.connect(POSTGRES_DSN, autocommit=True)
    yield conn
    conn.close()


@pytest.fixture
def pg_schema(pg):
    """A schema name unique to this test, dropped (with everything in it) afterwards."""
    name = f"bc_export_{uuid.uuid4().hex[:10]}"
    yield name
    pg.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
