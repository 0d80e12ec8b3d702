"""Shared test rig: real nodes on loopback, signed requests, waiting helpers."""
