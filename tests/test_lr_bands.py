"""LR bands calibrated from published recipes (issue 14, section 2): the band table against its
sources, the regime and size detection behind TL102 / TL101, one fixture per regime and per
false-positive class, the "< 2x outside is info" rule, the fix bound, and the table API the
probe's TL905 reads."""

from __future__ import annotations

import csv
import math
import re
import shutil

import pytest

from helpers import FIXTURES, ROOT, check, codes
from test_derive import derived_of
from trainlint.rules.probe import lr_bands as probe_bands
from trainlint.rules.data_tables import (band_of, bands, fix_target, in_band, outside_factor,
                                         recipe_band)
from trainlint.rules.schedule.tl102_lr_outside_band import LrOutsideBand
from trainlint.training_regime import size_from_name

SOURCES = ROOT / "rules/data/lr_band_sources.tsv"
COLUMNS = ["repo", "path", "line", "model", "size_b", "regime", "optimizer", "lr", "note"]


def _sources() -> list[dict]:
    with SOURCES.open(encoding="utf-8") as stream:
        return list(csv.DictReader(stream, delimiter="\t"))


def _band_of_row(table, row):
    return recipe_band(table, row["model"], row["regime"], row["optimizer"],
                       float(row["size_b"]) if row["size_b"] else None)


def _findings(report, code="TL102"):
    return [d for d in report.diagnostics if d.code == code]


# ---------------------------------------------------------------- the table and its sources

def test_sources_are_paths_and_numbers_only():
    rows = _sources()
    assert list(rows[0]) == COLUMNS
    for row in rows:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", row["repo"])
        assert not row["path"].startswith("/") and int(row["line"]) >= 1
        assert float(row["lr"]) > 0
        assert row["size_b"] == "" or float(row["size_b"]) > 0


def test_recipe_counts_in_the_table_match_the_sources():
    table = bands()
    counted: dict[str, int] = {}
    for row in _sources():
        band = _band_of_row(table, row)
        if band is not None:
            for key in {band.model_type, band.family}:
                counted[key] = counted.get(key, 0) + 1
    assert {key: band.recipes for key, band in table.items()} == {
        key: counted.get(key, 0) for key in table}
    families = sum(band.recipes for band in table.values() if not band.sized)
    assert families >= 100


@pytest.mark.parametrize("key", sorted(k for k, b in bands().items() if b.recipes >= 5))
def test_each_band_holds_its_recipes_and_every_outlier_says_why(key):
    table = bands()
    rows = [row for row in _sources() if (band := _band_of_row(table, row)) is not None
            and key in (band.model_type, band.family)]
    band = table[key]
    outside = [row for row in rows if not in_band(band, float(row["lr"]))]
    assert len(outside) <= 0.15 * len(rows), [(r["path"], r["lr"]) for r in outside]
    assert all(row["note"] for row in outside), [r["path"] for r in outside if not r["note"]]


def test_a_family_band_spans_its_size_classes():
    table = bands()
    for family in {band.family for band in table.values() if band.sized}:
        classes = [band for band in table.values() if band.family == family and band.sized]
        assert table[family].low == min(band.low for band in classes)
        assert table[family].high == max(band.high for band in classes)


def test_size_classes_of_a_family_do_not_overlap():
    table = bands()
    for family in {band.family for band in table.values() if band.sized}:
        for size in (0.1, 0.5, 1, 1.5, 2, 3, 6, 7, 70, 405):
            holding = [b.model_type for b in table.values() if b.family == family and b.sized
                       and b.holds_size(size)]
            assert len(holding) == 1, (family, size, holding)


def test_the_rule_documents_the_table_it_reads():
    rows = re.findall(r"^\s*\| `([\w-]+)`[^|]*\| [^|]+\| ([\d.e-]+) \.\. ([\d.e-]+) \|[^|]+\| (\d+) \|$",
                      LrOutsideBand.__doc__, re.M)
    table = bands()
    assert {key for key, *_ in rows} == set(table)
    for key, low, high, recipes in rows:
        assert (float(low), float(high), int(recipes)) == (table[key].low, table[key].high,
                                                           table[key].recipes)


# ---------------------------------------------------------------- size and regime detection

@pytest.mark.parametrize("name,size", [
    ("Qwen/Qwen2.5-7B-Instruct", 7), ("mistralai/Mixtral-8x7B-v0.1", 56),
    ("HuggingFaceTB/SmolLM2-135M", 0.135), ("Qwen/Qwen3-30B-A3B-Instruct-2507", 30),
    ("/tmp/Meta-Llama-3.1-8B-Instruct/", 8), ("checkpoints/lit-llama/7B/lit-llama.pth", 7),
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", 1.5),
    ("google/gemma-3n-E2B-it", None),  # effective size, not a parameter count
    ("qwen2_5_7b_instruct", None),  # Qwen 2.5 7B or Qwen2 5.7B: not stated plainly
    ("14B_to_8B", None), ("microsoft/phi-1_5", None), ("nvidia/NVIDIA-Nemotron-Nano-BF16", None),
])
def test_size_from_the_model_name(name, size):
    assert size_from_name(name) == size


@pytest.mark.parametrize("name,text,family,evidence", [
    ("a.yaml", "base_model: Qwen/Qwen2.5-7B\nrl: dpo\nadapter: lora\nmicro_batch_size: 2\n"
     "num_epochs: 1\nlearning_rate: 5.0e-6\n", "llm-lora-dpo", "rl: dpo"),
    ("a.yaml", "base_model: Qwen/Qwen2.5-7B\nrl: grpo\nmicro_batch_size: 2\nnum_epochs: 1\n"
     "learning_rate: 1.0e-6\n", "llm-online-rl", "rl: grpo"),
    ("a.yaml", "model_name_or_path: m/zephyr-7b-sft\nuse_peft: true\nbeta: 0.01\n"
     "max_prompt_length: 512\nlearning_rate: 5.0e-6\nper_device_train_batch_size: 4\n",
     "llm-lora-dpo", "use_peft: True"),
    ("a.yaml", "model_name_or_path: m/x-1.5B\nreward_funcs: [accuracy]\nnum_generations: 8\n"
     "beta: 0.04\nmax_prompt_length: 512\nlearning_rate: 1.0e-6\n"
     "per_device_train_batch_size: 4\n", "llm-online-rl", "num_generations"),
    ("a.yaml", "model:\n  _component_: torchtune.models.llama3_1.lora_llama3_1_8b\n"
     "loss:\n  _component_: torchtune.rlhf.loss.DPOLoss\noptimizer:\n  lr: 5e-4\n"
     "batch_size: 4\nepochs: 1\n", "llm-lora-dpo", "DPOLoss"),
    ("a.py", "from trl import GRPOTrainer\nlearning_rate = 1e-6\nbatch_size = 8\n"
     "trainer = GRPOTrainer(model=model)\n", "llm-online-rl", "GRPOTrainer(...) (a.py:4)"),
    ("a.yaml", "rlhf_type: gkd\nmodel: Qwen/Qwen3-2B\nlr: 1e-6\nnum_train_epochs: 1\n"
     "train:\n  tuner_type: lora\n  lora_rank: 8\n", "llm-lora-online-rl", "rlhf_type: gkd"),
    ("a.json", '{"model_name_or_path": "facebook/wav2vec2-base", "ctc_loss_reduction": "mean",'
     ' "learning_rate": 1e-4, "per_device_train_batch_size": 8}', "asr-frontend-finetune",
     "wav2vec2-base"),
])
def test_regime_evidence_goes_into_the_provenance(tmp_path, name, text, family, evidence):
    model_type = derived_of(tmp_path, name, text).model_type
    assert model_type.value == family and evidence in model_type.provenance


@pytest.mark.parametrize("text,reason", [
    ("base_model: x/y\nrl: my_method\nmicro_batch_size: 2\nnum_epochs: 1\nlearning_rate: 1e-6\n",
     "no LR band for"),
    ("base_model: x/y\nadapter: llama-adapter\nmicro_batch_size: 2\nnum_epochs: 1\n"
     "learning_rate: 9e-3\n", "an adapter trainlint has no LR band for"),
    ("base_model: x/y-3B\nuse_onebitllms: true\nmicro_batch_size: 2\nnum_epochs: 1\n"
     "learning_rate: 5e-4\n", "1.58-bit"),
    ("base_model: x/y\nrl: dpo\nmicro_batch_size: 2\nnum_epochs: 1\nlearning_rate: 1e-6\n"
     "trl:\n  reward_funcs: [a]\n  num_generations: 4\n", "disagrees"),
])
def test_unsure_evidence_gives_no_band_and_says_why(tmp_path, text, reason):
    derived = derived_of(tmp_path, "a.yaml", text)
    assert derived.model_type is None and reason in derived.band_excluded


def test_one_preference_key_alone_is_not_evidence(tmp_path):
    text = ("model_name_or_path: m/x-7B\nbeta: 0.1\nlearning_rate: 2e-5\n"
            "per_device_train_batch_size: 4\n")
    assert derived_of(tmp_path, "a.yaml", text).model_type is None


def test_model_type_setting_is_refined_by_the_stated_size(tmp_path):
    text = "base_model: Qwen/Qwen2.5-72B\nmicro_batch_size: 1\nnum_epochs: 1\nlearning_rate: 5e-6\n"
    path = tmp_path / "a.yml"
    path.write_text(text, encoding="utf-8")
    assert "TL102" not in codes(check(path, {"model-type": "llm-finetune"}, select=["TL102"]))
    path.write_text(text.replace("5e-6", "2e-4"), encoding="utf-8")
    (finding,) = _findings(check(path, {"model-type": "llm-finetune"}, select=["TL102"]))
    assert "llm-finetune-6b-up band" in finding.message and "size 72B" in finding.message


def test_a_band_overridden_in_settings_is_used_without_size_classes(tmp_path):
    table = bands()
    assert band_of(table, "llm-finetune", 7).model_type == "llm-finetune-6b-up"
    path = FIXTURES / "TL102/bad_axolotl_full_ft_large.yaml"
    settings = {"bands": {"llm-finetune": {"low": 1e-6, "high": 1e-3}}}
    assert "TL102" not in codes(check(path, settings, select=["TL102"]))


# ---------------------------------------------------------------- fixtures: regimes

# (fixture, line, column, severity, band, evidence in the message, (old, new) after the fix)
BAD = [
    ("bad_torchtune_lora_at_full_ft_lr.yaml", 11, 7, "warning", "llm-lora-2b-up",
     "lora_mistral_7b", ("lr: 2e-5", "lr: 5.0e-5")),
    ("bad_axolotl_full_dpo.yaml", 9, 16, "warning", "llm-dpo", "rl: dpo",
     ("learning_rate: 0.0002", "learning_rate: 0.00001")),
    ("bad_trl_grpo_full.yaml", 10, 16, "warning", "llm-online-rl", "num_generations",
     ("learning_rate: 1.0e-4", "learning_rate: 2.0e-5")),
    ("bad_axolotl_full_ft_large.yaml", 8, 16, "warning", "llm-finetune-6b-up", "adapter: none",
     ("learning_rate: 0.0002", "learning_rate: 0.00001")),
    ("bad_wav2vec2_ctc.json", 5, 20, "warning", "asr-frontend-finetune", "wav2vec2-large-xlsr-53",
     ('"learning_rate": 3e-3', '"learning_rate": 1e-4')),
    ("info_lora_just_below.yaml", 8, 16, "info", "llm-lora-2b-up", "adapter: lora",
     ("learning_rate: 0.00003", "learning_rate: 0.00005")),
]


@pytest.mark.parametrize("fixture,line,col,severity,band,evidence,edit", BAD,
                         ids=[case[0] for case in BAD])
def test_regime_fixture_fires_with_its_band_and_evidence(tmp_path, fixture, line, col, severity,
                                                         band, evidence, edit):
    source = FIXTURES / "TL102" / fixture
    (finding,) = _findings(check(source, select=["TL102"]))
    assert (finding.span.line, finding.span.col, finding.severity.value) == (line, col, severity)
    assert f"the {band} band" in finding.message and evidence in finding.message
    assert "published recipes" in finding.message  # where the band came from
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    check(copy, select=["TL102"], fix=True, unsafe_fixes=True)
    old, new = edit
    assert copy.read_text(encoding="utf-8") == source.read_text(encoding="utf-8").replace(old, new, 1)
    assert not _findings(check(copy, select=["TL102"]))


# One quiet fixture per false-positive class measured on the development corpus.
GOOD = [
    "good_axolotl_ebft_lora.yaml",  # [rl-method-misread] online RL judged by the SFT band
    "good_axolotl_gdpo_qlora.yaml",  # [rl-method-misread] GRPO-family judged by the DPO band
    "good_torchtune_full_7b.yaml",  # [band-too-narrow] 5e-6 full FT of a 7B model
    "good_axolotl_onebit.yaml",  # [1.58-bit training] ~10x LRs by design
    "good_qlora_dpo.yaml",  # [model-type-misread] QLoRA DPO judged by the LoRA-SFT band
    "good_hatchery_lora.yaml",  # [model-type-misread] a LoRA backend without `adapter: lora`
    "good_torchtune_ppo_policy.yaml",  # [wrong-stage] a PPO policy judged by the SFT band
    "good_conformer_on_ssl_frontend.yaml",  # conformer on a HuBERT front-end at 2e-4
    "good_separate_frontend_lr.yaml",  # head (Adadelta) and front-end LRs apart
    "good_unknown_rl_method.yaml",  # unsure: no band, no guess
    "good_grpo_shares_dpo_keys.yaml",  # GRPO's beta / max_prompt_length are not DPO evidence
    "good_muon_lr.py",  # the LR of another optimizer (`--muon.lr`)
]


@pytest.mark.parametrize("fixture", GOOD)
def test_false_positive_class_stays_quiet(fixture):
    assert _findings(check(FIXTURES / "TL102" / fixture, select=["TL102"])) == []


def test_tl101_floor_follows_the_regime(tmp_path):
    bad = FIXTURES / "TL101/bad_dpo_below_band_floor.yaml"
    (finding,) = _findings(check(bad, select=["TL101"]), "TL101")
    assert (finding.span.line, finding.span.col, finding.severity.value) == (9, 22, "warning")
    assert "below the llm-dpo band floor 2e-07" in finding.message
    assert "max_prompt_length" in finding.message
    copy = tmp_path / bad.name
    shutil.copy(bad, copy)
    check(copy, select=["TL101"], fix=True, unsafe_fixes=True)
    assert "warmup_start_factor: 0.7\n" in copy.read_text(encoding="utf-8")
    good = FIXTURES / "TL101/good_lora_online_rl_floor.yaml"
    assert _findings(check(good, select=["TL101", "TL102"]), "TL101") == []
    assert _findings(check(good, select=["TL102"])) == []


# ---------------------------------------------------------------- severity and the fix bound

@pytest.mark.parametrize("factor,severity", [(1.9, "info"), (2.0, "warning"), (3.0, "warning")])
@pytest.mark.parametrize("side", ["below", "above"])
def test_less_than_2x_outside_is_info(tmp_path, factor, severity, side):
    band = bands()["llm-lora-2b-up"]
    lr = band.low / factor if side == "below" else band.high * factor
    path = tmp_path / "lora.yml"
    path.write_text(f"base_model: meta-llama/Llama-2-7b-hf\nadapter: lora\nmicro_batch_size: 2\n"
                    f"num_epochs: 1\nlearning_rate: {lr!r}\n", encoding="utf-8")
    (finding,) = _findings(check(path, select=["TL102"]))
    assert finding.severity.value == severity and f"{factor:.2g}x {side}" in finding.message


@pytest.mark.parametrize("key", sorted(bands()))
@pytest.mark.parametrize("factor", [1.01, 1.9, 3, 50])
def test_the_fix_never_passes_the_middle_of_the_band(key, factor):
    band = bands()[key]
    middle = math.sqrt(band.low * band.high)
    for lr in (band.low / factor, band.high * factor):
        target = fix_target(band, lr)
        assert in_band(band, target) and outside_factor(band, target) == 1.0
        if lr < band.low:
            assert band.low <= target <= middle * (1 + 1e-9)
        else:
            assert middle * (1 - 1e-9) <= target <= band.high


def test_the_fix_goes_to_the_typical_value_only_in_the_near_half():
    lora = bands()["llm-lora-2b-up"]  # 5e-5 .. 5e-4, typical 2e-4 (above the middle 1.6e-4)
    assert fix_target(lora, 1e-5) == lora.low
    assert fix_target(lora, 3e-3) == pytest.approx(2e-4)
    ctc = bands()["ctc"]  # 3e-4 .. 1e-3, typical 5e-4 (below the middle 5.5e-4)
    assert fix_target(ctc, 1e-4) == pytest.approx(5e-4)
    assert fix_target(ctc, 1e-2) == ctc.high


# ---------------------------------------------------------------- the probe reads the same table

@pytest.mark.parametrize("key", sorted(bands()))
def test_probe_floor_reads_every_band(key):
    floor = probe_bands.find_floor(key)
    assert floor is not None and floor.value == bands()[key].low


def test_probe_band_holds_for_adamw():
    floor = probe_bands.find_floor("llm-lora")
    assert probe_bands.band_applies(floor, "AdamW", 1e-8)
    assert not probe_bands.band_applies(floor, "Lion", None)
    assert probe_bands.band_applies(probe_bands.find_floor("cnn-sgd"), "SGD", None)


def test_probe_reads_the_packaged_table():
    assert probe_bands.package_bands()["llm-online-rl"]["low"] == bands()["llm-online-rl"].low
