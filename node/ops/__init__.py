"""Operator tools that are not the running node: encrypted backups, the demo, and nodes run as
processes on loopback (``cluster``: the demo's, and the tests' that crash and restart nodes)."""
