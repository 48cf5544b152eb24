"""docs/survey.md states the counting rules with the numbers the code uses."""

from __future__ import annotations

from pathlib import Path

from stagecoach.survey import aggregation, views

DOC = " ".join(
    (Path(__file__).resolve().parents[3] / "docs" / "survey.md").read_text(encoding="utf-8").split()
)


def test_the_documented_numbers_are_the_codes() -> None:
    assert f"fewer than {aggregation.MIN_GROUP}" in DOC
    assert f"at {aggregation.COMMON:.0%} or" in DOC
    assert f"at least {aggregation.DIFFERENCE * 100:.0f} points apart" in DOC
    assert aggregation.CUSTOMER_WEIGHT == 2 and "customers count twice" in DOC
    assert f"tries {views.WRONG_LINKS_ALLOWED} wrong links" in DOC
