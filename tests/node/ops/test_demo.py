"""`chapterhouse demo`: four real node processes play a day of action, then stop cleanly.

The demo runs as a subprocess exactly as a user would run it: through its whole script, then
serving until SIGINT, with the nodes fetched over HTTP in between; it must leave no process and
no listening port behind. ``--exit-after-script`` runs the same script and skips the wait for
Ctrl-C; the refusals below use it (they end before the script starts).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract

from node.interfaces.cli.words import speaking
from node.ops.demo.plan import STEPS as STEP_TITLES
from node.ops.demo.script import MARKER, Demo, DemoError, prepare_directory
from node.ops.demo.signins import closing_lines
from tests.rig.nodes import REPO
from tests.rig.pseudo_locale import leftover_words

NODES = 4  # the campaign's node and three chapters' nodes, on consecutive ports
STEPS = 17
CHAPTERS = ("greenpark", "riverside", "oldtown")
READY = "Press Ctrl-C to stop the nodes."


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_base_port() -> int:
    """A base port whose next NODES ports are all free (probed from a random start, so that
    parallel test workers rarely probe the same range). Below Linux's ephemeral range
    (32768 and up): the demo binds these ports only after setting the nodes up, and meanwhile
    other tests' ephemeral sockets could take them."""
    start = random.randrange(10000, 27000)
    for base in range(start, start + 5000, NODES + 1):
        if all(_port_free(base + i) for i in range(NODES)):
            return base
    raise AssertionError(f"no {NODES} consecutive free ports found from {start}")


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def demo_command(base: int, directory: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "node",
        "demo",
        "--base-port",
        str(base),
        "--dir",
        str(directory),
        *extra,
    ]


def http_get(url: str, accept: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return resp.status, resp.read().decode()


def assert_all_steps(out: str) -> None:
    steps = re.findall(r"^\[([#-]+)\] (\d+)/(\d+) (.+?)  \(t\+[\d.]+ s\)$", out, re.MULTILINE)
    assert [int(n) for _bar, n, _total, _title in steps] == list(range(1, STEPS + 1)), out
    for bar, n, total, _title in steps:
        assert int(total) == STEPS
        assert bar == "#" * int(n) + "-" * (STEPS - int(n))
    titles = " | ".join(title for *_rest, title in steps)
    for step in (
        "chapters join the campaign",
        "members follow their chapters",
        "the campaign publishes a call",
        "chapters adopt the call",
        "members RSVP",
        "chapters report their impact",
        "a chapter corrects its report",
        "the campaign leaves out a report it cannot confirm yet",
        "the campaign publishes its rollup",
        "anyone can verify the rollup",
        "the campaign moves its call; the adopted calls follow",
        "a chapter cancels its call; everyone who RSVPed is told",
        "a chapter posts an evening call with an RSVP poll; a member elsewhere votes Going",
        "an organiser checks people in at the door",
        "a member is reminded before a call starts",
    ):
        assert step in titles, titles


def assert_changes_told(out: str) -> None:
    """The reschedule reached every adopted call and a member's commitment on another node; the
    cancellation reached the members who RSVPed, one of them on another node."""
    for name in CHAPTERS:
        assert re.search(rf"^\s+{name}\s+its call now reads: ", out, re.MULTILINE), out
    assert "ada (greenpark's node) sees her commitment to riverside's call move" in out, out
    assert re.search(r"ada \(greenpark's node\) sees: .+: cancelled \(High water", out), out
    assert "offers no RSVP" in out, out


def assert_organiser_tools(out: str) -> None:
    """A poll vote from another node was counted and answered, the check-in's head count went
    into a report, and a member was reminded of a call (once) before it started."""
    assert "dev is told: Your place at Evening litter pick is confirmed" in out, out
    assert "{'Going': " in out, out
    assert "olga checked in ada, ben and 40 walk-ins: 42 came" in out, out
    assert re.search(r"eli's notifications: Evening litter pick starts in ", out), out


def printed_urls(out: str, base: int) -> dict[str, str]:
    campaign = f"http://127.0.0.1:{base}/actors/climate-day"
    urls = {"campaign": campaign, "rollup": f"{campaign}/rollup"}
    for i, name in enumerate(CHAPTERS, start=1):
        urls[name] = f"http://127.0.0.1:{base + i}/actors/{name}"
    for i in range(NODES):
        urls[f"front{i}"] = f"http://127.0.0.1:{base + i}/"
    for url in urls.values():
        assert url in out, f"{url} not printed:\n{out}"
    call = re.search(rf"the call:\s+({re.escape(campaign)}/actions/\S+)", out)
    assert call, out
    urls["call"] = call.group(1)
    assert re.search(r"^\s+rollup:\s+" + re.escape(urls["rollup"]) + "$", out, re.MULTILINE), out
    assert len(re.findall(r"\bchp_[A-Za-z0-9_-]{20,}", out)) >= 2, out  # two members' tokens
    return urls


SIGN_IN = re.compile(
    r"^\s+(?P<node>\S+)\s+(?P<name>\S+) \((?P<role>organiser|member)\)\s+(?P<password>\S{12,})"
    r"\s+(?P<login>http://127\.0\.0\.1:\d+/login)$",
    re.MULTILINE,
)


def printed_sign_ins(out: str, base: int) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(node, role) → (name, password, sign-in URL): a web sign-in for an organiser and a member
    of every chapter's node, and the campaign's organiser, each password printed once."""
    assert "sign in to the pages (name, password):" in out, out
    found = {
        (m["node"], m["role"]): (m["name"], m["password"], m["login"])
        for m in SIGN_IN.finditer(out)
    }
    expected = {("climate-day", "organiser")}
    expected |= {(name, role) for name in CHAPTERS for role in ("organiser", "member")}
    assert set(found) == expected, out
    for (node, _role), (_name, password, login) in found.items():
        port = base if node == "climate-day" else base + 1 + CHAPTERS.index(node)
        assert login == f"http://127.0.0.1:{port}/login", login
        assert out.count(password) == 1, password
    return found


def sign_in(login: str, name: str, password: str) -> str:
    """Sign in through the real form (cookie and CSRF token); the page it lands on."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    with opener.open(
        urllib.request.Request(login, headers={"Accept": "text/html"}), timeout=10
    ) as r:
        token = re.search(r'name="csrf" value="([^"]+)"', r.read().decode())
    assert token, login
    form = urllib.parse.urlencode({"csrf": token[1], "name": name, "password": password})
    request = urllib.request.Request(login, data=form.encode(), headers={"Accept": "text/html"})
    with opener.open(request, timeout=30) as r:  # 303 to /me, followed
        return r.read().decode()


def test_the_demo_plays_the_whole_day_serves_until_sigint_then_stops_every_node(tmp_path):
    """One run of the whole script (it takes a minute or two, so it is played once): every
    step and what it showed, then the nodes over HTTP, then Ctrl-C."""
    base = free_base_port()
    directory = tmp_path / "demo"
    started = time.monotonic()
    proc = subprocess.Popen(
        demo_command(base, directory),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
        start_new_session=True,  # its own process group: the nodes are in it too
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.strip() == READY:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(200), "the demo never got to serving:\n" + "".join(lines)
        elapsed = time.monotonic() - started
        assert elapsed < 180, f"the demo took {elapsed:.0f} s"
        out = "".join(lines)
        assert_all_steps(out)
        # Two reports counted (one in grams, one corrected), one left out with its reason.
        assert "VERIFIED: 2/2 reports check out" in out
        assert "- excluded: " in out and "photos of the haul still to come" in out
        assert_changes_told(out)
        assert_organiser_tools(out)
        # Separate nodes: a data directory (and a database) each, and our marker.
        assert (directory / MARKER).is_file()
        for name in ("climate-day", *CHAPTERS):
            assert (directory / name / "chapterhouse.db").is_file()
        urls = printed_urls(out, base)
        sign_ins = printed_sign_ins(out, base)
        assert all(listening(base + i) for i in range(NODES))
        # A newcomer signs in to the pages with what the demo printed: member and organiser.
        for key in (("greenpark", "member"), ("greenpark", "organiser")):
            name, password, login = sign_ins[key]
            assert f"<h1>Hello, {name}</h1>" in sign_in(login, name, password)

        status, page = http_get(urls["greenpark"], "text/html")
        assert status == 200 and "Green Park Clean-up Crew" in page
        status, body = http_get(urls["rollup"], "application/activity+json")
        assert status == 200
        rollup = json.loads(body)
        assert rollup["chapterhouse:chapterCount"] == 2
        assert {(t["metric"], t["unit"], t["value"]) for t in rollup["chapterhouse:totals"]} == {
            ("participants", "people", 71),  # 42 + 29 (corrected); riverside's 35 left out
            ("kg_litter", "kg", 190.75),  # 120500 g + 70.25 kg, exactly
        }
        assert [e["reason"] for e in rollup["chapterhouse:exclusions"]] == [
            "photos of the haul still to come"
        ]
        status, body = http_get(urls["call"], "application/activity+json")
        assert status == 200 and json.loads(body)["type"] == "Event"

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0, "".join(lines)
        reader.join(timeout=10)
        out = "".join(lines)
        assert "Traceback" not in out, out
        assert "All nodes stopped." in out
        assert not any(listening(base + i) for i in range(NODES))
        with pytest.raises(ProcessLookupError):
            os.killpg(proc.pid, 0)  # nothing is left in the demo's process group
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def test_a_taken_port_is_refused_before_anything_starts(tmp_path):
    base = free_base_port()
    directory = tmp_path / "demo"
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", base + 2))
        squatter.listen()
        result = subprocess.run(
            demo_command(base, directory, "--exit-after-script"),
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert f"port {base + 2}" in result.stderr and "--base-port" in result.stderr
    assert not directory.exists()
    assert not any(listening(base + i) for i in range(NODES) if i != 2)


def test_a_directory_the_demo_did_not_make_is_left_alone(tmp_path):
    directory = tmp_path / "precious"
    directory.mkdir()
    (directory / "notes.txt").write_text("keep me")
    result = subprocess.run(
        demo_command(free_base_port(), directory, "--exit-after-script"),
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert MARKER in result.stderr and "--dir" in result.stderr
    assert (directory / "notes.txt").read_text() == "keep me"


def test_an_earlier_demo_directory_is_replaced_and_an_empty_one_used(tmp_path):
    earlier = tmp_path / "earlier"
    (earlier / "greenpark").mkdir(parents=True)
    (earlier / MARKER).write_text("")
    (earlier / "greenpark" / "chapterhouse.db").write_text("old")
    assert prepare_directory(earlier) == earlier.resolve()
    assert sorted(p.name for p in earlier.iterdir()) == [MARKER]

    empty = tmp_path / "empty"
    empty.mkdir()
    prepare_directory(empty)
    assert (empty / MARKER).is_file()

    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(DemoError, match="not a directory"):
        prepare_directory(a_file)


async def test_a_wait_that_never_comes_true_times_out_naming_what_and_the_last_state(tmp_path):
    demo = Demo(free_base_port(), tmp_path)
    calls = 0

    async def never() -> tuple[bool, str]:
        nonlocal calls
        calls += 1
        return False, f"{calls} looks, still nothing"

    with pytest.raises(DemoError) as caught:
        await demo.until("the sky to fall", never, limit=0.5)
    message = str(caught.value)
    assert message.startswith("timed out after 0.5 s waiting for the sky to fall")
    assert f"(last seen: {calls} looks, still nothing)" in message
    assert calls >= 2  # it polled, not slept once


def _demo_msgids() -> set[str]:
    """What ``make messages`` finds marked in ``node/ops/demo`` (keywords ``_``, ``N_``...)."""
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    found: set[str] = set()
    for path in sorted((REPO / "node" / "ops" / "demo").glob("*.py")):
        with path.open("rb") as source:
            for _line, message, _comments, _context in extract("python", source, keywords):
                found.add(message if isinstance(message, str) else message[0])
    return found


class _Marked:
    """A pseudo catalogue of the demo's own msgids: each comes back ``⟦…⟧``, so a word outside
    the markers was never looked up (``tests/rig/pseudo_locale.py`` reads the shipped template,
    which holds the demo's words only once ``make messages`` has run)."""

    def __init__(self, msgids: set[str]) -> None:
        self.msgids = msgids

    def gettext(self, message: str) -> str:
        return f"⟦{message}⟧" if message in self.msgids else message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


def _a_played_demo(base: int, directory: Path) -> tuple[Demo, list[str]]:
    """A demo whose nodes never started, given what the script would have learned; and that
    data (ids, handles, tokens, passwords, URLs), to tell it from words."""
    demo = Demo(base, directory)
    data = [str(directory)]
    for node in demo.nodes:
        data += [f"{node.base_url}/login", node.base_url, node.name]
        node.actors[node.name] = f"{node.base_url}/actors/{node.name}"
        data += [node.actors[node.name], node.handle(node.name)]
        for name in ("olga", "ada", "cleo", "maya"):
            node.tokens[name] = f"chp_{name}Zq9Xv2Wk7Jb4Lm8Np3Qr"
            data += [node.tokens[name], name]
        node.passwords["olga" if node is not demo.campaign else "maya"] = "Zq9Xv2Wk7Jb4Lm8N"
    demo.rollup = f"{demo.campaign.base_url}/actors/climate-day/rollup"
    demo.call = f"{demo.campaign.base_url}/actors/climate-day/actions/zq9"
    demo.local_calls = {name: f"{node.base_url}/zq9" for name, node in demo.chapters.items()}
    data += [demo.rollup, demo.call, *demo.local_calls.values(), "Zq9Xv2Wk7Jb4Lm8N"]
    home = demo.chapters["greenpark"]
    data.append(f"curl -H 'Authorization: Bearer {home.tokens['ada']}' {home.base_url}/api/v1/feed")
    return demo, data


def test_the_demo_narrates_in_the_run_language_through_the_catalogue(tmp_path, capsys):
    """Each step's title and the closing lines are looked up in the run's catalogue (here a
    pseudo one, speaking German): no English word is left outside the markers but data; the
    refusals carry their wording and data (``DemoError`` is worded). In English (no run
    language) the closing lines read as before."""
    demo, data = _a_played_demo(free_base_port(), tmp_path / "demo")
    english = closing_lines(demo)
    assert "  campaign:      " + f"{demo.campaign.actors['climate-day']}  (" in "\n".join(english)
    assert f"  rollup:        {demo.rollup}" in english
    assert "  sign in to the pages (name, password):" in english
    assert any(re.search(r"greenpark\s+olga \(organiser\)\s+Zq9", line) for line in english)

    msgids = _demo_msgids()
    assert set(STEP_TITLES) <= msgids
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    with speaking("de", _Marked(msgids)):
        for title in STEP_TITLES:
            demo.begin(title)
        shown = capsys.readouterr().out.splitlines() + closing_lines(demo)
        with pytest.raises(DemoError) as caught:
            prepare_directory(a_file)
    assert len(shown) > len(STEP_TITLES)
    for line in shown:
        assert leftover_words(line, data) == [], line
    assert "⟦a chapter corrects its report⟧" in shown[10]
    error = caught.value
    assert error.wording == "{directory} exists and is not a directory; choose another --dir"
    assert error.params == {"directory": str(a_file.resolve())}
    assert error.spoken(_Marked(msgids).gettext).startswith("⟦")
    assert str(error).endswith("exists and is not a directory; choose another --dir")
