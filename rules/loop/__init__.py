"""training-loop rules."""
