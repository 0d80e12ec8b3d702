"""The global campaign, played on the simulated world.

1. The campaign publishes a call to every chapter (directly, or through regional hubs that
   ``Announce`` it to the chapters near them, who then fetch it from the campaign).
2. Each chapter, having handled it, adopts it: its own ``Create`` and an ``Announce`` of the
   campaign's call go to each of its follower inboxes (``new_call_activities``).
3. Later every chapter reports: the report goes to its followers and to the campaign.
4. The campaign counts each report as it handles it and publishes its rollup (to every
   chapter) at most once per rollup interval, until it counts them all.

Either half can be played alone (``call`` or ``reports`` off): a what-if about the fan-out
does not need the rollup, and one about the rollup starts from chapters that already adopted.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from bench.planet import policies
from bench.planet.costs import Costs
from bench.planet.nodes import Delivery, Node, Server, Sim
from bench.planet.world import World
from node.runtime.config import Settings


@dataclass(frozen=True, slots=True)
class Options:
    settings: Settings = field(default_factory=policies.settings)
    hubs: int = 0  # relay through this many regional hubs (0: direct fan-out)
    call: bool = True
    reports: bool = True
    report_at: float = 1800.0  # seconds after the call when chapters start reporting...
    report_spread: float = 600.0  # ...spread over this long
    report_followers: bool = True  # reports also go to followers (they never reach the campaign)
    horizon: float = 12 * 3600.0


@dataclass(frozen=True, slots=True)
class Load:
    name: str
    utilisation: float
    detail: str  # its queue


@dataclass
class Result:
    reachable: int
    reached: int = 0
    reach: list[tuple[float, int]] = field(default_factory=list)  # (seconds, followers)
    totals: list[tuple[float, int]] = field(default_factory=list)  # (seconds, reports counted)
    handled: list[tuple[float, int]] = field(default_factory=list)  # reports handled so far
    reports_started: float = 0.0
    reports_sent: list[float] = field(
        default_factory=list
    )  # when each chapter published its report
    campaign: tuple[int, int] = (0, 0)  # messages, bytes
    busiest: tuple[str, int, int] = ("", 0, 0)
    total: tuple[int, int] = (0, 0)
    rollups: int = 0
    rollup_bytes: int = 0  # the last rollup's size
    rollup_committed: int = 0  # bytes of every rollup published, times its recipients
    refused: int = 0  # deliveries refused as too large (413)
    retries: int = 0
    dead: int = 0
    unavailable: int = 0
    loads: list[Load] = field(default_factory=list)  # busiest resources in the call's fan-out
    rollup_loads: list[Load] = field(default_factory=list)
    events: int = 0
    wall: float = 0.0
    virtual_end: float = 0.0

    def reach_time(self, share: float) -> float | None:
        want = share * self.reachable
        for t, n in self.reach:
            if n >= want - 1e-9:
                return t
        return None

    def rollup_time(self, share: float, chapters: int) -> float | None:
        """Seconds from the first report until a published rollup counts ``share`` of them."""
        for t, n in self.totals:
            if n >= share * chapters:
                return t - self.reports_started
        return None

    def staleness(self) -> float | None:
        """Mean seconds a handled report waits until a published rollup counts it."""
        waits, j = [], 0
        for t, n in self.handled:
            while j < len(self.totals) and self.totals[j][1] < n:
                j += 1
            if j == len(self.totals):
                break
            waits.append(self.totals[j][0] - t)
        return sum(waits) / len(waits) if waits else None

    def rollup_lag(self, share: float, chapters: int) -> float | None:
        """Seconds from when ``share`` of the reports had been published by their chapters
        until a published rollup counts that share."""
        done = self.rollup_time(share, chapters)
        sent = sorted(self.reports_sent)
        if done is None or not sent:
            return None
        at = sent[min(len(sent) - 1, max(0, int(share * chapters + 0.999999) - 1))]
        return done + self.reports_started - at


class Campaign:
    """One run of the scenario on ``world`` with the policies in ``options.settings``."""

    def __init__(
        self, world: World, costs: Costs, options: Options, progress: Callable[[str], None]
    ) -> None:
        self.world, self.costs, self.options, self.progress = world, costs, options, progress
        shape = world.shape
        s = options.settings
        self.sim = Sim(costs, world.rtt, seed=shape.seed, slow_delay=shape.slow_delay)
        self.campaign = Node(self.sim, "campaign", world.campaign_place, shape.campaign_uplink, s)
        self.chapters = [
            Node(self.sim, f"chapter-{i}", float(p), shape.chapter_uplink, s)
            for i, p in enumerate(world.chapter_place.tolist())
        ]
        self.servers = [
            Server(f"s{i}", float(p), float(r), int(w), int(st))
            for i, (p, r, w, st) in enumerate(
                zip(
                    world.server_place.tolist(),
                    world.server_downlink.tolist(),
                    world.server_workers.tolist(),
                    world.server_state.tolist(),
                    strict=True,
                )
            )
        ]
        self.result = Result(reachable=world.followers_reachable)
        self.adopted = np.zeros(len(self.chapters), dtype=bool)
        self.reached = np.zeros(len(world.pair_server), dtype=np.int64)  # inboxes reached
        self.counted = 0
        self.published_at: float | None = None
        self.published_count = -1
        self.ticking = False
        self._next_mark = 0
        self.campaign.handler = self._campaign_handles
        for c, chapter in enumerate(self.chapters):
            chapter.handler = partial_handler(self, c)
        self.hubs: list[Node] = []
        self._before = (0.0, 0.0, 0.0)

    # -- the call -----------------------------------------------------------------------
    def start_call(self) -> None:
        o = self.options
        if o.hubs:
            places = [(i + 0.5) / o.hubs for i in range(o.hubs)]
            self.hubs = [
                Node(self.sim, f"hub-{i}", p, self.world.shape.campaign_uplink, o.settings)
                for i, p in enumerate(places)
            ]
            region = [int(p * o.hubs) % o.hubs for p in self.world.chapter_place.tolist()]
            for h, hub in enumerate(self.hubs):
                members = [c for c, r in enumerate(region) if r == h]
                hub.handler = partial(self._relay_to, hub, members)
            targets: list[Node] = self.hubs
        else:
            targets = self.chapters
        self.campaign.publish(
            self.sim,
            [self._delivery(self.campaign, t, self.costs.call_bytes, "call") for t in targets],
        )

    def _relay_to(self, hub: Node, members: list[int], _: Delivery) -> None:
        """A hub announces the call to its chapters (by reference: each fetches it)."""
        size = self.costs.announce_bytes
        hub.publish(
            self.sim, [self._delivery(hub, self.chapters[c], size, "relay") for c in members]
        )

    def chapter_handles(self, c: int, d: Delivery) -> None:
        if d.kind == "relay":  # fetch the announced call from the campaign, then handle it
            self._fetch(c)
        elif d.kind == "call":
            self._adopt(c)

    def _fetch(self, c: int) -> None:
        sim, camp, chapter = self.sim, self.campaign, self.chapters[c]
        rtt = sim.rtt(chapter, camp)
        served = camp.cpu.reserve(sim.clock.now + rtt / 2, self.costs.post)
        out = camp.uplink.reserve(served, self.costs.call_bytes / camp.rate)
        camp.sent_messages += 1
        camp.sent_bytes += self.costs.call_bytes
        done = chapter.cpu.reserve(out + rtt / 2, self.costs.handle)
        sim.clock.at(done, lambda: self._adopt(c))

    def _adopt(self, c: int) -> None:
        if self.adopted[c]:
            return
        self.adopted[c] = True
        if not self.options.call:
            return
        chapter, world = self.chapters[c], self.world
        sizes = {"Create": self.costs.call_bytes, "Announce": self.costs.announce_bytes}
        out: list[Delivery] = []
        for kind in policies.adoption_messages():
            for p in world.chapter_pairs(c):
                server = self.servers[int(world.pair_server[p])]
                out.extend(
                    self._delivery(chapter, server, sizes[kind], kind, p, self._reach)
                    for _ in range(int(world.pair_inboxes[p]))
                )
        chapter.publish(self.sim, out)

    def _reach(self, d: Delivery) -> None:
        """A follower has the call once the first of its two messages reaches its inbox. One
        inbox for the pair (a shared inbox, or a lone follower): its first arrival reaches them
        all. One inbox per follower: each inbox's ``Create`` (queued first) counts one."""
        p = d.key
        world = self.world
        inboxes = int(world.pair_inboxes[p])
        before = self.result.reached
        if inboxes == 1:
            if self.reached[p]:
                return
            self.reached[p] = 1
            self.result.reached += int(world.pair_followers[p])
        else:
            if d.kind != "Create":
                return
            self.reached[p] += 1
            self.result.reached += int(world.pair_followers[p]) // inboxes
        full = self.result.reached >= self.result.reachable
        if self.result.reached != before and (self.result.reached >= self._next_mark or full):
            self.result.reach.append((self.sim.clock.now, self.result.reached))
            self._next_mark = self.result.reached + max(self.result.reachable // 2000, 1)

    # -- the reports and the rollup -------------------------------------------------------
    def start_reports(self) -> None:
        o = self.options
        rng = np.random.default_rng(self.world.shape.seed + 1)
        at = o.report_at + rng.random(len(self.chapters)) * o.report_spread
        self.result.reports_started = o.report_at
        for c, t in enumerate(at.tolist()):
            self.sim.clock.at(t, partial(self._report, c))

    def _report(self, c: int) -> None:
        chapter, world, size = self.chapters[c], self.world, self.costs.report_bytes
        self.result.reports_sent.append(self.sim.clock.now)
        out = [self._delivery(chapter, self.campaign, size, "report")]
        for p in world.chapter_pairs(c) if self.options.report_followers else ():
            server = self.servers[int(world.pair_server[p])]
            out.extend(
                self._delivery(chapter, server, size, "report")
                for _ in range(int(world.pair_inboxes[p]))
            )
        chapter.publish(self.sim, out)

    def _campaign_handles(self, d: Delivery) -> None:
        if d.kind != "report":
            return
        self.counted += 1
        self.result.handled.append((self.sim.clock.now, self.counted))
        if not self.ticking:
            self.ticking = True
            self._tick()

    def _tick(self) -> None:
        """The rollup loop: every poll, publish if the totals moved and the interval passed."""
        s, now = self.options.settings, self.sim.clock.now
        if self.counted == self.published_count:
            self.ticking = False
            return
        if policies.rollup_is_due(s, self.published_at, now):
            self._publish_rollup()
        self.sim.clock.after(policies.rollup_poll(s), self._tick)

    def _publish_rollup(self) -> None:
        camp, sim = self.campaign, self.sim
        size = policies.rollup_bytes(self.options.settings, self.counted)
        self.published_at, self.published_count = sim.clock.now, self.counted
        self.result.rollups += 1
        self.result.rollup_bytes = size
        self.result.rollup_committed += size * len(self.chapters)
        signed = camp.cpu.reserve(sim.clock.now, self.costs.proof_per_kb * size / 1024)
        counted = self.counted
        sim.clock.at(signed, lambda: self.result.totals.append((sim.clock.now, counted)))
        sim.clock.at(
            signed,
            lambda: camp.publish(
                sim, [self._delivery(camp, ch, size, "rollup") for ch in self.chapters]
            ),
        )

    # -- running --------------------------------------------------------------------------
    def _delivery(
        self,
        sender: Node,
        target: Node | Server,
        size: int,
        kind: str,
        key: int = 0,
        on_sent: Callable[[Delivery], None] | None = None,
    ) -> Delivery:
        return Delivery(self.sim.ident(), sender, target, size, kind, key, on_sent)

    def _finished(self) -> bool:
        r, o = self.result, self.options
        reached = not o.call or r.reached >= r.reachable
        counted = not o.reports or (
            self.published_count == len(self.chapters) and self.result.totals != []
        )
        return reached and counted

    def run(self) -> Result:
        started = time.perf_counter()
        if not self.options.call:
            self.adopted[:] = True
        else:
            self.start_call()
        if self.options.reports:
            self.start_reports()
            self.sim.clock.at(self.options.report_at, self._snapshot)
        clock = self.sim.clock
        next_note = 0.0
        while clock.pending and not self._finished() and clock.now < self.options.horizon:
            clock.run(until=min(clock.now + 60.0, self.options.horizon), stop=self._finished)
            if time.perf_counter() - started > next_note:
                next_note += 10.0
                self.progress(
                    f"  virtual {clock.now:,.0f} s: {self.result.reached:,} of "
                    f"{self.result.reachable:,} followers, {self.counted:,} reports counted"
                )
        self._tally()
        self.result.wall = time.perf_counter() - started
        return self.result

    def _snapshot(self) -> None:
        """The call's fan-out is over when reports begin: its loads, and the campaign's
        counters from which the rollup phase's are told apart."""
        self.result.loads = loads([self.campaign, *self.hubs, *self.chapters], self.servers)
        c = self.campaign
        self._before = (c.cpu.busy, c.uplink.busy, c.slot_busy)

    def _tally(self) -> None:
        r, sim = self.result, self.sim
        r.events, r.virtual_end = sim.clock.handled, sim.clock.now
        r.retries, r.dead, r.unavailable = sim.retries, sim.dead, len(sim.unavailable)
        r.refused = sim.dead_by_status[413]
        r.campaign = (self.campaign.sent_messages, self.campaign.sent_bytes)
        nodes = self.chapters + self.hubs
        big = max(self.chapters, key=lambda n: n.sent_bytes)
        r.busiest = (big.name, big.sent_messages, big.sent_bytes)
        r.total = (
            sum(n.sent_messages for n in [*nodes, self.campaign]),
            sum(n.sent_bytes for n in [*nodes, self.campaign]),
        )
        if not self.options.reports:
            r.loads = loads([self.campaign, *self.hubs, *self.chapters], self.servers)
        c, (cpu, up, slots) = self.campaign, self._before
        span = max(r.virtual_end - r.reports_started, 1e-9)
        r.rollup_loads = sorted(
            [
                Load(
                    "campaign core",
                    (c.cpu.busy - cpu) / span,
                    f"up to {c.cpu.max_wait:,.1f} s waiting",
                ),
                Load(
                    "campaign uplink",
                    (c.uplink.busy - up) / span,
                    f"up to {c.uplink.max_wait:,.1f} s waiting",
                ),
                Load(
                    f"campaign delivery slots ({c.dispatch.concurrency})",
                    (c.slot_busy - slots) / span / c.dispatch.concurrency,
                    f"{c.max_backlog:,} deliveries queued at most",
                ),
            ],
            key=lambda x: x.utilisation,
            reverse=True,
        )


def partial_handler(campaign: Campaign, c: int) -> Callable[[Delivery], None]:
    return lambda d: campaign.chapter_handles(c, d)


def loads(nodes: list[Node], servers: list[Server], top: int = 4) -> list[Load]:
    """The busiest resources of the run, each with its utilisation while in use and its
    queue: the first of them is the bottleneck."""
    found: list[Load] = []
    for n in nodes:
        for res in (n.cpu, n.uplink):
            u = _busy(res.busy, res.first, res.last, res.servers, res.jobs)
            if u is not None:
                found.append(
                    Load(
                        res.name,
                        u,
                        f"{res.max_queue:,} jobs waiting at most, up to {res.max_wait:,.1f} s",
                    )
                )
        if n.slot_busy and n.first_launch < n.last_answer:
            span = (n.last_answer - n.first_launch) * n.dispatch.concurrency
            found.append(
                Load(
                    f"{n.name} delivery slots ({n.dispatch.concurrency})",
                    min(n.slot_busy / span, 9.99),
                    f"{n.max_backlog:,} deliveries queued at most",
                )
            )
    for s in servers:
        for res in (s.downlink, s.workers):
            u = _busy(res.busy, res.first, res.last, res.servers, res.jobs)
            if u is not None:
                found.append(Load(f"server {res.name}", u, f"up to {res.max_wait:,.2f} s waiting"))
    found.sort(key=lambda x: x.utilisation, reverse=True)
    return found[:top]


def _busy(busy: float, first: float, last: float, servers: int, jobs: int) -> float | None:
    if jobs < 50 or last - first < 1.0:
        return None
    return min(busy / ((last - first) * servers), 9.99)


def sample(points: list[tuple[float, int]], times: list[float]) -> list[int]:
    """The step function ``points`` read at ``times``."""
    keys = [t for t, _ in points]
    out = []
    for t in times:
        i = bisect.bisect_right(keys, t)
        out.append(points[i - 1][1] if i else 0)
    return out
