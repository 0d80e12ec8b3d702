"""One module per aggregate; functions take the session of the caller's unit of work."""
