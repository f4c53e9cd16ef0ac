"""precision rules."""
