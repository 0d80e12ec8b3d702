"""Publishing: an activity and its delivery rows written in the caller's transaction, and who receives it."""
