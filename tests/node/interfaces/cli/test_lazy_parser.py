"""The command line starts light: building the parser (every run, ``--help`` included) imports no
feature, SQLAlchemy, aiohttp or cryptography, and a command that does not serve never imports
the web app. Each ``chapterhouse`` run used to import all of them first (about a second); the
test suite runs the CLI in hundreds of subprocesses, and so do operators' scripts.

Imports are checked in a fresh interpreter, since this one has imported everything already."""

from __future__ import annotations

import argparse
import inspect
import json
import subprocess
import sys

from node.interfaces.cli.args import LazyCommand
from node.interfaces.cli.main import build_parser
from tests.rig.nodes import REPO, cli

#: Modules the parser must not need. Prefixes: ``node.features`` stands for the whole tree.
HEAVY = (
    "aiohttp",
    "sqlalchemy",
    "cryptography",
    "jinja2",
    "alembic",
    "node.features",
    "node.federation",
    "node.runtime.app",
    "node.runtime.wiring",
    "storage.models",
    "node.interfaces.cli.base",
    "node.interfaces.activitypub",
    "node.interfaces.web",
)

#: The modules holding the commands' bodies: imported only when one of their commands runs.
IMPLEMENTATIONS = (
    "actions",
    "attendance",
    "backup",
    "campaigns",
    "chapters",
    "deliveries",
    "demo",
    "following",
    "keys",
    "members",
    "moderation",
    "notifications",
    "participation",
    "polls",
    "purge",
    "reports",
    "serve",
    "setup",
    "verify",
)

PROBE = """
import contextlib, io, json, sys
from node.interfaces.cli.main import main
argv = json.loads(sys.argv[1])
with contextlib.redirect_stdout(io.StringIO()):
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _run_in_fresh_interpreter(*argv: str) -> tuple[object, list[str]]:
    """``main(argv)`` in a new interpreter: its exit code and every module it had imported."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=True,
    )
    report = json.loads(result.stdout.splitlines()[-1])
    return report["code"], report["modules"]


def _heavy(modules: list[str]) -> list[str]:
    impl = {f"node.interfaces.cli.{name}" for name in IMPLEMENTATIONS}
    return [m for m in modules if m in impl or any(m == h or m.startswith(h + ".") for h in HEAVY)]


def test_building_the_parser_imports_nothing_heavy():
    probe = (
        "import json, sys\n"
        "from node.interfaces.cli.main import build_parser\n"
        "build_parser()\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert _heavy(json.loads(result.stdout)) == []


def test_help_of_the_node_and_of_a_command_import_nothing_heavy():
    for argv in (["--help"], ["member", "add", "--help"], ["deliveries", "retry", "--help"]):
        code, modules = _run_in_fresh_interpreter(*argv)
        assert code == 0
        assert _heavy(modules) == [], argv


def test_a_usage_error_exits_2_without_importing_the_command():
    code, modules = _run_in_fresh_interpreter("member", "add", "x", "--data", "d", "--role", "king")
    assert code == 2
    assert _heavy(modules) == []


def test_a_command_imports_its_own_module_but_not_the_web_app(tmp_path):
    data = str(tmp_path / "n")
    cli("init", "--data", data, "--base-url", "http://127.0.0.1:9999", "--allow-private-network")
    cli("member", "add", "alice", "--data", data)
    code, modules = _run_in_fresh_interpreter("following", "--data", data, "--as", "alice")
    assert code == 0
    assert "node.interfaces.cli.following" in modules  # the command did run
    assert "node.interfaces.cli.members" not in modules  # other commands' bodies stay out
    for web in ("node.runtime.app", "node.interfaces.web", "aiohttp_jinja2", "jinja2"):
        assert web not in modules, web


#: What only a server needs: the web app, its routes and templates, the HTTP server and client.
#: A command that makes no request imports none of them (aiohttp alone was a tenth of a second).
SERVER_ONLY = (
    "aiohttp",
    "jinja2",
    "aiohttp_jinja2",
    "node.runtime.app",
    "node.interfaces.web",
    "node.interfaces.api",
    "node.interfaces.activitypub",
    "node.federation.netguard",  # the guarded connection pool: built at the first request
)

#: Feature modules ``member add`` has no use for (following remote actors, telling organisers):
#: creating a member only follows its home chapter (``node.features.following.membership``).
NOT_FOR_MEMBER_ADD = (
    "node.features.following.follow",
    "node.features.notifications.organisers",
)


def _matching(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes)]


def test_ordinary_commands_import_nothing_only_a_server_needs(tmp_path):
    data = str(tmp_path / "n")
    code, modules = _run_in_fresh_interpreter(
        "init", "--data", data, "--base-url", "http://127.0.0.1:9999", "--allow-private-network"
    )
    assert code == 0
    assert "node.interfaces.cli.setup" in modules
    assert _matching(modules, SERVER_ONLY) == []
    assert "node.interfaces.cli.serve" not in modules

    code, modules = _run_in_fresh_interpreter("member", "add", "alice", "--data", data)
    assert code == 0
    assert "node.interfaces.cli.members" in modules  # the command did run
    assert "node.federation.transport" in modules  # the services were opened, transport and all
    assert _matching(modules, SERVER_ONLY) == []
    assert _matching(modules, NOT_FOR_MEMBER_ADD) == []


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Every (command words, func) in the parser tree."""
    if "func" in parser._defaults:
        yield path, parser._defaults["func"]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _commands(child, (*path, name))


def test_every_command_names_an_async_function_that_exists():
    commands = dict(_commands(build_parser()))
    assert len(commands) >= 50
    lazy = {path: func for path, func in commands.items() if isinstance(func, LazyCommand)}
    # `deliveries` checks its usage first, then runs one of two lazy bodies
    assert set(commands) - set(lazy) == {("deliveries",)}
    for path, func in [
        *lazy.items(),
        (("deliveries",), LazyCommand("deliveries", "cmd_deliveries_list")),
        (("deliveries", "retry"), LazyCommand("deliveries", "cmd_deliveries_retry")),
    ]:
        assert inspect.iscoroutinefunction(func.resolve()), path


def test_choices_spelled_out_in_the_parser_agree_with_the_code_that_checks_them():
    from node.features.actors.invitations import INVITABLE_ROLES
    from node.interfaces.cli import deliveries
    from node.interfaces.cli.parsers import deliveries as delivery_args
    from node.interfaces.cli.parsers import members as member_args
    from storage.models.states import DeliveryState, Role

    assert list(member_args.ROLES) == list(Role)
    assert list(member_args.INVITABLE_ROLES) == sorted(INVITABLE_ROLES)
    assert delivery_args.DEFAULT_STATES == deliveries.DELIVERY_LIST_STATES
    listed = (*deliveries.DELIVERY_LIST_STATES, DeliveryState.SENT)
    assert listed == delivery_args.STATE_CHOICES
