"""Errors raised by the pure protocol layer.

Every failure is data: callers map these to HTTP statuses (node/middlewares) without
string-matching. ``reason`` values are stable identifiers meant for logs and clients.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from types import MappingProxyType


def N_(message: str) -> str:
    """Mark an error's English ``wording`` for the gettext catalogues (``make messages``
    extracts it into both the ``pages`` and the ``messages`` domain); the interface that shows
    the error translates it, in its reader's language (``ChapterhouseError.spoken``)."""
    return message


class ChapterhouseError(Exception):
    """Root of every error Chapterhouse raises on purpose (``node`` and ``protocol``).

    It lives here, in the lowest layer that the node may import, so that every family can
    derive from it. Anything that is not a ``ChapterhouseError`` is a programming error: the CLI
    lets those show a traceback, and the HTTP middleware answers them with a bare 500.

    An error worded with data carries its message twice: ``str()`` is the English (logs, tests
    and problem+json read it), and ``wording`` (an English msgid with ``{name}`` placeholders,
    marked with ``N_``) with ``params`` lets a page or the CLI say it in its reader's language,
    data included (``spoken``). The layers below the interfaces know no language."""

    #: The English msgid of the message, ``{name}`` placeholders filled from ``params``; None
    #: when the error was raised with a finished sentence (then ``str()`` is all there is).
    wording: str | None = None
    params: Mapping[str, object] = MappingProxyType({})

    def spoken(
        self,
        gettext: Callable[[str], str],
        written: Callable[[object], object] | None = None,
    ) -> str:
        """The message in ``gettext``'s language (a catalogue's lookup): the wording translated
        and filled with the params. ``written`` writes a param the language's way: numbers
        (``15.000`` in German; Babel's ``format_decimal`` in the interfaces), so a wording
        carries ``{count}``, never a separator of its own, and times
        (``protocol.localtime.Moment``); it gives back what it does not know. A translation
        that lost a placeholder falls back to the English; an error with no wording is looked
        up as it says it."""
        if self.wording is None:
            return gettext(str(self))
        return said(self.wording, self.params, gettext, written)


def said(
    wording: str,
    params: Mapping[str, object],
    gettext: Callable[[str], str],
    written: Callable[[object], object] | None = None,
) -> str:
    """``wording`` (an ``N_`` msgid) in ``gettext``'s language, filled with ``params``, numbers
    and times written by ``written``: how an error, or a long command's progress line, reaches
    its reader."""
    shown: Mapping[str, object] = params
    if written is not None:
        shown = {name: _written(value, written) for name, value in params.items()}
    try:
        return _filled(gettext(wording), wording, shown)
    except (KeyError, IndexError, ValueError, AttributeError):
        return wording.format(**params)  # a format spec wanted the raw number


def _written(value: object, written: Callable[[object], object]) -> object:
    if isinstance(value, (str, bool)):
        return value  # data as given (a name, a URL), and flags
    return written(value)


def _filled(text: str, english: str, params: Mapping[str, object]) -> str:
    if not params:
        return text
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError, AttributeError):
        return english.format(**params)


class WordedError(ChapterhouseError):
    """An error raised as ``SomeError(N_("no chapter named {name!r}"), name=name)``: the
    message is the wording filled with its params (see ``ChapterhouseError``)."""

    def __init__(self, wording: str, /, **params: object) -> None:
        super().__init__(wording.format(**params) if params else wording)
        self.wording = wording
        self.params = MappingProxyType(params)


class FieldWordedError(ChapterhouseError):
    """An error about one named input ``field``: ``str()`` is ``"field: message"``, and the
    page or CLI says ``"{field}: {message}"`` with both looked up in its catalogue."""

    def __init__(self, field: str, wording: str, /, **params: object) -> None:
        message = wording.format(**params) if params else wording
        super().__init__(f"{field}: {message}")
        self.field = field
        self.wording = wording
        self.params = MappingProxyType(params)

    def message_in(
        self,
        gettext: Callable[[str], str],
        written: Callable[[object], object] | None = None,
    ) -> str:
        """What is wrong with the field, without its name, in ``gettext``'s language."""
        return super().spoken(gettext, written)

    def spoken(
        self,
        gettext: Callable[[str], str],
        written: Callable[[object], object] | None = None,
    ) -> str:
        message = self.message_in(gettext, written)
        return _filled(
            gettext(FIELD_MESSAGE),
            FIELD_MESSAGE,
            {"field": gettext(self.field), "message": message},
        )


#: How an error about one field reads: its name, then what is wrong with it.
FIELD_MESSAGE = N_("{field}: {message}")


class ProtocolError(ChapterhouseError):
    """Root of every error the protocol layer raises."""


class MalformedDocument(ProtocolError):
    """A document or header cannot be understood (wrong shape, missing field, bad value)."""


class UnsupportedType(ProtocolError):
    """A well-formed document whose type this node does not handle."""


class SignatureFailure(StrEnum):
    """Why an HTTP signature was refused."""

    NO_SIGNATURE = "no_signature"
    MALFORMED = "malformed_signature"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    MISSING_COMPONENT = "missing_component"
    EXPIRED = "expired"
    DIGEST_MISSING = "digest_missing"
    DIGEST_MISMATCH = "digest_mismatch"
    KEY_FETCH_FAILED = "key_fetch_failed"
    KEY_TYPE_MISMATCH = "key_type_mismatch"
    INVALID = "invalid_signature"
    #: More than one signature (several RFC 9421 labels, or two schemes): exactly one is checked.
    MULTIPLE_SIGNATURES = "multiple_signatures"
    #: The key's actor replaced it with another key (an actor ``Update`` or a refetch).
    KEY_SUPERSEDED = "key_superseded"


class SignatureError(ProtocolError):
    """An HTTP signature could not be verified; ``reason`` says why, ``key_id`` says whose."""

    def __init__(self, reason: SignatureFailure, detail: str, key_id: str | None = None) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
        self.key_id = key_id


class DigestMismatch(SignatureError):
    """The body does not match its ``Digest`` / ``Content-Digest`` header."""

    def __init__(self, detail: str) -> None:
        super().__init__(SignatureFailure.DIGEST_MISMATCH, detail)


class ProofError(ProtocolError):
    """An object integrity proof is missing, malformed or does not verify."""


class AuthorityError(ProtocolError):
    """An identity claim is not backed by the authenticated actor (origin or ownership)."""


class UnitMismatch(ProtocolError):
    """Two units measure different things (or are different currencies): no conversion exists."""

    def __init__(self, from_unit: str, to_unit: str) -> None:
        super().__init__(f"cannot convert {from_unit!r} to {to_unit!r}")
        self.from_unit = from_unit
        self.to_unit = to_unit
