"""Flood benchmark (issue 14): an honest peer's deliveries while one address floods the inbox.

One real node process (``chapterhouse serve --data DIR``, made by the CLI like ``bench.inbox``,
with its rate limits as shipped; pinned to CPU 0 with ``taskset`` when there is one) takes two
streams at once:

* **the flood**: one client address (127.0.0.1) sends ``--rate`` (1,000) badly signed requests a
  second, open loop, from a process of its own (pinned to CPU 1). Each is a well-formed
  draft-cavage request (right ``Digest``, fresh ``Date``) whose signature is random bytes, under
  rotating key ids: every fourth is the honest peer's own key id, the others name keys on the
  honest peer's origin that do not exist. Charged to the key id it claims (the rule before
  issue 14), this junk spent the honest peer's budgets and locked it out with 429.
* **the honest peer**: a key server in this process (127.0.0.1) serves its actor and key; its
  client sends ``--honest-rate`` (20) correctly signed ``Create{Note}`` deliveries a second to the
  chapter's inbox from another loopback address (127.0.0.2: the connector's ``local_addr``), so
  that the node's per-address budget tells the two apart as it would two hosts.

First the honest peer sends alone for ``--quiet-seconds`` (the baseline, same run), then beside
the flood for ``--seconds``. Reported: the honest peer's share of 2xx answers and its p99 latency
(goal: every delivery 2xx, p99 under 200 ms), and the flood's answers (429 from the per-address
budget, 401 for the signatures that were checked).

    python -m bench.flood [--seconds 20] [--quiet-seconds 5] [--rate 1000] [--honest-rate 20]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from bench.flood_peer import (
    BIN,
    ROOT,
    Sender,
    cpu_seconds,
    create_activity,
    make_senders,
    run_cli,
    start_key_server,
    stop,
)
from bench.results import Row, record
from node.ops.cluster import free_port
from protocol.digest import make_digest
from protocol.httpsig import HttpRequest, sign_request_cavage
from protocol.keys import private_key_from_pem
from protocol.timefmt import format_http_date

CHAPTER = "greenpark"
NODE_CPU = "0"
CLIENT_CPU = "1"
HONEST_ADDRESS = "127.0.0.2"
GOAL_P99_MS = 200.0
#: The goal holds only while the flood does: at least this share of its requests really sent.
GOAL_FLOOD_SENT = 0.95
#: The flood's requests in flight at most (a real flooder would not wait at all; this keeps
#: the flooding process from drowning in its own sockets when the node answers slowly).
FLOOD_IN_FLIGHT = 256
GHOST_KEYS = 50
TIMEOUT = aiohttp.ClientTimeout(total=10)


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# ----------------------------------------------------------------------------- the flood


def junk_requests(key_ids: list[str], actor: str) -> list[tuple[bytes, dict[str, str]]]:
    """One body and header set per key id: right digest and date, signature still to forge."""
    made = []
    date = format_http_date(datetime.now(UTC))
    for n, key_id in enumerate(key_ids):
        body = json.dumps(
            {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{actor}/activities/junk-{uuid.uuid4().hex}-{n}",
                "type": "Create",
                "actor": actor,
                "object": {"id": f"{actor}/notes/junk-{n}", "type": "Note", "content": "junk"},
            }
        ).encode()
        headers = {
            "Content-Type": "application/activity+json",
            "Date": date,
            "Digest": make_digest(body),
            "Signature": f'keyId="{key_id}",algorithm="rsa-sha256",'
            f'headers="(request-target) host date digest",signature="{{}}"',
        }
        made.append((body, headers))
    return made


@dataclass
class FloodResult:
    statuses: Counter[str]  # answers by status ("error": no answer)
    skipped: int  # not sent: every connection was busy
    seconds: float  # how long sending took
    node_cpu: float = 0.0  # the node's CPU time meanwhile, as a share of one core

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())

    def to_json(self) -> str:
        return json.dumps(
            {"statuses": self.statuses, "skipped": self.skipped, "seconds": self.seconds}
        )

    @classmethod
    def from_json(cls, text: bytes) -> FloodResult:
        raw = json.loads(text)
        return cls(Counter(raw["statuses"]), int(raw["skipped"]), float(raw["seconds"]))


async def flood(
    url: str, key_ids: list[str], actor: str, rate: float, seconds: float
) -> FloodResult:
    """Send ``rate`` junk requests a second for ``seconds``; the answers, counted by status."""
    requests = junk_requests(key_ids, actor)
    statuses: Counter[str] = Counter()
    in_flight: set[asyncio.Task[None]] = set()
    skipped = 0

    async def one(session: aiohttp.ClientSession, n: int) -> None:
        body, template = requests[n % len(requests)]
        forged = base64.b64encode(os.urandom(256)).decode()
        headers = {**template, "Signature": template["Signature"].replace("{}", forged)}
        try:
            async with session.post(url, data=body, headers=headers) as resp:
                await resp.read()
                statuses[str(resp.status)] += 1
        except (aiohttp.ClientError, TimeoutError):
            statuses["error"] += 1

    connector = aiohttp.TCPConnector(limit=FLOOD_IN_FLIGHT)
    async with aiohttp.ClientSession(connector=connector, timeout=TIMEOUT) as session:
        loop = asyncio.get_running_loop()
        started = loop.time()
        total = int(rate * seconds)
        for n in range(total):
            delay = started + n / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if len(in_flight) >= FLOOD_IN_FLIGHT:
                skipped += 1  # the node is not keeping up: this one is not sent
                continue
            task = asyncio.create_task(one(session, n))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        sent_for = loop.time() - started
        if in_flight:
            await asyncio.wait(in_flight)
    return FloodResult(statuses, skipped, sent_for)


def flooder_main(config: str) -> None:
    """The flooding process: ``python -m bench.flood --flooder JSON``; prints its counts."""
    c = json.loads(config)
    print("flooding", flush=True)
    result = asyncio.run(flood(c["url"], c["key_ids"], c["actor"], c["rate"], c["seconds"]))
    print("RESULT " + result.to_json(), flush=True)


# ------------------------------------------------------------------------ the honest peer


@dataclass
class Honest:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())

    @property
    def ok(self) -> int:
        return sum(n for s, n in self.statuses.items() if s.startswith("2"))

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else 0.0

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_ms, 99)

    @property
    def all_ok(self) -> bool:
        return self.sent > 0 and self.ok == self.sent


async def honest_peer(
    sender: Sender, inbox_url: str, chapter_id: str, rate: float, seconds: float, label: str
) -> Honest:
    """Signed, unique ``Create{Note}`` deliveries at ``rate`` a second, from 127.0.0.2."""
    key = private_key_from_pem(sender.private_pem)
    out = Honest()
    tasks = []

    async def one(session: aiohttp.ClientSession, n: int) -> None:
        body = create_activity(sender, chapter_id, label, n)
        request = HttpRequest.from_mapping(
            "POST", inbox_url, [("Content-Type", "application/activity+json")], body
        )
        signed = sign_request_cavage(
            request, key_id=sender.key_id, private_key=key, now=datetime.now(UTC)
        )
        headers = [(k, v) for k, v in signed.headers if k.lower() != "host"]
        began = time.perf_counter()
        try:
            async with session.post(inbox_url, data=body, headers=headers) as resp:
                await resp.read()
                out.statuses[str(resp.status)] += 1
        except (aiohttp.ClientError, TimeoutError):
            out.statuses["error"] += 1
        out.latencies_ms.append(1000 * (time.perf_counter() - began))

    connector = aiohttp.TCPConnector(local_addr=(HONEST_ADDRESS, 0))
    async with aiohttp.ClientSession(connector=connector, timeout=TIMEOUT) as session:
        loop = asyncio.get_running_loop()
        started = loop.time()
        for n in range(int(rate * seconds)):
            delay = started + n / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(session, n)))
        await asyncio.gather(*tasks)
    return out


# ------------------------------------------------------------------------------ the run


def pinned(cpu: str, argv: list[str]) -> list[str]:
    return (
        ["taskset", "-c", cpu, *argv] if shutil.which("taskset") and os.cpu_count() != 1 else argv
    )


async def start_node(data: Path, port: int, log: Path) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAPTERHOUSE_")}
    base_url = f"http://127.0.0.1:{port}"
    run_cli(["init", "--data", str(data), "--base-url", base_url, "--allow-private-network"], env)
    run_cli(["chapter", "create", CHAPTER, "--data", str(data)], env)
    argv = [str(BIN / "chapterhouse"), "serve", "--data", str(data), "--port", str(port)]
    proc = await asyncio.create_subprocess_exec(
        *pinned(NODE_CPU, argv),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=log.open("ab"),
    )
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(60):
            while not (await proc.stdout.readline()).decode().startswith("serving"):
                if proc.returncode is not None:
                    raise RuntimeError(f"the node exited before it was ready; see {log}")
    except BaseException:
        proc.kill()
        await proc.wait()
        raise
    return proc


async def start_flooder(config: dict[str, object]) -> asyncio.subprocess.Process:
    argv = [sys.executable, "-m", "bench.flood", "--flooder", json.dumps(config)]
    proc = await asyncio.create_subprocess_exec(
        *pinned(CLIENT_CPU, argv), cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    line = await proc.stdout.readline()
    if not line.startswith(b"flooding"):
        raise RuntimeError(f"the flooder did not start: {line!r}")
    return proc


async def flooder_result(proc: asyncio.subprocess.Process) -> FloodResult:
    out, _ = await proc.communicate()
    match = re.search(rb"^RESULT (.*)$", out, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"the flooder printed no result:\n{out.decode(errors='replace')}")
    return FloodResult.from_json(match.group(1))


@dataclass(frozen=True)
class Outcome:
    quiet: Honest
    flooded: Honest
    flood: FloodResult
    rate: float

    @property
    def junk_accepted(self) -> int:
        """Junk answered 2xx (stored) or 5xx: never, if the node holds."""
        return sum(n for s, n in self.flood.statuses.items() if s.startswith(("2", "5")))

    @property
    def flood_held(self) -> bool:
        """The flooder sent (nearly) all it meant to: the honest figures were taken under the
        flood the goal names, not a lighter one."""
        planned = self.flood.sent + self.flood.skipped
        return planned > 0 and self.flood.sent >= GOAL_FLOOD_SENT * planned

    @property
    def goal_met(self) -> bool:
        return self.flooded.all_ok and self.flooded.p99_ms < GOAL_P99_MS and self.flood_held


def rows(o: Outcome) -> list[Row]:
    f, q = o.flooded, o.quiet
    mix = o.flood.statuses
    others = o.flood.sent - mix["429"] - mix["401"]
    return [
        Row(
            benchmark=f"flood: honest peer beside {o.rate:,.0f}/s junk from one address",
            measure="signed Creates from another address answered 2xx; p99",
            value=(
                f"{f.ok}/{f.sent} 2xx (p50 {f.p50_ms:.1f} ms, p99 {f.p99_ms:.1f} ms); junk sent "
                f"{o.flood.sent:,} of {o.flood.sent + o.flood.skipped:,}"
            ),
            baseline=f"{q.ok}/{q.sent} 2xx, p99 {q.p99_ms:.1f} ms without the flood",
            ratio=f"{f.p99_ms / q.p99_ms:.2f}×" if q.p99_ms else "—",
            goal=(
                f"all 2xx, p99 < {GOAL_P99_MS:.0f} ms, with ≥ {GOAL_FLOOD_SENT:.0%} of the junk "
                "sent"
            ),
            met=o.goal_met,
        ),
        Row(
            benchmark="flood: answers to the junk",
            measure="badly signed requests, rotating key ids (the honest peer's among them)",
            value=(
                f"{o.flood.sent:,} at {o.flood.sent / o.flood.seconds:,.0f}/s "
                f"({o.flood.skipped:,} not sent): {mix['429']:,} × 429, {mix['401']:,} × 401, "
                f"{others:,} other; node CPU {o.flood.node_cpu:.0%} of a core"
            ),
            baseline="—",
            ratio="—",
            goal="none accepted, no 5xx",
            met=o.junk_accepted == 0,
        ),
    ]


def table(o: Outcome) -> str:
    lines = ["| phase | honest 2xx | p50 | p99 | goal met |", "|---|---|---|---|---|"]
    for name, h, goal in (("quiet", o.quiet, "—"), ("flooded", o.flooded, o.goal_met)):
        met = goal if isinstance(goal, str) else ("yes" if goal else "**no**")
        lines.append(
            f"| {name} | {h.ok}/{h.sent} | {h.p50_ms:.1f} ms | {h.p99_ms:.1f} ms | {met} |"
        )
    mix = ", ".join(f"{s}: {n:,}" for s, n in sorted(o.flood.statuses.items()))
    lines.append(
        f"\nflood answers ({o.flood.sent:,} sent, {o.flood.skipped:,} not sent: the flooder's "
        f"{FLOOD_IN_FLIGHT} connections were busy): {mix}; node CPU {o.flood.node_cpu:.0%} "
        "of a core"
    )
    return "\n".join(lines) + "\n"


async def run(args: argparse.Namespace) -> Outcome:
    work = Path(tempfile.mkdtemp(prefix="bench-flood-"))
    port, key_port = free_port(), free_port()
    key_origin = f"http://127.0.0.1:{key_port}"
    (sender,) = make_senders(key_origin, 1)
    chapter_id = f"http://127.0.0.1:{port}/actors/{CHAPTER}"
    inbox_url = f"{chapter_id}/inbox"
    ghosts = [f"{key_origin}/users/ghost{i}#main-key" for i in range(GHOST_KEYS)]
    key_ids = [sender.key_id if i % 4 == 0 else ghosts[i // 4 % GHOST_KEYS] for i in range(200)]
    print(
        f"flood benchmark: {args.rate:,.0f}/s junk from 127.0.0.1 for {args.seconds} s beside "
        f"{args.honest_rate:g}/s honest deliveries from {HONEST_ADDRESS} (after {args.quiet_seconds}"
        " s alone); node rate limits as shipped",
        flush=True,
    )
    key_server = await start_key_server([sender], key_port)
    node = await start_node(work / "node", port, work / "node.log")
    run_id = uuid.uuid4().hex[:8]
    try:
        # One delivery first: the node fetches and caches the honest key (not timed).
        await honest_peer(sender, inbox_url, chapter_id, 1, 1, f"w{run_id}")
        quiet = await honest_peer(
            sender, inbox_url, chapter_id, args.honest_rate, args.quiet_seconds, f"q{run_id}"
        )
        config = {
            "url": inbox_url,
            "key_ids": key_ids,
            "actor": sender.actor_id,
            "rate": args.rate,
            "seconds": args.seconds,
        }
        cpu_before, began = cpu_seconds(node.pid), time.perf_counter()
        flooder = await start_flooder(config)
        try:
            flooded = await honest_peer(
                sender, inbox_url, chapter_id, args.honest_rate, args.seconds, f"f{run_id}"
            )
            result = await flooder_result(flooder)
            result.node_cpu = (cpu_seconds(node.pid) - cpu_before) / (time.perf_counter() - began)
        finally:
            if flooder.returncode is None:
                flooder.kill()
                await flooder.wait()
    finally:
        await stop(node)
        await key_server.cleanup()
        if args.keep:
            print(f"work files kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return Outcome(quiet, flooded, result, args.rate)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--flooder"]:
        flooder_main(argv[1])
        return 0
    parser = argparse.ArgumentParser(
        prog="python -m bench.flood",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seconds", type=float, default=20, help="length of the flood")
    parser.add_argument("--quiet-seconds", type=float, default=5, help="honest traffic alone first")
    parser.add_argument("--rate", type=float, default=1000, help="junk requests a second")
    parser.add_argument("--honest-rate", type=float, default=20, help="honest deliveries a second")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (node log)")
    args = parser.parse_args(argv)
    if min(args.seconds, args.quiet_seconds, args.rate, args.honest_rate) <= 0:
        parser.error("--seconds, --quiet-seconds, --rate and --honest-rate must be positive")
    outcome = asyncio.run(run(args))
    print()
    print(table(outcome))
    record(rows(outcome))
    return 0 if outcome.goal_met else 1


if __name__ == "__main__":
    sys.exit(main())
