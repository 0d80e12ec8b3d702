"""Web sign-ins for the demo: a password for an organiser and a member of every node, set
through the real ``chapterhouse member password`` and printed at the end, so that a newcomer can
open the pages and act (bearer tokens serve the JSON API, not the pages). The end's other lines
(the pages, the actors, two bearer tokens) are here too (``closing_lines``).

Each password is random (the nodes listen on loopback only, but a guessable password is a bad
example to set) and reaches the command in a file readable by its owner alone, removed at once.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from node.interfaces.cli.words import N_, _
from node.ops.demo.client import DemoClient
from node.ops.demo.nodes import DemoNode
from node.ops.demo.plan import CAMPAIGN, VISITOR
from node.runtime.private_files import write_private

if TYPE_CHECKING:
    from node.ops.demo.day import Demo

PASSWORD_BYTES = 12  # 16 URL-safe characters
#: How a sign-in line names each role (the keys are what ``roles`` answers).
ROLES = {"organiser": N_("organiser"), "member": N_("member")}


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
            role = roles(node, name)
            who = f"{name} ({_(ROLES.get(role, role))})"
            lines.append(f"{node.name:<12} {who:<18} {password}  {node.base_url}/login")
    return lines


def role_of(demo: Demo, node: DemoNode, name: str) -> str:
    """``organiser`` or ``member``: the campaign's node has its organiser only."""
    plan = demo.plans.get(node.name)
    return "organiser" if plan is None or name == plan.organiser else "member"


def closing_lines(demo: Demo) -> list[str]:
    """Where to look once the day is played: the pages, the actors, tokens and sign-ins.
    Labels are said in the run's language; the data columns stay aligned after them."""
    campaign = demo.campaign
    lines = ["", _("The federation is running. Open:"), "  " + _("front pages:")]
    lines += [f"    {node.name:<12} {node.base_url}/" for node in demo.nodes]
    lines.append("  " + _("chapters:"))
    lines += [
        f"    {name:<12} {node.actors[name]}  ({node.handle(name)})"
        for name, node in demo.chapters.items()
    ]
    actor, handle = campaign.actors[CAMPAIGN], campaign.handle(CAMPAIGN)
    labels = _("campaign:"), _("rollup:"), _("the call:")  # a column: the values align
    values = f"{actor}  ({handle})", demo.rollup, demo.call
    lines += [f"  {label:<14} {value}" for label, value in zip(labels, values, strict=True)]
    lines.append("  " + _("adopted calls:"))
    lines += [f"    {name:<12} {demo.local_calls[name]}" for name in demo.chapters]
    lines.append("  " + _("bearer tokens (JSON API, Authorization: Bearer TOKEN):"))
    home, visitor, away = VISITOR
    for name, member in [(home, visitor), (away, demo.plans[away].members[0])]:
        label = f"{member} ({name})"
        lines.append(f"    {label:<18} {demo.chapters[name].tokens[member]}")
    node = demo.chapters[home]
    curl = f"curl -H 'Authorization: Bearer {node.tokens[visitor]}' {node.base_url}/api/v1/feed"
    lines.append("  " + _("e.g. {command}").format(command=curl))
    lines.append("  " + _("sign in to the pages (name, password):"))
    lines += [f"    {line}" for line in sign_in_lines(demo.nodes, functools.partial(role_of, demo))]
    lines.append("  " + _("data and logs: {directory}").format(directory=demo.directory))
    return lines
