"""Keeping a chapter's running sums (``chapter_totals``) as its reports change.

Every writer of a report row calls here in its own transaction: a new report adds its values,
a new version adds the difference, a retraction subtracts what the report held. What a stored
report holds is read as migration 0013 read it when it filled the sums (``stored_values``), so a
document that no longer parses was never added and is never subtracted.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from protocol.errors import ProtocolError
from protocol.impact import MetricKey, parse_report
from storage.repositories import chapter_totals as totals_repo
from storage.repositories.chapter_totals import ChapterKey


def stored_values(document: Any) -> dict[MetricKey, Decimal]:
    """The values a stored report document adds to its chapter's sums ({} if unreadable)."""
    try:
        return parse_report(document, allow_http=True).values()
    except (ProtocolError, TypeError, AttributeError):
        return {}


def add_change(
    changes: dict[ChapterKey, Decimal],
    chapter: str,
    old: Mapping[MetricKey, Decimal],
    new: Mapping[MetricKey, Decimal],
) -> None:
    """``changes`` += new - old for ``chapter`` (every key of either, even when it nets 0)."""
    for (metric, unit), value in new.items():
        key = (chapter, metric, unit)
        changes[key] = changes.get(key, Decimal(0)) + value
    for (metric, unit), value in old.items():
        key = (chapter, metric, unit)
        changes[key] = changes.get(key, Decimal(0)) - value


async def replace_values(
    session: AsyncSession,
    chapter: str,
    old: Mapping[MetricKey, Decimal],
    new: Mapping[MetricKey, Decimal],
) -> None:
    """One report's values went from ``old`` to ``new`` ({} for none)."""
    changes: dict[ChapterKey, Decimal] = {}
    add_change(changes, chapter, old, new)
    await totals_repo.adjust_chapters(session, changes)
