"""Playwright fixtures: the system Chromium (never a downloaded one), headless.

The browser tests skip (with the reason) when Playwright or ``/usr/bin/chromium`` is missing;
``.ci/run`` installs Chromium with apt when it can.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.world import PASSWORD
from tests.rig.nodes import REPO, Node

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
TIMEOUT_MS = 15_000


def skip_reason() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        found = shutil.which("chromium")
        return (
            f"{CHROMIUM} is missing"
            + (f" (found {found}, but the tests use the Debian path)" if found else "")
            + ": install it with `apt-get install chromium` (.ci/run does)"
        )
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (add it to the test extras)"
    return None


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
def new_page(browser: Any) -> Callable[[], Awaitable[Any]]:
    """A page in a fresh browser context (its own cookies).

    Every in-process node listens on 127.0.0.1 and cookies ignore the port, so one context
    visiting two nodes would send node A's session cookie to node B, which cannot decrypt it
    and replaces it: a person on a real deployment (one host per node) never sees that. Use
    one context per node and person.
    """

    async def make() -> Any:
        context = await browser.new_context(viewport={"width": 1024, "height": 800})
        context.set_default_timeout(TIMEOUT_MS)
        return await context.new_page()

    return make


async def sign_in(page: Any, node: Node, name: str, password: str = PASSWORD) -> None:
    """Through the real form, as a person would."""
    await page.goto(f"{node.base_url}/login")
    await page.fill("#name", name)
    await page.fill("#password", password)
    await page.locator("main form").get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{node.base_url}/me")


async def reload_until(
    page: Any,
    url: str,
    check: Callable[[], Awaitable[bool]],
    *,
    what: str,
    timeout: float = 20.0,
) -> None:
    """Load ``url`` again and again until ``check()`` holds (federation is asynchronous)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        response = await page.goto(url)
        assert response is not None and response.ok, (
            f"{url} answered {response and response.status}"
        )
        if await check():
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} on {url}")
        await asyncio.sleep(0.25)
