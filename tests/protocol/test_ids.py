from datetime import UTC, datetime, timedelta

import pytest

from protocol.errors import MalformedDocument
from protocol.ids import IdFactory, authority_of, make_ulid, origin_of, parse_id, same_origin


def test_parse_id_normalises_scheme_host_and_default_port():
    assert parse_id("HTTPS://Example.COM:443/a?b#c") == "https://example.com/a?b#c"
    assert parse_id("https://bücher.example/x") == "https://xn--bcher-kva.example/x"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "ftp://x/y",
        "https:///nohost",
        "https://user:pw@host/",
        "https://h/ a",
        42,
        None,
        "https://h:99999/",
        "https://h/" + "a" * 3000,
    ],
)
def test_parse_id_rejects_bad_ids(value):
    with pytest.raises(MalformedDocument):
        parse_id(value)


def test_http_ids_need_explicit_permission():
    with pytest.raises(MalformedDocument):
        parse_id("http://127.0.0.1:8080/actors/a")
    assert parse_id("http://127.0.0.1:8080/actors/a", allow_http=True)


def test_origins_compare_scheme_host_and_port():
    assert same_origin("https://a.example/x", "https://A.example:443/y")
    assert not same_origin("https://a.example/x", "http://a.example/x")
    assert not same_origin("https://a.example/x", "https://a.example:8443/x")
    assert not same_origin("https://a.example.evil/x", "https://a.example/x")
    assert not same_origin("not a url", "https://a.example/")
    assert origin_of("http://127.0.0.1:8082/x").port == 8082
    assert authority_of("http://127.0.0.1:8082/x") == "127.0.0.1:8082"
    assert authority_of("https://a.example/x") == "a.example"


def test_ulids_sort_by_time():
    t = datetime(2027, 4, 12, 9, tzinfo=UTC)
    first = make_ulid(t, bytes(10))
    later = make_ulid(t + timedelta(milliseconds=1), bytes(10))
    assert len(first) == 26 and first < later
    with pytest.raises(ValueError, match="aware"):
        make_ulid(datetime(2027, 1, 1), bytes(10))  # noqa: DTZ001 - the point of the test


def test_id_factory_mints_and_recognises_local_actor_ids():
    ids = IdFactory("http://127.0.0.1:8082/")
    assert ids.actor("greenpark") == "http://127.0.0.1:8082/actors/greenpark"
    assert ids.main_key("greenpark").endswith("/actors/greenpark#main-key")
    assert ids.local_name("http://127.0.0.1:8082/actors/greenpark") == "greenpark"
    assert ids.local_name("http://127.0.0.1:8082/actors/greenpark/inbox") is None
    assert ids.local_name("http://other/actors/greenpark") is None
    assert ids.authority == "127.0.0.1:8082"
