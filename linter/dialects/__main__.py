"""`python -m trainlint.dialects`: rewrite tables.json from the TOML tables."""

import sys

from trainlint.dialects import COMPILED_TABLES, write_compiled_tables

write_compiled_tables()
print(f"wrote {COMPILED_TABLES}", file=sys.stderr)
