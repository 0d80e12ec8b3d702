"""All tables; importing this package registers them on ``Base.metadata``."""

from .activity import InboxItem, OutboxActivity
from .actor import ApiToken, LocalActor, RemoteActor
from .delivery import Delivery
from .follow import Follow

__all__ = [
    "ApiToken",
    "Delivery",
    "Follow",
    "InboxItem",
    "LocalActor",
    "OutboxActivity",
    "RemoteActor",
]
