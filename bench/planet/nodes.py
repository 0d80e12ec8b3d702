"""Simulated Chapterhouse nodes: one core, an uplink, a durable delivery queue and a dispatcher.

A node's core is one FIFO resource: signing, POSTing, the queue's database work, accepting
inbound requests and handling them all take turns on it, with the costs measured in this run.
Its dispatcher follows the node's worker (``node/federation/delivery/dispatcher.py``) with the
node's own parts and settings: rows are leased from the queue in large claims (at most an
allowance per host), wait in the node's own ``ReadyRows`` (round robin over hosts, at most
``delivery_per_host`` in flight per host), up to ``delivery_concurrency`` deliveries hold a slot,
and one unanswered after ``SET_ASIDE_AFTER`` gives its slot up (up to as many again wait so).
An answer is classified by the node's ``classify``; a retry waits the node's ``backoff``.

A delivery is one event chain per inbox (sign and POST on the core, the bytes through the
uplink, the wide-area trip, the receiver's downlink and workers, the answer back), not one per
follower behind that inbox.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from bench.planet import policies
from bench.planet.costs import Costs
from bench.planet.engine import Clock, Resource
from bench.planet.world import DOWN, SLOW
from node.runtime.config import Settings

SENT, RETRY, DEAD, GONE = (
    policies.OutcomeKind.SENT,
    policies.OutcomeKind.RETRY,
    policies.OutcomeKind.DEAD,
    policies.OutcomeKind.GONE,
)


class Receiver:
    """Anything a delivery can reach: a place, a downlink, and how it answers."""

    name: str
    place: float
    downlink: Resource
    rate: float  # downlink bytes/s

    def receive(self, sim: Sim, d: Delivery, arrived: float) -> None:
        raise NotImplementedError


@dataclass(slots=True, eq=False)
class Delivery:
    ident: int
    sender: Node
    target: Receiver
    size: int
    kind: str  # "call", "announce", "report", "rollup", "relay"
    key: int  # what it reaches (the scenario's bookkeeping), e.g. a pair of chapter and server
    on_sent: Callable[[Delivery], None] | None = None
    attempts: int = 0
    slot: bool = True  # holds a dispatcher slot (else: set aside, waiting for its answer)
    done: bool = False
    launched: float = 0.0


class Node(Receiver):
    """A Chapterhouse node (the campaign, a chapter, a regional hub)."""

    def __init__(self, sim: Sim, name: str, place: float, uplink: float, s: Settings) -> None:
        self.name = name
        self.place = place
        self.rate = uplink  # symmetric links
        self.settings = s
        self.dispatch = policies.dispatch(s)
        self.cpu = Resource(f"{name} core")
        self.uplink = Resource(f"{name} uplink")
        self.downlink = Resource(f"{name} downlink")
        self.queue: deque[Delivery] = deque()  # due rows in the database, oldest first
        self.ready = policies.ReadyRows()
        self.ready_count: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.tasks = 0  # deliveries holding a slot
        self.waiting = 0  # deliveries set aside
        self.claiming = False
        self.woken = False  # new rows since the last claim
        self.poll_at = 0.0  # after an exhausted claim: the next poll
        self.poll_scheduled = False
        self.slot_busy = 0.0  # slot-seconds held
        self.first_launch = float("inf")
        self.last_answer = 0.0
        self.max_backlog = 0  # most rows queued or ready at once
        self.connected: set[str] = set()  # hosts with a kept-alive connection
        self.sent_messages = 0
        self.sent_bytes = 0
        self.handler: Callable[[Delivery], None] | None = None  # what handling an item does

    # -- sending --------------------------------------------------------------------------
    def publish(self, sim: Sim, deliveries: list[Delivery]) -> None:
        """One transaction writes the activities and a row per inbox; then the worker wakes."""
        cost = sim.costs.publish_fixed + sim.costs.publish_row * len(deliveries)
        end = self.cpu.reserve(sim.clock.now, cost)

        def committed() -> None:
            self.queue.extend(deliveries)
            self.max_backlog = max(self.max_backlog, len(self.queue) + len(self.ready))
            self.claim(sim, wake=True)
            self.launch(sim)

        sim.clock.at(end, committed)

    def claim(self, sim: Sim, *, wake: bool = False) -> None:
        """Lease rows as the worker does: when few are ready, in one claim of many, at most
        ``host_allowance`` per host; a claim that found fewer than it asked for waits for a
        wakeup (new rows) or the next poll. Launching follows when the claim is done."""
        now = sim.clock.now
        self.woken = self.woken or wake
        if self.claiming or not self.queue or len(self.ready) > self.dispatch.low_water:
            return
        if not self.woken and now < self.poll_at:
            if not self.poll_scheduled:
                self.poll_scheduled = True
                sim.clock.at(self.poll_at, lambda: self._poll(sim))
            return
        self.woken = False
        self.claiming = True
        d = self.dispatch
        want = d.claim - len(self.ready)
        taken: list[Delivery] = []
        kept: deque[Delivery] = deque()
        per_host = self.in_flight + self.ready_count
        queue = self.queue
        while queue and len(taken) < want:
            row = queue.popleft()
            host = row.target.name
            if per_host[host] >= d.host_allowance:
                kept.append(row)
            else:
                per_host[host] += 1
                taken.append(row)
        kept.extend(queue)
        self.queue = kept
        exhausted = len(taken) < want
        self.poll_at = now + self.settings.delivery_poll_seconds if exhausted else now
        end = self.cpu.reserve(now, sim.costs.queue_row / 2 * len(taken))

        def claimed() -> None:
            self.claiming = False
            for row in taken:
                sim.rows[row.ident] = row
                self.ready_count[row.target.name] += 1
            self.ready.add(
                (policies.row(r.ident, r.target.name, r.target.name, r.attempts) for r in taken),
                sim.clock.now,
            )
            self.launch(sim)

        sim.clock.at(end, claimed)

    def _poll(self, sim: Sim) -> None:
        self.poll_scheduled = False
        self.claim(sim, wake=True)
        self.launch(sim)

    def launch(self, sim: Sim) -> None:
        d = self.dispatch
        now = sim.clock.now
        while self.tasks < d.concurrency:
            leased = self.ready.pop(self.in_flight, d.per_host)
            if leased is None:
                break
            row = sim.rows.pop(leased.id)
            host = row.target.name
            self.ready_count[host] -= 1
            self.in_flight[host] += 1
            self.tasks += 1
            row.slot, row.done, row.launched = True, False, now
            self.first_launch = min(self.first_launch, now)
            sim.send(row)
            sim.clock.after(d.set_aside_after, partial(self.set_aside, sim, row))
        if len(self.ready) <= d.low_water and self.queue and not self.claiming:
            self.claim(sim)

    def set_aside(self, sim: Sim, row: Delivery) -> None:
        if row.done or not row.slot or self.waiting >= self.dispatch.concurrency:
            return
        row.slot = False
        self.tasks -= 1
        self.waiting += 1
        self.slot_busy += sim.clock.now - row.launched
        self.launch(sim)

    def answered(self, sim: Sim, row: Delivery, status: int) -> None:
        now = sim.clock.now
        row.done = True
        self.last_answer = now
        if row.slot:
            self.tasks -= 1
            self.slot_busy += now - row.launched
        else:
            self.waiting -= 1
        host = row.target.name
        self.in_flight[host] -= 1
        self.cpu.reserve(now, sim.costs.queue_row / 2)  # the outcome, recorded in a batch
        outcome = policies.outcome(status, row.attempts)
        row.attempts += 1
        if outcome is SENT:
            if row.on_sent is not None:
                row.on_sent(row)
        elif outcome is RETRY:
            sim.retries += 1
            sim.host_failed(self, host)
            delay = policies.retry_delay(self.settings, row.attempts, sim.rng)
            if delay is None:
                sim.dead += 1
            else:
                sim.clock.after(delay, lambda: self.requeue(sim, row))
        else:
            sim.dead += 1
            sim.dead_by_status[status] += 1
        self.launch(sim)

    def requeue(self, sim: Sim, row: Delivery) -> None:
        self.queue.append(row)
        self.claim(sim, wake=True)
        self.launch(sim)

    # -- receiving ------------------------------------------------------------------------
    def receive(self, sim: Sim, d: Delivery, arrived: float) -> None:
        rtt = sim.rtt(d.sender, self)
        through = self.downlink.reserve(arrived, d.size / self.rate)
        if d.size > self.dispatch.max_body:
            sim.answer(d, through + rtt / 2, 413)  # refused: too large for this node
            return
        accepted = self.cpu.reserve(through, sim.costs.accept)
        sim.answer(d, accepted + rtt / 2, 202)
        handled = self.cpu.reserve(accepted, sim.costs.handle)
        if self.handler is not None:
            handler = self.handler
            sim.clock.at(handled, lambda: handler(d))


class Server(Receiver):
    """Another fediverse server: its downlink and inbox workers (each taking a request the
    time this node takes to accept one), slow or down as the world says."""

    def __init__(self, name: str, place: float, rate: float, workers: int, state: int) -> None:
        self.name = name
        self.place = place
        self.rate = rate
        self.downlink = Resource(f"{name} downlink")
        self.workers = Resource(f"{name} inbox workers", servers=workers)
        self.state = state

    def receive(self, sim: Sim, d: Delivery, arrived: float) -> None:
        rtt = sim.rtt(d.sender, self)
        through = self.downlink.reserve(arrived, d.size / self.rate)
        if sim.sink is not None:
            done = sim.sink.reserve(through, sim.costs.sink)
        else:
            done = self.workers.reserve(through, sim.costs.accept)
            if self.state == SLOW:
                done += sim.slow_delay
        sim.answer(d, done + rtt / 2, 202)


@dataclass
class Sim:
    """The shared world of one run: clock, costs, randomness and the network between places."""

    costs: Costs
    rtt_of: Callable[[float, float], float]
    seed: int = 17
    slow_delay: float = 2.0
    sink: Resource | None = None  # validation: one process answering for every server
    clock: Clock = field(default_factory=Clock)
    rows: dict[int, Delivery] = field(default_factory=dict)
    failing: dict[str, float] = field(default_factory=dict)
    unavailable: set[str] = field(default_factory=set)
    retries: int = 0
    dead: int = 0
    dead_by_status: Counter[int] = field(default_factory=Counter)
    next_id: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def ident(self) -> int:
        self.next_id += 1
        return self.next_id

    def rtt(self, a: Receiver, b: Receiver) -> float:
        return self.rtt_of(a.place, b.place)

    def send(self, d: Delivery) -> None:
        """Sign and POST on the sender's core, push the bytes out, cross the network."""
        node, target, now = d.sender, d.target, self.clock.now
        signed = node.cpu.reserve(now, self.costs.sign + self.costs.post)
        out = node.uplink.reserve(signed, d.size / node.rate)
        node.sent_messages += 1
        node.sent_bytes += d.size
        rtt = self.rtt(node, target)
        if target.name not in node.connected:
            out += 2 * rtt  # TCP and TLS handshakes, once per kept-alive connection
            node.connected.add(target.name)
        if isinstance(target, Server) and target.state == DOWN:  # down: refused or timing out
            timeout = node.settings.delivery_timeout_seconds
            fails = out + (rtt if d.ident % 2 else timeout)
            self.clock.at(fails, lambda: node.answered(self, d, 503))
            node.connected.discard(target.name)
            return
        arrived = out + rtt / 2
        self.clock.at(arrived, lambda: target.receive(self, d, arrived))

    def answer(self, d: Delivery, when: float, status: int) -> None:
        self.clock.at(when, lambda: d.sender.answered(self, d, status))

    def host_failed(self, node: Node, host: str) -> None:
        since = self.failing.setdefault(host, self.clock.now)
        if policies.unavailable(node.settings, since, self.clock.now):
            self.unavailable.add(host)
