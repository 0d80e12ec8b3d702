"""The synthetic fediverse: chapter nodes, other servers, and who follows whom where.

* Chapters' follower counts and servers' user counts both follow Zipf laws (a few large, a long
  tail), as measured on the real fediverse; each follower sits on one server.
* Everyone has a place on a ring (a stand-in for the globe); the round trip between two places
  grows with their distance, from 20 ms (neighbours) to 300 ms (antipodes).
* A server offers a shared inbox or not (most do: Mastodon, Misskey, GoToSocial...), has a
  downlink and some inbox workers that grow with its size; 2% are down, 1% slow.
* Deliveries are counted with the node's own de-duplication (``policies.delivery_inboxes``):
  a server with a shared inbox takes one copy per chapter, others one per follower.

The world is built once per seed; followers are aggregated into (chapter, server) pairs, and
the simulation sends one delivery event per inbox, not one per follower.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bench.planet import policies

UP, DOWN, SLOW = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Shape:
    chapters: int = 10_000
    servers: int = 5_000
    followers: int = 1_000_000
    seed: int = 17
    chapter_zipf: float = 0.9  # exponent of chapters' follower counts by rank
    server_zipf: float = 1.1  # exponent of servers' user counts by rank
    shared_inbox: float = 0.9  # share of servers offering a shared inbox
    down: float = 0.02
    slow: float = 0.01
    slow_delay: float = 2.0  # seconds a slow server takes to answer (and 1/50 of the bandwidth)
    rtt_min: float = 0.020
    rtt_max: float = 0.300
    chapter_uplink: float = 100e6 / 8  # bytes/s: a small VPS
    campaign_uplink: float = 1e9 / 8


@dataclass
class World:
    shape: Shape
    chapter_place: NDArray[np.float64]  # position on the ring, in [0, 1)
    server_place: NDArray[np.float64]
    campaign_place: float
    server_state: NDArray[np.int8]  # UP, DOWN, SLOW
    server_downlink: NDArray[np.float64]  # bytes/s
    server_workers: NDArray[np.int32]
    server_followers: NDArray[np.int64]
    # One entry per (chapter, server) pair with followers: how many inboxes get a copy.
    pair_start: NDArray[np.int64]  # chapter c's pairs are pair_start[c]:pair_start[c + 1]
    pair_server: NDArray[np.int32]
    pair_followers: NDArray[np.int64]
    pair_inboxes: NDArray[np.int64]

    @property
    def followers_reachable(self) -> int:
        up = self.server_state[self.pair_server] != DOWN
        return int(self.pair_followers[up].sum())

    def rtt(self, a: float, b: float) -> float:
        d = abs(a - b)
        d = min(d, 1.0 - d) * 2  # 0 (same place) .. 1 (opposite side of the ring)
        return self.shape.rtt_min + (self.shape.rtt_max - self.shape.rtt_min) * d

    def chapter_pairs(self, c: int) -> range:
        return range(int(self.pair_start[c]), int(self.pair_start[c + 1]))

    def summary(self) -> str:
        biggest = int(np.diff(self.pair_start).max()) if len(self.pair_start) > 1 else 0
        return (
            f"{self.shape.chapters:,} chapters, {self.shape.servers:,} servers, "
            f"{int(self.pair_followers.sum()):,} followers ({self.followers_reachable:,} "
            f"reachable) in {len(self.pair_server):,} chapter-server pairs, "
            f"{int(self.pair_inboxes.sum()):,} inboxes to deliver to per activity; "
            f"the most spread chapter reaches {biggest:,} servers"
        )


def _zipf(n: int, exponent: float) -> NDArray[np.float64]:
    weights = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent
    out: NDArray[np.float64] = weights / weights.sum()
    return out


def build(shape: Shape) -> World:
    rng = np.random.default_rng(shape.seed)
    c, s = shape.chapters, shape.servers
    # Every chapter has at least one follower; the rest by a Zipf law over a shuffled rank.
    per_chapter = np.ones(c, dtype=np.int64)
    rest = max(shape.followers - c, 0)
    per_chapter += rng.multinomial(rest, rng.permutation(_zipf(c, shape.chapter_zipf)))
    follower_chapter = np.repeat(np.arange(c, dtype=np.int64), per_chapter)
    server_weight = rng.permutation(_zipf(s, shape.server_zipf))
    follower_server = rng.choice(s, size=len(follower_chapter), p=server_weight)
    keys, counts = np.unique(follower_chapter * s + follower_server, return_counts=True)
    pair_chapter = keys // s
    pair_server = (keys % s).astype(np.int32)
    pair_start = np.searchsorted(pair_chapter, np.arange(c + 1)).astype(np.int64)
    shared = rng.random(s) < shape.shared_inbox
    state = np.full(s, UP, dtype=np.int8)
    draw = rng.random(s)
    state[draw < shape.down] = DOWN
    state[(draw >= shape.down) & (draw < shape.down + shape.slow)] = SLOW
    server_followers = np.bincount(follower_server, minlength=s).astype(np.int64)
    downlink = np.exp(rng.uniform(math.log(20e6), math.log(1e9), s)) / 8
    downlink[state == SLOW] /= 50
    workers = np.clip(1 + server_followers // 2000, 1, 64).astype(np.int32)
    return World(
        shape=shape,
        chapter_place=rng.random(c),
        server_place=rng.random(s),
        campaign_place=float(rng.random()),
        server_state=state,
        server_downlink=downlink,
        server_workers=workers,
        server_followers=server_followers,
        pair_start=pair_start,
        pair_server=pair_server,
        pair_followers=counts.astype(np.int64),
        pair_inboxes=_inboxes(pair_server, counts, shared),
    )


def _inboxes(
    pair_server: NDArray[np.int32], counts: NDArray[np.int64], shared: NDArray[np.bool_]
) -> NDArray[np.int64]:
    """Deliveries per pair, by the node's de-duplication of the pair's followers' inboxes.

    The answer depends only on whether the server offers a shared inbox and on the count, so
    it is computed once per distinct (shared, count) and reused."""
    known: dict[tuple[bool, int], int] = {}
    out = np.empty(len(counts), dtype=np.int64)
    for i, (server, count) in enumerate(zip(pair_server.tolist(), counts.tolist(), strict=True)):
        key = (bool(shared[server]), int(count))
        got = known.get(key)
        if got is None:
            followers = policies.server_followers(f"s{server}.example", key[1], key[0])
            got = known[key] = len(policies.delivery_inboxes(followers))
        out[i] = got
    return out
