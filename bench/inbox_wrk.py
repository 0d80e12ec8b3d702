"""The load side of ``bench.inbox``: wrk and its Lua script, pinned processes, CPU time, py-spy.

wrk hands out each pre-signed request exactly once (a repeat would be a cheap duplicate, not an
activity) and prints one parseable line; the servers it loads run pinned to one core, wrk to the
other, so both get a core of their own on a two-core machine.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WRK = "/usr/bin/wrk"
SERVER_CPU = "0"
WRK_CPU = "1"

LUA = r"""
-- Hands out each pre-signed request once (never a repeat), counts non-2xx answers and
-- prints one parseable line at the end. Records: "<length>\n<raw HTTP request>".
local requests = {}
local count = 0
local position = 1
non2xx = 0
sent = 0
overrun = 0
first_bad = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local nthreads = tonumber(args[2])
  local file = assert(io.open(args[1], "rb"))
  local index = 0
  while true do
    local line = file:read("*l")
    if not line then break end
    local raw = file:read(tonumber(line))
    if index % nthreads == tid then
      count = count + 1
      requests[count] = raw
    end
    index = index + 1
  end
  file:close()
end

function request()
  if position > count then
    overrun = overrun + 1
    return requests[count]
  end
  local raw = requests[position]
  requests[position] = nil
  position = position + 1
  sent = sent + 1
  return raw
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_bad == 0 then first_bad = status end
  end
end

function done(summary, latency, requests)
  local bad, total_sent, over, first = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non2xx")
    total_sent = total_sent + thread:get("sent")
    over = over + thread:get("overrun")
    if first == 0 then first = thread:get("first_bad") end
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d non2xx=%d sent=%d overrun=%d first_bad=%d connect=%d read=%d " ..
    "write=%d status=%d timeout=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, bad, total_sent, over, first, e.connect, e.read, e.write, e.status,
    e.timeout, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class WrkResult:
    requests: int  # responses received
    non2xx: int
    sent: int
    overrun: int
    first_bad: int
    socket_errors: int  # connect + read + write + timeout
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    cpu_seconds: float = 0.0  # the server's CPU time during the run (robust to a busy machine)

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_seconds / max(1, self.requests) * 1e6

    @property
    def accepted(self) -> int:
        return self.requests - self.non2xx

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds

    @property
    def errors(self) -> int:
        return self.non2xx + self.socket_errors + self.overrun


def parse_wrk(output: str) -> WrkResult:
    match = re.search(r"^BENCH (.*)$", output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no result line:\n{output}")
    v = {k: int(x) for k, x in (pair.split("=") for pair in match.group(1).split())}
    return WrkResult(
        requests=v["requests"],
        non2xx=v["non2xx"],
        sent=v["sent"],
        overrun=v["overrun"],
        first_bad=v["first_bad"],
        socket_errors=v["connect"] + v["read"] + v["write"] + v["timeout"],
        seconds=v["duration_us"] / 1e6,
        p50_ms=v["p50_us"] / 1000,
        p90_ms=v["p90_us"] / 1000,
        p99_ms=v["p99_us"] / 1000,
        max_ms=v["max_us"] / 1000,
    )


async def start_pinned(
    argv: list[str], env: dict[str, str], ready: str, log: Path
) -> asyncio.subprocess.Process:
    """Start a server on the server core; returns once it printed a line starting ``ready``."""
    proc = await asyncio.create_subprocess_exec(
        "taskset",
        "-c",
        SERVER_CPU,
        *argv,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=log.open("ab"),
    )
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(60):
            while True:
                line = (await proc.stdout.readline()).decode()
                if not line:
                    raise RuntimeError(f"{argv[0]} exited before it was ready; see {log}")
                if line.startswith(ready):
                    break
    except BaseException:
        proc.kill()
        await proc.wait()
        raise
    return proc


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(30):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def run_wrk(
    url: str,
    requests_file: Path,
    lua: Path,
    seconds: int,
    connections: int,
    server_pid: int,
    threads: int = 1,
) -> WrkResult:
    cpu_before = cpu_seconds(server_pid)
    proc = await asyncio.create_subprocess_exec(
        "taskset",
        "-c",
        WRK_CPU,
        WRK,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(lua),
        url,
        "--",
        str(requests_file),
        str(threads),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    cpu = cpu_seconds(server_pid) - cpu_before
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{text}")
    return dataclasses.replace(parse_wrk(text), cpu_seconds=cpu)


async def start_profiler(
    directory: Path | None, pid: int, name: str
) -> asyncio.subprocess.Process | None:
    """With ``--profile DIR``: py-spy samples ``pid`` (raw collapsed stacks in DIR/name.txt)
    until :func:`stop_profiler`; it runs on the wrk core."""
    if directory is None:
        return None
    spy = shutil.which("py-spy") or str(BIN / "py-spy")
    directory.mkdir(parents=True, exist_ok=True)
    argv = [spy, "record", "--format", "raw", "-r", "100", "-o", str(directory / f"{name}.txt")]
    argv += ["--pid", str(pid)]
    return await asyncio.create_subprocess_exec(
        "taskset", "-c", WRK_CPU, *argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


async def stop_profiler(spy: asyncio.subprocess.Process | None) -> None:
    """py-spy writes its file when interrupted."""
    if spy is None or spy.returncode is not None:
        return
    spy.send_signal(signal.SIGINT)
    try:
        async with asyncio.timeout(30):
            await spy.wait()
    except TimeoutError:
        spy.kill()
        await spy.wait()


#: Where a sampled stack is spent, by the first phase whose files appear in it: a rough
#: split of the node's core between its jobs.
PHASES = (
    ("inbox acceptance", ("federation/inbox/", "activitypub/actors.py", "features/inbound.py")),
    ("inbox handling", ("activitypub/inbox_worker.py", "activitypub/handlers/")),
    ("deliveries", ("federation/delivery/",)),
    ("follow-ups", ("federation/followups/",)),
    ("rollups", ("impact/rollups.py",)),
    ("metrics", ("interfaces/metrics.py", "runtime/metrics.py")),
    ("HTTP (aiohttp, outside the handlers)", ("aiohttp/",)),
)


#: Leaf frames of a thread waiting for work (py-spy samples them unless told to skip idle
#: threads, and cannot tell a queue wait from work).
IDLE = ("aiosqlite/core.py:59)", "EpollSelector.select", "socket.accept", "Condition.wait")
PROJECT = (" (node/", " (storage/", " (protocol/", " (bench/")


def _phase(stack: str) -> str:
    if stack.startswith("Thread._bootstrap"):  # aiosqlite runs each connection in a thread
        return "SQLite (in aiosqlite's threads)" if "aiosqlite" in stack else "other threads"
    return next(
        (name for name, marks in PHASES if any(m in stack for m in marks)), "event loop and other"
    )


def profile_summary(path: Path, top: int = 12) -> list[str]:
    """Lines saying where the sampled busy time went (idle waits left out; every thread of the
    process shares its one core): by phase, then by the innermost project function of each
    sample (the libraries' time is charged to the project function that called them)."""
    if not path.exists():
        return [f"no profile written at {path} (is py-spy installed?)"]
    phases: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    total = idle = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if any(mark in frames[-1] for mark in IDLE):
            idle += count
            continue
        total += count
        phases[_phase(stack)] += count
        ours = [f for f in frames if any(p in f for p in PROJECT)]
        functions[ours[-1].split(" (", 1)[0] if ours else "(outside the project)"] += count
    if not total:
        return [f"empty profile at {path}"]
    lines = [
        f"{total:,} busy samples ({idle:,} idle left out); "
        + ", ".join(f"{name} {n / total:.0%}" for name, n in phases.most_common())
    ]
    lines.extend(
        f"  {n / total:5.1%} {name}" for name, n in functions.most_common(top) if n / total > 0.01
    )
    return lines
