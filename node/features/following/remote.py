"""Remote following: send a fediverse user to their own server to follow one of our actors.

Someone on another server cannot follow from our page (we cannot act for them), so we ask their
server, by WebFinger, for its "subscribe" template (the OStatus remote-follow link Mastodon and
others publish) and send them there with our actor's handle filled in.
"""

from __future__ import annotations

from urllib.parse import quote

from node.federation.transport import Unreachable
from node.runtime.services import Services
from protocol.errors import N_, WordedError
from protocol.webfinger import REMOTE_FOLLOW_REL, parse_handle

NOT_OFFERED = N_("{host} does not offer remote following")
#: The same words whether nothing answered or this node may not contact the server: the form is
#: anonymous, and telling those apart (or naming the error) would map networks for anyone.
UNREACHABLE = N_("{host} could not be reached")


class RemoteFollowUnavailable(WordedError):
    """The person's server offers no remote-follow page, or could not be asked; ``host`` names
    it as the person wrote it, ``reason`` is ``NOT_OFFERED`` or ``UNREACHABLE`` (the wording,
    said with the host in the reader's language)."""

    def __init__(self, host: str, reason: str = NOT_OFFERED) -> None:
        super().__init__(reason, host=host)
        self.host = host
        self.reason = reason


async def remote_follow_url(services: Services, handle_text: str, actor_name: str) -> str:
    """Where the owner of ``handle_text`` follows our actor ``actor_name`` on their own server.

    Raises ``MalformedDocument`` when ``handle_text`` is not a handle, and
    ``RemoteFollowUnavailable`` when their server cannot send them on.
    """
    handle = parse_handle(handle_text)
    try:
        scheme = "http" if services.settings.allow_http else "https"
        url = f"{scheme}://{handle.host}/.well-known/webfinger?resource={handle.resource}"
        jrd = (
            await services.transport.get_json(
                url,
                accept="application/jrd+json",
                content_types={"application/jrd+json", "application/json"},
                cross_origin_redirects=True,
            )
        ).document
        links = jrd.get("links", []) if isinstance(jrd, dict) else []
        template: str = next(
            link["template"]
            for link in links
            if isinstance(link, dict)
            and link.get("rel") == REMOTE_FOLLOW_REL
            and isinstance(link.get("template"), str)
        )
    except Unreachable as exc:  # no answer (refused, timed out, blocked by the SSRF guard)
        raise RemoteFollowUnavailable(handle.host, UNREACHABLE) from exc
    except Exception as exc:  # any other failure means: we cannot send them there
        raise RemoteFollowUnavailable(handle.host) from exc
    # Filled in as a URI template would (RFC 6570: reserved characters percent-encoded).
    return template.replace("{uri}", quote(f"acct:{actor_name}@{services.ids.authority}", safe=""))
