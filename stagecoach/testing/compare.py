"""Comparing analytics results from two runs: exact, except for the last digits of floats."""

from __future__ import annotations

import math
from typing import Any


def differences(first: Any, second: Any, *, where: str = "") -> list[str]:
    """Where two results (metrics, snapshots) differ, floats compared to 1e-9.

    The analytics engine's float sums are not bit-for-bit repeatable: two refreshes of
    the same data can differ in the last digit. Anything beyond that is a difference.
    """
    if isinstance(first, dict) and isinstance(second, dict):
        found = (
            [f"{where}: keys {sorted(first)} != {sorted(second)}"]
            if first.keys() != second.keys()
            else []
        )
        for key in first.keys() & second.keys():
            found += differences(first[key], second[key], where=f"{where}.{key}")
        return found
    if isinstance(first, list | tuple) and isinstance(second, list | tuple):
        if len(first) != len(second):
            return [f"{where}: {len(first)} items != {len(second)}"]
        found = []
        for index, (a, b) in enumerate(zip(first, second, strict=True)):
            found += differences(a, b, where=f"{where}[{index}]")
        return found
    if isinstance(first, float) and isinstance(second, float | int):
        return (
            []
            if math.isclose(first, second, rel_tol=1e-9, abs_tol=1e-12)
            else [f"{where}: {first} != {second}"]
        )
    return [] if first == second else [f"{where}: {first!r} != {second!r}"]
