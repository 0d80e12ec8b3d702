"""How hard anyone may try passwords: failures per account name, attempts per client address,
and how many password hashes run at once.

One ``SignInGuard`` per running node, held by ``Services`` (no module state), made from the
settings the first time a password is checked. Per-process like the other rate limits: a node
run as several processes multiplies the allowance by their number.

The account limit counts *names*, whether or not they exist, so a sixth attempt answers 429 for
an unknown name just as for a real one (the limit does not tell which names exist). A failure is
charged before the password is checked and forgiven by a success, so concurrent attempts cannot
slip past the limit while their checks are running.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from node.federation.admission.ratelimit import RateLimiter
from node.runtime.config import Settings
from node.runtime.services import Services

MAX_NAMES = 50_000  # names tracked at once; the oldest are forgotten first


class FailureWindow:
    """At most ``limit`` failures per key within ``window`` seconds (a sliding window)."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] | None = None) -> None:
        self.limit = limit
        self.window = window
        self._now = clock or time.monotonic
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def wait(self, key: str) -> float | None:
        """None when ``key`` may try again now, else the seconds until it may."""
        stamps = self._recent(key)
        if stamps is None or len(stamps) < self.limit:
            return None
        return max(0.0, stamps[0] + self.window - self._now())

    def fail(self, key: str) -> None:
        stamps = self._recent(key)
        if stamps is None:
            stamps = self._failures[key] = deque(maxlen=self.limit)
            if len(self._failures) > MAX_NAMES:
                self._failures.popitem(last=False)
        stamps.append(self._now())

    def forgive(self, key: str) -> None:
        """Forget ``key``'s failures (after a successful sign-in)."""
        self._failures.pop(key, None)

    def _recent(self, key: str) -> deque[float] | None:
        stamps = self._failures.get(key)
        if stamps is None:
            return None
        self._failures.move_to_end(key)
        cutoff = self._now() - self.window
        while stamps and stamps[0] <= cutoff:
            stamps.popleft()
        return stamps


@dataclass
class SignInGuard:
    per_account: FailureWindow
    per_address: RateLimiter
    #: Password hashes running at once (each holds a worker thread, ~0.1 s of CPU and 64 MiB).
    hashing: asyncio.Semaphore

    @classmethod
    def from_settings(cls, settings: Settings) -> SignInGuard:
        per_minute = settings.signin_attempts_per_ip_per_minute
        return cls(
            per_account=FailureWindow(
                settings.signin_failures_per_account, settings.signin_failure_window_seconds
            ),
            per_address=RateLimiter(per_minute / 60.0, per_minute),
            hashing=asyncio.Semaphore(settings.signin_hash_concurrency),
        )


def signin_guard(services: Services) -> SignInGuard:
    """The node's guard, made on first use."""
    if services.signin is None:
        services.signin = SignInGuard.from_settings(services.settings)
    return services.signin
