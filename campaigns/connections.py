"""Process-wide connections: one Atoms client and one Redis client per process.

Both are thread-safe and pool their sockets, so sharing them keeps connection counts set
by the number of processes, not by requests or viewers.
"""

import threading

import redis
from django.conf import settings

from campaigns.atoms import AtomsClient

_lock = threading.Lock()
_atoms_clients: dict[tuple, AtomsClient] = {}
_redis_clients: dict[str, redis.Redis] = {}


def atoms_client() -> AtomsClient:
    """For actions and pickers: reads retry on their own with backoff."""
    return _client(max_read_attempts=3)


def poller_client() -> AtomsClient:
    """For the poller: one try per tick, because the next tick is the retry and every
    request must pass the shared request budget (a client-side retry would bypass it)."""
    return _client(max_read_attempts=1)


def _client(*, max_read_attempts: int) -> AtomsClient:
    # Keyed by the settings it was built from, so a changed setting (tests) gets a new one.
    key = (settings.SMALLEST_BASE_URL, settings.SMALLEST_API_KEY,
           settings.ATOMS_CONNECT_TIMEOUT, settings.ATOMS_READ_TIMEOUT,
           settings.POLL_CONCURRENCY, max_read_attempts)
    with _lock:
        client = _atoms_clients.get(key)
        if client is None:
            client = _atoms_clients[key] = AtomsClient.from_settings(
                max_connections=settings.POLL_CONCURRENCY, max_read_attempts=max_read_attempts
            )
        return client


def redis_client() -> redis.Redis:
    url = settings.REDIS_URL
    with _lock:
        client = _redis_clients.get(url)
        if client is None:
            client = _redis_clients[url] = redis.Redis.from_url(
                url, socket_connect_timeout=3, socket_timeout=10, health_check_interval=30
            )
        return client
