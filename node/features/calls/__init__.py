"""Action calls: create, edit, cancel, what organisers type, participation and RSVP."""
