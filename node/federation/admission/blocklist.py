"""The node's blocks in memory: consulted on every inbox POST before any key fetch."""

from __future__ import annotations

from dataclasses import dataclass, field

from protocol.errors import MalformedDocument
from protocol.ids import authority_of


@dataclass
class BlockList:
    suspended: set[str] = field(default_factory=set)
    silenced: set[str] = field(default_factory=set)
    actors: set[str] = field(default_factory=set)
    loaded_at: float = -1e9

    def refusal(self, key_or_actor: str, host: str | None = None) -> str | None:
        """Why a request signed with this key (or by this actor) is refused, or None.

        ``host`` is ``key_or_actor``'s authority when the caller has it already."""
        if not self.suspended and not self.actors:
            return None
        if host is None:
            try:
                host = authority_of(key_or_actor)
            except MalformedDocument:
                return None
        if _matches(host, self.suspended):
            return f"{host} is blocked on this node"
        for actor in self.actors:
            if key_or_actor == actor or key_or_actor.startswith((actor + "#", actor + "/")):
                return f"{actor} is blocked on this node"
        return None

    def silenced_host(self, actor: str) -> bool:
        try:
            return _matches(authority_of(actor), self.silenced | self.suspended)
        except MalformedDocument:
            return False


def _matches(host: str, blocked: set[str]) -> bool:
    """A block of example.org covers sub.example.org too (as Mastodon's domain blocks do)."""
    bare = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return any(host == b or bare == b or bare.endswith("." + b) for b in blocked)
