"""Settings for the test suite and the processes it starts: production's, with a fast hasher.

PBKDF2 is slow on purpose; hashing three users' passwords per test was most of the suite's
time. MD5 keeps every code path (hashing, checking, sign-in) while costing microseconds.
"""

from dashboard.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
