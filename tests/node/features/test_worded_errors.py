"""Every refusal a feature raises can be said in its reader's language.

A feature's error reaches people on a page or from the CLI (``ChapterhouseError.spoken``); its
words reach a catalogue only when they are marked with ``N_`` where it is raised, and its data
only fits into a translated sentence when it travels as params, not pasted in with an f-string.
This is a source check over ``node/features`` and the page modules: a refusal raised with bare English, a wording
that is not a plain literal, or a wording whose placeholders and params differ, fails it.
"""

from __future__ import annotations

import ast
import importlib
import string
from collections.abc import Iterator
from pathlib import Path

from protocol.errors import ChapterhouseError
from tests.rig.nodes import REPO

#: Where refusals are raised that pages and the CLI show: the features, and the page modules
#: (a form's own checks).
SPEAKING = (
    REPO / "node" / "features",
    REPO / "node" / "interfaces" / "web",
    REPO / "node" / "ops",
)


def _modules() -> Iterator[tuple[Path, object, ast.Module]]:
    for path in sorted(path for root in SPEAKING for path in root.rglob("*.py")):
        dotted = ".".join(path.relative_to(REPO).with_suffix("").parts)
        yield path, importlib.import_module(dotted), ast.parse(path.read_text("utf-8"))


def _raised_class(module: object, call: ast.Call) -> type | None:
    """The class a ``raise Name(...)`` or ``raise module.Name(...)`` makes, when it is one."""
    if isinstance(call.func, ast.Name):
        found = getattr(module, call.func.id, None)
    elif isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name):
        found = getattr(getattr(module, call.func.value.id, None), call.func.attr, None)
    else:
        return None
    return found if isinstance(found, type) else None


def _is_wording(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and getattr(node.func, "id", None) == "N_"


def _is_text(node: ast.expr) -> bool:
    """English written in place: a literal with a word in it, an f-string, or text glued on."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return " " in node.value.strip()
    if isinstance(node, ast.BinOp):
        return _is_text(node.left) or _is_text(node.right)
    return False


def _placeholders(wording: str) -> set[str]:
    return {
        name.split(".")[0].split("[")[0]
        for _, name, _, _ in string.Formatter().parse(wording)
        if name
    }


def _problems() -> Iterator[str]:
    for path, module, tree in _modules():
        where = path.relative_to(REPO)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Raise) or not isinstance(node.exc, ast.Call):
                continue
            call = node.exc
            raised = _raised_class(module, call)
            if raised is None or not issubclass(raised, ChapterhouseError):
                continue  # a programming error (ValueError...), or raised from a variable
            wordings = [arg for arg in call.args if _is_wording(arg)]
            if not wordings:
                if any(_is_text(arg) for arg in call.args):
                    yield f"{where}:{node.lineno}: {raised.__name__} raised with bare English"
                continue
            literal = wordings[0].args[0] if wordings[0].args else None
            if not (isinstance(literal, ast.Constant) and isinstance(literal.value, str)):
                yield f"{where}:{node.lineno}: N_() takes a plain literal"
                continue
            if any(keyword.arg is None for keyword in call.keywords):
                continue  # **params: checked when raised
            given = {keyword.arg for keyword in call.keywords} - {"status", "field"}
            if not given:
                continue  # no params: the wording is said as written, braces and all
            wanted = _placeholders(literal.value)
            if wanted != given:
                yield (
                    f"{where}:{node.lineno}: placeholders {sorted(wanted)} but params"
                    f" {sorted(given)}"
                )


def test_every_refusal_a_feature_raises_is_worded_for_the_catalogues() -> None:
    problems = list(_problems())
    assert not problems, "\n".join(problems)


def test_the_check_sees_bare_english_and_mismatched_params() -> None:
    """The check itself, on a sample: it must be able to fail."""
    sample = ast.parse(
        "raise ChapterhouseError(f'no chapter {name}')\n"
        "raise ChapterhouseError(N_('no chapter {name!r}'), nam=name)\n"
    )
    raises = [node for node in ast.walk(sample) if isinstance(node, ast.Raise)]
    first, second = (node.exc for node in raises)
    assert isinstance(first, ast.Call) and isinstance(second, ast.Call)
    assert _is_text(first.args[0]) and not _is_wording(first.args[0])
    assert _is_wording(second.args[0])
    literal = second.args[0]
    assert isinstance(literal, ast.Call) and isinstance(literal.args[0], ast.Constant)
    assert _placeholders(literal.args[0].value) == {"name"}
    assert {keyword.arg for keyword in second.keywords} == {"nam"}
