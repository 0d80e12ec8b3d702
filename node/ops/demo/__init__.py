"""The chapterhouse demo: a small federation on loopback playing a scripted day of action."""
