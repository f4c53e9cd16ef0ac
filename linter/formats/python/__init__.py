"""Python files, read from the `ast` only: nothing is imported or executed. Three readers, each
answering another question:

- `ast_index`: the parsed script itself (`ParsedScript`): the `ast`, spans in characters, and
  an index of scopes, bindings and calls that resolves `T.load` to `torch.load`. Script rules
  see it.
- `declared_config`: the configuration the file declares: argparse defaults, dataclass fields,
  module constants, dict configs. Launch resolution maps flags onto it; config rules see it
  through the dialects.
- `training_code` and `training_facts`: what the code does with the run (the schedulers it
  builds and steps, its epoch loop, hand-written early stopping), as an index the script rules
  query and as canonical settings merged into the script's ConfigView.
"""
