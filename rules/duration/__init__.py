"""duration rules."""
