"""Process-wide connections to Atoms and Redis, reused across requests and ticks.

Their number is set by processes and the poll concurrency, never by requests or viewers.
"""

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from django.conf import settings

from campaigns.atoms import AtomsClient
from campaigns.live.budget import RequestBudget

_lock = threading.Lock()
_atoms_clients: dict[tuple, AtomsClient] = {}
_poller_clients: dict[tuple, queue.SimpleQueue] = {}
_budgets: dict[tuple, RequestBudget] = {}
_redis_clients: dict[str, redis.Redis] = {}


def atoms_client() -> AtomsClient:
    """For actions and pickers: reads retry on their own with backoff."""
    return _client(max_read_attempts=3)


@contextmanager
def poller_client() -> Iterator[AtomsClient]:
    """Lend a poller thread a client of its own, kept for the next tick (keep-alive).

    One try per tick, because the next tick is the retry and every request must pass the
    shared request budget (a client-side retry would bypass it). One connection per
    client: with a single pool shared by dozens of threads, httpcore spends more CPU
    scanning its connections than the requests take (encode/httpcore#1035).
    """
    key = _settings_key("poller")
    with _lock:
        idle = _poller_clients.setdefault(key, queue.SimpleQueue())
    try:
        client = idle.get_nowait()
    except queue.Empty:
        client = AtomsClient.from_settings(max_connections=1, max_read_attempts=1)
    try:
        yield client
    finally:
        idle.put(client)


def _settings_key(*extra) -> tuple:
    # Keyed by the settings a client was built from, so a changed setting gets new ones.
    return (settings.SMALLEST_BASE_URL, settings.SMALLEST_API_KEY,
            settings.ATOMS_CONNECT_TIMEOUT, settings.ATOMS_READ_TIMEOUT, *extra)


def _client(*, max_read_attempts: int) -> AtomsClient:
    key = _settings_key(max_read_attempts)
    with _lock:
        client = _atoms_clients.get(key)
        if client is None:
            client = _atoms_clients[key] = AtomsClient.from_settings(
                max_read_attempts=max_read_attempts)
        return client


def request_budget() -> RequestBudget:
    """The process's share of the poller's budget: one per process, so tokens a poll
    reserved but did not use serve the next poll in the same second instead of lapsing."""
    key = (settings.REDIS_URL, settings.ATOMS_MAX_RPS)
    client = redis_client()
    with _lock:
        budget = _budgets.get(key)
        if budget is None:
            budget = _budgets[key] = RequestBudget(client, settings.ATOMS_MAX_RPS)
        return budget


def redis_client(url: str | None = None) -> redis.Redis:
    """The cache's Redis, or (for the health check) another one such as the broker's."""
    url = url or settings.REDIS_URL
    with _lock:
        client = _redis_clients.get(url)
        if client is None:
            client = _redis_clients[url] = redis.Redis.from_url(
                url, socket_connect_timeout=3, socket_timeout=10, health_check_interval=30
            )
        return client
