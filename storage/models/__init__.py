"""All tables; importing this package registers them on ``Base.metadata``."""

from .action import ActionCall, Commitment, Membership, Participant
from .activity import InboxItem, OutboxActivity
from .actor import ApiToken, LocalActor, RemoteActor
from .delivery import Delivery
from .domain import Domain
from .follow import Follow
from .moderation import ActorBlock, DomainBlock, Flag, RsvpBan
from .impact import CampaignState, CampaignTotal, Contribution, ImpactReport, TotalsSnapshot

__all__ = [
    "ActorBlock",
    "DomainBlock",
    "Flag",
    "RsvpBan",
    "ActionCall",
    "ApiToken",
    "CampaignState",
    "CampaignTotal",
    "Commitment",
    "Contribution",
    "Delivery",
    "Domain",
    "Follow",
    "ImpactReport",
    "InboxItem",
    "LocalActor",
    "Membership",
    "OutboxActivity",
    "Participant",
    "RemoteActor",
    "TotalsSnapshot",
]
