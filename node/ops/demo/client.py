"""How the demo talks to its nodes: the ``chapterhouse`` command line in subprocesses (as an
admin would), HTTP and the JSON API (as members' apps and other servers would), and the polling
every step waits with: real state, never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import aiohttp

from node.interfaces.cli.words import ENV_LANGUAGE, _, language, written
from node.ops.cluster import PACKAGE_ROOT, node_argv
from node.ops.demo.errors import DemoError
from node.ops.demo.nodes import DemoCluster, DemoNode
from protocol.errors import N_

STEP_TIMEOUT = 30.0  # how long any one wait may take
CLI_TIMEOUT = 60.0  # how long one ``chapterhouse`` command may take
POLL_SECONDS = 0.2
AP_JSON = "application/activity+json"

T = TypeVar("T")


async def concurrently(*aws: Awaitable[T]) -> list[T]:
    """Run the awaitables together; the first failure cancels the others and is raised."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


class DemoClient:
    """Commands and requests against the nodes of ``cluster``; every wait also watches that
    no node died (a dead node fails the demo at once, not after a timeout)."""

    def __init__(self, cluster: DemoCluster) -> None:
        self.cluster = cluster
        self.http: aiohttp.ClientSession | None = None

    # -- the command line -----------------------------------------------------------------

    async def cli(self, *args: str, check: bool = True) -> tuple[int, str, str]:
        """Run ``chapterhouse ARGS`` in a subprocess; a failure (when checked) is a DemoError.
        The command speaks the demo's language (its refusals reach the reader inside ours)."""
        proc = await asyncio.create_subprocess_exec(
            *node_argv(*args),
            cwd=PACKAGE_ROOT,
            env={**self.cluster.env, ENV_LANGUAGE: language()},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        shown = "chapterhouse " + " ".join(args)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT)
        except BaseException as exc:  # a timeout, or the demo is being stopped
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            if isinstance(exc, TimeoutError):
                raise DemoError(
                    N_("`{command}` did not finish within {seconds} s"),
                    command=shown,
                    seconds=round(CLI_TIMEOUT),
                ) from None
            raise
        code = proc.returncode if proc.returncode is not None else 1
        stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
        if check and code != 0:
            reason = [line for line in stderr.splitlines() if line.strip()]
            raise DemoError(
                N_("`{command}` failed (exit {code}): {reason}"),
                command=shown,
                code=code,
                reason=reason[-1] if reason else stdout.strip(),
            )
        return code, stdout, stderr

    async def run(self, node: DemoNode, *args: str) -> list[str]:
        """``chapterhouse ARGS --data NODE_DIR``; the lines it printed on stdout."""
        _code, out, _err = await self.cli(*args, "--data", str(node.data_dir))
        lines = [line for line in out.splitlines() if line.strip()]
        if not lines:
            raise DemoError(
                N_("`chapterhouse {command}` on {node} printed nothing"),
                command=" ".join(args),
                node=node.name,
            )
        return lines

    # -- HTTP -----------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        url: str,
        *,
        token: str | None = None,
        body: Mapping[str, object] | None = None,
        accept: str = AP_JSON,
    ) -> tuple[int, Any]:
        assert self.http is not None
        headers = {"Accept": accept}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with self.http.request(method, url, headers=headers, json=body) as resp:
            text = await resp.text()
            try:
                data: Any = json.loads(text) if text else None
            except ValueError:
                data = text
            return resp.status, data

    async def get(self, url: str, token: str | None = None) -> tuple[int, Any]:
        return await self.request("GET", url, token=token)

    async def api(
        self, node: DemoNode, member: str, method: str, path: str, body: Mapping[str, object]
    ) -> Any:
        """One JSON API call as a member; anything but 2xx is a DemoError."""
        status, data = await self.request(
            method, f"{node.base_url}{path}", token=node.tokens[member], body=body
        )
        if not 200 <= status < 300:
            detail = data.get("detail") if isinstance(data, dict) else data
            raise DemoError(
                N_("{method} {path} as {member} on {node} answered {answer}: {detail}"),
                method=method,
                path=path,
                member=member,
                node=node.name,
                answer=status,
                detail=detail,
            )
        return data

    async def items(self, node: DemoNode, member: str, path: str) -> list[dict[str, Any]]:
        status, data = await self.get(f"{node.base_url}{path}", token=node.tokens[member])
        if status != 200 or not isinstance(data, dict):
            raise DemoError(
                N_("GET {path} as {member} on {node} answered {answer}"),
                path=path,
                member=member,
                node=node.name,
                answer=status,
            )
        return [i for i in data.get("items", []) if isinstance(i, dict)]

    async def collection(self, url: str) -> set[str]:
        """The first page of an actor collection (the demo's are small)."""
        status, data = await self.get(f"{url}?page=1")
        if status != 200 or not isinstance(data, dict):
            raise DemoError(N_("GET {url} answered {answer}"), url=url, answer=status)
        return {i for i in data.get("orderedItems", []) if isinstance(i, str)}

    # -- waiting --------------------------------------------------------------------------

    async def until(
        self,
        what: str,
        check: Callable[[], Awaitable[tuple[bool, str]]],
        limit: float = STEP_TIMEOUT,
    ) -> None:
        """Poll ``check`` (→ done?, what it saw) until done; time out with a clear message.
        ``what`` and what ``check`` saw are said in the run's language already (``_``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        seen = ""
        while True:
            self.cluster.check_alive()
            try:
                done, seen = await check()
            except (aiohttp.ClientError, TimeoutError, DemoError) as exc:
                said = exc.spoken(_, written) if isinstance(exc, DemoError) else str(exc)
                done, seen = False, said or type(exc).__name__
            if done:
                return
            if loop.time() >= deadline:
                seconds = int(limit) if float(limit).is_integer() else limit
                if seen:
                    raise DemoError(
                        N_("timed out after {limit} s waiting for {what} (last seen: {seen})"),
                        limit=seconds,
                        what=what,
                        seen=seen,
                    )
                raise DemoError(
                    N_("timed out after {limit} s waiting for {what}"), limit=seconds, what=what
                )
            await asyncio.sleep(POLL_SECONDS)
