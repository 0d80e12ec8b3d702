"""Local actors: chapters, campaigns, members, the instance actor; who may do what; passwords and tokens."""
