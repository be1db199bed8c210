"""/healthz and /readyz for load balancers and orchestrators: cheap, unauthenticated,
and saying nothing but ok or not per part (no hosts, versions, errors or counts).

Served as a bare ASGI app in front of Django (dashboard/asgi.py), like the live stream:
probes come from inside the deployment by address over plain http, so ALLOWED_HOSTS and
the https redirect, which are about browsers, do not apply to them.

- /healthz: the process answers (no I/O at all).
- /readyz: the database, the cache's Redis and the broker answer, and the poller finished
  a tick within the last three poll intervals (so a stopped beat or worker shows).
"""

import json

import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection

from campaigns.connections import redis_client
from campaigns.live.poll import last_tick_age

PATHS = ("/healthz", "/readyz")
HEADERS = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]


def _database() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False
    finally:
        close_old_connections()


def _redis(url: str) -> bool:
    try:
        return bool(redis_client(url).ping())
    except (redis.RedisError, OSError):
        return False


def _poller() -> bool:
    try:
        age = last_tick_age()
    except (redis.RedisError, OSError, ValueError):
        return False
    return age is not None and age < 3 * settings.POLL_INTERVAL_SECONDS


def readiness() -> dict[str, bool]:
    return {
        "database": _database(),
        "redis": _redis(settings.REDIS_URL),
        "broker": _redis(settings.CELERY_BROKER_URL),
        "poller": _poller(),
    }


async def asgi_health(scope, receive, send) -> None:
    if scope["method"] not in ("GET", "HEAD"):
        status, body = 405, {"status": "method not allowed"}
    elif scope["path"] == "/healthz":
        status, body = 200, {"status": "ok"}
    else:
        checks = await sync_to_async(readiness)()
        ready = all(checks.values())
        status = 200 if ready else 503
        body = {"status": "ready" if ready else "not ready",
                "checks": {name: "ok" if ok else "failing" for name, ok in checks.items()}}
    # A 405 names what the address takes (HTTP requires it; monitors read it).
    headers = HEADERS + [(b"allow", b"GET, HEAD")] if status == 405 else HEADERS
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body",
                "body": b"" if scope["method"] == "HEAD" else json.dumps(body).encode()})
