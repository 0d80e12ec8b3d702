"""A real SMTP server on loopback (``aiosmtpd``) that keeps every message it receives, so tests
read what a node actually sent. ``smtp_settings`` gives the node settings pointing at it.

The server can be told to refuse mail for a while (``refuse``): a temporary 451 for every
message, as a mail server that is down or overloaded answers, so retries can be tested."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.rig.nodes import eventually


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""

    def attachments(self) -> list[EmailMessage]:
        return list(self.message.iter_attachments())  # type: ignore[arg-type]


@dataclass
class MailServer:
    host: str
    port: int
    received: list[Received] = field(default_factory=list)
    refuse: bool = False
    refused: int = 0

    def settings(self) -> dict[str, Any]:
        """Node settings that send through this server (plain SMTP on loopback)."""
        return {"smtp_host": self.host, "smtp_port": self.port, "smtp_security": "none"}

    def to(self, address: str) -> list[Received]:
        return [m for m in self.received if address in m.recipients]

    async def wait_for(self, address: str, count: int = 1, timeout: float = 20.0) -> list[Received]:
        async def arrived() -> bool:
            return len(self.to(address)) >= count

        await eventually(arrived, timeout=timeout, what=f"{count} message(s) to {address}")
        return self.to(address)

    # aiosmtpd handler hook
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            self.refused += 1
            return "451 4.3.0 try again later"
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode()
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(
            Received(str(envelope.mail_from), [str(r) for r in envelope.rcpt_tos], message)
        )
        return "250 OK"


@pytest.fixture
async def mail_server() -> AsyncIterator[MailServer]:
    with socket.socket() as probe:  # a free port (aiosmtpd checks it is up by connecting)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = MailServer("127.0.0.1", port)
    controller = Controller(server, hostname="127.0.0.1", port=port)
    await asyncio.to_thread(controller.start)
    try:
        yield server
    finally:
        await asyncio.to_thread(controller.stop)
