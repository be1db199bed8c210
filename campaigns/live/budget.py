"""The poller's request budget: at most ATOMS_MAX_RPS requests to Atoms per second.

Counted in Redis so the budget holds across every worker process and machine, not per
process. A 429 from Atoms pauses every worker for as long as Atoms asked.

Tokens are taken from Redis a handful at a time and handed out locally, so a poll of a
thousand campaigns costs tens of Redis round trips, not a thousand. Tokens left over at
the end of a second are dropped, never carried over: the budget can only be undershot.
"""

import threading
import time

import redis

# Take about this share of a second's budget per Redis round trip.
BATCH_FRACTION = 0.05


class RequestBudget:
    def __init__(self, client: redis.Redis, per_second: int, *, key: str = "atoms:budget",
                 clock=time.time, sleep=time.sleep):
        self.client = client
        self.per_second = per_second
        self.key = key
        self.clock = clock
        self.sleep = sleep
        self.batch = max(1, int(per_second * BATCH_FRACTION))
        self._lock = threading.Lock()
        self._second = -1
        self._tokens = 0

    def acquire(self) -> None:
        """Block until one more request fits in the budget."""
        while True:
            now = self.clock()
            second = int(now)
            with self._lock:
                if self._second == second and self._tokens > 0:
                    self._tokens -= 1
                    return
                wait = self._reserve(now, second)
                if wait == 0:
                    return
            self.sleep(wait)

    def _reserve(self, now: float, second: int) -> float:
        """Take a batch for this second from Redis; 0 if one token is ours, else a wait."""
        bucket = f"{self.key}:{second}"
        pipe = self.client.pipeline(transaction=False)
        pipe.get(f"{self.key}:paused-until")
        pipe.incrby(bucket, self.batch)
        pipe.expire(bucket, 2)
        paused_until, used, _ = pipe.execute()
        if paused_until is not None and float(paused_until) > now:
            return float(paused_until) - now
        granted = min(self.batch, self.per_second - (used - self.batch))
        if granted <= 0:
            # This second is spent (a fixed window: no second ever sees more than the budget).
            return second + 1 - now
        self._second, self._tokens = second, granted - 1
        return 0

    def pause_for(self, seconds: float) -> None:
        """Atoms said 429: nobody sends anything for `seconds`."""
        until = self.clock() + seconds
        # The value says until when; the expiry only tidies up long after that.
        self.client.set(f"{self.key}:paused-until", until, ex=int(seconds) + 60)
        with self._lock:
            self._tokens = 0
