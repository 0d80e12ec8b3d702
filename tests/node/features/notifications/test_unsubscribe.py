"""The unsubscribe link of a real e-mail, followed over HTTP: GET asks, POST (a button or a
mail client's RFC 8058 one-click) turns e-mail off; an altered or forged token changes
nothing; a link to an old address cannot turn off mail to the new one."""

from __future__ import annotations

import os
import re
import stat
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from node.features.notifications.kinds import Kind
from node.features.notifications.preferences import update_member_settings
from node.features.notifications.unsubscribe import (
    KEY_FILE,
    DamagedKey,
    InvalidUnsubscribeLink,
    check_token,
    make_token,
    unsubscribe_key,
)
from storage.repositories import actors as actor_repo
from tests.rig.notifying import member_with_address, organiser_and_call, tell
from tests.rig.smtp import MailServer

ADA = "ada@example.org"
HTML = {"Accept": "text/html"}


async def _address(node, name: str) -> str | None:
    async with node.services.db.read() as session:
        member = await actor_repo.local_actor_by_name(session, name)
        assert member is not None
        return member.email


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url, headers=HTML) as resp:
        return resp.status, await resp.text()


async def _post(url: str, data: object = None) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=data, headers=HTML, allow_redirects=False) as resp,
    ):
        return resp.status, await resp.text()


async def _link(node, server: MailServer, address: str, count: int = 1) -> str:
    mails = await server.wait_for(address, count=count)
    header = str(mails[-1].message["List-Unsubscribe"])
    return header.strip("<>")


async def test_the_link_asks_then_one_click_turns_email_off(nodes, mail_server: MailServer):
    node = await nodes(**mail_server.settings())
    _, call = await organiser_and_call(node)
    await member_with_address(node, "ada", ADA)
    await tell(node, "ada", Kind.ACCEPTED, call)
    link = await _link(node, mail_server, ADA)

    # GET only asks (link scanners follow links): a button that POSTs, nothing changed yet.
    status, page = await _get(link)
    assert status == 200, page
    assert "a…@example.org" in page and ADA not in page
    form = re.search(r'<form method="post" action="([^"]+)">', page)
    assert form is not None, page
    assert await _address(node, "ada") == ADA

    # The mail client's one-click POST (RFC 8058): no cookie, no CSRF token.
    status, page = await _post(link, {"List-Unsubscribe": "One-Click"})
    assert status == 200 and 'id="unsubscribed"' in page, page
    assert await _address(node, "ada") is None
    # Later notifications are in-app only.
    later = await tell(node, "ada", Kind.CHANGED, call)
    assert later is not None and later.email_state is None
    # Following the link again is harmless and says so.
    status, page = await _get(link)
    assert status == 200 and 'id="already-off"' in page
    status, page = await _post(link)
    assert status == 200 and 'id="already-off"' in page

    # The key that makes the links is the node's alone.
    mode = stat.S_IMODE(os.stat(node.data_dir / KEY_FILE).st_mode)
    assert mode == 0o600


async def test_altered_or_forged_tokens_change_nothing(nodes, mail_server: MailServer):
    node = await nodes(**mail_server.settings())
    _, call = await organiser_and_call(node)
    await member_with_address(node, "ada", ADA)
    bo_id = await member_with_address(node, "bo", "bo@example.org")
    await tell(node, "ada", Kind.ACCEPTED, call)
    link = await _link(node, mail_server, ADA)
    token = parse_qs(urlsplit(link).query)["token"][0]
    member_id, tag, mac = token.split(".")
    async with node.services.db.read() as session:
        bo = await actor_repo.local_actor_by_ap_id(session, bo_id)
        assert bo is not None
    base = f"{node.base_url}/unsubscribe?token="
    flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
    forged = [
        f"{member_id}.{tag}.{flipped}",  # one character of the MAC changed
        f"{bo.id}.{tag}.{mac}",  # ada's MAC on bo's id
        f"{member_id}.{tag}.{'A' * 43}",
        # A MAC made with another key (a guess at the secret).
        make_token(b"\x00" * 32, bo.id, "bo@example.org"),
    ]
    for bad in forged:
        for method in (_get, _post):
            status, page = await method(base + bad)
            assert status == 403, (bad, status, page)
    for malformed in ("", "nonsense", f"{member_id}.{tag}", "1.2.3.4"):
        status, _ = await _post(base + malformed)
        assert status in (400, 403), malformed
    status, _ = await _post(f"{node.base_url}/unsubscribe")
    assert status == 400
    assert await _address(node, "ada") == ADA
    assert await _address(node, "bo") == "bo@example.org"


async def test_a_link_to_an_old_address_leaves_the_new_one_alone(nodes, mail_server: MailServer):
    node = await nodes(**mail_server.settings())
    _, call = await organiser_and_call(node)
    await member_with_address(node, "ada", "old@example.org")
    await tell(node, "ada", Kind.ACCEPTED, call)
    old_link = await _link(node, mail_server, "old@example.org")
    await update_member_settings(node.services, "ada", email=ADA)
    status, page = await _post(old_link)
    assert status == 200 and 'id="already-off"' in page
    assert await _address(node, "ada") == ADA


def test_tokens_are_checked_with_the_key_that_made_them():
    key = os.urandom(32)
    token = make_token(key, 7, "Ada@Example.org ")
    assert check_token(key, token) == (7, token.split(".")[1])
    assert make_token(key, 7, "ada@example.org") == token  # case and spaces do not matter
    with pytest.raises(InvalidUnsubscribeLink):
        check_token(os.urandom(32), token)
    with pytest.raises(InvalidUnsubscribeLink):
        check_token(key, token + "A")


def test_a_refused_link_and_a_damaged_key_carry_their_wording_and_data(tmp_path):
    """Issue 18: the page says why a link is refused in its reader's language (the wording is
    marked for the catalogues), and a damaged key names its file and the size it needs as data."""
    key = os.urandom(32)
    with pytest.raises(InvalidUnsubscribeLink) as refused:
        check_token(key, "not-a-token")
    assert refused.value.wording == "this unsubscribe link is incomplete or altered"
    assert str(refused.value) == refused.value.wording

    (tmp_path / KEY_FILE).write_bytes(b"short")
    with pytest.raises(DamagedKey) as damaged:
        unsubscribe_key(tmp_path)
    assert damaged.value.wording == "{path} is damaged (shorter than {count} bytes)"
    assert damaged.value.params == {"path": str(tmp_path / KEY_FILE), "count": 32}
    assert str(damaged.value) == f"{tmp_path / KEY_FILE} is damaged (shorter than 32 bytes)"
