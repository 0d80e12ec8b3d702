"""Whoever a change to a call affects is told, over federation (issue 15).

Real nodes on loopback: the chapter's node (with a member of its own, hal), two member nodes
whose members follow the chapter (alice, bob; carol, dan), and an outsider's node whose member
erin follows nobody: she RSVPs by the call's address, so only being a participant can bring
her the call's changes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import aiohttp

from tests.federation.conftest import Federation
from tests.rig.api import call_api
from tests.rig.nodes import Node, acli, eventually
from tests.rig.signin import browser, csrf, get, login, post, set_password

CALL = {
    "title": "Towpath clean-up",
    "start": "2027-06-12T10:00:00+01:00",
    "end": "2027-06-12T13:00:00+01:00",
    "timezone": "Europe/London",
    "place": {"name": "Lock 7", "address": "Towpath, Green Park"},
}
VOCABULARY = {"pending", "accepted", "waitlisted", "rejected", "removed", "cancelled", "left"}


@dataclass
class People:
    """Who takes part, and where: member name → (their node, their token)."""

    fed: Federation
    outsider: Node
    where: dict[str, tuple[Node, str]]
    call_id: str

    @property
    def ulid(self) -> str:
        return self.call_id.rsplit("/", 1)[1]

    async def commitment(self, name: str) -> dict | None:
        node, token = self.where[name]
        status, body = await call_api(node.base_url, token, "GET", "/api/v1/commitments")
        assert status == 200, body
        return next((c for c in body["items"] if c["call"] == self.call_id), None)

    async def state(self, name: str) -> str | None:
        found = await self.commitment(name)
        return None if found is None else found["state"]

    async def wait_states(self, expected: dict[str, str], what: str) -> None:
        async def check() -> bool:
            return {n: await self.state(n) for n in expected} == expected

        try:
            await eventually(check, timeout=30, what=what)
        except AssertionError:
            seen = {n: await self.state(n) for n in expected}
            raise AssertionError(f"{what}: states are {seen}, expected {expected}") from None

    async def organiser(self, method: str, path: str, body: object = None) -> dict:
        fed = self.fed
        url = f"/api/v1/chapters/greenpark/actions/{self.ulid}{path}"
        status, answer = await call_api(
            fed.chapter_node.base_url, fed.organiser_token, method, url, body
        )
        assert status == 200, answer
        return answer


async def _take_part(federation: Federation, nodes) -> People:
    """alice (follows), erin (follows nobody, another node) and hal (on the chapter's node)
    RSVP to a new call; each is accepted."""
    fed = federation
    status, call = await call_api(
        fed.chapter_node.base_url,
        fed.organiser_token,
        "POST",
        "/api/v1/chapters/greenpark/actions",
        CALL,
    )
    assert status == 201, call
    outsider = await nodes()
    erin = await outsider.member("erin")
    hal = await fed.chapter_node.member("hal")
    where = {
        "alice": (fed.m1, fed.tokens["alice"]),
        "erin": (outsider, erin.token),
        "hal": (fed.chapter_node, hal.token),
    }
    people = People(fed, outsider, where, call["id"])

    async def alice_has_it() -> bool:
        status, body = await call_api(fed.m1.base_url, fed.tokens["alice"], "GET", "/api/v1/feed")
        return status == 200 and any(i["id"] == call["id"] for i in body["items"])

    await eventually(alice_has_it, what="the call to reach alice's node")
    for name, (node, token) in where.items():
        status, body = await call_api(
            node.base_url, token, "POST", "/api/v1/rsvps", {"call": call["id"]}
        )
        assert status in (200, 202), (name, body)
    await people.wait_states(
        {"alice": "accepted", "erin": "accepted", "hal": "accepted"}, "every RSVP accepted"
    )
    return people


async def _page(url: str) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, headers={"Accept": "text/html"}) as resp,
    ):
        assert resp.status == 200
        return await resp.text()


async def test_a_removed_participant_is_told_and_their_node_shows_removed(federation, nodes):
    people = await _take_part(federation, nodes)
    fed = people.fed
    for name in ("alice", "erin", "hal"):
        actor = (
            fed.member_ids[name]
            if name == "alice"
            else people.where[name][0].services.ids.actor(name)
        )
        answer = await people.organiser("DELETE", f"/participants?actor={actor}")
        assert answer == {"call": people.call_id, "removed": actor}
    # A Reject of their own Join reaches alice's and erin's nodes; hal is on this node.
    await people.wait_states(
        {"alice": "removed", "erin": "removed", "hal": "removed"},
        "the removed participants' commitments to show removed",
    )
    for name in ("alice", "erin", "hal"):
        found = await people.commitment(name)
        assert found is not None and "removed" in (found["reason"] or ""), found
    doc = await people.organiser("GET", "")
    assert doc["participant_count"] == 0


async def test_cancelling_with_a_reason_reaches_every_commitment_and_restore_undoes_it(
    federation, nodes
):
    people = await _take_part(federation, nodes)
    fed = people.fed
    reason = "The towpath is flooded"
    # The CLI asks for a reason; followers and participants get the call's Update.
    cancelled = await acli(
        "action", "cancel", people.call_id, "--as", "olga", "--reason", reason,
        "--data", str(fed.chapter_node.data_dir), "--json",
        env=fed.chapter_node.cli_env,
    )  # fmt: skip
    assert json.loads(cancelled.stdout)["status"] == "cancelled"
    everyone = {"alice": "cancelled", "erin": "cancelled", "hal": "cancelled"}
    await people.wait_states(everyone, "every commitment, local and remote, to show cancelled")
    for name in everyone:
        found = await people.commitment(name)
        assert found is not None and found["reason"] == reason, found
        assert found["title"] == CALL["title"]
    # The organisers' Update says CANCELLED; nobody was sent a Delete.
    doc = await people.organiser("GET", "")
    assert doc["status"] == "cancelled"

    # The page no longer offers to take part, nor counts who is coming.
    page = await _page(people.call_id)
    assert "This action call is cancelled." in page
    assert reason in page
    assert "people are coming" not in page
    assert "to RSVP" not in page and f'action="{people.call_id}/rsvp"' not in page

    restored = await acli(
        "action", "restore", people.call_id, "--as", "olga",
        "--data", str(fed.chapter_node.data_dir), "--json",
        env=fed.chapter_node.cli_env,
    )  # fmt: skip
    assert json.loads(restored.stdout)["status"] == "confirmed"
    await people.wait_states(
        {"alice": "accepted", "erin": "accepted", "hal": "accepted"},
        "every commitment to show its answer again after the restore",
    )
    page = await _page(people.call_id)
    assert "This action call is cancelled." not in page
    assert re.search(r'<span id="participant-count">3</span>', page), page


async def test_cancel_over_the_api_takes_an_optional_reason_and_refuses_bad_ones(federation, nodes):
    people = await _take_part(federation, nodes)
    fed = people.fed
    url = f"/api/v1/chapters/greenpark/actions/{people.ulid}/cancel"
    for bad, field in (({"reason": 5}, "reason"), ({"reason": "x" * 501}, "reason"),
                       ({"why": "x"}, "why")):  # fmt: skip
        status, problem = await call_api(
            fed.chapter_node.base_url, fed.organiser_token, "POST", url, bad
        )
        assert status == 422 and field in problem["detail"], problem
    assert (await people.organiser("GET", ""))["status"] == "confirmed"  # nothing changed
    assert await people.state("hal") == "accepted"
    await people.organiser("POST", "/cancel")  # no body: no reason
    await people.wait_states(
        {"alice": "cancelled", "erin": "cancelled", "hal": "cancelled"}, "the cancellation"
    )
    assert (await people.commitment("erin") or {})["reason"] is None


async def test_a_moved_call_reaches_a_participant_who_follows_nobody(federation, nodes):
    people = await _take_part(federation, nodes)
    new_start = "2027-06-19T14:00:00+01:00"
    await people.organiser(
        "PATCH",
        "",
        {
            "start": new_start,
            "end": "2027-06-19T17:00:00+01:00",
            "place": {"name": "Lock 9", "address": "Canal Street"},
        },
    )
    node, _ = people.where["erin"]

    async def moved() -> bool:
        out = await acli(
            "commitments", "--as", "erin", "--data", str(node.data_dir), "--json",
            env=node.cli_env,
        )  # fmt: skip
        items = [c for c in json.loads(out.stdout) if c["call"] == people.call_id]
        return bool(items) and items[0]["start"] == new_start and "Lock 9" in items[0]["summary"]

    await eventually(moved, timeout=30, what="erin's commitment to show the new time and place")
    assert await people.state("erin") == "accepted"


async def test_commitments_json_gives_call_title_start_and_state(federation, nodes):
    people = await _take_part(federation, nodes)
    fed = people.fed
    status, body = await call_api(
        fed.m1.base_url, fed.tokens["alice"], "DELETE", f"/api/v1/rsvps?call={people.call_id}"
    )
    assert (status, body["state"]) == (200, "left")
    for name in ("alice", "erin", "hal"):
        node, _ = people.where[name]
        out = await acli(
            "commitments", "--as", name, "--data", str(node.data_dir), "--json", env=node.cli_env
        )
        items = json.loads(out.stdout)
        assert isinstance(items, list) and len(items) == 1, items
        item = items[0]
        assert {"call", "title", "start", "state"} <= set(item), item
        assert item["call"] == people.call_id
        assert item["title"] == CALL["title"]
        assert item["start"] == CALL["start"]
        assert item["state"] in VOCABULARY
        assert item["state"] == ("left" if name == "alice" else "accepted")
    # Without --json: one tab-separated line per commitment (call, state, start, title).
    node, _ = people.where["alice"]
    text = await acli(
        "commitments", "--as", "alice", "--data", str(node.data_dir), env=node.cli_env
    )
    assert text.stdout.split("\t")[:3] == [people.call_id, "left", CALL["start"]]


async def test_the_pages_ask_before_cancelling_take_a_reason_and_restore(federation, nodes):
    people = await _take_part(federation, nodes)
    fed = people.fed
    node = fed.chapter_node
    await set_password(node, "olga")
    cancel_url = f"{people.call_id}/cancel"
    async with browser() as http:
        assert (await login(http, node, "olga")).status == 303
        call_page = (await get(http, people.call_id)).text
        assert f'href="{cancel_url}"' in call_page  # a link to the question, not a button
        question = await get(http, cancel_url)
        assert question.status == 200
        assert 'name="reason"' in question.text and "3 people have said" in question.text
        token = await csrf(http, cancel_url)
        # No confirmation: sent to the question. No token: refused. Too long: refused, kept.
        unconfirmed = await post(http, cancel_url, {"csrf": token, "reason": "x"})
        assert (unconfirmed.status, unconfirmed.location) == (303, cancel_url)
        forged = await post(http, cancel_url, {"confirm": "yes", "reason": "x"})
        assert forged.status == 403
        too_long = await post(
            http, cancel_url, {"csrf": token, "confirm": "yes", "reason": "y" * 501}
        )
        assert too_long.status == 422 and "at most 500" in too_long.text
        assert (await people.organiser("GET", ""))["status"] == "confirmed"

        done = await post(
            http, cancel_url, {"csrf": token, "confirm": "yes", "reason": "Storm warning"}
        )
        assert (done.status, done.location) == (303, people.call_id)
        await people.wait_states(
            {"alice": "cancelled", "erin": "cancelled", "hal": "cancelled"}, "the cancellation"
        )
        page = (await get(http, people.call_id)).text
        assert "Storm warning" in page and f'action="{people.call_id}/restore"' in page
        assert (await get(http, cancel_url)).status == 303  # already cancelled: nothing to ask

        restored = await post(http, f"{people.call_id}/restore", {"csrf": token})
        assert restored.status == 303
    await people.wait_states(
        {"alice": "accepted", "erin": "accepted", "hal": "accepted"}, "the restore"
    )
    # Only the call's organisers are asked.
    async with browser() as http:
        await set_password(fed.chapter_node, "hal")
        assert (await login(http, fed.chapter_node, "hal")).status == 303
        assert (await get(http, cancel_url)).status == 403
