"""What an inbound report, relay or rollup leaves to do later, as follow-ups: durable rows that
``node/federation/followups`` runs beside the inbox, with backoff and per-host limits.

Kinds (handlers: ``node/interfaces/activitypub/follow_ups.py`` maps each to its function here):

- ``report_call``: a report on a call we do not hold: fetch the call, then count the report.
- ``relayed``: an ``Announce``d object: checked by its proof, or refetched from its origin.
- ``rollup``: another campaign's rollup, taken only from a campaign one of ours follows; its
  handler only *expands* it into one ``rollup_source`` per report we do not hold in that
  version, at most ``MAX_SOURCES_PER_ROLLUP`` per rollup version (the rest are logged, not
  recorded: the campaign's next version names them again).
- ``rollup_source``: one report a rollup names, fetched from its origin and counted if it is
  the exact version (SHA-256) the rollup pinned. Recorded once per (report, SHA-256), whichever
  rollups name it, so each version of a report is fetched at most once.

A handler raises to be tried again later (an unreachable origin: ``FetchError``), or
``PermanentFailure`` for a document that no later try would accept.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.impact.intake import ingest, relayed_object, rollup_source
from node.features.impact.rollup_pages import SourcesChanged, origin_fetch, walk_sources
from node.federation.followups.queue import PermanentFailure, RetryLater, enqueue, follow_up
from node.federation.resolver import ResolveError
from node.runtime.services import Services
from protocol.errors import N_, ProofError, ProtocolError, WordedError
from protocol.impact import ImpactReport, Source, parse_rollup
from protocol.jsonld import id_of
from protocol.proofs import jcs_sha256
from storage.repositories import follows as follow_repo
from storage.repositories import impact as impact_repo
from storage.repositories.follow_ups import NewFollowUp

log = logging.getLogger(__name__)

REPORT_CALL: Final = "report_call"
RELAYED: Final = "relayed"
ROLLUP: Final = "rollup"
ROLLUP_SOURCE: Final = "rollup_source"

#: Reports one version of a rollup may send us fetching (each a follow-up of its own).
MAX_SOURCES_PER_ROLLUP: Final = 1_000


class _Dead(PermanentFailure, WordedError):
    """A ``PermanentFailure`` worded for the catalogues (the follow-up row keeps its English)."""


class _Later(RetryLater, WordedError):
    """A ``RetryLater`` worded for the catalogues."""


@contextmanager
def _refusals_are_final(what: str) -> Iterator[None]:
    """A refused document stays refused (dead); a proof whose key could not be fetched is
    worth another try."""
    try:
        yield
    except ProofError as exc:
        if isinstance(exc.__cause__, ResolveError):
            raise _Later(N_("{what}: {reason}"), what=what, reason=str(exc)) from exc
        raise _Dead(N_("{what}: {reason}"), what=what, reason=str(exc)) from exc
    except ProtocolError as exc:
        raise _Dead(N_("{what}: {reason}"), what=what, reason=str(exc)) from exc


# -- recording (in the inbox handler's transaction) ------------------------------------------
def report_call(doc: Mapping[str, Any], report: ImpactReport, via: str) -> NewFollowUp:
    """A report on a call we do not hold yet."""
    return follow_up(
        REPORT_CALL,
        f"{report.id} {jcs_sha256(doc)}",
        {"report": dict(doc), "via": via},
        about=report.call,
    )


def relayed(activity_id: str, announcer: str, obj: object) -> NewFollowUp:
    """An object an ``Announce`` relays (embedded, or only its id)."""
    return follow_up(
        RELAYED, activity_id, {"announcer": announcer, "object": obj}, about=id_of(obj) or announcer
    )


async def rollup(
    session: AsyncSession, services: Services, doc: Mapping[str, Any], sender: str
) -> NewFollowUp | None:
    """The follow-up for a rollup ``sender`` sent us, or ``None`` when we do not take it: only
    a campaign that one of our campaigns follows (accepted) has its rollups' sources fetched.
    A stranger's rollup costs us not a single request."""
    campaign = id_of(doc.get("attributedTo"))
    if campaign is None or campaign != sender:
        log.info("rollup.not_the_senders", extra={"sender": sender, "campaign": campaign})
        return None
    if not await follow_repo.followed_by_a_local_campaign(session, campaign):
        log.info("rollup.unsolicited", extra={"campaign": campaign, "rollup": id_of(doc)})
        return None
    try:
        parsed = parse_rollup(doc, allow_http=services.settings.allow_http)
    except ProtocolError as exc:
        log.info("rollup.malformed", extra={"campaign": campaign, "error": str(exc)})
        return None
    return follow_up(
        ROLLUP, f"{parsed.id} {jcs_sha256(doc)}", {"rollup": dict(doc)}, about=parsed.campaign
    )


# -- handlers (run by the follow-up worker) --------------------------------------------------
async def count_with_call(services: Services, payload: Mapping[str, Any]) -> None:
    """``report_call``: fetch the call (``FetchError``: again later), then count the report."""
    with _refusals_are_final("report"):
        outcome = await ingest(services, payload["report"], via=str(payload["via"]), relayed=False)
    if outcome == "unknown_call":
        log.info("report.call_never_held", extra={"report": id_of(payload["report"])})


async def relay(services: Services, payload: Mapping[str, Any]) -> None:
    """``relayed``: the proof-checked or refetched object (``FetchError``: again later)."""
    with _refusals_are_final("relayed object"):
        await relayed_object(services, str(payload["announcer"]), payload.get("object"))


async def expand_rollup(services: Services, payload: Mapping[str, Any]) -> None:
    """``rollup``: one ``rollup_source`` follow-up per report we do not hold in the version the
    rollup pinned, up to ``MAX_SOURCES_PER_ROLLUP``. Fetches nothing itself."""
    allow_http = services.settings.allow_http
    with _refusals_are_final("rollup"):
        parsed = parse_rollup(payload["rollup"], allow_http=allow_http)
    sources = list(parsed.sources)
    if parsed.sources_link is not None:  # paged: walked and checked against the pinned digest
        fetch = origin_fetch(services.transport, await services.fetch_signer())
        try:
            with _refusals_are_final("rollup sources"):
                sources = await walk_sources(fetch, parsed.sources_link, allow_http=allow_http)
        except PermanentFailure as exc:
            if not isinstance(exc.__cause__, SourcesChanged):
                raise
            # The campaign published a newer version meanwhile (that one is on its way).
            log.info("rollup.sources_changed", extra={"rollup": parsed.id, "error": str(exc)})
            return
    async with services.db.write() as session:
        if not await follow_repo.followed_by_a_local_campaign(session, parsed.campaign):
            log.info("rollup.no_longer_followed", extra={"rollup": parsed.id})
            return
        held = await impact_repo.held_versions(session, {s.report for s in sources})
        wanted: dict[tuple[str, str], Source] = {}
        for source in sources:
            have = held.get(source.report)
            if have is not None and (have[0] == source.sha256 or have[1]):
                continue  # that very version, or a report its chapter retracted
            wanted.setdefault((source.report, source.sha256), source)
        chosen = list(wanted.values())[:MAX_SOURCES_PER_ROLLUP]
        if len(wanted) > len(chosen):
            log.warning(
                "rollup.sources_capped",
                extra={"rollup": parsed.id, "wanted": len(wanted), "recorded": len(chosen)},
            )
        await enqueue(
            session,
            services,
            *(
                follow_up(
                    ROLLUP_SOURCE,
                    f"{source.report} {source.sha256}",
                    {
                        "rollup": parsed.id,
                        "campaign": parsed.campaign,
                        "report": source.report,
                        "sha256": source.sha256,
                    },
                    about=source.report,
                )
                for source in chosen
            ),
        )
    log.info("rollup.expanded", extra={"rollup": parsed.id, "sources": len(chosen)})
    services.wakeups.follow_ups.set()


async def count_rollup_source(services: Services, payload: Mapping[str, Any]) -> None:
    """``rollup_source``: fetch one named report from its origin and count it."""
    report = str(payload["report"])
    with _refusals_are_final(report):
        outcome = await rollup_source(
            services,
            rollup=str(payload["rollup"]),
            campaign=str(payload["campaign"]),
            report=report,
            sha256=str(payload["sha256"]),
        )
    if outcome == "mismatch":
        raise _Dead(
            N_("{report}: the origin does not serve the version the rollup pins"), report=report
        )
