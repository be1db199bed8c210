"""Settings for the test suite and the processes it starts: production's, with a fast hasher
and a pair of Redis databases per test worker.

PBKDF2 is slow on purpose; hashing three users' passwords per test was most of the suite's
time. MD5 keeps every code path (hashing, checking, sign-in) while costing microseconds.
"""

import os
import sys
from urllib.parse import urlsplit, urlunsplit

# What `make test` sets. Without them a bare `pytest tests/x.py` would fall back to the
# demo's SQLite and Redis databases (or fail deep in an import), so stop before anything
# runs and say what to do. pytest-django imports this module first, before any conftest.
REQUIRED = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY")
MISSING = [name for name in REQUIRED if not os.environ.get(name)]
if MISSING:
    sys.stderr.write(
        f"The test suite needs {', '.join(MISSING)} set (it never uses the demo's databases).\n"
        "Run it through make, which sets them all, e.g.:\n"
        '  make test PYTEST_ARGS="tests/test_roles.py -x"\n'
        "or set DATABASE_URL (PostgreSQL), REDIS_URL and CELERY_BROKER_URL (two Redis "
        "databases of their own, not /0) and SECRET_KEY yourself.\n")
    raise SystemExit(2)


def _redis_db(url: str) -> int:
    return int(urlsplit(url).path.strip("/") or 0)


def _give_each_worker_its_redis() -> None:
    """pytest-xdist worker gwN takes the cache and broker databases 2N below the given
    ones, so every worker has both to itself: each test flushes its cache, and a shared
    broker would hand one worker's tasks to another's Celery worker. PostgreSQL needs
    nothing: pytest-django already names a test database per worker."""
    index = int(os.environ["PYTEST_XDIST_WORKER"].removeprefix("gw"))
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", index + 1))
    cache, broker = _redis_db(os.environ["REDIS_URL"]), _redis_db(os.environ["CELERY_BROKER_URL"])
    every_worker = {db - 2 * k for db in (cache, broker) for k in range(count)}
    if min(every_worker) < 1 or len(every_worker) < 2 * count:
        sys.stderr.write(f"{count} test workers need 2 Redis databases each below /{cache} "
                         f"and /{broker}, none of them /0: give REDIS_URL and "
                         "CELERY_BROKER_URL higher databases (make test uses /15 and /14) "
                         "or run fewer workers (-n).\n")
        raise SystemExit(2)
    for name, db in (("REDIS_URL", cache), ("CELERY_BROKER_URL", broker)):
        parts = urlsplit(os.environ[name])
        os.environ[name] = urlunsplit(parts._replace(path=f"/{db - 2 * index}"))


# The web servers and Celery workers a test starts load these settings too, with the
# worker's variables already moved: move them once.
if os.environ.get("PYTEST_XDIST_WORKER", "") != os.environ.get("TEST_REDIS_MOVED_FOR", ""):
    _give_each_worker_its_redis()
    os.environ["TEST_REDIS_MOVED_FOR"] = os.environ["PYTEST_XDIST_WORKER"]

# Atoms is the test simulator, which tests point Django at (the `atoms_settings` fixture)
# and pass to the processes they start. The product's default is the demo simulator's
# port: a test that forgot the fixture passed while a demo ran and failed when none did.
# Nothing listens on port 9, so such a test fails every time.
os.environ.setdefault("SMALLEST_BASE_URL", "http://127.0.0.1:9/atoms/v1")

from dashboard.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# See tests/static_files.py: the test client loads the middleware once per test. First of
# all, the count of requests being answered that browser tests wait on
# (tests/requests_answering.py).
MIDDLEWARE = ["tests.requests_answering.CountingRequests"] + [  # noqa: F405
    "tests.static_files.WhiteNoiseLookingUpOnce"
    if name == "whitenoise.middleware.WhiteNoiseMiddleware" else name
    for name in MIDDLEWARE  # noqa: F405
]
