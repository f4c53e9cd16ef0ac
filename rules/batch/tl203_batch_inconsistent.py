"""TL203 batch-inconsistent: stated global batch does not equal micro x accumulation x world size.

The class docstring is the rule's page (docs/rules/TL203.md).
"""

from trainlint.api import (
    ConfigRule,
    ConfigView,
    Example,
    FixAvailability,
    Severity,
    derive,
    fmt,
    term,
)


class BatchInconsistent(ConfigRule):
    """## What it does
    Checks a stated global batch (DeepSpeed `train_batch_size`, torchtitan
    `global_batch_size`) against micro batch x gradient accumulation x data-parallel world
    size. Where the world size is known (setting or launcher) the product must equal the global
    batch; where it is not, the global batch must at least be a multiple of micro x accumulation,
    since no whole number of GPUs makes it consistent otherwise. Values set to `"auto"` are
    filled in by the Hugging Face Trainer and are not checked.

    ## Why is this bad?
    DeepSpeed asserts `train_batch_size == micro * accumulation * world_size` at start-up and
    stops the run; frameworks that derive the accumulation from the global batch silently round
    it, so the run uses a different batch than the one written down.

    ## Example
    ```json
    {"train_batch_size": 256, "train_micro_batch_size_per_gpu": 12,
     "gradient_accumulation_steps": 4}
    ```

    ## Use instead
    ```json
    {"train_batch_size": 384, "train_micro_batch_size_per_gpu": 12,
     "gradient_accumulation_steps": 4}
    ```

    ## Fix safety
    No fix: which of the three numbers is the intended one is the author's decision.

    ## Options
    None. Set `world-size` in [tool.trainlint] to check equality instead of divisibility.

    ## Source
    DeepSpeed's config check (`deepspeed/runtime/config.py`, `_batch_assertion`):
    "Check batch related parameters. train_batch_size is not equal to
    micro_batch_per_gpu * gradient_acc_step * world_size".
    """

    code = "TL203"
    name = "batch-inconsistent"
    severity = Severity.ERROR
    fix_availability = FixAvailability.NONE
    message = "stated global batch does not equal micro x accumulation x world size"
    precision = "no findings (dev corpus, 28 repositories)"

    bad = (
        Example("ds_config.json", '{\n  "train_batch_size": 256,\n  "train_micro_batch_size_per_gpu": 12,\n'
                '  "gradient_accumulation_steps": 4,\n  "zero_optimization": {"stage": 2}\n}\n'),
        Example("ds_config.json", '{\n  "train_batch_size": 256,\n  "train_micro_batch_size_per_gpu": 8,\n'
                '  "gradient_accumulation_steps": 4,\n  "zero_optimization": {"stage": 2}\n}\n',
                settings={"world-size": 4}),
    )
    good = (
        Example("ds_config.json", '{\n  "train_batch_size": 256,\n  "train_micro_batch_size_per_gpu": 8,\n'
                '  "gradient_accumulation_steps": 4,\n  "zero_optimization": {"stage": 2}\n}\n'),
        Example("ds_config.json", '{\n  "train_batch_size": "auto",\n'
                '  "train_micro_batch_size_per_gpu": "auto",\n'
                '  "gradient_accumulation_steps": "auto",\n  "zero_optimization": {"stage": 2}\n}\n'),
    )

    def check_config(self, view: ConfigView):
        stated = view.get("batch.global")
        micro = view.get("batch.per_device")
        if stated is None or micro is None or stated.number is None or micro.number is None:
            return
        derived = derive(view, self.ctx.project)
        accum = view.get("batch.grad_accum")
        accum_number = int(accum.number) if accum is not None and accum.number is not None else None
        per_replica = int(micro.number) * (accum_number or 1)
        global_batch = int(stated.number)
        parts = [term(int(micro.number), micro)]
        if accum_number is not None:
            parts.append(term(accum_number, accum))
        world = derived.world_size
        if derived.world_size_known and world is not None:
            expected = per_replica * world.value
            if accum_number is None:
                consistent = global_batch % (int(micro.number) * world.value) == 0
            else:
                consistent = expected == global_batch
            if consistent:
                return
            message = (f"global batch {global_batch} ({stated.key}) != "
                       f"{' x '.join([*parts, world.provenance])} = {fmt(expected)}")
        else:
            if global_batch % per_replica == 0:
                return
            message = (f"global batch {global_batch} ({stated.key}) is not a multiple of "
                       f"{' x '.join(parts)} = {per_replica}: no whole number of GPUs makes it "
                       f"consistent")
        yield self.at(stated, message)
