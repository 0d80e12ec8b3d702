"""NodeInfo 2.1 and host-meta: how other servers and crawlers discover a node."""

from __future__ import annotations

from typing import Final
from xml.sax.saxutils import quoteattr

NODEINFO_SCHEMA: Final = "http://nodeinfo.diaspora.software/ns/schema/2.1"
NODEINFO_PROFILE: Final = (
    'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"'
)


def build_nodeinfo_links(nodeinfo_url: str) -> dict[str, object]:
    """``/.well-known/nodeinfo``: where the NodeInfo document lives."""
    return {"links": [{"rel": NODEINFO_SCHEMA, "href": nodeinfo_url}]}


def build_nodeinfo(
    *,
    version: str,
    users_total: int,
    active_month: int,
    active_halfyear: int,
    local_posts: int,
    open_registrations: bool,
    metadata: dict[str, object],
) -> dict[str, object]:
    """The NodeInfo 2.1 document (schema fields only, extras under ``metadata``)."""
    return {
        "version": "2.1",
        "software": {
            "name": "chapterhouse",
            "version": version,
            "repository": "https://github.com/chapterhouse/chapterhouse",
            "homepage": "https://github.com/chapterhouse/chapterhouse",
        },
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": ["atom1.0"]},
        "openRegistrations": open_registrations,
        "usage": {
            "users": {
                "total": users_total,
                "activeMonth": active_month,
                "activeHalfyear": active_halfyear,
            },
            "localPosts": local_posts,
        },
        "metadata": metadata,
    }


def build_host_meta(base_url: str) -> str:
    """``/.well-known/host-meta`` (XRD), pointing old clients at our WebFinger endpoint."""
    template = f"{base_url.rstrip('/')}/.well-known/webfinger?resource={{uri}}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" type="application/jrd+json" template={quoteattr(template)}/>\n'
        "</XRD>\n"
    )
