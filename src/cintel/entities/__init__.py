"""Entities: normalised keys for parties, watch-list screening and FollowTheMoney import."""
