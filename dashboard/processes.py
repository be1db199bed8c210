"""The project's web server and Celery worker as child processes of a Python program.

The test suite (tests/plugins/servers.py) and the benchmarks (bench/harness.py) run the
shipped entry points this way, against the caller's database, Redis databases and Atoms
simulator; the demo (`rundemo`) serves with the same uvicorn arguments. Import it after
Django is set up: the children inherit the caller's settings.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from importlib import import_module
from pathlib import Path

import httpx
from django.conf import settings
from django.contrib.auth import login
from django.db import connection
from django.http import HttpRequest

ROOT = Path(__file__).resolve().parents[1]
# The children poll every second so a caller waits seconds, not minutes.
POLL_INTERVAL = 1
# A frozen simulator stalls every running campaign: pages say so after this long.
STALL_AFTER = 6
# A form waiting for Atoms is given back after this many seconds (15 in production): a
# test of it waits seconds, not a quarter of a minute.
BUSY_RELEASE = 5
# The shipped ASGI application: Django for the pages and the live stream for /live/.
ASGI_APP = "dashboard.asgi:application"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """The database this process is connected to (e.g. the one pytest-django made)."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def process_env(simulator, **extra: str) -> dict[str, str]:
    """This process's environment, pointed at its database, Redis and the simulator."""
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "SMALLEST_BASE_URL": simulator.base_url,
        "SMALLEST_API_KEY": simulator.api_key,
        "POLL_INTERVAL_SECONDS": str(POLL_INTERVAL),
        "STALL_AFTER_SECONDS": str(STALL_AFTER),
        "ALERT_INTERVAL_SECONDS": "2",
        "SSE_HEARTBEAT_SECONDS": "2",
        "BUSY_RELEASE_SECONDS": str(BUSY_RELEASE),
        # The list sync mirrors every campaign Atoms holds, the simulator's seeded ones
        # too, at a moment no test chooses (a test that found no campaign made failed when
        # a worker's sync landed inside it): children leave it to whoever calls it, once a
        # day at most. A benchmark that wants it sets its own interval.
        "SYNC_INTERVAL_SECONDS": "86400",
        # Tests and benchmarks stand for many viewers with one person; the cap itself is
        # tested with a server of its own (test_live_stream_security.py).
        "LIVE_STREAMS_PER_PERSON": "10000",
        "SECRET_KEY": settings.SECRET_KEY,
        "HTTPS": "0",
        "DEBUG": "0",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


class Process:
    """One child process whose output goes to a temporary log file, read back on failure.

    `stop` removes the log and the child's `scratch` folder (each run of the suite started
    dozens of children and left their files in /tmp); what the child wrote stays readable
    through `output`.
    """

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: Path = ROOT,
                 scratch: Path | None = None):
        self.name = name
        self.scratch = scratch
        self._final_output: str | None = None
        # Kept open for the child's life and read back on failure, so no `with` block.
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix=f"{name}-", suffix=".log", delete=False)
        # PostgreSQL names each session by this: which child, started by which process.
        env = {"PGAPPNAME": f"{name}-{os.getpid()}", **env}
        self.popen = subprocess.Popen(argv, cwd=cwd, env=env, stdout=self.log,
                                      stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self, tail: int = 4000) -> str:
        if self._final_output is not None:
            return self._final_output[-tail:]
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
        if self._final_output is None:
            self._final_output = Path(self.log.name).read_text(errors="replace")
            self.log.close()
            Path(self.log.name).unlink(missing_ok=True)
            if self.scratch is not None:
                shutil.rmtree(self.scratch, ignore_errors=True)


class WebServer:
    def __init__(self, url: str, process: Process):
        self.url = url
        self.process = process

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        self.process.stop()


def uvicorn_argv(host: str, port: int) -> list[str]:
    """uvicorn serving the project with no proxy in front (the demo, the tests): nobody's
    X-Forwarded-For is believed. uvicorn believes it from 127.0.0.1 by default, so anyone
    on the machine chose the address that sign-in throttling counts (seen: a forged address
    signed in while the real one was locked out). Behind a proxy, see README, Production."""
    return [sys.executable, "-m", "uvicorn", ASGI_APP, "--host", host, "--port", str(port),
            "--no-access-log", "--no-proxy-headers"]


def start_web_server(simulator, *, extra_args=(), checkout: Path = ROOT,
                     **env: str) -> WebServer:
    """uvicorn serving the project (ASGI, so the live stream works) on a free port; from
    another `checkout` of it for a benchmark's before-and-after (same database schema)."""
    port = free_port()
    process = Process("uvicorn", [
        *uvicorn_argv("127.0.0.1", port), "--log-level", "warning", *extra_args,
    ], process_env(simulator, **env), cwd=checkout)
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            # 301: with HTTPS=1 plain http is redirected, which says it is up as well.
            return httpx.get(f"{url}/accounts/login/", timeout=5).status_code in (200, 301)
        except httpx.HTTPError:
            return False

    # A few seconds on a quiet machine. With the test suite's four workers, two browsers
    # and their servers on two cores, one start took over 30 s in CI (a page's first
    # answer, asked for with a 1 s timeout, may take longer than that): every test of
    # that worker needing a web server then failed at its set-up.
    process.wait_until(ready, timeout=90)
    return WebServer(url, process)


def start_worker(simulator, *, beat: bool = True, concurrency: int = 4, **env: str) -> Process:
    """A real Celery worker (threads pool), with its beat unless `beat=False`."""
    argv = [sys.executable, "-m", "celery", "-A", "dashboard", "worker", "--loglevel", "INFO",
            "--pool", "threads", "--concurrency", str(concurrency), "--without-gossip",
            "--without-mingle", "--hostname", f"test-{free_port()}@%h",
            # Tasks queued by an earlier run refer to rows that no longer exist.
            "--purge"]
    scratch = None
    if beat:
        scratch = Path(tempfile.mkdtemp(prefix="celery-beat-"))
        argv += ["--beat", "--schedule", str(scratch / "beat-schedule")]
    process = Process("celery", argv, process_env(simulator, **env), scratch=scratch)
    # As long as a web server's start (above): in CI one took over 40 s under the suite.
    process.wait_until(lambda: " ready." in process.output(tail=10**6), timeout=90)
    return process


def session_cookie(user) -> dict[str, str]:
    """Sign `user` in (Django's own login) and return the cookie a browser would send,
    for an HTTP client talking to a child web server."""
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    # The backend a real sign-in records: the last one authenticates, axes only counts.
    login(request, user, backend=settings.AUTHENTICATION_BACKENDS[-1])
    request.session.save()
    return {settings.SESSION_COOKIE_NAME: request.session.session_key}
