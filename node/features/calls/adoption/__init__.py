"""A chapter's call adopted from a campaign's call follows that call where the chapter left it
alone: ``state`` decides field by field (no I/O), ``follow`` applies the decision to the stored
calls and tells the chapter's followers and participants.

Nothing is imported here: ``calls.lifecycle`` records the first state through ``state`` while
``follow`` builds on ``lifecycle``, and importing ``follow`` here would make that a cycle.
"""
