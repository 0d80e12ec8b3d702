"""Checking the proofs of many relayed reports at once, beside the event loop.

The rules are ``node.federation.proofs.check_object_proof``'s, for a batch: the proof must be by
the report's chapter; its key is the one the chapter publishes in ``assertionMethod``, resolved
once per chapter per batch (and once more, refreshed, for the items a cached key failed, unless
the proof failed on its time); the check is ``protocol.proof_digest.verify_many``, which also
returns each document's ``jcs_sha256`` so the report is canonicalised once, not twice.

Verifying costs CPU (Ed25519 and JCS, pure Python for the latter), so a ``ProofPool`` runs it in
worker processes. Its size: ``default_workers`` is the number of cores less one (the event loop
and the database keep one), and none on a one-core node, where a second process would only take
turns with the first and cost its memory (~30 MB). A batch smaller than ``POOL_MIN`` is checked
in-process: sending it away would cost more than checking it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta
from multiprocessing import get_context
from typing import Any, Final

from sqlalchemy import select

from node.features.impact.batch_lookup import chunks
from node.federation.proofs import TIME_FAILURES
from node.federation.resolver import ResolveError
from node.runtime.services import Services
from protocol.actors import Actor, parse_actor
from protocol.errors import MalformedDocument, ProofError, ProtocolError
from protocol.keys import ed25519_public_from_multibase
from protocol.proof_digest import ProofJob, ProofOutcome, verify_many
from protocol.proofs import (
    IntegrityProofError,
    ProofFailure,
    controller_of,
    proof_verification_method,
)
from storage.models import RemoteActor

POOL_MIN: Final = 16  # smaller batches are checked in-process
CHUNK: Final = 128  # proofs per task sent to a worker


class ProofPool:
    """Worker processes for proof checks (module doc); ``workers=0``: checked in-process."""

    def __init__(self, workers: int) -> None:
        self.workers = max(0, workers)
        self._executor = (
            ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))
            if self.workers
            else None
        )

    @staticmethod
    def default_workers(cpus: int | None = None) -> int:
        cpus = cpus if cpus is not None else (os.cpu_count() or 1)
        return cpus - 1 if cpus >= 2 else 0

    async def verify(
        self, jobs: Sequence[ProofJob], now: datetime, skew: timedelta
    ) -> list[ProofOutcome]:
        if self._executor is None or len(jobs) < POOL_MIN:
            return verify_many(jobs, now, skew)
        loop = asyncio.get_running_loop()
        size = min(CHUNK, -(-len(jobs) // self.workers))
        parts = [list(jobs[i : i + size]) for i in range(0, len(jobs), size)]
        done = await asyncio.gather(
            *(loop.run_in_executor(self._executor, verify_many, part, now, skew) for part in parts)
        )
        return [outcome for part in done for outcome in part]

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)


def _refused(message: str, cause: BaseException | None = None) -> ProofError:
    error = ProofError(message)
    error.__cause__ = cause
    return error


async def check_proofs(
    services: Services,
    items: Sequence[tuple[Mapping[str, Any], str]],
    pool: ProofPool | None = None,
) -> list[str | ProofError]:
    """For each (document, owner): the document's ``jcs_sha256`` when it carries a valid proof
    by ``owner``'s published key, else the ``ProofError`` saying why (never raised, so one bad
    proof does not spoil the batch). May fetch owners' actor documents (keys)."""
    results: list[str | ProofError | None] = [None] * len(items)
    methods: dict[int, str] = {}
    for index, (doc, owner) in enumerate(items):
        try:
            method = proof_verification_method(doc)
            if controller_of(method) != owner:
                raise ProofError(f"the proof is by {controller_of(method)}, not by {owner}")
        except ProofError as exc:
            results[index] = exc
        else:
            methods[index] = method
    now = services.clock.now()
    skew = timedelta(seconds=services.settings.signature_window_seconds)
    pending = sorted(methods)
    for refresh in (False, True):
        if not pending:
            break
        keys = await _keys(services, {items[i][1] for i in pending}, refresh)
        jobs: list[ProofJob] = []
        sent: list[int] = []
        retry: list[int] = []
        for index in pending:
            owner = items[index][1]
            found = keys[owner]
            if isinstance(found, ProofError):
                results[index] = found
            elif (raw := found.get(methods[index])) is None:
                if refresh:
                    results[index] = ProofError(
                        f"{owner} does not publish the key {methods[index]}"
                    )
                else:
                    retry.append(index)
            elif isinstance(raw, ProofError):
                results[index] = raw
            else:
                jobs.append((items[index][0], raw))
                sent.append(index)
        outcomes = await (pool.verify(jobs, now, skew) if pool else _inline(jobs, now, skew))
        for index, (state, value, detail) in zip(sent, outcomes, strict=True):
            if state == "ok":
                results[index] = value
                continue
            reason = ProofFailure(value)
            if refresh or reason in TIME_FAILURES:  # no fresher key changes the time
                results[index] = IntegrityProofError(reason, detail)
            else:
                retry.append(index)
        pending = sorted(retry)
    return [r if r is not None else ProofError("unreachable") for r in results]


async def _inline(jobs: Sequence[ProofJob], now: datetime, skew: timedelta) -> list[ProofOutcome]:
    return verify_many(jobs, now, skew)


async def _keys(
    services: Services, owners: set[str], refresh: bool
) -> dict[str, dict[str, bytes | ProofError] | ProofError]:
    """Each owner's published assertion keys (raw Ed25519 bytes), or why they cannot be had."""
    out: dict[str, dict[str, bytes | ProofError] | ProofError] = {}
    cached = {} if refresh else await _cached_actors(services, owners)
    for owner in sorted(owners):
        actor = cached.get(owner)
        if actor is None:
            try:
                actor = await services.resolver.actor(owner, refresh=refresh)
            except ResolveError as exc:
                out[owner] = _refused(f"cannot fetch the key of {owner}: {exc}", exc)
                continue
        keys: dict[str, bytes | ProofError] = {}
        for key in actor.assertion_methods:
            try:
                keys[key.id] = ed25519_public_from_multibase(
                    key.public_key_multibase
                ).public_bytes_raw()
            except MalformedDocument as exc:
                keys[key.id] = _refused(f"the key {key.id} is not a usable Ed25519 Multikey", exc)
        out[owner] = keys
    return out


async def _cached_actors(services: Services, owners: set[str]) -> dict[str, Actor]:
    """The owners' cached actor documents still fresh (the resolver's rule), read in one
    query per chunk instead of one read transaction each; the others are left to the resolver."""
    horizon = services.clock.now() - timedelta(seconds=services.settings.actor_cache_seconds)
    out: dict[str, Actor] = {}
    async with services.db.read() as session:
        for chunk in chunks(owners):
            rows = await session.execute(
                select(RemoteActor.ap_id, RemoteActor.document).where(
                    RemoteActor.ap_id.in_(chunk), RemoteActor.fetched_at >= horizon
                )
            )
            for ap_id, document in rows:
                try:
                    out[ap_id] = parse_actor(document, allow_http=services.settings.allow_http)
                except ProtocolError:
                    continue  # the resolver fetches it afresh
    return out
