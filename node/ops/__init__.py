"""Operator tools that are not the running node: encrypted backups and the demo."""
