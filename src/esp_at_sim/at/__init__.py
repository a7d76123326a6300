"""at package."""
