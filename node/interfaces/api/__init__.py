"""The JSON API (``/api/v1``) for members, organisers and admins, with bearer tokens."""
