"""What we know about each remote host: is it alive, and which signature scheme it takes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.models.states import Support
from storage.types import UTCDateTime

UNKNOWN = Support.UNKNOWN
YES = Support.YES
NO = Support.NO


class Domain(Base):
    __tablename__ = "domains"

    host: Mapped[str] = mapped_column(String(300), primary_key=True)  # host[:port]
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unavailable_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Whether the host verifies RFC 9421 signatures: learned from its documents, and
    # set to "no" for good when it answers an RFC 9421 request with 401.
    rfc9421: Mapped[str] = mapped_column(String(8), default=UNKNOWN)
