"""What a successful verification hands back to the caller, whichever scheme was used."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

Scheme = Literal["draft-cavage-12", "rfc9421"]
CAVAGE: Final[Scheme] = "draft-cavage-12"
RFC9421: Final[Scheme] = "rfc9421"


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """What a successful verification established; ``created`` is the signed time, if any."""

    key_id: str
    scheme: Scheme
    algorithm: str
    covered: tuple[str, ...]
    created: datetime | None
