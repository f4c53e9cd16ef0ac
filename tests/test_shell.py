"""Launcher parsing: shell, PowerShell and Markdown blocks, with exact spans."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from trainlint.api import UNRESOLVED
from trainlint.formats.base import SyntaxProblem
from trainlint.formats.shell import parse

ROOT = Path(__file__).resolve().parent.parent
LAUNCH = ROOT / "fixtures" / "launch"


def launches(text: str, path: str = "run.sh"):
    return parse(path, text).launches


def arguments(launch) -> list[tuple[str | None, object]]:
    return [(a.flag.value if a.flag else None, a.value.value if a.value else None)
            for a in launch.arguments]


def at(value) -> tuple[int, int, str]:
    return value.span.line, value.span.col, value.raw


# ---------------------------------------------------------------- variables and spans


def test_variables_substituted_with_source_spans():
    text = ('LR=3e-4\n'
            'NGPU=${NGPU:-8}\n'
            'torchrun --nproc_per_node=$NGPU train.py \\\n'
            '    --lr "$LR" --warmup ${WARMUP:-100} --name \'a b\'  # comment --epochs 9\n')
    (launch,) = launches(text)
    assert launch.launcher == "torchrun"
    assert launch.script.value == "train.py"
    assert arguments(launch) == [("--lr", "3e-4"), ("--warmup", "100"), ("--name", "a b")]
    lr = launch.arguments[0].value
    assert at(lr) == (4, 10, '"$LR"')
    assert at(launch.arguments[0].flag) == (4, 5, "--lr")
    assert lr.key_span == launch.arguments[0].flag.span
    world = launch.world_size
    assert world.value == 8 and world.key == "batch.world_size"
    assert at(world) == (3, 27, "$NGPU")  # the flag's value as written, after `=`


def test_flag_equals_value_spans_exclude_quotes():
    (launch,) = launches('python train.py "--lr=3e-4" --bs=16\n')
    (lr_flag, lr), (bs_flag, bs) = [(a.flag, a.value) for a in launch.arguments]
    assert (lr_flag.raw, lr.raw, lr.value) == ("--lr", "3e-4", "3e-4")
    assert lr.span.col == 23 and lr.span.end_col == 27
    assert (bs_flag.raw, bs.raw) == ("--bs", "16")
    assert bs.span.col == 34


def test_unquoted_variable_splits_into_words_pointing_at_the_assignment():
    text = 'COMMON="--warmup 100 --epochs 3"\npython train.py $COMMON --lr 1\n'
    (launch,) = launches(text)
    assert arguments(launch) == [("--warmup", "100"), ("--epochs", "3"), ("--lr", "1")]
    warmup = launch.arguments[0].value
    assert at(warmup) == (1, 18, "100")  # inside the assignment, where a fix would edit it


def test_bash_array_expansion():
    text = 'ARGS=(--name "my run"\n      --seed 1)\npython train.py "${ARGS[@]}"\n'
    (launch,) = launches(text)
    assert arguments(launch) == [("--name", "my run"), ("--seed", "1")]
    assert at(launch.arguments[1].value) == (2, 14, "1")


def test_unknown_variable_is_unresolved_not_guessed():
    (launch,) = launches('torchrun --nproc_per_node=$GPUS_PER_NODE train.py --lr $1\n')
    assert launch.world_size.value is UNRESOLVED
    assert launch.arguments[0].value.value is UNRESOLVED
    assert launch.arguments[0].value.raw == "$1"


def test_arithmetic_and_export():
    text = "export NODES=2\nPER=4\ntorchrun --nnodes $NODES --nproc_per_node $((PER * 2)) t.py\n"
    (launch,) = launches(text)
    assert launch.world_size.value == 16


def test_redirections_and_pipes_are_not_arguments():
    (launch,) = launches("nohup python -u train.py --lr 1 2>&1 | tee log.txt > /dev/null &\n")
    assert launch.wrappers == ("nohup",)
    assert arguments(launch) == [("--lr", "1")]


def test_comment_hash_inside_word_is_literal():
    (launch,) = launches("python train.py --tag a#b # --lr 9\n")
    assert arguments(launch) == [("--tag", "a#b")]


def test_prefix_environment_is_recorded():
    (launch,) = launches("CUDA_VISIBLE_DEVICES=0,1 OMP_NUM_THREADS=4 python train.py\n")
    assert launch.env["CUDA_VISIBLE_DEVICES"].value == "0,1"
    assert launch.span.col == 1


def test_cd_is_tracked():
    text = 'cd "$(dirname "$0")"\ncd src\npython -m pkg.train\n'
    (launch,) = launches(text)
    assert launch.cwd_is_script_dir and launch.cwd == ("src",)
    assert launch.module.value == "pkg.train"


# ---------------------------------------------------------------- launchers


@pytest.mark.parametrize("line, launcher, target, world", [
    ("python3 -u -W ignore train.py --lr 1", "python", "train.py", 1),
    ("python -m pkg.train --lr 1", "python", "pkg.train", 1),
    ("/opt/venv/bin/python3.11 train.py", "python", "train.py", 1),
    ("torchrun --standalone --nproc-per-node 4 train.py", "torchrun", "train.py", 4),
    ("torchrun --nnodes=2 --nproc_per_node=8 -m pkg.train", "torchrun", "pkg.train", 16),
    ("torchrun train.py", "torchrun", "train.py", 1),
    ("torchrun --nnodes 1:4 --nproc_per_node 8 train.py", "torchrun", "train.py", UNRESOLVED),
    ("torchrun --nproc_per_node gpu train.py", "torchrun", "train.py", UNRESOLVED),
    ("python -m torch.distributed.run --nproc_per_node 2 train.py",
     "torch.distributed.run", "train.py", 2),
    ("python -m torch.distributed.launch --nproc_per_node=4 --use_env train.py",
     "torch.distributed.launch", "train.py", 4),
    ("accelerate launch --num_processes 8 --mixed_precision bf16 train.py",
     "accelerate", "train.py", 8),
    ("accelerate launch --multi_gpu -m pkg.train", "accelerate", "pkg.train", None),
    ("deepspeed --num_gpus 8 --num_nodes 2 train.py", "deepspeed", "train.py", 16),
    ("deepspeed --include localhost:0,1,2 train.py", "deepspeed", "train.py", 3),
    ("deepspeed train.py", "deepspeed", "train.py", None),
    ("srun -N2 --ntasks-per-node=4 python train.py", "python", "train.py", 8),
    ("srun --ntasks=16 --gres=gpu:8 python train.py", "python", "train.py", 16),
    ("mpirun -np 4 --allow-run-as-root -x NCCL_DEBUG python train.py", "python", "train.py", 4),
    ("srun --nodes 2 torchrun --nnodes 2 --nproc_per_node 8 train.py", "torchrun", "train.py", 16),
    ("uv run --with wandb python train.py", "python", "train.py", 1),
    ("conda run -n train --no-capture-output python train.py", "python", "train.py", 1),
    ("env -u DISPLAY FOO=1 nice -n 10 python train.py", "python", "train.py", 1),
    ("./train.py --lr 1", "python", "./train.py", 1),
    ("bash scripts/train.sh 8", "bash", "scripts/train.sh", None),
])
def test_launchers(line, launcher, target, world):
    (launch,) = launches(line + "\n")
    assert launch.launcher == launcher
    assert launch.target.value == target
    if world is None:
        assert launch.world_size is None
    else:
        assert launch.world_size.value == world


@pytest.mark.parametrize("line", [
    "python -c 'print(1)'", "python", "pip install torch", "accelerate config",
    "echo python train.py", "--learning_rate 0.001  # 2x higher",
])
def test_not_launches(line):
    assert launches(line + "\n") == []


def test_world_factors_keep_their_flags():
    (launch,) = launches("torchrun --nnodes=2 --nproc_per_node=8 train.py\n")
    assert [factor.key for factor in launch.world_factors] == ["nproc_per_node", "nnodes"]
    assert at(launch.world_factors[0]) == (1, 38, "8")
    assert launch.world_size.key_span is not None


# ---------------------------------------------------------------- bad input


def test_unbalanced_quote_is_a_finding_and_the_rest_is_read():
    text = 'python a.py --name "broken --lr 1\npython b.py --lr 2\n'
    result = parse("run.sh", text)
    (problem,) = result.problems
    assert (type(problem), problem.span.line, problem.span.col) == (SyntaxProblem, 1, 20)
    assert [launch.script.value for launch in result.launches] == ["b.py"]


def test_heredoc_function_loop_conditional_are_skip_notes_at_their_lines():
    text = (
        "cat > c.yaml <<EOF\n"            # 1
        "python inside_heredoc.py\n"      # 2
        "EOF\n"                           # 3
        "train() {\n"                     # 4
        "  python in_function.py\n"       # 5
        "}\n"                             # 6
        "for s in 1 2; do\n"              # 7
        "  python in_loop.py --seed $s\n"  # 8
        "done\n"                          # 9
        "if [ -n \"$X\" ]; then LR=1; else LR=2; fi\n"  # 10
        "case $1 in a) python in_case.py ;; esac\n"      # 11
        "python after.py --lr $LR\n"      # 12
    )
    result = parse("run.sh", text)
    notes = [(note.span.line, note.span.col, note.message.split(" ")[0]) for note in result.notes]
    assert notes == [(1, 14, "here-document"), (4, 1, "function"), (7, 1, "`for`"),
                     (10, 1, "`if`"), (11, 1, "`case`")]
    assert result.problems == []
    (launch,) = result.launches
    assert launch.script.value == "after.py" and launch.span.line == 12
    assert launch.arguments[0].value.value is UNRESOLVED  # LR is set in an `if`


def test_unclosed_block_is_a_finding_and_the_lines_after_it_are_read():
    result = parse("run.sh", "if true; then\npython a.py\n")
    assert [(type(p), p.span.line) for p in result.problems] == [(SyntaxProblem, 1)]
    assert [launch.script.value for launch in result.launches] == ["a.py"]


def test_unclosed_heredoc_is_a_finding():
    result = parse("run.sh", "cat <<EOF\nlr: 1\npython a.py\n")
    assert [(type(p), p.span.line, p.span.col) for p in result.problems] == [(SyntaxProblem, 1, 5)]


def test_backslash_space_at_line_end_breaks_the_continuation():
    result = parse("run.sh", "python train.py --lr 1 \\ \n    --epochs 3\n")
    (problem,) = result.problems
    assert (problem.span.line, problem.span.col) == (1, 24)
    (launch,) = result.launches
    assert [a.flag.value for a in launch.arguments if a.flag] == ["--lr"]


def test_crlf_line_endings():
    (launch,) = launches("LR=1\r\npython train.py \\\r\n  --lr $LR\r\n")
    assert arguments(launch) == [("--lr", "1")]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(list("ab=-$`'\"\\(){}[]#;&|<>\n\t\r @*!:%/.0") + [
    "python ", "torchrun ", "if ", "fi", "for ", "done", "<<EOF", "EOF", "${", "$(", "`",
    "$env:", "@\"", "<#", "--lr "]), max_size=60).map("".join))
def test_parse_never_raises(text):
    for path in ("run.sh", "run.ps1", "README.md"):
        body = f"```bash\n{text}\n```\n```powershell\n{text}\n```\n" if path.endswith(".md") \
            else text
        result = parse(path, body)
        for launch in result.launches:
            for argument in launch.arguments:
                for value in (argument.flag, argument.value):
                    if value is not None:
                        assert body[value.span.start:value.span.end] == value.raw


_FRAGMENTS = ["a", "b", "1", "-", "--", "=", ".", "/", " ", '"', "'", "\\", "x y", "e-4"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), min_size=1, max_size=12).map("".join))
def test_word_values_match_shlex(args_text):
    """Quote removal and escapes agree with shlex (POSIX mode), a real shell tokenizer."""
    try:
        expected = shlex.split(args_text)
    except ValueError:
        assume(False)
        return
    assume("\\\\" not in args_text)  # shlex keeps `\\` inside double quotes differently
    (launch,) = launches(f"python t.py {args_text}\n")
    assert [word.text for word in launch.words] == expected


@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=8),
                max_size=6))
def test_quoted_arguments_round_trip(args):
    (launch,) = launches("python t.py " + " ".join(shlex.quote(arg) for arg in args) + "\n")
    assert [word.text for word in launch.words] == args


# ---------------------------------------------------------------- PowerShell


def test_seed004_powershell_backticks():
    text = (LAUNCH / "seed004" / "quick_fix.ps1").read_bytes().decode("utf-8")
    assert "\r\n" in text  # written on Windows
    result = parse("quick_fix.ps1", text)
    assert result.format == "powershell" and result.problems == []
    (launch,) = result.launches
    assert launch.script.value == "src/training/train.py"
    assert arguments(launch) == [
        ("--data_dir", "data/teacher_features/mediapipe_full"),
        ("--output_dir", "checkpoints/student/mobilenet_v3_fixed"), ("--epochs", "500"),
        ("--batch_size", "4"), ("--learning_rate", "0.0005"), ("--dropout", "0.1"),
        ("--early_stopping_patience", "30")]
    lr = launch.arguments[4].value
    assert at(lr) == (7, 19, "0.0005")


def test_powershell_variables_and_env():
    text = ('$LR = 0.0005\n$env:DATA = "data/x"\n$Epochs=20\n'
            'python train.py --data $env:DATA --lr $lr --epochs=$Epochs --name "run-$Epochs"\n')
    (launch,) = launches(text, "run.ps1")
    assert arguments(launch) == [("--data", "data/x"), ("--lr", "0.0005"), ("--epochs", "20"),
                                 ("--name", "run-20")]
    assert at(launch.arguments[1].value) == (4, 39, "$lr")


def test_powershell_blocks_and_bad_continuation():
    text = ("if ($Debug) {\n  python debug.py\n} else {\n  $LR = 1\n}\n"
            "foreach ($s in 1..3) { python seed.py --seed $s }\n"
            "$cfg = @\"\nlr: 1\n\"@\n"
            "& python train.py --lr $LR ` \n  --epochs 3\n")
    result = parse("run.ps1", text)
    assert [(n.span.line, n.message.split(" ")[0]) for n in result.notes] == [
        (1, "`if`"), (6, "`foreach`"), (7, "here-string")]
    assert [(type(p), p.span.line, p.span.col) for p in result.problems] == [
        (SyntaxProblem, 10, 28)]
    (launch,) = result.launches
    assert launch.script.value == "train.py"
    assert launch.arguments[0].value.value is UNRESOLVED  # assigned inside the `else` block


def test_powershell_single_quotes_and_escapes():
    (launch,) = launches("python t.py --name 'it''s' --msg \"a`\"b\" # c\n", "run.ps1")
    assert arguments(launch) == [("--name", "it's"), ("--msg", 'a"b')]


# ---------------------------------------------------------------- Markdown


def test_markdown_blocks_map_to_file_positions():
    path = LAUNCH / "markdown" / "README.md"
    result = parse(str(path), path.read_text(encoding="utf-8"))
    summary = [(launch.launcher, launch.span.line, arguments(launch)) for launch in result.launches]
    assert summary == [
        ("python", 8, [("--lr", "3e-4"), ("--batch_size", "32")]),
        ("torchrun", 17, [("--lr", "6e-4"), ("--epochs", "20")]),
        ("python", 23, [("--lr", "1e-3"), ("--batch_size", "8")]),
    ]
    batch = result.launches[0].arguments[1].value
    assert at(batch) == (9, 18, "32")  # the continuation line of the console block


def test_markdown_seed004_powershell_and_fragments():
    path = LAUNCH / "seed004" / "CONVERGENCE_FIX.md"
    result = parse(str(path), path.read_text(encoding="utf-8"))
    (launch,) = result.launches
    assert launch.span.line == 9
    assert at(launch.arguments[6].value) == (16, 29, "30")


def test_markdown_unclosed_quote_stays_in_its_block():
    text = '```bash\npython a.py --x "oops\n```\n\n```sh\npython b.py --lr 1\n```\n'
    result = parse("README.md", text)
    assert [(type(p), p.span.line) for p in result.problems] == [(SyntaxProblem, 2)]
    assert [launch.script.value for launch in result.launches] == ["b.py"]


def test_markdown_indented_fence_in_list_item():
    text = "1. Run:\n   ```bash\n   python train.py --patience 30\n   ```\n"
    (launch,) = parse("NOTES.md", text).launches
    assert at(launch.arguments[0].value) == (3, 31, "30")


def test_slurm_style_script():
    text = (
        "#!/bin/bash\n"
        "#SBATCH --nodes=4\n"
        "GPUS_PER_NODE=8\n"
        'srun torchrun --nnodes 4 --nproc_per_node=$GPUS_PER_NODE train.py "$@" --mbs 2\n'
        'exec python -m pkg.train --lr="${LR:=1e-3}" "${EXTRA_ARGS[@]}"\n'
        "python - <<'EOF'\nprint('not a launch')\nEOF\n"
        "(cd sub && python inner.py)\n"
        "[[ -f done ]] || python finish.py --flag\n"
    )
    result = parse("job.sh", text)
    assert result.problems == []
    summary = [(launch.span.line, launch.launcher, launch.target.value, arguments(launch))
               for launch in result.launches]
    assert summary == [
        (4, "torchrun", "train.py", [("--mbs", "2")]),  # "$@" is forwarded, not an argument
        (5, "python", "pkg.train", [("--lr", "1e-3")]),
        (10, "python", "finish.py", [("--flag", None)]),
    ]
    assert result.launches[0].world_size.value == 32
    assert [note.span.line for note in result.notes] == [6, 9]  # heredoc, subshell
