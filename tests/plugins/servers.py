"""Real processes for integration and browser tests: uvicorn and a Celery worker with beat.

Both run the project's own code against the test database (the one pytest-django made),
the suite's Redis database and the simulator, exactly as production runs them. Tests that
use them must commit their data: mark them `django_db(transaction=True)`.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
# The worker polls every second in tests so a test waits seconds, not minutes.
TEST_POLL_INTERVAL = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def process_env(simulator, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "SMALLEST_BASE_URL": simulator.base_url,
        "SMALLEST_API_KEY": simulator.api_key,
        "POLL_INTERVAL_SECONDS": str(TEST_POLL_INTERVAL),
        "SSE_HEARTBEAT_SECONDS": "2",
        "SECRET_KEY": settings.SECRET_KEY,
        "HTTPS": "0",
        "DEBUG": "0",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


class Process:
    def __init__(self, name: str, argv: list[str], env: dict[str, str]):
        self.name = name
        # Kept open for the child's life and read back on failure, so no `with` block.
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix=f"{name}-", suffix=".log", delete=False)
        self.popen = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self.log,
                                      stderr=subprocess.STDOUT)

    def output(self, tail: int = 4000) -> str:
        return Path(self.log.name).read_text(errors="replace")[-tail:]

    def wait_until(self, ready, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.output()}")
            if ready():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not become ready in {timeout} s:\n{self.output()}")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


class WebServer:
    def __init__(self, url: str, process: Process):
        self.url = url
        self.process = process


def start_web_server(simulator, **env: str) -> WebServer:
    port = free_port()
    process = Process("uvicorn", [
        sys.executable, "-m", "uvicorn", "dashboard.asgi:application", "--host", "127.0.0.1",
        "--port", str(port), "--no-access-log", "--log-level", "warning",
    ], process_env(simulator, **env))
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            # 301: with HTTPS=1 plain http is redirected, which says it is up as well.
            return httpx.get(f"{url}/accounts/login/", timeout=1).status_code in (200, 301)
        except httpx.HTTPError:
            return False

    process.wait_until(ready)
    return WebServer(url, process)


@pytest.fixture(scope="session")
def web_server(django_db_setup, simulator_process):
    """uvicorn serving the project (ASGI, so the live stream works) on a free port."""
    server = start_web_server(simulator_process)
    yield server
    server.process.stop()


def start_worker(simulator, *, beat: bool = True, concurrency: int = 4, **env: str) -> Process:
    argv = [sys.executable, "-m", "celery", "-A", "dashboard", "worker", "--loglevel", "INFO",
            "--pool", "threads", "--concurrency", str(concurrency), "--without-gossip",
            "--without-mingle", "--hostname", f"test-{free_port()}@%h",
            # Tasks queued by earlier tests refer to rows that no longer exist.
            "--purge"]
    if beat:
        schedule = Path(tempfile.mkdtemp()) / "beat-schedule"
        argv += ["--beat", "--schedule", str(schedule)]
    process = Process("celery", argv, process_env(simulator, **env))
    process.wait_until(lambda: " ready." in process.output(tail=10**6), timeout=40)
    return process


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, simulator_process):
    """A real Celery worker with its beat, polling every second, for this test module."""
    worker = start_worker(simulator_process)
    yield worker
    worker.stop()
