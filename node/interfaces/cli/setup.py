"""Making a node: ``init``. Running it (``serve``, ``worker``) is in ``node.interfaces.cli.serve``,
which needs the web app; ``init`` opens only the services, like every other command."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from node.features.actors.local import issue_token
from node.interfaces.cli.base import CommandError, out, with_services
from node.interfaces.cli.words import _
from node.ops.backup.layout import ADMIN_TOKEN_FILE  # where backup looks for it
from node.runtime.config import CONFIG_FILE, ConfigError, Settings, write_config
from node.runtime.private_files import PRIVATE_FILE_MODE, ensure_private_dir, write_private
from node.runtime.services import INSTANCE_ACTOR, Services
from storage.models.states import Role
from storage.repositories import actors as actor_repo


async def cmd_init(args: argparse.Namespace) -> int:
    """Refuse an existing node and bad settings before anything is written. The directory is
    made 0700 and every file in it 0600 (the database holds private keys), whatever the umask."""
    data = Path(args.data)
    if (data / CONFIG_FILE).exists():
        raise CommandError(
            _("{data} is already initialised ({config} exists)").format(
                data=data, config=data / CONFIG_FILE
            )
        )
    values: dict[str, object] = {"base_url": args.base_url}
    if args.allow_private_network:
        values["allow_private_network"] = True
    try:
        Settings(data_dir=data, **values)  # type: ignore[arg-type]
    except ConfigError as exc:
        raise CommandError(str(exc)) from exc
    ensure_private_dir(data)
    os.chmod(write_config(data, values), PRIVATE_FILE_MODE)
    return await _issue_admin_token(args, data)


@with_services
async def _issue_admin_token(args: argparse.Namespace, services: Services, data: Path) -> int:
    """Opening the services creates the database and the instance actor; the admin token is
    the instance actor's, kept in the data directory (owner-only) and printed once."""
    async with services.db.read() as session:
        relay = await actor_repo.local_actor_by_name(session, INSTANCE_ACTOR)
    assert relay is not None
    token = await issue_token(services, relay, Role.ADMIN)
    write_private(data / ADMIN_TOKEN_FILE, token + "\n")
    out(_("initialised node {url} in {data}").format(url=services.settings.base_url, data=data))
    out(f"admin token: {token}")
    return 0
