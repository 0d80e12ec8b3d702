"""The real SMTP server on loopback (``tests/rig/smtp.py``) for the notification tests."""

from __future__ import annotations

from tests.rig.smtp import mail_server

__all__ = ["mail_server"]
