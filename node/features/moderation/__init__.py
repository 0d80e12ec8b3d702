"""Moderation: blocks of domains and actors, flags, bans."""
