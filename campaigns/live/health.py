"""Is Redis (the live cache and channel) reachable right now?

Pages render from the database either way; this only decides whether they say that live
updates are paused. A failure seen anywhere in the process marks Redis down for a short
while, so a page does not wait on a dead server once per call.
"""

import threading
import time

from redis.exceptions import RedisError

from campaigns.connections import redis_client

# How long a failure is believed before Redis is asked again.
RECHECK_SECONDS = 2.0

_lock = threading.Lock()
_down_until = 0.0


def mark_down() -> None:
    global _down_until
    with _lock:
        _down_until = time.monotonic() + RECHECK_SECONDS


def live_updates_paused() -> bool:
    if time.monotonic() < _down_until:
        return True
    try:
        redis_client().ping()
    except RedisError:
        mark_down()
        return True
    return False
