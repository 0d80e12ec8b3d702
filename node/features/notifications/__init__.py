"""Telling people what affects them: one durable notification row per person and event, sent
on every channel they have (in-app, a direct message, an e-mail)."""
