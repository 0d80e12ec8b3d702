"""The error of one invalid input field, shared by the input parsers (input.py, slot_input.py)."""

from __future__ import annotations

from protocol.errors import ChapterhouseError, FieldWordedError


class FieldError(FieldWordedError):
    """One input field is invalid; ``field`` names it. ``message`` is the English of what is
    wrong; raised as ``FieldError("capacity", N_("must be at least 1 (got {value})"),
    value=value)`` it carries its wording, so the form's page says it in its reader's language
    (``ChapterhouseError.spoken``)."""

    def __init__(self, field: str, message: str, /, **params: object) -> None:
        super().__init__(field, message, **params)
        self.message = message.format(**params) if params else message

    @classmethod
    def about(cls, field: str, error: ChapterhouseError) -> FieldError:
        """``error`` (a lower layer's refusal) as a problem with ``field``, keeping its wording."""
        if error.wording is None:
            return cls(field, str(error))
        return cls(field, error.wording, **error.params)
