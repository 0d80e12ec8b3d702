"""Who may speak to us at all: blocked domains and actors, and inbound rate limits."""
