"""batch rules."""
