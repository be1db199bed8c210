"""A bare `pytest tests/x.py`, without make's variables, stops at once and says what to set."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAKE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY")


def bare_pytest(*unset: str) -> tuple[subprocess.CompletedProcess, float]:
    env = {key: value for key, value in os.environ.items() if key not in unset}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/test_roles.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    return result, time.monotonic() - started


def test_without_makes_variables_pytest_exits_2_naming_them_and_make():
    result, took = bare_pytest(*MAKE_VARIABLES)
    assert result.returncode == 2, result.stdout + result.stderr
    for name in MAKE_VARIABLES:
        assert name in result.stderr
    assert 'make test PYTEST_ARGS="tests/test_roles.py -x"' in result.stderr
    assert "passed" not in result.stdout and "Traceback" not in result.stderr
    assert took < 20  # at once: no database is created, no test is collected


@pytest.mark.parametrize("name", MAKE_VARIABLES)
def test_one_missing_variable_is_named_alone(name):
    result, _took = bare_pytest(name)
    assert result.returncode == 2
    assert f"needs {name} set" in result.stderr
