"""What every benchmark shares: its own database and Redis databases, the child processes
(simulator, uvicorn, Celery workers), the campaigns they poll, and the results table.
The measuring helpers are in bench/measure.py.

The benchmarks run beside other people's test suites on the same PostgreSQL and Redis, so
they use a database and Redis database numbers of their own, cap their own number of
PostgreSQL connections, and clean all of it up afterwards.
"""

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench import measure
from bench.sse_swarm import Swarm

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "bench_dashboard"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
REDIS_URL = "redis://127.0.0.1:6379/9"
BROKER_URL = "redis://127.0.0.1:6379/8"
# The PostgreSQL server (max_connections 100) is shared with other engineers' test runs:
# however many connections the code under test tries to hold, ours never starve theirs.
DB_CONNECTION_LIMIT = 50
REDIS_PORT, POSTGRES_PORT = 6379, 5432
# A stand-in for the network between the dashboard and Atoms.
ATOMS_LATENCY_MS = 50
# High enough that the request budget is not what a benchmark measures (default is 50/s).
BENCH_MAX_RPS = 5000


class ServiceDown(RuntimeError):
    """PostgreSQL or Redis does not answer; the message says how to start it."""


def configure_environment() -> None:
    """Point Django at the benchmarks' own database and Redis databases.

    Runs before django.setup(), and overrides on purpose: `make bench` exports the test
    suite's DATABASE_URL and Redis databases, which the suite flushes between tests.
    """
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": BROKER_URL,
        "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789",
        "HTTPS": "0",
        "DEBUG": "0",
        "DEMO_MODE": "0",
        "LOG_LEVEL": "WARNING",
        "ATOMS_MAX_RPS": str(BENCH_MAX_RPS),
        # Never the default (127.0.0.1:8765 is where `make run` puts the demo's simulator,
        # which may be running): nothing answers here until start_simulator() repoints it.
        "SMALLEST_BASE_URL": "http://127.0.0.1:9/atoms/v1",
    })
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def check_services() -> None:
    import psycopg
    import redis

    problems = []
    try:
        psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=3).close()
    except psycopg.OperationalError as error:
        problems.append(f"PostgreSQL on 127.0.0.1:5432 does not answer ({error}).")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except (redis.RedisError, OSError) as error:
        problems.append(f"Redis on 127.0.0.1:6379 does not answer ({error}).")
    if problems:
        raise ServiceDown(" ".join(problems) + " Start them with `bash .ci/services.sh` "
                          "(or run `make bench`, which does).")


# --- database and Redis lifecycle -----------------------------------------------------------


def _admin_execute(*statements) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def create_database() -> None:
    """A fresh, migrated `bench_dashboard` (a leftover from an interrupted run is dropped)."""
    from django.core.management import call_command
    from psycopg import sql

    name = sql.Identifier(DB_NAME)
    _admin_execute(
        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name),
        sql.SQL("CREATE DATABASE {} CONNECTION LIMIT {}").format(
            name, sql.Literal(DB_CONNECTION_LIMIT)),
    )
    call_command("migrate", verbosity=0)


def drop_database() -> None:
    from django.db import connections
    from psycopg import sql

    connections.close_all()
    _admin_execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
        sql.Identifier(DB_NAME)))


def flush_redis() -> None:
    import redis

    for url in (REDIS_URL, BROKER_URL):
        redis.Redis.from_url(url).flushdb()


# --- child processes ------------------------------------------------------------------------

_children: list = []


def track(child):
    """Remember a child process (anything with .stop()) so that it is stopped on exit."""
    _children.append(child)
    return child


def stop(child) -> None:
    if child in _children:
        _children.remove(child)
    child.stop()
    log = getattr(child, "log", None) or getattr(getattr(child, "process", None), "log", None)
    if log is not None:  # dashboard.processes keeps the child's output in a temp file
        Path(log.name).unlink(missing_ok=True)


def stop_all() -> None:
    while _children:
        child = _children[-1]
        try:
            stop(child)
        except Exception as error:  # noqa: BLE001 - keep stopping the others
            print(f"could not stop {child!r}: {error}", file=sys.stderr)
            if child in _children:
                _children.remove(child)


def start_simulator():
    """The benchmarks' own Atoms simulator; this process's settings now point at it (the
    web and worker processes get it through dashboard.processes.process_env)."""
    from django.conf import settings

    from simulator.process import SimulatorProcess

    # A frozen clock (speed 0): the benchmarks move simulated time themselves, so every
    # cycle sees the same amount of dialing whatever the machine's speed.
    sim = track(SimulatorProcess().start(seed=11, speed=0.0))
    settings.SMALLEST_BASE_URL = sim.base_url
    settings.SMALLEST_API_KEY = sim.api_key
    return sim


def start_web(sim, *, checkout: Path | None = None, **env: str):
    """uvicorn serving the project as shipped (dashboard.processes.WebServer), with a
    deeper listen backlog for hundreds of viewers connecting at once; from `checkout`
    (another tree of the project) when given."""
    from dashboard.processes import ROOT, start_web_server

    return track(start_web_server(sim, extra_args=("--backlog", "2048"),
                                  checkout=checkout or ROOT,
                                  **{"SSE_HEARTBEAT_SECONDS": "10", **env}))


def start_worker(sim, *, concurrency: int, **env: str):
    """A real `celery worker` (threads pool), as the test suite starts one."""
    from dashboard.processes import start_worker as start_celery_worker

    # No beat: the benchmark sends each tick itself, so it knows when a cycle started.
    return track(start_celery_worker(sim, beat=False, concurrency=concurrency, **env))


def worker_node_name(worker) -> str:
    """The Celery node name of a worker process, found by its pid."""
    from dashboard.celery import app

    stats = measure.wait_for(lambda: app.control.inspect(timeout=2).stats(), timeout=20,
                             what="workers answering inspect")
    for name, info in stats.items():
        if info.get("pid") == worker.popen.pid:
            return name
    raise RuntimeError(f"no worker with pid {worker.popen.pid} in {sorted(stats)}")


def set_consuming(name: str, on: bool) -> None:
    """Switch a worker's consumption of the default queue on or off (it stays running)."""
    from dashboard.celery import app

    queue = app.conf.task_default_queue
    command = app.control.add_consumer if on else app.control.cancel_consumer
    replies = command(queue, destination=[name], reply=True, timeout=5)
    if not replies:
        raise RuntimeError(f"{name} did not answer {command.__name__}")


# --- the world the benchmarks poll ----------------------------------------------------------


def reset_world(sim) -> None:
    """A freshly seeded simulator, an empty mirror and empty Redis databases."""
    from campaigns.models import Campaign

    sim.reset()
    Campaign.objects.all().delete()
    flush_redis()


def create_running_campaigns(sim, count: int, *, audience_size: int = 50) -> list:
    """`count` running campaigns in the simulator, mirrored by the product's own sync.

    Created through the Atoms client with a few threads (a thousand one by one would
    take most of a benchmark's time budget); the 50-contact audience keeps them dialing,
    so their numbers keep moving as simulated time passes.
    """
    from campaigns.connections import atoms_client
    from campaigns.live import sync
    from campaigns.models import Campaign

    client = atoms_client()
    agent = next(a for a in client.all_agents() if not a.archived)
    audience = next(a for a in client.list_audiences() if a.member_count == audience_size)
    phone = next(p for p in client.list_phone_numbers() if p.is_active)

    def create(index: int):
        return client.create_campaign(f"Bench {index:04d}", agent.id, audience.id, [phone.id],
                                      max_retries=2, retry_delay=30)

    with ThreadPoolExecutor(max_workers=16) as pool:
        created = list(pool.map(create, range(count)))
        list(pool.map(lambda campaign: client.start_campaign(campaign.id), created))
    sim.advance(5)  # "processing" turns "running" after 3 simulated seconds
    report = sync.sync_campaign_list()
    if report.error:
        raise RuntimeError(f"sync failed: {report.error}")
    campaigns = list(Campaign.objects.filter(atoms_id__in=[c.id for c in created]))
    if len(campaigns) != count:
        raise RuntimeError(f"mirrored {len(campaigns)} of {count} campaigns")
    return campaigns


def viewer_cookies() -> dict[str, str]:
    """The session cookie of a signed-in manager, the role that watches live numbers."""
    from campaigns.accounts import ensure_user
    from dashboard.processes import session_cookie

    return session_cookie(ensure_user("bench-manager", "manager", "bench-password-1234"))


def make_all_due() -> None:
    from campaigns.models import Campaign

    Campaign.objects.update(next_poll_at=None)


@dataclass
class Row:
    """One line of the results table."""

    bench: str
    measure: str
    value: str
    goal: str = ""
    met: bool | None = None  # None: informational, no goal


@dataclass
class Context:
    """What a benchmark gets: the size switch and the shared simulator."""

    quick: bool
    sim: object
    profile: bool = False
    notes: list[str] = field(default_factory=list)

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full


def say(message: str) -> None:
    """Progress on stderr, so stdout carries only the results."""
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def warm_up(swarm, *, timeout: float = 30) -> None:
    """Wait until a message published now reaches every viewer of `swarm`, then zero its
    counters.

    The web process subscribes to Redis when its first viewer arrives, and a message
    published before that subscription is confirmed is lost; so publish an empty tick
    until every viewer has had one. (Those name no campaign, so the viewers count them
    apart from the poller's ticks: a late one cannot pass for a poll cycle's.)
    """
    import json

    from django.utils import timezone

    from campaigns.connections import redis_client
    from campaigns.live import publish

    deadline = time.monotonic() + timeout
    while True:
        redis_client().publish(publish.channel(), json.dumps(
            {"tick": timezone.now().isoformat(), "ids": []}))
        try:
            measure.wait_for(lambda: min(swarm.warm_ticks(), default=1) >= 1, timeout=0.5)
            break
        except TimeoutError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"viewers still deaf after {timeout:g} s") from None
    swarm.reset_counts()


@contextmanager
def board_viewers(web, cookies, count: int, *, gzip: bool = False):
    """`count` viewers of the board's stream, every one open and hearing the channel
    (`warm_up`), closed afterwards; `gzip`: asking for the stream gzipped."""
    swarm = Swarm(web.url, "/live/?kind=card&ids=all", cookies, gzip=gzip)
    try:
        opened = swarm.connect(count)
        if opened < count:
            raise RuntimeError(f"only {opened} of {count} streams opened: "
                               f"{dict(swarm.failures)}")
        warm_up(swarm)
        yield swarm
    finally:
        swarm.close()
