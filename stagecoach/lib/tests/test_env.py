from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stagecoach.lib import env


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("no", False),
        ("", False),
    ],
)
def test_bool_accepts_the_usual_spellings(raw: str, expected: bool) -> None:
    assert env.env_bool("DEBUG", not expected, {"DEBUG": raw}) is expected


def test_bool_default_when_unset() -> None:
    assert env.env_bool("DEBUG", True, {}) is True


@pytest.mark.parametrize(
    ("reader", "name", "raw"),
    [
        (lambda e: env.env_bool("DEBUG", False, e), "DEBUG", "maybe"),
        (lambda e: env.env_int("CONN_MAX_AGE", 0, minimum=0, environ=e), "CONN_MAX_AGE", "ten"),
        (lambda e: env.env_int("CONN_MAX_AGE", 0, minimum=0, environ=e), "CONN_MAX_AGE", "-1"),
        (lambda e: env.env_time_zone("TIME_ZONE", "UTC", e), "TIME_ZONE", "Mars/Olympus"),
        (
            lambda e: env.env_currency("STAGECOACH_CURRENCY", "USD", e),
            "STAGECOACH_CURRENCY",
            "dollars",
        ),
        (
            lambda e: env.env_database_url("DATABASE_URL", "sqlite:///x", e),
            "DATABASE_URL",
            "mysql://x/y",
        ),
        (
            lambda e: env.env_database_url("DATABASE_URL", "sqlite:///x", e),
            "DATABASE_URL",
            "not a url",
        ),
        (lambda e: env.env_list("ALLOWED_HOSTS", ["a"], e), "ALLOWED_HOSTS", " , "),
    ],
)
def test_a_bad_value_names_its_variable(reader, name: str, raw: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(env.ConfigError) as caught:
        reader({name: raw})
    assert str(caught.value).startswith(f"{name}: ")


def test_currency_is_normalised() -> None:
    assert env.env_currency("C", "USD", {"C": " eur "}) == "EUR"


def test_list_splits_and_trims() -> None:
    assert env.env_list("H", [], {"H": "a.example, b.example ,"}) == ["a.example", "b.example"]


def test_secret_key_is_generated_once_for_local_use(tmp_path: Path) -> None:
    first, generated = env.secret_key("SECRET_KEY", folder=tmp_path, environ={})
    second, _ = env.secret_key("SECRET_KEY", folder=tmp_path, environ={})
    assert generated
    assert first == second
    assert len(first) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_secret_key_from_the_environment(tmp_path: Path) -> None:
    key, generated = env.secret_key("SECRET_KEY", folder=tmp_path, environ={"SECRET_KEY": "k" * 40})
    assert (key, generated) == ("k" * 40, False)
    assert not (tmp_path / "secret_key").exists()


def test_a_generated_key_is_refused_for_serving_when_debug_is_off() -> None:
    with pytest.raises(env.ConfigError, match=r"^SECRET_KEY: must be set when DEBUG is off"):
        env.require_secret_key("SECRET_KEY", generated=True, debug=False)
    env.require_secret_key("SECRET_KEY", generated=True, debug=True)
    env.require_secret_key("SECRET_KEY", generated=False, debug=False)


def test_short_secret_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(env.ConfigError, match=r"^SECRET_KEY: must be at least 32"):
        env.secret_key("SECRET_KEY", folder=tmp_path, environ={"SECRET_KEY": "short"})


def test_data_dir_is_created(tmp_path: Path) -> None:
    folder = tmp_path / "deep" / "data"
    assert env.data_dir("STAGECOACH_DATA_DIR", {"STAGECOACH_DATA_DIR": str(folder)}) == folder
    assert folder.is_dir()


def test_data_dir_defaults_to_var_in_a_source_checkout(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "stagecoach").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text("[project]\nname = 'stagecoach'\n")
    (checkout / "manage.py").write_text("")
    assert env.source_checkout(checkout / "stagecoach") == checkout
    environ = {"XDG_DATA_HOME": str(tmp_path / "xdg")}
    assert env.data_dir("STAGECOACH_DATA_DIR", environ, checkout=checkout) == checkout / "var"
    # Set explicitly, the variable wins, checkout or not.
    chosen = tmp_path / "chosen"
    environ["STAGECOACH_DATA_DIR"] = str(chosen)
    assert env.data_dir("STAGECOACH_DATA_DIR", environ, checkout=checkout) == chosen


def test_data_dir_of_an_installed_package_is_under_xdg_data_home(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    (site / "stagecoach").mkdir(parents=True)
    assert env.source_checkout(site / "stagecoach") is None
    environ = {"XDG_DATA_HOME": str(tmp_path / "xdg")}
    expected = tmp_path / "xdg" / "stagecoach"
    assert env.data_dir("STAGECOACH_DATA_DIR", environ, checkout=None) == expected


def test_every_way_of_starting_uses_the_checkouts_database(tmp_path: Path) -> None:
    """`make demo` and README's `.venv/bin/stagecoach …` agree, from any folder."""
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("STAGECOACH_DATA_DIR", "DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    environ["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    done = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.DATA_DIR)"],
        env={**environ, "DJANGO_SETTINGS_MODULE": "stagecoach.settings"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    checkout = Path(__file__).resolve().parents[3]
    assert Path(done.stdout.strip()) == checkout / "var"
    makefile = (checkout / "Makefile").read_text()
    assert "export STAGECOACH_DATA_DIR" not in makefile, "make must not choose another folder"


def test_the_app_refuses_to_start_with_a_bad_setting(tmp_path: Path) -> None:
    """End to end: the console script prints the variable's name and exits non-zero."""
    environ = {
        **os.environ,
        "STAGECOACH_DATA_DIR": str(tmp_path),
        "TIME_ZONE": "Atlantis/Capital",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "stagecoach.cli", "check"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "TIME_ZONE: unknown time zone 'Atlantis/Capital'" in done.stderr
