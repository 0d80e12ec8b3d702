"""The directory: this node's chapters and campaigns, and the ones it learned of elsewhere,
searchable by distance and text with no central server (FEDERATION.md, "Directory")."""
