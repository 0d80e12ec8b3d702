import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from protocol.errors import MalformedDocument
from protocol.nodeinfo import build_host_meta, build_nodeinfo, build_nodeinfo_links
from protocol.retry import exponential_backoff
from protocol.webfinger import actor_id_from_jrd, build_jrd, parse_handle, webfinger_url


@pytest.mark.parametrize(
    "text",
    ["acct:greenpark@127.0.0.1:8082", "@greenpark@127.0.0.1:8082", "greenpark@127.0.0.1:8082"],
)
def test_handles_in_every_common_spelling(text):
    handle = parse_handle(text)
    assert (handle.user, handle.host) == ("greenpark", "127.0.0.1:8082")
    assert handle.resource == "acct:greenpark@127.0.0.1:8082"
    assert webfinger_url(handle, scheme="http") == (
        "http://127.0.0.1:8082/.well-known/webfinger?resource=acct:greenpark@127.0.0.1:8082"
    )


@pytest.mark.parametrize("text", ["greenpark", "@host", "a@b/c", "a b@c", "user@"])
def test_bad_handles_are_refused(text):
    with pytest.raises(MalformedDocument):
        parse_handle(text)


def test_jrd_points_at_the_actor():
    jrd = build_jrd("acct:g@h.example", "https://h.example/actors/g", "https://h.example/actors/g")
    assert actor_id_from_jrd(jrd) == "https://h.example/actors/g"
    with pytest.raises(MalformedDocument):
        actor_id_from_jrd({"links": [{"rel": "self", "type": "text/html", "href": "x"}]})


def test_nodeinfo_and_host_meta():
    links = build_nodeinfo_links("https://h.example/nodeinfo/2.1")
    assert links["links"][0]["rel"] == "http://nodeinfo.diaspora.software/ns/schema/2.1"
    doc = build_nodeinfo(
        version="1.0",
        users_total=3,
        active_month=3,
        active_halfyear=3,
        local_posts=7,
        open_registrations=False,
        metadata={},
    )
    assert doc["version"] == "2.1" and doc["protocols"] == ["activitypub"]
    assert doc["usage"]["users"]["total"] == 3
    xrd = ET.fromstring(build_host_meta("https://h.example"))
    link = xrd.find("{http://docs.oasis-open.org/ns/xri/xrd-1.0}Link")
    assert link.get("template") == "https://h.example/.well-known/webfinger?resource={uri}"


def test_backoff_grows_caps_and_ends():
    assert exponential_backoff(1) == timedelta(seconds=30)
    assert exponential_backoff(2) == timedelta(seconds=60)
    assert exponential_backoff(15) == timedelta(hours=12)
    assert exponential_backoff(21) is None
    assert exponential_backoff(1, jitter=0.5) == timedelta(seconds=45)
