"""trainlint: a linter and auto-fixer for deep-learning training setups."""

__version__ = "0.1.0"
