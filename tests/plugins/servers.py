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


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, simulator_process):
    """A real Celery worker with its beat, polling every second, for this test module."""
    worker = start_worker(simulator_process)
    yield worker
    worker.stop()
