"""The first deliveries of a burst share one load of what every delivery needs.

A fan-out starts ``delivery_concurrency`` deliveries at once; each used to read the sender's key
and the signature-scheme table itself, so a burst began with that many identical reads.
"""

from __future__ import annotations

import asyncio

from node.features.actors.local import create_actor
from node.federation.delivery.dispatcher import DeliveryWorker
from node.federation.transport import CAVAGE
from storage.repositories.deliveries import ClaimedDelivery


async def test_concurrent_deliveries_share_one_signer_and_one_scheme_load(nodes):
    node = await nodes(run_workers=False)
    services = node.services
    chapter = (await create_actor(services, "greenpark", "chapter")).actor
    worker = DeliveryWorker(services)
    loads: list[int] = []
    original = services.keys.rsa_signer

    def counted(actor):  # counts loads through the real key store
        loads.append(actor.id)
        return original(actor)

    services.keys.rsa_signer = counted  # type: ignore[method-assign]
    rows = [
        ClaimedDelivery(
            i,
            f"https://h{i}.example/inbox",
            f"h{i}.example",
            0,
            "x",
            chapter.id,
            "{}",
            chapter.rsa_public_pem,
        )
        for i in range(16)
    ]
    scheme_loads: list[float] = []
    load_schemes = worker.schemes.load

    async def counted_schemes(now: float) -> None:
        scheme_loads.append(now)
        await load_schemes(now)

    worker.schemes.load = counted_schemes  # type: ignore[method-assign]
    signers = await asyncio.gather(*(worker.signers.signer(row) for row in rows))
    schemes = await asyncio.gather(*(worker.schemes.scheme(row.host) for row in rows))
    assert loads == [chapter.id]  # one load for sixteen deliveries
    assert len(scheme_loads) == 1
    assert all(s is signers[0] for s in signers)
    assert set(schemes) == {CAVAGE}
    assert worker.signers.loading == {} and worker.schemes.loading is None
