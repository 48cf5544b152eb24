from __future__ import annotations

from stagecoach.lib.filenames import NAME_MAX_BYTES, fitting, stored_upload_name


def test_a_short_name_is_kept() -> None:
    assert fitting("opportunities", ".rejects.csv") == "opportunities.rejects.csv"
    assert stored_upload_name("Pipeline 2024 (final).xlsx") == "Pipeline_2024_final.xlsx"


def test_a_long_name_keeps_its_suffix_and_leaves_room_for_a_rejects_file() -> None:
    name = stored_upload_name("x" * 300 + ".csv")
    assert name.endswith(".csv")
    assert len(fitting(name.removesuffix(".csv"), ".rejects.csv").encode()) <= NAME_MAX_BYTES
    assert len(name.encode()) + len(".rejects.csv") <= NAME_MAX_BYTES


def test_names_are_cut_by_bytes_at_a_character_boundary() -> None:
    name = fitting("Ü" * 200, ".rejects.csv")
    assert len(name.encode()) <= NAME_MAX_BYTES
    assert name.endswith(".rejects.csv") and set(name.removesuffix(".rejects.csv")) == {"Ü"}


def test_a_path_or_no_name_is_never_kept() -> None:
    assert stored_upload_name("../../etc/passwd") == "passwd"
    assert stored_upload_name("C:\\exports\\deals.csv") == "deals.csv"
    assert stored_upload_name(None) == "upload.csv"
    assert stored_upload_name("") == "upload.csv"
    assert stored_upload_name("..") == stored_upload_name("?*") == "upload.csv"
