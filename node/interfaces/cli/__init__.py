"""The chapterhouse command line: one module per command group, each registering its own sub-parser."""
