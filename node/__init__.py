"""The running node: everything with I/O, in five rooms whose imports run one way.

``runtime`` (settings, services, the app factory) wires ``interfaces`` (ActivityPub, API, web,
feeds, CLI) -> ``features`` (the domain) -> ``federation`` (how messages move) -> ``storage`` and
``protocol``; ``ops`` holds operator tools. See docs/architecture.md.
"""
