"""A node driven only through the real ``chapterhouse`` command line (no server running)."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.rig.nodes import cli, free_port


@dataclass
class CliNode:
    """A data directory made with ``chapterhouse init``; every command runs in a subprocess."""

    data_dir: Path
    port: int
    chapters: dict[str, str] = field(default_factory=dict)  # name → actor id
    members: dict[str, str] = field(default_factory=dict)  # name → actor id

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def authority(self) -> str:
        return f"127.0.0.1:{self.port}"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``chapterhouse ARGS --data DIR``."""
        return cli(*args, "--data", str(self.data_dir), check=check)

    def json(self, *args: str) -> Any:
        """Run a ``--json`` command; its stdout must be exactly one JSON document."""
        out = self.run(*args, "--json").stdout
        return json.loads(out)  # raises on anything but one document

    def create_chapter(self, name: str) -> str:
        actor_id = self.run("chapter", "create", name).stdout.strip()
        self.chapters[name] = actor_id
        return actor_id

    def add_member(self, name: str, chapter: str, role: str) -> str:
        out = self.run("member", "add", name, "--chapter", chapter, "--role", role).stdout
        actor_id = out.splitlines()[0].strip()
        self.members[name] = actor_id
        return actor_id


def init_node(data_dir: Path) -> CliNode:
    """``chapterhouse init`` on a fresh directory, for a loopback base URL nobody serves."""
    node = CliNode(data_dir, free_port())
    cli(
        "init",
        "--data",
        str(data_dir),
        "--base-url",
        node.base_url,
        "--allow-private-network",
    )
    return node


def last_line(text: str) -> str:
    """The last non-empty line of a command's output (where the reason for a refusal is)."""
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def names_word(text: str, word: str) -> bool:
    return re.search(rf"\b{re.escape(word)}\b", text) is not None
