"""The cheap pre-check and the Pydantic models agree: they are built from one table."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from trainlint.schemas.canonical import SETTINGS, violates
from trainlint.schemas.models import explain, group_model

VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5000),
    st.floats(min_value=-10, max_value=10), st.just(float("nan")),
    st.sampled_from([float("inf"), float("-inf"), "inf", "1e309"]),
    st.sampled_from(["fast", "ten", "1e-4", "0.5", "true", "no", "adamw", "", "3"]),
    st.lists(st.integers(), max_size=2),
)


def test_every_group_has_a_model():
    groups = {setting.group for setting in SETTINGS.values()}
    assert groups >= {"optimizer", "schedule", "batch", "duration", "stopping", "plateau",
                      "precision", "regularization", "model", "data"}
    for group in groups:
        fields = group_model(group).model_fields
        assert {s.field for s in SETTINGS.values() if s.group == group} == set(fields)


@settings(max_examples=400, deadline=None)
@given(name=st.sampled_from(sorted(SETTINGS)), value=VALUES)
def test_precheck_agrees_with_pydantic(name, value):
    setting = SETTINGS[name]
    if value is None:
        return  # null is "unset" or required by the engine's own rule, not by the model
    assert violates(setting, value) == (explain(name, value) is not None), (name, value)
