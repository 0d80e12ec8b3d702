"""Content negotiation between ActivityPub JSON and HTML at the same URLs."""

from __future__ import annotations

import orjson
from aiohttp import web

from node.federation.admission.ratelimit import charge_client, charge_verified, refund_client
from node.federation.inbox.acceptance import (
    admit_sender,
    request_view,
    sender_key_id,
    verify_signature,
)
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError
from protocol.jsonld import ACTIVITY_JSON

AP_MEDIA = ("application/activity+json", "application/ld+json")


def wants_html(request: web.Request) -> bool:
    """Browsers get HTML; anything that names an ActivityPub type (or nothing) gets JSON."""
    accept = request.headers.get("Accept", "").lower()
    if any(media in accept for media in AP_MEDIA):
        return False
    return "text/html" in accept


def activity_json(doc: object, *, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        body=orjson.dumps(doc),
        content_type=ACTIVITY_JSON,
        headers={"Vary": "Accept"},
    )


def page_number(request: web.Request) -> int | None:
    raw = request.query.get("page")
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
        raise HttpError(400, "page must be a positive integer")
    return int(raw)


async def require_signed_fetch(request: web.Request) -> None:
    """With ``authorized_fetch`` on, ActivityPub documents are served only to signed GETs
    (browsers still get HTML, and the instance actor stays public so peers can verify us)."""
    services = request.app[SERVICES]
    if not services.settings.authorized_fetch or wants_html(request):
        return
    client = charge_client(services.limits, request)
    view = request_view(services, request, b"")
    key_id = sender_key_id(view)
    await admit_sender(services, key_id)
    owner = await verify_signature(services, view, key_id)
    refund_client(services.limits, client)
    charge_verified(services.limits, key_id, owner)
