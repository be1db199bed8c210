"""Small readers for settings taken from the environment.

Each one fails at start-up with an ImproperlyConfigured that names the variable and says
what a good value looks like, because a typo in a deployment should stop the process, not
surface an hour later as a puzzling behaviour.
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    # An empty value counts as unset, so a copied .env.example with blanks keeps defaults.
    value = os.environ.get(name) or None
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"{name} is required; see .env.example")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be a whole number between {minimum} and {maximum}, got {raw!r}"
        ) from None
    if not minimum <= value <= maximum:
        raise ImproperlyConfigured(
            f"{name} must be between {minimum} and {maximum}, got {value}"
        )
    return value


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_url(name: str, default: str, *, schemes: tuple[str, ...]) -> str:
    value = env_str(name, default).strip()
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise ImproperlyConfigured(
            f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)},"
            f" got {value!r}"
        )
    return value


def _redacted(url: str) -> str:
    """The URL with any password replaced, so error messages never print a secret."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def env_database(name: str, default: str, *, base_dir: Path) -> dict:
    """Turn DATABASE_URL into Django's DATABASES entry.

    Two forms are understood: ``sqlite:///relative/or/absolute/path.sqlite3`` and
    ``postgres://user:password@host:port/name`` (``postgresql://`` too).
    """
    raw = env_str(name, default).strip()
    parts = urlsplit(raw)
    shown = _redacted(raw)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        # sqlite:///db.sqlite3 is relative to the project; sqlite:////abs/path is absolute.
        path = path[1:] if path.startswith("/") else path
        if not path:
            raise ImproperlyConfigured(f"{name} names no SQLite file: {shown!r}")
        file = Path(path) if Path(path).is_absolute() else base_dir / path
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": file,
            # A web process and a worker write at once in the demo: WAL lets readers go on
            # while one writes, and IMMEDIATE + a timeout queue writers instead of failing
            # with "database is locked".
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    if parts.scheme in ("postgres", "postgresql"):
        name_part = unquote(parts.path.lstrip("/"))
        if not name_part:
            raise ImproperlyConfigured(f"{name} names no database: {shown!r}")
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured(f"{name} has a bad port: {shown!r}") from None
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name_part,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
            # Under ASGI each thread gets its own connection; persistent ones would leak.
            "CONN_MAX_AGE": 0,
        }
    raise ImproperlyConfigured(
        f"{name} must start with sqlite:/// or postgres://, got {shown!r}"
    )
