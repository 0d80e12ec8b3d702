"""Fan-out benchmark: one action call to N follower inboxes spread over H receiving hosts.

Reports the wall time of the node's whole fan-out (publish → every delivery recorded as sent,
through the durable queue, signing at send time, pooled keep-alive POSTs) against two
baselines measured in the same run on the same machine:

* ``sign``: RSA-signing the same number of requests (draft-cavage, cached key), sequentially;
* ``ceiling``: signing them and POSTing them to the same receivers over keep-alive with the
  same concurrency, with no database at all.

Ratios, not absolute times, are comparable across (noisy) machines.

    python -m bench.fanout [--followers 1000] [--hosts 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson
from sqlalchemy import func, select

from node.actions import create_action
from node.app import close_services, open_services
from node.authz import Principal
from node.config import Settings
from node.delivery import DeliveryWorker
from node.local_actors import create_actor
from protocol.httpsig import HttpRequest, sign_request_cavage
from storage.models import Delivery
from storage.repositories import follows as follow_repo
from tests.rig.nodes import free_port

ROOT = Path(__file__).resolve().parents[1]


def start_sinks(count: int) -> tuple[subprocess.Popen[str], list[int]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.sinks", str(count)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    words = proc.stdout.readline().split()
    if not words or words[0] != "ready":
        raise RuntimeError("sinks did not start")
    return proc, [int(w) for w in words[1:]]


async def measure_fanout(inboxes: list[str], data: Path) -> float:
    settings = Settings(
        data_dir=data,
        base_url=f"http://127.0.0.1:{free_port()}",
        allow_private_network=True,
        run_workers=False,
    )
    services = await open_services(settings)
    try:
        chapter = (await create_actor(services, "greenpark", "chapter")).actor
        admin = (await create_actor(services, "admin", "member", role="admin")).actor
        async with services.db.write() as session:
            for i, inbox in enumerate(inboxes):
                await follow_repo.put_follow(
                    session,
                    activity_id=f"{inbox}#f{i}",
                    follower=inbox[:-6],
                    target=chapter.ap_id,
                    follower_inbox=inbox,
                    state="accepted",
                    now=services.clock.now(),
                )
        answered = 0
        all_answered = asyncio.Event()

        def observe(outcome: str, _seconds: float) -> None:
            nonlocal answered
            answered += 1
            if answered >= len(inboxes):
                all_answered.set()

        worker = DeliveryWorker(services, observe=observe)
        runner = asyncio.create_task(worker.run())
        started = time.perf_counter()
        await create_action(
            services,
            Principal(admin, "admin"),
            "greenpark",
            {
                "title": "Global day of action",
                "start": "2027-04-12T10:00:00+01:00",
                "end": "2027-04-12T13:00:00+01:00",
            },
        )
        services.wakeups.deliveries.set()
        # Wait for the answers without stealing the node's CPU, then for their durable record.
        await all_answered.wait()
        while True:
            async with services.db.read() as session:
                sent = await session.scalar(
                    select(func.count()).select_from(Delivery).where(Delivery.state == "sent")
                )
            if sent == len(inboxes):
                break
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - started
        runner.cancel()
        return elapsed
    finally:
        await close_services(services)


def measure_signing(inboxes: list[str], key: object) -> float:
    body = orjson.dumps({"type": "Create", "id": "https://x.example/a"})
    started = time.perf_counter()
    for inbox in inboxes:
        request = HttpRequest.from_mapping(
            "POST", inbox, {"Content-Type": "application/activity+json"}, body
        )
        sign_request_cavage(request, key_id="https://x.example/k", private_key=key, now=_now())  # type: ignore[arg-type]
    return time.perf_counter() - started


async def measure_ceiling(inboxes: list[str], key: object, concurrency: int) -> float:
    body = orjson.dumps({"type": "Create", "id": "https://x.example/a"})
    semaphore = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency * 2)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(inbox: str) -> None:
            async with semaphore:
                request = HttpRequest.from_mapping(
                    "POST", inbox, {"Content-Type": "application/activity+json"}, body
                )
                signed = await asyncio.to_thread(
                    sign_request_cavage,
                    request,
                    key_id="https://x.example/k",
                    private_key=key,
                    now=_now(),
                )  # type: ignore[arg-type]
                async with session.post(inbox, data=body, headers=dict(signed.headers)) as resp:
                    await resp.read()

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in inboxes))
        return time.perf_counter() - started


def _now():  # type: ignore[no-untyped-def]
    from node.clock import SystemClock

    return SystemClock().now()


async def run(followers: int, hosts: int) -> dict[str, float]:
    from protocol.keys import generate_rsa_key

    sinks, ports = start_sinks(hosts)
    try:
        inboxes = [
            f"http://127.0.0.1:{ports[i % hosts]}/actors/f{i}/inbox" for i in range(followers)
        ]
        key = generate_rsa_key(2048)
        sign = measure_signing(inboxes, key)
        ceiling = await measure_ceiling(inboxes, key, concurrency=16)
        with tempfile.TemporaryDirectory() as tmp:
            fanout = await measure_fanout(inboxes, Path(tmp))
    finally:
        sinks.terminate()
        sinks.wait()
    return {
        "followers": followers,
        "hosts": hosts,
        "sign_s": sign,
        "ceiling_s": ceiling,
        "fanout_s": fanout,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--followers", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=50)
    args = parser.parse_args()
    os.environ.setdefault("CHAPTERHOUSE_LOG_LEVEL", "WARNING")
    r = asyncio.run(run(args.followers, args.hosts))
    print(f"fan-out of one activity to {r['followers']:.0f} inboxes on {r['hosts']:.0f} hosts")
    print("| measure | seconds | per delivery (ms) | ratio to signing | share of ceiling |")
    print("|---|---|---|---|---|")
    for name in ("sign_s", "ceiling_s", "fanout_s"):
        t = r[name]
        print(
            f"| {name[:-2]} | {t:.3f} | {1000 * t / r['followers']:.3f} | {t / r['sign_s']:.2f} | "
            f"{r['ceiling_s'] / t:.0%} |"
        )


if __name__ == "__main__":
    main()
