"""The wire, pure: ActivityStreams vocabulary, HTTP signatures, proofs, ids, WebFinger and
NodeInfo documents, impact arithmetic. No I/O, no clock reads (time is a parameter), and no
import of ``node`` or ``storage``.
"""
