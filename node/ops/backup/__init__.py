"""Encrypted backups of a node and their restore."""
