from __future__ import annotations

import numpy as np
import pytest

from stagecoach.analytics.engine.forecast import _summary
from stagecoach.lib import figures


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (0.0, "0%"),
        (0.004, "<1%"),
        (0.005, "<1%"),
        (0.01, "1%"),
        (0.456, "46%"),
        (0.995, ">99%"),
        (1.0, "100%"),
    ],
)
def test_a_chance_is_never_rounded_to_a_certainty(value: float | None, text: str) -> None:
    assert figures.chance(value) == text


def test_expected_from_open_deals_leaves_out_what_is_won() -> None:
    summary = _summary(np.full(10, 91_212.0), 200_000.0, 50_000.0, 91_212.0, 7)
    assert summary["expected"] == 91_212.0
    assert summary["expected_open"] == pytest.approx(41_212.0)
