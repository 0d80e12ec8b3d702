"""Hostile input at every rule of the inbox and the fetcher, end to end on loopback."""
