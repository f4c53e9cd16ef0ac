"""schedule rules."""
