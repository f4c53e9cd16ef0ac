"""loss rules."""
