"""Real processes for integration and browser tests: uvicorn and a Celery worker with beat.

Both run the project's own code against the test database (the one pytest-django made),
the suite's Redis database and the simulator, exactly as production runs them; how they
are started is dashboard/processes.py, shared with the benchmarks. Tests that use them
must commit their data: mark them `django_db(transaction=True)`.
"""

import pytest

from dashboard.processes import start_web_server, start_worker


@pytest.fixture(scope="session")
def web_server(django_db_setup, simulator_process):
    """uvicorn serving the project (ASGI, so the live stream works) on a free port."""
    server = start_web_server(simulator_process)
    yield server
    server.stop()


# The test each test worker runs after the current one, while the current one's fixtures
# are torn down (pytest knows it then, fixtures are not told).
_next_test: list = [None]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    _next_test[0] = nextitem
    try:
        return (yield)
    finally:
        _next_test[0] = None


@pytest.fixture(scope="session")
def _worker_kept_for_the_next_module():
    kept: dict = {}
    yield kept
    if "worker" in kept:
        kept.pop("worker").stop()


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, simulator_process, _worker_kept_for_the_next_module):
    """A real Celery worker with its beat, polling every second, for this test module.

    A worker lives for one module: a module whose tests drive `poll.tick` by hand must not
    have a beat polling beside it. Starting one costs seconds on a loaded machine, so when
    the next module's first test asks for a worker too, this one is handed over to it
    rather than stopped and another started. Its beat's tasks all come round within
    seconds (the list sync is left out of test children, dashboard/processes.py), so to
    that test it is as good as a worker just started."""
    kept = _worker_kept_for_the_next_module
    worker = kept.pop("worker", None)
    if worker is None or worker.popen.poll() is not None:
        worker = start_worker(simulator_process)
    yield worker
    following = _next_test[0]  # a module's fixtures end where the next module begins
    if following is not None and "celery_worker" in following.fixturenames:
        kept["worker"] = worker
    else:
        worker.stop()
