"""Typed readers for configuration from the environment.

Every reader raises :class:`ConfigError` naming the variable, so a bad deployment
fails at start with a message that says what to fix.
"""

from __future__ import annotations

import os
import re
import zoneinfo
from collections.abc import Mapping
from pathlib import Path


class ConfigError(Exception):
    """A configuration variable is missing or malformed."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool, environ: Mapping[str, str] = os.environ) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(name, f"expected one of true/false/1/0/yes/no, got {raw!r}")


def env_str(name: str, default: str, environ: Mapping[str, str] = os.environ) -> str:
    return environ.get(name, default).strip() or default


def env_list(name: str, default: list[str], environ: Mapping[str, str] = os.environ) -> list[str]:
    raw = environ.get(name)
    if raw is None:
        return list(default)
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if not items:
        raise ConfigError(name, "expected a comma-separated list, got nothing")
    return items


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    environ: Mapping[str, str] = os.environ,
) -> int:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(name, f"expected a whole number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigError(name, f"must be at least {minimum}, got {value}")
    return value


def env_time_zone(name: str, default: str, environ: Mapping[str, str] = os.environ) -> str:
    value = env_str(name, default, environ)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(name, f"unknown time zone {value!r} (use an IANA name)") from None
    return value


_CURRENCY = re.compile(r"^[A-Z]{3}$")


def env_currency(name: str, default: str, environ: Mapping[str, str] = os.environ) -> str:
    value = env_str(name, default, environ).upper()
    if not _CURRENCY.match(value):
        raise ConfigError(name, f"expected an ISO 4217 code such as USD or EUR, got {value!r}")
    return value


_DATABASE_SCHEMES = ("sqlite", "postgres", "postgresql", "pgsql")


def env_database_url(name: str, default: str, environ: Mapping[str, str] = os.environ) -> str:
    value = env_str(name, default, environ)
    scheme = value.split(":", 1)[0].lower()
    if "://" not in value or scheme not in _DATABASE_SCHEMES:
        raise ConfigError(
            name,
            "expected sqlite:///path/to/file.sqlite3 or "
            f"postgres://user:password@host:port/dbname, got {value!r}",
        )
    return value


def source_checkout(package: Path) -> Path | None:
    """The source checkout the package runs from, or None when it is installed."""
    root = package.parent
    if (root / "pyproject.toml").is_file() and (root / "manage.py").is_file():
        return root
    return None


def data_dir(
    name: str, environ: Mapping[str, str] = os.environ, *, checkout: Path | None = None
) -> Path:
    """The folder for the embedded database, the generated secret key and uploads.

    Unless set: ``var/`` in the source checkout the app runs from (so ``make demo`` and
    ``.venv/bin/stagecoach …`` use the same database, from whatever folder), else
    ``$XDG_DATA_HOME/stagecoach`` for an installed package.
    """
    raw = environ.get(name)
    if raw and raw.strip():
        path = Path(raw.strip()).expanduser()
    elif checkout is not None:
        path = checkout / "var"
    else:
        base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        path = Path(base) / "stagecoach"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(name, f"cannot create data folder {path}: {exc.strerror}") from None
    return path.resolve()


def secret_key(
    name: str,
    *,
    folder: Path,
    environ: Mapping[str, str] = os.environ,
) -> tuple[str, bool]:
    """The key from the environment, or one generated once and kept in the data folder.

    Returns the key and whether it was generated. A generated key is for local use
    only: several app servers behind a proxy would each generate their own and break
    every session, so ``stagecoach serve`` refuses one when DEBUG is off (see
    :func:`require_secret_key`).
    """
    raw = environ.get(name, "").strip()
    if raw:
        if len(raw) < 32:
            raise ConfigError(name, "must be at least 32 characters long")
        return raw, False
    key_file = folder / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip(), True
    import secrets

    key = secrets.token_urlsafe(50)
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)
    return key, True


def require_secret_key(name: str, *, generated: bool, debug: bool) -> None:
    """Refuse to serve with a generated key when DEBUG is off."""
    if generated and not debug:
        raise ConfigError(
            name,
            "must be set when DEBUG is off, for example: "
            "SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')",
        )
