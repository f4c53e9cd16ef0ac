"""Errors the user must fix, raised below the CLI and printed by it as one line (exit 2)."""

from __future__ import annotations


class SettingsError(Exception):
    """A settings problem the user must fix: the CLI prints it and exits 2."""
