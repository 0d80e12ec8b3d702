"""Dialect-specific statements (upserts) behind one function each.

Each dialect's module is imported on first use: a SQLite node never loads the PostgreSQL
dialect (about 2 MB resident), and the other way round.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert


def insert_ignore(session: AsyncSession, table: Table, conflict_columns: Sequence[str]) -> Insert:
    """``INSERT ... ON CONFLICT (cols) DO NOTHING`` for the session's database."""
    module: Any
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql as module
    else:
        from sqlalchemy.dialects import sqlite as module
    stmt: Insert = module.insert(table).on_conflict_do_nothing(
        index_elements=list(conflict_columns)
    )
    return stmt
