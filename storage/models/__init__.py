"""All tables; importing this package registers them on ``Base.metadata``."""

from .action import ActionCall, Commitment, Membership, Participant
from .activity import InboxItem, OutboxActivity
from .actor import ApiToken, LocalActor, RemoteActor
from .delivery import Delivery
from .domain import Domain
from .follow import Follow

__all__ = [
    "ActionCall",
    "ApiToken",
    "Commitment",
    "Delivery",
    "Domain",
    "Follow",
    "InboxItem",
    "LocalActor",
    "Membership",
    "OutboxActivity",
    "Participant",
    "RemoteActor",
]
