"""Checking the proofs of many relayed reports at once, beside the event loop.

The rules are ``node.federation.proofs.check_object_proof``'s, for a batch: the proof must be by
the report's chapter; its key is the one the chapter publishes in ``assertionMethod``, resolved
once per chapter per batch (and once more, refreshed, for the items a cached key failed, unless
the proof failed on its time); the check is ``protocol.proof_digest.verify_many``, which also
returns each document's ``jcs_sha256`` so the report is canonicalised once, not twice.

Keys are kept between batches (``AssertionKeys``, held by the pool, one per node): parsing a
chapter's actor document for its key cost more than checking one proof, and a batch from many
chapters paid it for nearly every report. A kept key is used only while the chapter's stored
actor row is the one it was read from (its ``fetched_at``, read for the whole batch in one
query of one column) and for at most ``key_cache_seconds``: an ``Update`` or a refetch that
stores the chapter's document again retires it at once, in every process. (The resolver's own
cache holds HTTP-signature keys by key id; an assertion key there would verify HTTP
signatures, which it must not.)

Verifying costs CPU (Ed25519 and JCS, pure Python for the latter), so a ``ProofPool`` runs it in
worker processes. Its size: ``default_workers`` is the number of cores less one (the event loop
and the database keep one), and none on a one-core node, where a second process would only take
turns with the first and cost its memory (~30 MB). A batch smaller than ``POOL_MIN`` is checked
in-process: sending it away would cost more than checking it.
"""

from __future__ import annotations

import asyncio
import os
from collections import OrderedDict
from collections.abc import Awaitable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from multiprocessing import get_context
from typing import Any, Final

from sqlalchemy import select

from node.features.impact.batch_lookup import chunks
from node.features.impact.errors import Unproven
from node.federation.proofs import TIME_FAILURES
from node.federation.resolver import ResolveError
from node.runtime.config import Settings
from node.runtime.services import Services
from protocol.actors import Actor, parse_actor
from protocol.errors import N_, MalformedDocument, ProofError, ProtocolError
from protocol.keys import ed25519_public_from_multibase
from protocol.proof_digest import ProofJob, ProofOutcome, proof_method, verify_many
from protocol.proofs import IntegrityProofError, ProofFailure, controller_of
from storage.models import RemoteActor

POOL_MIN: Final = 16  # smaller batches are checked in-process
CHUNK: Final = 1_000  # proofs per task sent to a worker: a batch is one task per worker
KEY_CACHE_SIZE: Final = 50_000  # chapters whose keys are kept (a few hundred bytes each)
AUTO: Final = -1  # ``proof_workers``: the number ``default_workers`` gives

#: A chapter's published assertion keys (raw Ed25519 bytes), or why one cannot be used.
Keys = dict[str, bytes | ProofError]


@dataclass(frozen=True, slots=True)
class _Kept:
    fetched_at: datetime  # the stored actor row it was read from
    until: datetime  # read again after this (``key_cache_seconds``)
    keys: Keys


class AssertionKeys:
    """Chapters' assertion keys kept between batches (module doc)."""

    def __init__(self, size: int = KEY_CACHE_SIZE) -> None:
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._size = size

    def get(self, owner: str, fetched_at: datetime, now: datetime) -> Keys | None:
        kept = self._kept.get(owner)
        if kept is None:
            return None
        if kept.fetched_at != fetched_at or now >= kept.until:
            del self._kept[owner]
            return None
        self._kept.move_to_end(owner)
        return kept.keys

    def put(self, owner: str, fetched_at: datetime, until: datetime, keys: Keys) -> None:
        self._kept[owner] = _Kept(fetched_at, until, keys)
        self._kept.move_to_end(owner)
        if len(self._kept) > self._size:
            self._kept.popitem(last=False)

    def forget(self, owner: str) -> None:
        self._kept.pop(owner, None)

    def __len__(self) -> int:
        return len(self._kept)


class ProofPool:
    """Worker processes for proof checks (module doc); ``workers=0``: checked in-process.
    It holds the node's ``AssertionKeys`` too. The processes start with the first batch sent
    to them (not before), so a node that never takes in a batch never starts one."""

    def __init__(self, workers: int) -> None:
        self.workers = max(0, workers)
        self.keys = AssertionKeys()
        self._executor: ProcessPoolExecutor | None = None  # made with the first batch sent

    @classmethod
    def for_settings(cls, settings: Settings) -> ProofPool:
        """The node's pool: ``proof_workers`` processes (``AUTO``: ``default_workers``)."""
        workers = settings.proof_workers
        return cls(cls.default_workers() if workers == AUTO else workers)

    @staticmethod
    def default_workers(cpus: int | None = None) -> int:
        """Cores less one (the event loop and the database keep one); none on one core, where
        a second process would only take turns with the first and cost its memory."""
        cpus = cpus if cpus is not None else (os.cpu_count() or 1)
        return cpus - 1 if cpus >= 2 else 0

    def submit(
        self, jobs: Sequence[ProofJob], now: datetime, skew: timedelta
    ) -> Awaitable[list[ProofOutcome]]:
        """Send ``jobs`` to the processes now (one task per process, so a batch costs a round
        trip each, not one per few proofs); await the result for the outcomes, in order. A
        small batch, or a pool without processes, is checked here and now."""
        if not self.workers or len(jobs) < POOL_MIN:
            return _done(verify_many(jobs, now, skew))
        if self._executor is None:
            self._executor = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))
        loop = asyncio.get_running_loop()
        size = min(CHUNK, -(-len(jobs) // self.workers))
        return _joined(
            [
                loop.run_in_executor(self._executor, verify_many, jobs[i : i + size], now, skew)
                for i in range(0, len(jobs), size)
            ]
        )

    async def verify(
        self, jobs: Sequence[ProofJob], now: datetime, skew: timedelta
    ) -> list[ProofOutcome]:
        return await self.submit(jobs, now, skew)

    @property
    def started(self) -> bool:
        """Whether worker processes were started (by a batch sent to them)."""
        return self._executor is not None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


def _refused(wording: str, cause: BaseException | None = None, /, **params: object) -> ProofError:
    """A refusal kept as the result of a proof (never raised), worded for the catalogues."""
    error = Unproven(wording, **params)
    error.__cause__ = cause
    return error


async def check_proofs(
    services: Services,
    items: Sequence[tuple[Mapping[str, Any], str]],
    pool: ProofPool | None = None,
) -> list[str | ProofError]:
    """For each (document, owner): the document's ``jcs_sha256`` when it carries a valid proof
    by ``owner``'s published key, else the ``ProofError`` saying why (never raised, so one bad
    proof does not spoil the batch). May fetch owners' actor documents (keys). ``pool``: the
    node's (``services.proof_pool``) unless another is given; without either, checked in
    process and no key is kept."""
    return await (await start_proofs(services, items, pool)).result()


async def start_proofs(
    services: Services,
    items: Sequence[tuple[Mapping[str, Any], str]],
    pool: ProofPool | None = None,
) -> PendingProofs:
    """``check_proofs`` in two steps: this one finds the keys and sends the proofs to the
    pool's processes, then returns; ``PendingProofs.result`` waits for the verdicts. Between
    the two, the caller's own thread is free (to write the previous batch, say) while the
    processes check."""
    pending = PendingProofs(services, items, pool if pool is not None else services.proof_pool)
    await pending.send(sorted(pending.methods), refresh=False)
    return pending


class PendingProofs:
    """Proofs being checked (``start_proofs``)."""

    def __init__(
        self,
        services: Services,
        items: Sequence[tuple[Mapping[str, Any], str]],
        pool: ProofPool | None,
    ) -> None:
        self._services, self._items, self._pool = services, items, pool
        self._now = services.clock.now()
        self._skew = timedelta(seconds=services.settings.signature_window_seconds)
        self._round: tuple[list[int], list[int], Awaitable[list[ProofOutcome]]] | None = None
        self.results: list[str | ProofError | None] = [None] * len(items)
        self.methods: dict[int, str] = {}
        for index, (doc, owner) in enumerate(items):
            try:
                method = proof_method(doc)
                if controller_of(method) != owner:
                    raise Unproven(
                        N_("the proof is by {signer}, not by {owner}"),
                        signer=controller_of(method),
                        owner=owner,
                    )
            except ProofError as exc:
                self.results[index] = exc
            else:
                self.methods[index] = method

    async def send(self, pending: list[int], *, refresh: bool) -> None:
        """Find the keys of ``pending`` items (refreshed: fetched again) and send their
        proofs to be checked; an item whose key is not published is kept for the refresh."""
        if not pending:
            return
        items, pool = self._items, self._pool
        keys = await _keys(
            self._services, {items[i][1] for i in pending}, refresh, pool.keys if pool else None
        )
        jobs: list[ProofJob] = []
        sent: list[int] = []
        retry: list[int] = []
        for index in pending:
            owner = items[index][1]
            found = keys[owner]
            if isinstance(found, ProofError):
                self.results[index] = found
            elif (raw := found.get(self.methods[index])) is None:
                if refresh:
                    self.results[index] = _refused(
                        N_("{owner} does not publish the key {key}"),
                        owner=owner,
                        key=self.methods[index],
                    )
                else:
                    retry.append(index)
            elif isinstance(raw, ProofError):
                self.results[index] = raw
            else:
                jobs.append((items[index][0], raw))
                sent.append(index)
        checking = (
            pool.submit(jobs, self._now, self._skew)
            if pool
            else _done(verify_many(jobs, self._now, self._skew))
        )
        self._round = (sent, retry, checking)

    async def result(self) -> list[str | ProofError]:
        """The verdicts, in order (``check_proofs``); failures with a kept key are checked
        once more with the key fetched afresh, unless the proof failed on its time."""
        for refresh in (False, True):
            if self._round is None:
                break
            sent, retry, checking = self._round
            self._round = None
            for index, (state, value, detail) in zip(sent, await checking, strict=True):
                if state == "ok":
                    self.results[index] = value
                    continue
                reason = ProofFailure(value)
                if refresh or reason in TIME_FAILURES:  # no fresher key changes the time
                    self.results[index] = IntegrityProofError(reason, detail)
                else:
                    retry.append(index)
            if not refresh:
                await self.send(sorted(retry), refresh=True)
        return [r if r is not None else ProofError("unreachable") for r in self.results]


async def _done(outcomes: list[ProofOutcome]) -> list[ProofOutcome]:
    return outcomes


async def _joined(parts: Sequence[Awaitable[list[ProofOutcome]]]) -> list[ProofOutcome]:
    done = await asyncio.gather(*parts)
    return [outcome for part in done for outcome in part]


async def _keys(
    services: Services, owners: set[str], refresh: bool, kept: AssertionKeys | None
) -> dict[str, Keys | ProofError]:
    """Each owner's published assertion keys (raw Ed25519 bytes), or why they cannot be had:
    kept ones while their actor row is unchanged, else read from the row, else the resolver's
    (which fetches)."""
    out: dict[str, Keys | ProofError] = {}
    now = services.clock.now()
    if refresh:
        for owner in owners:
            if kept is not None:
                kept.forget(owner)
    else:
        out.update(await _stored_keys(services, owners, kept, now))
    for owner in sorted(owners - out.keys()):
        try:
            actor = await services.resolver.actor(owner, refresh=refresh)
        except ResolveError as exc:
            out[owner] = _refused(
                N_("cannot fetch the key of {owner}: {reason}"), exc, owner=owner, reason=str(exc)
            )
            continue
        out[owner] = _published(actor)
    return out


def _published(actor: Actor) -> Keys:
    keys: Keys = {}
    for key in actor.assertion_methods:
        try:
            keys[key.id] = ed25519_public_from_multibase(
                key.public_key_multibase
            ).public_bytes_raw()
        except MalformedDocument as exc:
            keys[key.id] = _refused(
                N_("the key {key} is not a usable Ed25519 Multikey"), exc, key=key.id
            )
    return keys


async def _stored_keys(
    services: Services, owners: set[str], kept: AssertionKeys | None, now: datetime
) -> dict[str, Keys]:
    """The keys of the owners whose cached actor row is still fresh (the resolver's rule):
    one query of ``fetched_at`` for all of them, then the documents of those not kept, in one
    query per chunk instead of one read transaction each. The others are left to the
    resolver."""
    horizon = now - timedelta(seconds=services.settings.actor_cache_seconds)
    until = now + timedelta(seconds=services.settings.key_cache_seconds)
    out: dict[str, Keys] = {}
    async with services.db.read() as session:
        fresh: dict[str, datetime] = {}
        for chunk in chunks(owners):
            rows = await session.execute(
                select(RemoteActor.ap_id, RemoteActor.fetched_at).where(
                    RemoteActor.ap_id.in_(chunk), RemoteActor.fetched_at >= horizon
                )
            )
            for ap_id, fetched_at in rows:
                found = kept.get(ap_id, fetched_at, now) if kept is not None else None
                if found is not None:
                    out[ap_id] = found
                else:
                    fresh[ap_id] = fetched_at
        for chunk in chunks(fresh):
            documents = await session.execute(
                select(RemoteActor.ap_id, RemoteActor.fetched_at, RemoteActor.document).where(
                    RemoteActor.ap_id.in_(chunk)
                )
            )
            for ap_id, fetched_at, document in documents:
                try:
                    actor = parse_actor(document, allow_http=services.settings.allow_http)
                except ProtocolError:
                    continue  # the resolver fetches it afresh
                out[ap_id] = keys = _published(actor)
                if kept is not None and fetched_at == fresh[ap_id]:
                    kept.put(ap_id, fetched_at, until, keys)
    return out
