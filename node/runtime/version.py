"""The running version, from the installed distribution."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def node_version() -> str:
    try:
        return version("chapterhouse")
    except PackageNotFoundError:
        return "0.0.0+local"
