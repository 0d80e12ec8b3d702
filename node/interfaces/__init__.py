"""The ways in: ActivityPub, the JSON API, web pages, feeds and the CLI. They call features; they hold no domain rules."""
