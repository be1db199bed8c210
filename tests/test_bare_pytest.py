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


def settings_seen_by_worker(worker: str, count: int, cache_db: int, broker_db: int):
    """What tests/settings.py makes of the Redis URLs in pytest-xdist worker `worker`."""
    env = {**os.environ, "PYTEST_XDIST_WORKER": worker, "TEST_REDIS_MOVED_FOR": "",
           "PYTEST_XDIST_WORKER_COUNT": str(count),
           "REDIS_URL": f"redis://127.0.0.1:6379/{cache_db}",
           "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{broker_db}"}
    return subprocess.run(
        [sys.executable, "-c", "import tests.settings as s; print(s.REDIS_URL, "
                               "s.CELERY_BROKER_URL, s.CACHES['default']['LOCATION'])"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_each_test_worker_has_its_own_cache_and_broker_databases():
    seen = {worker: settings_seen_by_worker(worker, 4, 15, 14).stdout.split()
            for worker in ("gw0", "gw1", "gw3")}
    assert seen == {
        "gw0": ["redis://127.0.0.1:6379/15", "redis://127.0.0.1:6379/14",
                "redis://127.0.0.1:6379/15"],
        "gw1": ["redis://127.0.0.1:6379/13", "redis://127.0.0.1:6379/12",
                "redis://127.0.0.1:6379/13"],
        "gw3": ["redis://127.0.0.1:6379/9", "redis://127.0.0.1:6379/8",
                "redis://127.0.0.1:6379/9"],
    }


@pytest.mark.parametrize(("cache_db", "broker_db"), [(3, 4), (15, 13)])
def test_workers_that_would_share_or_reach_database_0_are_refused(cache_db, broker_db):
    # 4 workers below /3 reach /0; /15 and /13 overlap (gw1's cache is gw0's broker).
    result = settings_seen_by_worker("gw0", 4, cache_db, broker_db)
    assert result.returncode == 2
    assert "4 test workers need 2 Redis databases each" in result.stderr
