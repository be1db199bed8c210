"""Run the whole product in the foreground: simulator, web, Celery worker and beat.

`make run` calls this. Ctrl-C (or SIGTERM) stops every child cleanly. A child that exits
is started again (a worker killed mid-task took the whole demo down with it, web and
simulator included); one that keeps exiting stops them all, with its name said.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import redis
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from campaigns.tasks import sync_campaigns
from dashboard.processes import uvicorn_argv

# The demo's simulator keeps real time (every time it reports or compares agrees with the
# wall clock: a "Start at" a few minutes ahead is accepted and starts then), and only dials
# fast: calls and retry waits are this many times shorter, so a 15-minute retry delay
# shows in 30 s.
DEMO_DIAL_PACE = 30


def forget_live_cache() -> None:
    """Drop the live cache (fragments, fetch times) a demo run before this one left in
    Redis: its campaign numbers may belong to another database (a new clone, `make
    clean`), and a draft then read "Not live: last update 3822 s ago" from another
    campaign's time. All of it is rebuilt from the database as pages ask."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(match="live:*", count=500):
        client.delete(key)


class Supervisor:
    """Child processes kept running. One that exits is started again, unless it exited
    `restarts` times within `window` seconds: it cannot run here, and `check` says so
    instead of restarting it forever."""

    def __init__(self, env: dict[str, str], say, *, restarts: int = 3, window: float = 60.0):
        self.env, self.say = env, say
        self.restarts, self.window = restarts, window
        self.processes: dict[str, subprocess.Popen] = {}
        self._argv: dict[str, list[str]] = {}
        self._exits: dict[str, list[float]] = {}

    def start(self, name: str, argv: list[str]) -> subprocess.Popen:
        # Own process group: the terminal's Ctrl-C reaches only us, and we stop the
        # children in order instead of all dying at once mid-write.
        self._argv[name] = argv
        self.processes[name] = subprocess.Popen(argv, env=self.env, start_new_session=True)
        return self.processes[name]

    def check(self) -> bool:
        """Start again each child that exited; False when one keeps exiting."""
        now = time.monotonic()
        for name, process in list(self.processes.items()):
            if process.poll() is None:
                continue
            exits = [at for at in self._exits.get(name, []) if now - at < self.window]
            exits.append(now)
            self._exits[name] = exits
            if len(exits) >= self.restarts:
                self.say(f"{name} exited with code {process.returncode}, {len(exits)} times "
                         f"in {self.window:.0f} s; stopping the others.")
                return False
            self.say(f"{name} exited with code {process.returncode}; starting it again.")
            self.start(name, self._argv[name])
        return True

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 10
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()


class Command(BaseCommand):
    help = "Run simulator, web server (uvicorn), Celery worker and beat in one foreground command."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host, port, **options):
        self._check_redis()
        state_dir = Path(settings.BASE_DIR) / ".demo"
        state_dir.mkdir(exist_ok=True)
        call_command("migrate", verbosity=0)
        if settings.DEMO_MODE:
            call_command("demo_users")
        forget_live_cache()

        children = self.children(host, port, state_dir)
        self.stdout.write(self.style.SUCCESS(
            f"Dashboard on http://{host}:{port}/ — sign in as staff, manager or admin "
            f"(password in README). Ctrl-C stops everything."
        ))
        self._supervise(children)

    def children(self, host: str, port: int, state_dir: Path) -> list[tuple[str, list[str]]]:
        """Name and argv of each child. No secret on an argv, which `ps` shows to every
        local user: the key reaches the simulator through `child_env`."""
        python = sys.executable
        children = []
        if self._uses_simulator():
            sim = urlsplit(settings.SMALLEST_BASE_URL)
            children.append(("simulator", [
                python, "-m", "simulator", "--host", sim.hostname, "--port", str(sim.port),
                "--pace", str(DEMO_DIAL_PACE),
                "--state", str(state_dir / "simulator.json"),
            ]))
        children += [
            ("web", [*uvicorn_argv(host, port),
                     "--lifespan", "off", "--timeout-graceful-shutdown", "4"]),
            # WARNING: a line per poll tick every few seconds would bury what matters.
            ("worker", [python, "-m", "celery", "-A", "dashboard", "worker",
                        "--loglevel", "WARNING", "--concurrency", "2"]),
            # Exactly one beat: two would schedule every tick twice.
            ("beat", [python, "-m", "celery", "-A", "dashboard", "beat", "--loglevel", "WARNING",
                      "--schedule", str(state_dir / "celerybeat-schedule")]),
        ]
        return children

    @staticmethod
    def child_env() -> dict[str, str]:
        # The simulator reads its key from the environment (simulator/__main__.py); the
        # others read SMALLEST_API_KEY, already in ours.
        # WARNING unless asked: the worker's line per poll tick would bury what matters
        # (Celery logs through LOGGING, so its --loglevel does not apply).
        return {"LOG_LEVEL": "WARNING", **os.environ, "PYTHONUNBUFFERED": "1",
                "ATOMS_SIMULATOR_API_KEY": settings.SMALLEST_API_KEY}

    def _uses_simulator(self) -> bool:
        host = urlsplit(settings.SMALLEST_BASE_URL).hostname
        return host in ("127.0.0.1", "localhost")

    def _wait_for_simulator(self) -> None:
        root = settings.SMALLEST_BASE_URL.rsplit("/atoms/v1", 1)[0]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{root}/_sim/health", timeout=1).raise_for_status()
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise CommandError(f"The Atoms simulator did not start at {root}.")

    def _check_redis(self) -> None:
        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
        except redis.RedisError:
            raise CommandError(
                f"Redis is not reachable at {settings.REDIS_URL}; start it with: "
                "redis-server --daemonize yes"
            ) from None

    def _supervise(self, children: list[tuple[str, list[str]]]) -> None:
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        supervisor = Supervisor(self.child_env(), self.stderr.write)
        try:
            for name, argv in children:
                supervisor.start(name, argv)
                if name == "simulator":
                    self._wait_for_simulator()
            # Mirror what Atoms already has now, rather than at the first sync tick.
            sync_campaigns.delay()
            parent = os.getppid()
            while not stopping:
                if os.getppid() != parent:
                    # `make` (or whoever started us) is gone: do not leave orphans behind.
                    break
                if not supervisor.check():
                    break
                time.sleep(0.3)
        finally:
            supervisor.stop()
            self.stdout.write("Stopped.")
