"""The cheap pre-check and the pydantic-core validators agree: they are built from one table."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from trainlint.schemas.canonical import SETTINGS, violates
from trainlint.schemas.models import explain, group_validator

VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5000),
    st.floats(min_value=-10, max_value=10), st.just(float("nan")),
    st.sampled_from([float("inf"), float("-inf"), "inf", "1e309"]),
    st.sampled_from(["fast", "ten", "1e-4", "0.5", "true", "no", "adamw", "", "3"]),
    st.lists(st.integers(), max_size=2),
)


def test_every_group_has_a_validator_of_its_fields():
    groups = {setting.group for setting in SETTINGS.values()}
    assert groups >= {"optimizer", "schedule", "batch", "duration", "stopping", "plateau",
                      "precision", "regularization", "model", "data"}
    for group in groups:
        for setting in (s for s in SETTINGS.values() if s.group == group):
            assert group_validator(group).validate_python({setting.field: None}) == \
                {setting.field: None}  # every field declared: null is accepted, not ignored
        assert group_validator(group).validate_python({"not_a_field": "x"}) == {}


def test_messages_are_pydantics():
    """The wording of a rejected value, as Pydantic words it (TL002 quotes it)."""
    assert explain("optimizer.lr", -1) == "input should be greater than 0, got -1"
    assert explain("optimizer.lr", True) == "a number is expected here, not a boolean, got True"
    assert explain("optimizer.lr", float("inf")) == "input should be a finite number, got inf"
    assert explain("optimizer.lr", "fast") == ("input should be a valid number, unable to parse "
                                               "string as a number, got 'fast'")
    assert explain("optimizer.lr", 0.001) is None


@settings(max_examples=400, deadline=None)
@given(name=st.sampled_from(sorted(SETTINGS)), value=VALUES)
def test_precheck_agrees_with_pydantic(name, value):
    setting = SETTINGS[name]
    if value is None:
        return  # null is "unset" or required by the engine's own rule, not by the model
    assert violates(setting, value) == (explain(name, value) is not None), (name, value)


def test_pydantic_words_only_the_values_a_rule_reports(tmp_path):
    """A value the pre-check rejects but TL002 passes over (an argparse `default=None` for the
    LR, derived later) costs no pydantic-core import; one it reports carries Pydantic's words
    (the fixture declares both; the quiet copy leaves the dropout out)."""
    import subprocess
    import sys

    from helpers import FIXTURES

    loud = FIXTURES / "consumer_rules" / "declared_defaults" / "train.py"
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    quiet = tmp_path / "train.py"
    quiet.write_text("".join(line for line in loud.read_text(encoding="utf-8").splitlines(True)
                             if "--dropout" not in line), encoding="utf-8")
    program = ("import sys\nfrom trainlint.engine import check_paths\n"
               "report = check_paths(sys.argv[1:])\n"
               "print([d.message for d in report.diagnostics if d.code == 'TL002'])\n"
               "print('pydantic_core' in sys.modules)\n")
    for path, messages, imported in ((quiet, "[]", "False"),
                                     (loud, "input should be less than 1, got 1.5", "True")):
        result = subprocess.run([sys.executable, "-c", program, str(path)], capture_output=True,
                                text=True, check=True, cwd=tmp_path)
        found, modules = result.stdout.splitlines()
        assert messages in found and modules == imported, result.stdout
