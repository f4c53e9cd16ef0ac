"""Issue 11: every bad input and setting gets one clear answer (exit 2 and one line for what
the user must fix, the other files still checked), and honest input is not mistaken for an
attack."""

from __future__ import annotations

from helpers import check, codes


def test_a_long_plain_list_is_not_an_alias_bomb(tmp_path):
    path = tmp_path / "vocab.yaml"
    path.write_text("tokens:\n" + "".join(f"  - w{i}\n" for i in range(60_000)))
    report = check(path)
    assert codes(report) == [] and not report.errors

