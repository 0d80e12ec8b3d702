"""The inbox acceptance pipeline, up to the 202: authenticate, check, and persist through group commit."""
