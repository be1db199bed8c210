"""Fixtures shared by the whole suite: users of each role, and the real services."""

import gc
import threading
import time
import warnings

import pytest
import redis
from django.conf import settings
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction
from django.test import TransactionTestCase

from campaigns.accounts import ensure_user
from campaigns.connections import redis_client
from tests.campaign_factory import make_campaign

pytest_plugins = ["tests.plugins.simulator", "tests.plugins.servers"]

PASSWORD = "correct-horse-battery-staple"


def pytest_configure(config):
    # The suite is written for the production database; SQLite would hide real behaviour
    # (locking, transactions), so refuse it rather than pass for the wrong reasons.
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.exit("Run the suite with `make test` (it points DATABASE_URL at PostgreSQL).", 2)
    # Each test starts with an empty cache database, so it must not be the demo's or the
    # broker's (flushing those would lose data or queued tasks).
    if _redis_db(settings.REDIS_URL) in (0, _redis_db(settings.CELERY_BROKER_URL)):
        pytest.exit("REDIS_URL must name a database of its own for the tests (make test "
                    "uses /15, and /14 for the broker).", 2)


# Browser tests run on this many test workers: each such worker starts one Chromium and one
# web server for all of its browser files, and no more browsers than this fight over a
# small machine's cores and the pages' timings.
BROWSER_WORKERS = 2


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`make test` runs the suite on several workers (pytest-xdist). A module's tests stay
    on one worker, so its module fixtures (a Celery worker, a web server) start once, and
    the browser files are dealt to `BROWSER_WORKERS` groups. (xdist's own `loadgroup`
    cannot do this on pytest 9.2: it relies on rewriting node ids, which no longer works,
    pytest-dev/pytest-xdist#1386.)"""
    from xdist.scheduler import LoadScopeScheduling

    class ByModuleBrowsersTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            if not module.startswith("tests/browser/"):
                return module
            browser_files = sorted({n.split("::", 1)[0] for n in self.collection
                                    if n.startswith("tests/browser/")})
            return f"browser-{browser_files.index(module) % BROWSER_WORKERS}"

    return ByModuleBrowsersTogether(config, log)


# Transactional tests (those of real servers) empty the database after each test. Django's
# flush TRUNCATEs every table and then re-creates content types, permissions and the role
# groups (post_migrate): 280 ms a test on a quiet machine, most of a short test's time. Here
# the tables migrations fill (below) are kept, and the rest are locked and emptied with
# DELETE in one transaction (about 1 ms on tables a test leaves nearly empty; the foreign
# keys Django makes on PostgreSQL are deferred, so the order does not matter). No test
# changes the kept tables; should one ever, Django's flush restores them (each teardown
# compares them with the migrated database's in the same transaction).
KEPT_TABLES = ("django_migrations", "django_content_type", "auth_permission", "auth_group",
               "auth_group_permissions")
_KEPT_FINGERPRINT = ("SELECT (SELECT count(*) FROM django_migrations),"
                     " (SELECT count(*) FROM django_content_type),"
                     " (SELECT count(*) FROM auth_permission),"
                     " (SELECT string_agg(name, ',' ORDER BY name) FROM auth_group),"
                     " (SELECT count(*) FROM auth_group_permissions)")
_migrated_fingerprint: dict[str, tuple] = {}

# A module's Celery worker keeps polling meanwhile; when the worker's write transaction holds
# one row or table and waits on another, PostgreSQL may end ours as the deadlock victim (seen
# once in CI). Production never empties tables: the teardown tries again once the worker's
# transaction is over.
_flush = TransactionTestCase._fixture_teardown


def _empty_all_but_the_kept_tables(alias: str) -> bool:
    """Empty the database `alias` but for KEPT_TABLES; False (nothing done) when the kept
    tables differ from the migrated database's, or the database is not PostgreSQL."""
    wrapper = connections[alias]
    if wrapper.vendor != "postgresql" or alias not in _migrated_fingerprint:
        return False
    quote = wrapper.ops.quote_name
    tables = [table for table in wrapper.introspection.django_table_names(
        only_existing=True, include_views=False) if table not in KEPT_TABLES]
    with transaction.atomic(using=alias), wrapper.cursor() as cursor:
        cursor.execute(_KEPT_FINGERPRINT)
        if cursor.fetchone() != _migrated_fingerprint[alias]:
            return False
        # Locked first, as TRUNCATE locks them: the module's Celery worker, still polling,
        # could otherwise add a snapshot of a campaign between our DELETE of snapshots and
        # that of campaigns, and our commit then failed its foreign key (seen in CI).
        # Names from Django's own introspection, quoted: no input reaches this SQL.
        names = ", ".join(quote(table) for table in tables)
        deletes = ";".join(f"DELETE FROM {quote(table)}" for table in tables)  # noqa: S608
        cursor.execute(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE;{deletes}")
    return True


def _empty_the_database(self) -> None:
    aliases = self._databases_names(include_mirrors=False)
    if not all([_empty_all_but_the_kept_tables(alias) for alias in aliases]):
        _flush(self)


def _fixture_teardown_despite_a_deadlock(self, attempts: int = 3):
    # A test of a lost database session (pg_terminate_backend) that fails before its own
    # clean-up would leave this worker's connection ended, and Django reconnects only after
    # close(): every later test of the worker then failed with "the connection is closed"
    # (seen in CI, 20 errors after one failure).
    for alias in connections:
        wrapper = connections[alias]
        if wrapper.connection is not None and not wrapper.is_usable():
            wrapper.close()
    for attempt in range(1, attempts + 1):
        try:
            return _empty_the_database(self)
        except (CommandError, DatabaseError) as error:
            if attempt == attempts or "deadlock detected" not in f"{error} {error.__cause__}":
                raise
            time.sleep(0.2)


TransactionTestCase._fixture_teardown = _fixture_teardown_despite_a_deadlock


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's, plus the fingerprint of the tables the teardowns keep (see
    KEPT_TABLES) as migrated, and a check at the end, before it drops the test database, which
    fails while any session is attached ("is being accessed by other users", seen as a
    teardown warning in three of seven runs). Two kinds can be left: the stopped uvicorn
    and Celery processes' (whose fixtures need this one, so they stop first), which
    PostgreSQL ends a moment after they exit; and this process's own, opened by test code
    in another thread or context. A finished thread's Django connection stays open until
    the garbage collector finalises it (reproduced: a thread's query inside a rolled-back
    atomic block leaves an "idle after ROLLBACK" session, gone after gc.collect()). Django
    keeps connections per context (asgiref's Local), and two holders of an old context
    were found with gc.get_referrers: a log record kept by pytest's capture, whose
    exception's traceback held a request's frames (fixed: records keep text, see
    dashboard/logs.py); and, with `-n 2` and browser tests, a Context no Python object
    refers to, so held from C (a thread's or greenlet's entered context), not found
    further. Anything still attached after a few seconds is ended, and named in a
    warning with this process's threads."""
    with django_db_blocker.unblock():
        for alias in connections:
            if connections[alias].vendor == "postgresql":
                with connections[alias].cursor() as cursor:
                    cursor.execute(_KEPT_FINGERPRINT)
                    _migrated_fingerprint[alias] = cursor.fetchone()
    yield
    gc.collect()
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        others = ("FROM pg_stat_activity WHERE datname = current_database() "
                  "AND pid <> pg_backend_pid()")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            cursor.execute(f"SELECT count(*) {others}")
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.1)
        cursor.execute(f"SELECT application_name, client_port, state, backend_start, "
                       f"left(query, 120), pg_terminate_backend(pid) {others}")
        # No application name: this process's own (children set PGAPPNAME); its threads
        # then say which code may hold it.
        warnings.warn(f"Sessions still attached to the test database were ended before "
                      f"dropping it: {cursor.fetchall()}; this process's threads: "
                      f"{[thread.name for thread in threading.enumerate()]}", stacklevel=1)


def _redis_db(url: str) -> int:
    return redis.Redis.from_url(url).connection_pool.connection_kwargs.get("db", 0)


@pytest.fixture(autouse=True)
def empty_cache():
    """Cached pickers, fragments and budgets from one test must not leak into the next."""
    redis_client().flushdb()


@pytest.fixture
def staff_user(db):
    return ensure_user("sam-staff", "staff", PASSWORD)


@pytest.fixture
def manager_user(db):
    return ensure_user("mia-manager", "manager", PASSWORD)


@pytest.fixture
def admin_user(db):
    return ensure_user("ada-admin", "admin", PASSWORD)


@pytest.fixture
def users(staff_user, manager_user, admin_user):
    return {"staff": staff_user, "manager": manager_user, "admin": admin_user}


@pytest.fixture
def login_as(client, users):
    """`login_as("staff")` signs the test client in with that role and returns it."""

    def sign_in(role: str):
        client.force_login(users[role])
        return client

    return sign_in


@pytest.fixture
def staff(login_as, sim, atoms_settings):
    """A staff member's test client, with the dashboard talking to the simulator."""
    return login_as("staff")


@pytest.fixture
def running(sim, atoms_settings, users):
    """A campaign Atoms is dialling: 50 contacts, created and started by staff."""
    return make_campaign(sim, users["staff"], "running", audience_size=50)


@pytest.fixture
def parts(atoms):
    """Ids of an active agent, the two-contact audience and an active phone number, read
    through the `atoms` client fixture of the module that asks for them."""
    agent = next(a for a in atoms.all_agents() if a.name == "Renewals Assistant")
    audience = next(a for a in atoms.list_audiences() if a.name == "Pilot testers")
    phone = next(p for p in atoms.list_phone_numbers() if p.is_active)
    return {"agent_id": agent.id, "audience_id": audience.id, "phone_number_ids": [phone.id]}
