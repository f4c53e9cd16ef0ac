"""No false alarms: correct configs in the styles of real projects produce no warning or error
from any rule (info lines such as the effective batch are fine)."""

from __future__ import annotations

import pytest

from helpers import FIXTURES, check
from trainlint.load import Loader

GOOD = sorted(path for path in (FIXTURES / "good").iterdir() if path.is_file())

PENDING: dict[str, str] = {}  # file name -> why a known false alarm is still expected (strict xfail)


def _case(path):
    reason = PENDING.get(path.name)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(path, id=path.name, marks=marks)


def test_there_are_at_least_ten():
    assert len(GOOD) >= 10


@pytest.mark.parametrize("path", [_case(path) for path in GOOD])
def test_no_warning_or_error(path):
    report = check(path)
    loud = [(d.code, d.span.line, d.message) for d in report.diagnostics if d.severity.value != "info"]
    assert loud == []
    assert report.errors == []


@pytest.mark.parametrize("path", GOOD, ids=[path.name for path in GOOD])
def test_read_as_a_training_config(path):
    """Each file is claimed by a dialect: quiet because it is right, not because it was skipped."""
    parsed = Loader().load(str(path))
    assert parsed.views and parsed.views[0].dialect
