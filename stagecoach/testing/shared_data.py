"""Where the real CRM exports used by the tests live (never copied into the project).

They sit in ``shared/data`` beside the checkout; ``STAGECOACH_SHARED_DATA`` points
elsewhere. A missing folder fails the test that needs it, loudly: a skipped importer
test would hide exactly the problem it exists to catch.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[2]
_CANDIDATES = [
    Path(os.environ["STAGECOACH_SHARED_DATA"])
    if os.environ.get("STAGECOACH_SHARED_DATA")
    else None,
    _REPO.parent / "shared" / "data",
    Path("/work/shared/data"),
]


def shared_data(*parts: str) -> Path:
    """A path inside the shared data folder; fails the test when the folder is missing."""
    for base in _CANDIDATES:
        if base is not None and base.is_dir():
            path = base.joinpath(*parts)
            if not path.exists():
                pytest.fail(f"{path} is missing from the shared data folder")
            return path
    pytest.fail(
        "the shared data folder (../shared/data beside the checkout) was not found; "
        "set STAGECOACH_SHARED_DATA to its path"
    )


def shared_data_dir() -> Path:
    """The shared data folder for module-level constants (missing files fail the tests)."""
    for base in _CANDIDATES:
        if base is not None and base.is_dir():
            return base
    return _REPO.parent / "shared" / "data"
