"""Settings for the test suite and the processes it starts: production's, with a fast hasher.

PBKDF2 is slow on purpose; hashing three users' passwords per test was most of the suite's
time. MD5 keeps every code path (hashing, checking, sign-in) while costing microseconds.
"""

import os
import sys

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

from dashboard.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
