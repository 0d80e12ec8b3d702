"""ActivityPub: routes for actors, objects and discovery, one inbound handler per activity type, the inbox worker, and the rendering of our documents."""
