"""Following chapters: follow, unfollow, the member's feed, follower approval."""
