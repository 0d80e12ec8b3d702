"""Worker loops stop when cancelled, even when their wake-up fires at the same moment.

On Python 3.11, ``asyncio.wait_for`` returns normally when its inner wait has just completed
as the cancellation arrives, swallowing it: a loop built on it never stops, and a node's
shutdown hangs. (Seen as a 300 s teardown timeout in CI.)
"""

from __future__ import annotations

import asyncio

from node.federation.delivery.dispatcher import DeliveryWorker
from node.interfaces.activitypub.inbox_worker import InboxWorker


async def test_the_delivery_flusher_stops_when_cancelled_as_it_is_woken(nodes):
    node = await nodes(run_workers=False)
    worker = DeliveryWorker(node.services)
    flusher = asyncio.create_task(worker.outcomes.run())
    await asyncio.sleep(0.01)  # waiting for a wake-up
    worker.outcomes.flush_now.set()
    flusher.cancel()
    done, _ = await asyncio.wait({flusher}, timeout=2)
    assert flusher in done and flusher.cancelled()


async def test_the_inbox_worker_stops_when_cancelled_as_it_is_woken(nodes):
    node = await nodes(run_workers=False)
    worker = InboxWorker(node.services)
    loop_task = asyncio.create_task(worker.run())
    await asyncio.sleep(0.2)  # idle: waiting for a wake-up
    node.services.wakeups.inbox.set()
    loop_task.cancel()
    done, _ = await asyncio.wait({loop_task}, timeout=2)
    assert loop_task in done and loop_task.cancelled()
