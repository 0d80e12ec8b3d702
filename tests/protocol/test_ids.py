from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import ids as ids_module
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


# The fast path (ids already in normal form) must agree with the general one on every input.
_URL_PIECES = st.sampled_from(
    [
        "https://",
        "http://",
        "HTTPS://",
        "ftp://",
        "a",
        "Z",
        "0",
        "-",
        ".",
        ":",
        "443",
        "80",
        "8080",
        "0080",
        "99999",
        "/",
        "//",
        "?",
        "#",
        "@",
        "[::1]",
        "%41",
        " ",
        "\t",
        "\x7f",
        "é",
        "ü",
        "\\",
        "~",
        "=",
        "&",
    ]
)


def _general(value: str) -> tuple[object, str] | str:
    try:
        return ids_module._normal_form(value)
    except MalformedDocument:
        return "malformed"


@given(st.sampled_from(["https://", "http://", ""]), st.lists(_URL_PIECES, max_size=12))
@settings(max_examples=3000, deadline=None)
def test_fast_path_agrees_with_general_parse(scheme, pieces):
    value = scheme + "".join(pieces)
    canonical = ids_module._canonical(value)
    if canonical is not None:
        assert _general(value) == (canonical, value)


@pytest.mark.parametrize(
    "value",
    [
        "https://sender.example/activities/01J9ZX",
        "https://h.example:8443/a?b=1#c",
        "http://127.0.0.1:8080/actors/a#main-key",
        "https://h.example",
        "https://h.example?x",
    ],
)
def test_fast_path_takes_common_ids(value):
    assert ids_module._canonical(value) is not None
    assert _general(value) == (ids_module._canonical(value), value)


@pytest.mark.parametrize(
    "value",
    [
        "https://H.example/",
        "https://h.example:443/",
        "https://h.example/x?",
        "https://h.example/x#",
        "https://u@h.example/",
        "https://h.example:65536/",
        "https://h.example/" + "a" * 3000,
    ],
)
def test_fast_path_leaves_the_rest_to_the_general_parse(value):
    assert ids_module._canonical(value) is None
