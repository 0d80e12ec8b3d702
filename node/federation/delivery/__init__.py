"""The delivery worker: claim due rows, sign at send time, POST, and record each outcome."""
