"""The simulated clock: real time scaled by a speed, plus explicit jumps."""

import threading
import time


class SimClock:
    """Simulated epoch milliseconds.

    `speed` simulated seconds pass per real second; speed 0 freezes the clock so that only
    `advance` moves it, which is what tests use to make every run identical.
    """

    def __init__(self, start_ms: int, speed: float):
        self._lock = threading.Lock()
        self._anchor_sim = start_ms
        self._anchor_real = time.monotonic()
        self._speed = speed

    def now_ms(self) -> int:
        with self._lock:
            return self._now_locked()

    def _now_locked(self) -> int:
        elapsed = time.monotonic() - self._anchor_real
        return self._anchor_sim + int(elapsed * 1000 * self._speed)

    def _reanchor(self, sim_ms: int) -> None:
        self._anchor_sim = sim_ms
        self._anchor_real = time.monotonic()

    @property
    def speed(self) -> float:
        return self._speed

    def set_speed(self, speed: float) -> None:
        with self._lock:
            self._reanchor(self._now_locked())
            self._speed = speed

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._reanchor(self._now_locked() + int(seconds * 1000))

    def reset(self, start_ms: int, speed: float) -> None:
        with self._lock:
            self._reanchor(start_ms)
            self._speed = speed
