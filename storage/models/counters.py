"""Counters the node keeps across restarts and processes (``/metrics`` reads them)."""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class NodeCounter(Base):
    """A monotonic count, e.g. inbox items handled (``inbox_handled``); every process that does
    the work adds to the same row, in the transaction that did it."""

    __tablename__ = "node_counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
