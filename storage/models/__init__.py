"""All tables; importing this package registers them on ``Base.metadata``."""

from storage.models.action import (
    ActionCall,
    Attendance,
    Commitment,
    Membership,
    Participant,
    PollVote,
)
from storage.models.activity import InboxItem, OutboxActivity
from storage.models.actor import ApiToken, Invitation, LocalActor, RemoteActor, SupersededKey
from storage.models.counters import NodeCounter
from storage.models.delivery import Delivery
from storage.models.directory import DirectoryEntry, DirectoryNode
from storage.models.domain import Domain
from storage.models.follow import Follow
from storage.models.follow_up import FollowUp
from storage.models.impact import (
    CampaignExclusion,
    CampaignState,
    CampaignTotal,
    ChapterTotal,
    Contribution,
    ImpactReport,
    RollupVerification,
    TotalsSnapshot,
)
from storage.models.moderation import ActorBlock, DomainBlock, Flag, RsvpBan
from storage.models.notification import Notification, Reminder

__all__ = [
    "ActionCall",
    "ActorBlock",
    "ApiToken",
    "Attendance",
    "CampaignExclusion",
    "CampaignState",
    "CampaignTotal",
    "ChapterTotal",
    "Commitment",
    "Contribution",
    "Delivery",
    "DirectoryEntry",
    "DirectoryNode",
    "Domain",
    "DomainBlock",
    "Flag",
    "Follow",
    "FollowUp",
    "ImpactReport",
    "InboxItem",
    "Invitation",
    "LocalActor",
    "Membership",
    "NodeCounter",
    "Notification",
    "OutboxActivity",
    "Participant",
    "PollVote",
    "Reminder",
    "RemoteActor",
    "RollupVerification",
    "RsvpBan",
    "SupersededKey",
    "TotalsSnapshot",
]
