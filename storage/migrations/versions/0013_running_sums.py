"""running sums: a chapter's impact totals, and counters that outlive the process

- ``chapter_totals``: each chapter's sum of its live reports by metric and unit, adjusted as a
  report arrives, changes or is retracted; chapter pages read it instead of adding up every
  report on every view. Filled here from the reports already held.
- ``node_counters``: monotonic counts that ``/metrics`` serves whichever process did the work
  (``inbox_handled``: inbox items handled, in the transaction that handled them).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

from protocol.errors import ProtocolError
from protocol.impact import parse_report

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    chapter_totals = op.create_table(
        "chapter_totals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("chapter", sa.String(length=2048), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.UniqueConstraint("chapter", "metric", "unit"),
    )
    op.create_table(
        "node_counters",
        sa.Column("name", sa.String(length=64), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    assert chapter_totals is not None
    _fill_chapter_totals(chapter_totals)


def _fill_chapter_totals(chapter_totals: sa.Table) -> None:
    """The sums of the live reports already held (a report that no longer parses is left out,
    as the pages always did)."""
    bind = op.get_bind()
    reports = sa.table(
        "impact_reports",
        sa.column("chapter", sa.String()),
        sa.column("document", sa.Text()),
        sa.column("retracted", sa.Boolean()),
    )
    sums: dict[tuple[str, str, str], Decimal] = {}
    rows = bind.execute(
        sa.select(reports.c.chapter, reports.c.document).where(reports.c.retracted.is_(False))
    )
    for chapter, document in rows:
        doc = json.loads(document) if isinstance(document, str) else document
        try:
            values = parse_report(doc, allow_http=True).values()
        except ProtocolError:
            continue
        for (metric, unit), value in values.items():
            key = (chapter, metric, unit)
            sums[key] = sums.get(key, Decimal(0)) + value
    if sums:
        op.bulk_insert(
            chapter_totals,
            [
                {"chapter": c, "metric": m, "unit": u, "value": str(v)}
                for (c, m, u), v in sums.items()
            ],
        )


def downgrade() -> None:
    op.drop_table("node_counters")
    op.drop_table("chapter_totals")
