"""Admin for digests and their items."""
