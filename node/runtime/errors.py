"""HTTP-facing errors: a status and a message that is safe to show the client."""

from __future__ import annotations

from protocol.errors import ChapterhouseError


class HttpError(ChapterhouseError):
    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title
        self.headers = headers or {}
