"""The inbox worker's real dispatch, made to fail for chosen activities (a handler hiccup)."""

from __future__ import annotations

from node.interfaces.activitypub import inbox_worker


class Flaky:
    """The real dispatch, except that it fails for the activity ids in ``failing``."""

    def __init__(self) -> None:
        self.real = inbox_worker.dispatch
        self.failing: set[str] = set()
        self.calls: list[str] = []

    async def __call__(self, ctx, activity) -> None:
        self.calls.append(activity.id)
        if activity.id in self.failing:
            raise RuntimeError("the handler hiccupped")
        await self.real(ctx, activity)
