"""Verifying our own campaigns' rollups for visitors: once per rollup version, in the background.

Checking a rollup fetches every report it counts (``verify``). Run for each visit to
``/actors/{campaign}/verify``, anyone could make the node fetch every source again and again,
so a visit only *reads*: the stored verdict for the rollup as published now, or, when there is
none yet, an idempotent request (a pending ``rollup_verifications`` row and a durable follow-up
of kind ``verify_rollup``) and the last verdict computed for an earlier version. The follow-up
checks the exact version stored (its document, not a refetch) and stores the verdict.

A version is the SHA-256 of the rollup's JCS form: every publication (new totals, a fresh
``updated`` stamp and proof) is a new version and is checked once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from node.features.actors.authz import NotFoundError, local_chapter
from node.features.impact.verify import verify_rollup
from node.federation.followups.queue import enqueue, follow_up
from node.runtime.services import Services
from protocol.errors import N_
from protocol.proofs import jcs_sha256
from protocol.timefmt import format_xsd_datetime
from storage.models import LocalActor, RollupVerification
from storage.models.states import ActorKind
from storage.repositories import impact as impact_repo
from storage.repositories import verifications as verification_repo

log = logging.getLogger(__name__)

#: The follow-up kind that checks one version of a campaign's rollup (key: campaign, version).
VERIFY_ROLLUP: Final = "verify_rollup"


def rollup_version(document: Mapping[str, Any]) -> str:
    """What names one version of a rollup: the SHA-256 of its JCS form (64 characters)."""
    return jcs_sha256(dict(document))


@dataclass(frozen=True, slots=True)
class StoredVerdict:
    version: str
    computed_at: datetime
    result: dict[str, Any]  # Verdict.as_json()

    def as_json(self) -> dict[str, object]:
        return {
            "version": self.version,
            "computedAt": format_xsd_datetime(self.computed_at),
            "result": self.result,
        }


@dataclass(frozen=True, slots=True)
class VerificationStatus:
    """What a visitor is shown: the verdict on the rollup as published now, or (while that is
    being computed) the last verdict computed, on an earlier version."""

    campaign: str
    rollup: str
    version: str
    current: StoredVerdict | None
    previous: StoredVerdict | None

    @property
    def pending(self) -> bool:
        return self.current is None

    def as_json(self) -> dict[str, object]:
        return {
            "campaign": self.campaign,
            "rollup": self.rollup,
            "version": self.version,
            "state": "pending" if self.pending else "done",
            "current": self.current.as_json() if self.current else None,
            "previous": self.previous.as_json() if self.previous else None,
        }


def _stored(row: RollupVerification | None) -> StoredVerdict | None:
    if row is None or row.state != verification_repo.DONE or row.computed_at is None:
        return None
    return StoredVerdict(row.version, row.computed_at, dict(row.result or {}))


async def verification_status(services: Services, name: str) -> VerificationStatus:
    """The stored verdict for campaign ``name``'s current rollup; never fetches anything.

    With no verdict for this version yet, the first visit records the request (one pending row
    and one follow-up per version, however many visit)."""
    async with services.db.read() as session:
        campaign = await local_chapter(session, name)
        if campaign.kind != ActorKind.CAMPAIGN:
            raise NotFoundError(N_("{name} is a chapter, not a campaign"), name=name)
        state = await impact_repo.state(session, campaign.id)
        if state is None or state.rollup_document is None or state.rollup_ap_id is None:
            raise NotFoundError(N_("this campaign has not published a rollup yet"))
        rollup = state.rollup_ap_id
        version = rollup_version(state.rollup_document)
        row = await verification_repo.get(session, campaign.id, version)
        current = _stored(row)
        previous = None
        if current is None:
            previous = _stored(await verification_repo.latest_done(session, campaign.id))
    if row is None:
        await _request(services, campaign, version)
    return VerificationStatus(campaign.ap_id, rollup, version, current, previous)


async def _request(services: Services, campaign: LocalActor, version: str) -> None:
    async with services.db.write() as session:
        if await verification_repo.request(session, campaign.id, version, services.clock.now()):
            job = follow_up(
                VERIFY_ROLLUP,
                f"{campaign.id} {version}",
                {"campaign_id": campaign.id, "version": version},
                about=campaign.ap_id,  # our own host: the job's cap is per host it runs for
            )
            await enqueue(session, services, job)
    services.wakeups.follow_ups.set()


async def verify_stored_rollup(services: Services, payload: Mapping[str, Any]) -> None:
    """The ``verify_rollup`` follow-up: check the campaign's rollup as stored, store the verdict.

    A request for a version since replaced checks the current version instead, unless that
    version has a row of its own (its own follow-up checks it): the old document is gone, and
    a visitor asks about the current one."""
    campaign_id, asked = int(payload["campaign_id"]), str(payload["version"])
    async with services.db.read() as session:
        state = await impact_repo.state(session, campaign_id)
        if state is None or state.rollup_document is None or state.rollup_ap_id is None:
            return  # the campaign is gone (its rows went with it)
        document, url = dict(state.rollup_document), state.rollup_ap_id
        version = rollup_version(document)
        existing = await verification_repo.get(session, campaign_id, version)
    if version != asked:
        async with services.db.write() as session:
            await verification_repo.discard_pending(session, campaign_id, asked)
        if existing is not None:
            return
    elif existing is not None and existing.state == verification_repo.DONE:
        return
    verdict = await verify_rollup(
        url,
        allow_private_network=services.settings.allow_private_network,
        transport=services.transport,
        signer=await services.fetch_signer(),
        document=document,
        clock=services.clock,
    )
    async with services.db.write() as session:
        await verification_repo.store_result(
            session, campaign_id, version, verdict.as_json(), services.clock.now()
        )
    log.info(
        "rollup.verified",
        extra={"campaign": campaign_id, "version": version, "verdict": verdict.verdict},
    )
