"""The error of one invalid input field, shared by the input parsers (input.py, slot_input.py)."""

from __future__ import annotations

from protocol.errors import ChapterhouseError


class FieldError(ChapterhouseError):
    """One input field is invalid; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
