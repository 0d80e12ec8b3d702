"""Follow-ups of inbound activities: durable rows, recorded in the transaction that handles the
activity and claimed by a worker like deliveries (``queue``: recording; ``worker``: running).

This room knows nothing of what the work is: the wiring passes the worker a mapping from each
kind to its handler (``node/interfaces/activitypub/follow_ups.py``).
"""
