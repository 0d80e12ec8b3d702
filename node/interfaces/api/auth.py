"""Bearer tokens: ``Authorization: Bearer chp_...`` identifies a local actor and its role.

Writes and a member's own data need one (``authenticate``); the public reads (what the pages,
feeds and ActivityPub documents already show anyone) take one when given
(``optional_principal``, see node/interfaces/api/public.py)."""

from __future__ import annotations

import math

from aiohttp import web

from node.features.actors.authz import Principal
from node.features.actors.local import hash_token
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError
from storage.repositories import actors as actor_repo

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="chapterhouse"'}


async def authenticate(request: web.Request) -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HttpError(
            401, "this endpoint needs an 'Authorization: Bearer <token>' header", headers=CHALLENGE
        )
    services = request.app[SERVICES]
    async with services.db.read() as session:
        found = await actor_repo.actor_for_token(session, hash_token(token.strip()))
    if found is None:
        raise HttpError(401, "the bearer token is not valid on this node", headers=CHALLENGE)
    actor, role = found
    limiter = services.limits.get("token")
    wait = limiter.take(token.strip()) if limiter is not None else None
    if wait is not None:
        raise HttpError(
            429,
            "too many API requests with this token; slow down",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return Principal(actor, role)


async def optional_principal(request: web.Request) -> Principal | None:
    """The token's principal when the request carries one, else ``None``: public reads answer
    anyone, but a token that is sent is still checked (401 if bad) and rate-limited."""
    if "Authorization" not in request.headers:
        return None
    return await authenticate(request)
