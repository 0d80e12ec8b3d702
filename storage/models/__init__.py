"""All tables; importing this package registers them on ``Base.metadata``."""

from .action import ActionCall, Commitment, Membership, Participant
from .activity import InboxItem, OutboxActivity
from .actor import ApiToken, Invitation, LocalActor, RemoteActor
from .delivery import Delivery
from .domain import Domain
from .follow import Follow
from .impact import CampaignState, CampaignTotal, Contribution, ImpactReport, TotalsSnapshot
from .moderation import ActorBlock, DomainBlock, Flag, RsvpBan

__all__ = [
    "ActionCall",
    "ActorBlock",
    "ApiToken",
    "CampaignState",
    "CampaignTotal",
    "Commitment",
    "Contribution",
    "Delivery",
    "Domain",
    "DomainBlock",
    "Flag",
    "Follow",
    "ImpactReport",
    "InboxItem",
    "Invitation",
    "LocalActor",
    "Membership",
    "OutboxActivity",
    "Participant",
    "RemoteActor",
    "RsvpBan",
    "TotalsSnapshot",
]
