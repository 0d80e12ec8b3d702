"""Validation: the simulation against a real fan-out measured in the same run.

``bench.fanout`` runs the node's real fan-out (publish a call to N inboxes on H hosts, through
the durable queue, signing and POSTing over loopback to bare receivers in another process) and
times it until every delivery is answered and recorded. The simulation plays the same fan-out
with the costs measured in this run (signing and POSTing as ``bench.fanout`` measures them in
the same rounds, interleaved with the node: the ceiling, less its signing): one node, the same inboxes on the same hosts, loopback
(no latency, no bandwidth limit) and one receiving process for all hosts, as ``bench.sinks``
is. The goal: the simulated time within 25% of the measured one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from bench.fanout import run_scenario
from bench.fanout_node import CALL
from bench.planet.costs import Costs
from bench.planet.engine import Resource
from bench.planet.nodes import Delivery, Node, Server, Sim
from bench.planet.policies import settings
from bench.planet.world import UP

GOAL = 0.25
LOOPBACK = 1e12  # bytes/s: no bandwidth limit worth the name


@dataclass(frozen=True, slots=True)
class Check:
    followers: int
    hosts: int
    measured: float  # seconds, the real node
    simulated: float
    sign: float  # seconds per signature and per POST, measured beside the real node
    post: float

    @property
    def ratio(self) -> float:
        return self.simulated / self.measured

    @property
    def met(self) -> bool:
        return abs(self.ratio - 1) <= GOAL


def simulate_fanout(costs: Costs, followers: int, hosts: int) -> float:
    """Seconds the simulated node takes to publish and deliver to ``followers`` inboxes on
    ``hosts`` loopback hosts, until every answer is recorded."""
    sim = Sim(costs, lambda a, b: 0.0, sink=Resource("sinks"))
    node = Node(sim, "node", 0.0, LOOPBACK, settings())
    servers = [Server(f"h{i}", 0.0, LOOPBACK, 1, UP) for i in range(hosts)]
    done: list[float] = []
    rows = [
        Delivery(
            sim.ident(),
            node,
            servers[i % hosts],
            costs.call_bytes,
            "call",
            i,
            lambda d: done.append(sim.clock.now),
        )
        for i in range(followers)
    ]
    node.publish(sim, rows)
    sim.clock.run()
    if len(done) != followers:
        raise RuntimeError(f"the simulated fan-out sent {len(done)} of {followers}")
    return max(max(done), node.cpu.last)


async def validate(
    costs: Costs, sizes: list[tuple[int, int]], rounds: int, progress: Callable[[str], None]
) -> list[Check]:
    body = orjson.dumps({"type": "Create", "id": "https://x.example/a", "object": CALL})
    out = []
    for followers, hosts in sizes:
        progress(f"validation: the real fan-out to {followers:,} inboxes on {hosts} hosts")
        real = await run_scenario(followers, hosts, rounds, body)
        # Signing and POSTing as measured beside the node in the same rounds (the ceiling,
        # interleaved with it): on a busy machine, costs drift between minutes.
        sign = real.sign / followers
        post = max(real.ceiling.wall / followers - sign, 0.0)
        calibrated = dataclasses.replace(costs, sign=sign, post=post)
        simulated = simulate_fanout(calibrated, followers, hosts)
        out.append(Check(followers, hosts, real.node.wall, simulated, sign, post))
    return out
