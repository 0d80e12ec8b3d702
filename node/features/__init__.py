"""The domain, one folder per capability. Features use federation and storage; no feature imports an interface."""
