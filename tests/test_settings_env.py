"""Settings come from the environment and a bad value stops start-up, naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_settings(**env: str) -> subprocess.CompletedProcess:
    """Import dashboard.settings in a fresh interpreter with exactly these variables."""
    base = {"PATH": os.environ["PATH"], "SECRET_KEY": "x" * 50}
    return subprocess.run(
        [sys.executable, "-c", "import dashboard.settings as s; print(s.POLL_INTERVAL_SECONDS,"
                               " s.DATABASES['default']['ENGINE'])"],
        cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize("value", ["soon", "0", "-5", "3.5"])
def test_a_bad_poll_interval_stops_start_up_naming_the_variable(value):
    result = load_settings(POLL_INTERVAL_SECONDS=value)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "POLL_INTERVAL_SECONDS" in result.stderr


@pytest.mark.parametrize("value", [
    "mysql://root@localhost/db", "postgres://u@h/", "not a url", "postgres://u@h:notaport/db",
])
def test_a_bad_database_url_stops_start_up_naming_the_variable(value):
    result = load_settings(DATABASE_URL=value)
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def test_a_database_url_password_never_appears_in_the_error():
    result = load_settings(DATABASE_URL="postgres://u:hunter2@h:badport/db")
    assert "DATABASE_URL" in result.stderr
    assert "hunter2" not in result.stderr


def test_good_values_are_read():
    result = load_settings(POLL_INTERVAL_SECONDS="7",
                           DATABASE_URL="postgres://u:p@127.0.0.1:5432/x")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["7", "django.db.backends.postgresql"]


def test_the_default_database_is_an_sqlite_file_in_the_project():
    result = load_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["5", "django.db.backends.sqlite3"]


def test_without_debug_a_secret_key_is_required():
    result = subprocess.run(
        [sys.executable, "-c", "import dashboard.settings"], cwd=ROOT,
        env={"PATH": os.environ["PATH"]}, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_every_variable_read_by_settings_is_listed_in_env_example():
    import re

    source = (ROOT / "dashboard" / "settings.py").read_text()
    read = set(re.findall(r'env_\w+\(\s*"([A-Z_]+)"', source))
    listed = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read, "found no env reads: the pattern is out of date"
    assert read <= listed, f"missing from .env.example: {sorted(read - listed)}"


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT,
                          env={"PATH": os.environ["PATH"], **env},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("mode", [{"DEMO_MODE": "1"}, {"DEBUG": "1"}])
def test_check_deploy_fails_on_the_development_key(mode):
    result = manage("check", "--deploy", **mode)
    assert result.returncode != 0
    assert "dashboard.E001" in result.stderr
    assert "SECRET_KEY is the development key" in result.stderr


def test_check_deploy_has_no_error_with_a_real_key():
    result = manage("check", "--deploy", SECRET_KEY="k" * 20 + "-Zx9!q2@w3#e4$r5%t6^y7&u8*i9(o0)p",
                    HTTPS="1")
    assert result.returncode == 0, result.stderr
    assert "dashboard.E001" not in result.stderr


def test_the_development_key_is_refused_for_any_other_host():
    result = load_settings(SECRET_KEY="", DEMO_MODE="1", ALLOWED_HOSTS="dash.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when ALLOWED_HOSTS" in result.stderr
