"""Retry schedules as pure functions: the caller supplies the randomness."""

from __future__ import annotations

from datetime import timedelta


def exponential_backoff(
    attempt: int,
    *,
    base: timedelta = timedelta(seconds=30),
    cap: timedelta = timedelta(hours=12),
    max_attempts: int = 20,
    jitter: float = 0.0,
) -> timedelta | None:
    """Delay before retry number ``attempt`` (1-based), or None once attempts are exhausted.

    ``jitter`` in [0, 1) spreads retries by up to that fraction of the delay, so peers that
    failed together do not retry together.
    """
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    if not 0.0 <= jitter < 1.0:
        raise ValueError("jitter must be in [0, 1)")
    if attempt > max_attempts:
        return None
    delay: timedelta = min(base * (2 ** (attempt - 1)), cap)
    return delay + delay * jitter
