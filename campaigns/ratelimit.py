"""The poller's request budget: at most ATOMS_MAX_RPS requests to Atoms per second.

Counted in Redis so the budget holds across every worker process and machine, not per
process. A 429 from Atoms pauses every worker for as long as Atoms asked.
"""

import time

import redis


class RequestBudget:
    def __init__(self, client: redis.Redis, per_second: int, *, key: str = "atoms:budget",
                 clock=time.time, sleep=time.sleep):
        self.client = client
        self.per_second = per_second
        self.key = key
        self.clock = clock
        self.sleep = sleep

    def acquire(self) -> None:
        """Block until one more request fits in the budget."""
        while True:
            now = self.clock()
            second = int(now)
            bucket = f"{self.key}:{second}"
            pipe = self.client.pipeline(transaction=False)
            pipe.get(f"{self.key}:paused-until")
            pipe.incr(bucket)
            pipe.expire(bucket, 2)
            paused_until, used, _ = pipe.execute()
            if paused_until is not None and float(paused_until) > now:
                self.sleep(float(paused_until) - now)
                continue
            if used <= self.per_second:
                return
            # This second is spent (a fixed window: no second ever sees more than the budget).
            self.sleep(second + 1 - now)

    def pause_for(self, seconds: float) -> None:
        """Atoms said 429: nobody sends anything for `seconds`."""
        until = self.clock() + seconds
        # The value says until when; the expiry only tidies up long after that.
        self.client.set(f"{self.key}:paused-until", until, ex=int(seconds) + 60)
