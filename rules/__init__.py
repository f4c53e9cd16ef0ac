"""The built-in rules: one module per rule, `rules/<family>/tl<code>_<name>.py`, in the code range
of its family (docs/contributing.md). Shared helpers of a family sit beside its rules."""
