"""The ``chapterhouse`` parser, one registration module per command module of
``node.interfaces.cli``: argument definitions only, each command named by its implementation
(``node.interfaces.cli.args.lazy``), so building the parser imports no feature, SQLAlchemy or
aiohttp."""
