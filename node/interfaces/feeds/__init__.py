"""Feeds of a chapter's action calls: iCalendar and Atom."""
