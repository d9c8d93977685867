"""Portal reactions to delivery events."""
