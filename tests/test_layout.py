"""The shape of the tree: our packages are the ones imported, modules stay small, rooms say
what belongs in them (the layers themselves are checked by ``lint-imports`` in ``make lint``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import node
import protocol
import storage

REPO = Path(__file__).resolve().parents[1]
MAX_LINES = 500


@pytest.mark.parametrize("package", [node, protocol, storage], ids=lambda p: p.__name__)
def test_our_packages_are_imported_from_this_repository(package):
    """PyPI has distributions named node, protocol and storage: one installed in site-packages
    must never shadow ours unnoticed."""
    assert package.__file__ is not None
    assert Path(package.__file__).resolve().is_relative_to(REPO)


def _modules() -> list[Path]:
    return sorted(
        path
        for root in ("node", "protocol", "storage")
        for path in (REPO / root).rglob("*.py")
        if "migrations" not in path.relative_to(REPO).parts
    )


def test_no_module_is_over_500_lines():
    long = {
        str(path.relative_to(REPO)): n
        for path in _modules()
        if (n := len(path.read_text("utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_every_package_says_what_belongs_in_it():
    silent = [
        str(init.relative_to(REPO))
        for root in ("node", "protocol", "storage")
        for init in (REPO / root).rglob("__init__.py")
        if "migrations" not in init.parts
        and ast.get_docstring(ast.parse(init.read_text("utf-8"))) is None
    ]
    assert silent == []
