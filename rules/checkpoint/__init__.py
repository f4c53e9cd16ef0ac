"""checkpoint rules."""
