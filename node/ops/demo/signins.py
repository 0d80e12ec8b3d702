"""Web sign-ins for the demo: a password for an organiser and a member of every node, set
through the real ``chapterhouse member password`` and printed at the end, so that a newcomer can
open the pages and act (bearer tokens serve the JSON API, not the pages).

Each password is random (the nodes listen on loopback only, but a guessable password is a bad
example to set) and reaches the command in a file readable by its owner alone, removed at once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable

from node.ops.demo.client import DemoClient
from node.ops.demo.nodes import DemoNode
from node.runtime.private_files import write_private

PASSWORD_BYTES = 12  # 16 URL-safe characters


async def give_password(client: DemoClient, node: DemoNode, name: str) -> str:
    """Set a fresh password for ``name`` on ``node`` and remember it for the sign-in list."""
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    path = node.data_dir / f".demo-password-{name}"
    write_private(path, password + "\n")
    try:
        await client.run(node, "member", "password", name, "--password-file", str(path))
    finally:
        path.unlink(missing_ok=True)
    node.passwords[name] = password
    return password


def sign_in_lines(nodes: Iterable[DemoNode], roles: Callable[[DemoNode, str], str]) -> list[str]:
    """``greenpark    olga (organiser)  PASSWORD  http://…/login``: one line per sign-in."""
    lines = []
    for node in nodes:
        # Organisers first, whichever password was set first.
        ordered = sorted(node.passwords.items(), key=lambda kv: roles(node, kv[0]) != "organiser")
        for name, password in ordered:
            who = f"{name} ({roles(node, name)})"
            lines.append(f"{node.name:<12} {who:<18} {password}  {node.base_url}/login")
    return lines
