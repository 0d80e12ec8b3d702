"""µs per document for RFC 8785 canonicalisation: the exact path against the orjson fast path.

Why: canonicalising is most of what an eddsa-jcs-2022 proof check costs (protocol/jcs.py). The
documents are what a node signs and checks: a signed impact report (built by
``protocol.impact.build_report``, with integer and decimal measures) and an action call's Event
(``protocol.events.build_event``, with a place's coordinates and the long ``@context``). Each
row times one operation on one document, best of ``--rounds`` runs of ``--n`` calls:

* ``exact``: what ``canonical_json`` did before the fast path (``rfc8785`` on a plain copy);
* ``canonical_json``: the same bytes now (``fast_jcs`` first, the exact path on ``None``);
* ``orjson``: the floor, ``orjson.dumps(doc, option=OPT_SORT_KEYS)`` with no checks;
* ``jcs_digest`` / ``verify_proof_digest``: the batched proof checker's hash and full check.

Prints a table; figures are never asserted anywhere (tests/bench/test_jcs_bench.py only runs a
tiny size and checks the rows are well formed).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

import orjson
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol.events import ActionCall, Place, Target, build_event
from protocol.impact import ImpactReport, Measure, build_report
from protocol.jcs import fast_jcs
from protocol.proof_digest import jcs_digest, verify_proof_digest
from protocol.proofs import _plain, canonical_json, create_proof

NOW = datetime(2027, 4, 12, 12, 0, tzinfo=UTC)
KEY = Ed25519PrivateKey.generate()
CHAPTER = "https://north.example/actors/chapter"


def report() -> dict[str, object]:
    measures = (
        Measure("participants", "people", Decimal(42)),
        Measure("leaflets_handed_out", "leaflets", Decimal(1250)),
        Measure("distance_walked", "km", Decimal("12.25"), "self_reported"),
    )
    unsigned = build_report(
        ImpactReport(
            id=f"{CHAPTER}/reports/r0000001",
            chapter=CHAPTER,
            call=f"{CHAPTER}/actions/c0001",
            measures=measures,
            published=NOW,
            content="Action 1: thank you all! Figures below.",
            period_start=NOW - timedelta(hours=5),
            period_end=NOW - timedelta(hours=2),
        ),
        cc=[f"{CHAPTER}/followers"],
    )
    return create_proof(unsigned, KEY, verification_method=f"{CHAPTER}#ed25519-key", created=NOW)


def event() -> dict[str, object]:
    call = ActionCall(
        id=f"{CHAPTER}/actions/c0001",
        chapter=CHAPTER,
        title="Litter pick at the river",
        start=NOW + timedelta(days=3),
        end=NOW + timedelta(days=3, hours=3),
        published=NOW,
        content="<p>Bring gloves; we bring bags and tea.</p>",
        timezone="Europe/Berlin",
        place=Place("Riverside park", "Uferweg 1, Berlin", 52.5163, 13.3777),
        capacity=40,
        targets=(Target("participants", "people", 30), Target("bags", "bags", 12.5)),
    )
    return create_proof(
        build_event(call), KEY, verification_method=f"{CHAPTER}#ed25519-key", created=NOW
    )


def _exact(doc: object) -> bytes:
    return rfc8785.dumps(_plain(doc, 0))


def _time(fn: Callable[[], object], n: int, rounds: int) -> float:
    """Best µs per call over ``rounds`` runs of ``n`` calls."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best * 1e6


def rows(n: int, rounds: int) -> list[tuple[str, str, float]]:
    """(document, operation, µs per call) for each document and operation (module doc)."""
    out: list[tuple[str, str, float]] = []
    for name, doc in (("report", report()), ("event", event())):
        if fast_jcs(doc) is None or canonical_json(doc) != _exact(doc):
            raise SystemExit(f"the {name} document does not take the fast path")
        ops: dict[str, Callable[[], object]] = {
            "exact (rfc8785)": partial(_exact, doc),
            "canonical_json": partial(canonical_json, doc),
            "orjson floor": partial(orjson.dumps, doc, option=orjson.OPT_SORT_KEYS),
            "jcs_digest": partial(jcs_digest, doc),
            "verify_proof_digest": partial(verify_proof_digest, doc, KEY.public_key(), now=NOW),
        }
        for op, fn in ops.items():
            out.append((name, op, _time(fn, n, rounds)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=2000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print("| document | operation | µs/doc |")
    print("|---|---|---|")
    for name, op, micros in rows(args.n, args.rounds):
        print(f"| {name} | {op} | {micros:.1f} |")


if __name__ == "__main__":
    main()
