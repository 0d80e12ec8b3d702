"""Moderation: flags, blocks (CLI, API, Mastodon CSV), bans and participant removal."""

from __future__ import annotations

import json

import orjson

from node.features.actors.local import issue_token
from protocol.activities import build_join
from tests.rig.api import call_api
from tests.rig.nodes import acli, eventually
from tests.rig.signing import post, signed_post_headers

CALL = {
    "title": "Canal clean-up",
    "start": "2027-04-12T10:00:00+01:00",
    "end": "2027-04-12T13:00:00+01:00",
    "place": "Lock 7",
}


async def _admin_token(node) -> str:
    return await issue_token(node.services, await node.services.instance_actor(), "admin")


async def _send(node, actor, inbox: str, activity: dict) -> tuple[int, dict]:
    body = orjson.dumps(activity)
    signer = node.services.keys.rsa_signer(actor)
    return await post(
        inbox, body, signed_post_headers(inbox, body, key_id=signer.key_id, key=signer.private_key)
    )


async def test_flags_from_members_and_from_remote_servers_reach_the_queue(nodes):
    hub, other = await nodes(), await nodes()
    await hub.chapter("greenpark")
    member = await hub.member("mia")
    admin = await _admin_token(hub)
    mallory = (await other.member("mallory")).actor
    status, flag = await call_api(
        hub.base_url,
        member.token,
        "POST",
        "/api/v1/flags",
        {"target": mallory.ap_id, "comment": "spam in the comments"},
    )
    assert status == 201 and flag["source"] == "local"
    remote_flag = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "type": "Flag",
        "id": f"{other.base_url}/flags/1",
        "actor": other.services.ids.actor("relay"),
        "object": [mallory.ap_id],
        "content": "forwarded report",
    }
    relay = await other.services.instance_actor()
    status, _ = await _send(other, relay, f"{hub.base_url}/inbox", remote_flag)
    assert status == 202

    async def both_queued() -> bool:
        status, queue = await call_api(hub.base_url, admin, "GET", "/api/v1/admin/flags")
        return status == 200 and {f["source"] for f in queue["items"]} == {"local", "remote"}

    await eventually(both_queued, what="both flags in the moderation queue")
    assert (await call_api(hub.base_url, member.token, "GET", "/api/v1/admin/flags"))[0] == 403
    status, problem = await call_api(
        hub.base_url, member.token, "POST", "/api/v1/flags", {"target": "not a url"}
    )
    assert status == 422 and "target" in problem["detail"]


async def test_blocked_domain_is_refused_before_any_key_fetch(nodes):
    hub, other = await nodes(), await nodes()
    await hub.chapter("greenpark")
    admin = await _admin_token(hub)
    mallory = (await other.member("mallory")).actor
    status, _ = await call_api(
        hub.base_url,
        admin,
        "POST",
        "/api/v1/admin/blocks",
        {"domain": other.authority, "severity": "suspend", "reason": "spam"},
    )
    assert status == 201
    other.hits.clear()
    follow = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "type": "Follow",
        "id": f"{mallory.ap_id}#f1",
        "actor": mallory.ap_id,
        "object": hub.services.ids.actor("greenpark"),
    }
    status, problem = await _send(other, mallory, f"{hub.base_url}/inbox", follow)
    assert status == 403 and "blocked" in problem["detail"]
    assert [
        h for h in other.hits if h.method == "GET"
    ] == []  # no key fetch from the blocked server
    status, blocks = await call_api(hub.base_url, admin, "GET", "/api/v1/admin/blocks")
    assert blocks["domains"] == [
        {"domain": other.authority, "severity": "suspend", "reason": "spam"}
    ]
    assert (
        await call_api(
            hub.base_url, admin, "DELETE", f"/api/v1/admin/blocks?target={other.authority}"
        )
    )[0] == 200
    status, _ = await _send(
        other, mallory, f"{hub.base_url}/inbox", {**follow, "id": f"{mallory.ap_id}#f2"}
    )
    assert status == 202


async def test_block_cli_imports_a_mastodon_csv(tmp_path):
    data = tmp_path / "n"
    await acli(
        "init",
        "--data",
        str(data),
        "--base-url",
        "http://127.0.0.1:9999",
        "--allow-private-network",
    )
    csv_file = tmp_path / "blocks.csv"
    csv_file.write_text(
        "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n"
        "spam.example,suspend,true,true,Spam,false\nloud.example,silence,false,false,,false\n"
    )
    out = await acli("block", "import", str(csv_file), "--data", str(data))
    assert out.stdout.strip() == "imported 2 domain blocks"
    await acli(
        "block",
        "actor",
        "https://bad.example/users/troll",
        "--data",
        str(data),
        "--reason",
        "abuse",
    )
    listed = json.loads((await acli("block", "list", "--data", str(data), "--json")).stdout)
    assert listed["domains"] == [
        {"domain": "loud.example", "severity": "silence", "reason": None},
        {"domain": "spam.example", "severity": "suspend", "reason": "Spam"},
    ]
    assert listed["actors"] == [{"actor": "https://bad.example/users/troll", "reason": "abuse"}]
    assert (await acli("unblock", "spam.example", "--data", str(data))).returncode == 0
    again = await acli("unblock", "spam.example", "--data", str(data), check=False)
    assert again.returncode == 1 and "not blocked" in again.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("#domain,#severity\nx.example,obliterate\n")
    refused = await acli("block", "import", str(bad), "--data", str(data), check=False)
    assert refused.returncode == 1 and "severity" in refused.stderr


async def test_bans_and_participant_removal(nodes):
    hub, other = await nodes(), await nodes()
    await hub.chapter("greenpark")
    olga = await hub.member("olga", role="organiser", chapter="greenpark")
    status, call = await call_api(
        hub.base_url, olga.token, "POST", "/api/v1/chapters/greenpark/actions", CALL
    )
    assert status == 201
    rita = (await other.member("rita")).actor
    troll = (await other.member("troll")).actor
    for who in (rita, troll):
        status, _ = await _send(
            other,
            who,
            f"{hub.base_url}/inbox",
            build_join(f"{who.ap_id}#join", who.ap_id, call["id"], call["chapter"]),
        )
        assert status == 202
    participants = f"/api/v1/chapters/greenpark/actions/{call['id'].rsplit('/', 1)[1]}/participants"

    async def two_in() -> bool:
        status, listed = await call_api(hub.base_url, olga.token, "GET", participants)
        return status == 200 and len(listed["items"]) == 2

    await eventually(two_in, what="both Joins to be admitted")
    status, _ = await call_api(
        hub.base_url, olga.token, "DELETE", f"{participants}?actor={rita.ap_id}"
    )
    assert status == 200
    status, _ = await call_api(
        hub.base_url,
        olga.token,
        "POST",
        "/api/v1/chapters/greenpark/bans",
        {"actor": troll.ap_id, "reason": "harassment"},
    )
    assert status == 201
    status, listed = await call_api(hub.base_url, olga.token, "GET", participants)
    assert listed["items"] == []  # the ban also removed the troll from the call
    status, _ = await _send(
        other,
        troll,
        f"{hub.base_url}/inbox",
        build_join(f"{troll.ap_id}#join2", troll.ap_id, call["id"], call["chapter"]),
    )
    assert status == 202

    async def rejected() -> bool:
        async with hub.services.db.read() as session:
            from sqlalchemy import select

            from storage.models import OutboxActivity

            rows = list(
                await session.scalars(
                    select(OutboxActivity).where(OutboxActivity.activity_type == "Reject")
                )
            )
        return any(r.body["object"]["id"] == f"{troll.ap_id}#join2" for r in rows)

    await eventually(rejected, what="the banned actor's Join to be rejected")
    status, listed = await call_api(hub.base_url, olga.token, "GET", participants)
    assert listed["items"] == []
    member = await hub.member("mo")
    assert (
        await call_api(
            hub.base_url,
            member.token,
            "POST",
            "/api/v1/chapters/greenpark/bans",
            {"actor": rita.ap_id},
        )
    )[0] == 403
