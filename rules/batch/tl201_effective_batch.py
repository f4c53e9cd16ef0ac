"""TL201 effective-batch: effective batch size. Its page: docs/rules/TL201.md."""

from trainlint.api import ConfigRule, ConfigView, Example, FixAvailability, Severity, derive, fmt


class EffectiveBatch(ConfigRule):
    """## What it does
    Prints the effective batch (samples per optimizer step) wherever it can be computed:
    per-device batch x gradient accumulation x data-parallel world size, and where each factor
    came from. The world size comes from the `world-size` setting, a launcher
    (`torchrun --nproc_per_node`, `accelerate launch --num_processes`, `deepspeed --num_gpus`),
    Lightning's `devices` x `num_nodes`, or the config, divided by tensor x pipeline parallelism;
    where none says, it is 1 and the message says so.

    Framework semantics: ESPnet's `batch_size` / `batch_bins` is already a per-step total across
    GPUs, and nanoGPT's `gradient_accumulation_steps` is global (the script divides it by the
    world size), so neither is multiplied by the GPU count.

    ## Why is this bad?
    It is not: this is a fact worth seeing. The learning rate, the warmup and the number of
    steps per epoch all depend on the effective batch, and it is the number most often
    mis-computed when a run moves to more GPUs or adds accumulation.

    ## Example
    ```json
    {"batch_size": 24, "grad_accum": 3}
    ```

    ## Use instead
    Nothing to change; the line reads `effective batch 72 = 24 (batch_size, model.json:2) x 3
    (grad_accum, model.json:3) x 1 (world size unknown: per GPU-count N; set world-size)`.

    ## Fix safety
    No fix: information only.

    ## Options
    None. Set `world-size` in [tool.trainlint] (or pass --world-size) when no launcher says it.

    ## Source
    Seed 002 (`002_6031db6a944e5725.txt`): "Small Effective Batch Size: 72 (24 x 3)" was one of
    the findings; seed 003 logs "Gradient accumulation: 2 steps (effective batch: 64)".
    """

    code = "TL201"
    name = "effective-batch"
    severity = Severity.INFO
    fix_availability = FixAvailability.NONE
    message = "effective batch size"
    precision = "no warning or error findings (1376 info; dev corpus, 28 repositories)"

    bad = (
        Example("model.json", '{\n  "learning_rate": 1e-4,\n  "batch_size": 24,\n  "grad_accum": 3\n}\n'),
        Example("espnet.yaml", "encoder: conformer\ndecoder: transformer\nbatch_type: numel\n"
                "batch_bins: 4000000\naccum_grad: 4\nmax_epoch: 40\n"),
    )
    good = (
        Example("model.json", '{\n  "learning_rate": 1e-4,\n  "epochs": 3\n}\n'),
    )

    def check_config(self, view: ConfigView):
        derived = derive(view, self.ctx.project)
        batch = derived.effective_batch
        if batch is None:
            return
        anchor = view.get("batch.per_device") or view.get("batch.bins")
        if anchor is None:
            return
        unit = "samples" if batch.unit == "samples" else "batch bins"
        message = f"effective batch {fmt(batch.value)} {unit} per optimizer step = {batch.provenance}"
        yield self.at(anchor, message)
