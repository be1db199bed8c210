"""Injected trouble (errors, latency, hangs, rate limits) and per-route request counters."""

import math
import random
import threading
import time
from collections import Counter, deque
from http import HTTPStatus

from .wire import ApiError

_RATES = ("error_rate", "timeout_rate", "drop_response_rate")
_NUMBERS = ("latency_ms", "timeout_seconds", "rate_limit")
DEFAULT_TIMEOUT_SECONDS = 30.0
# Statuses an injected error may answer with (429 is the rate limit's own fault).
_ERROR_STATUSES = frozenset(s.value for s in HTTPStatus if s >= 400 and s != 429)


class Faults:
    """The active fault plan. `fail_routes` (route templates such as "GET /campaign/{id}")
    narrows error_rate, timeout_rate, drop_response_rate and latency_ms to those routes;
    the rate limit is a gateway-wide budget and always applies to every `/atoms/v1` request.
    """

    def __init__(self, seed: int):
        self._lock = threading.Lock()
        self._rng = random.Random(seed)  # injected failures replay in the same order
        self._recent: deque[float] = deque()
        self.configure({})

    def configure(self, spec: dict) -> dict:
        """Replace the whole plan; keys left out are switched off. Raises ApiError(400)."""
        unknown = (set(spec) - set(_RATES) - set(_NUMBERS)
                   - {"fail_routes", "error_status", "clear"})
        if unknown:
            raise ApiError(400, f"Unknown fault keys: {', '.join(sorted(unknown))}")
        if spec.get("clear"):
            spec = {}
        for key in _RATES:
            value = spec.get(key, 0)
            if not _is_number(value) or not 0 <= value <= 1:
                raise ApiError(400, f"{key} must be a number between 0 and 1")
        for key in _NUMBERS:
            value = spec.get(key, 0)
            if not _is_number(value) or value < 0:
                raise ApiError(400, f"{key} must be a number of at least 0")
        error_status = spec.get("error_status", 500)
        if type(error_status) is not int or error_status not in _ERROR_STATUSES:
            raise ApiError(400, "error_status must be an HTTP error status (400-599, not 429: "
                                "ask for rate_limit)")
        routes = spec.get("fail_routes") or []
        if not isinstance(routes, list) or not all(isinstance(r, str) for r in routes):
            raise ApiError(400, 'fail_routes must be a list like ["GET /campaign/{id}"]')
        with self._lock:
            # Naming routes with no other fault means "always fail these routes".
            other = {"timeout_rate", "drop_response_rate", "latency_ms"} & set(spec)
            default_error = 1.0 if routes and not other else 0.0
            self.error_rate = float(spec.get("error_rate", default_error))
            # What an injected error answers: a 5xx by default (the outcome is unknown to
            # the client), or a 4xx, which Atoms sends only for what it did not do.
            self.error_status = error_status
            self.timeout_rate = float(spec.get("timeout_rate", 0))
            # The request takes effect, then its answer is lost: what a client reconciles.
            self.drop_response_rate = float(spec.get("drop_response_rate", 0))
            self.latency_ms = float(spec.get("latency_ms", 0))
            self.timeout_seconds = float(spec.get("timeout_seconds") or DEFAULT_TIMEOUT_SECONDS)
            self.rate_limit = int(spec.get("rate_limit", 0))
            self.fail_routes = frozenset(routes)
            self._recent.clear()
        return self.describe()

    def describe(self) -> dict:
        return {
            "error_rate": self.error_rate,
            "error_status": self.error_status,
            "timeout_rate": self.timeout_rate,
            "drop_response_rate": self.drop_response_rate,
            "timeout_seconds": self.timeout_seconds,
            "latency_ms": self.latency_ms,
            "rate_limit": self.rate_limit,
            "fail_routes": sorted(self.fail_routes),
        }

    def targets(self, route: str) -> bool:
        return not self.fail_routes or route in self.fail_routes

    def roll(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def rate_limited(self) -> int | None:
        """Seconds to wait if this request exceeds the per-second budget, else None."""
        if not self.rate_limit:
            return None
        now = time.monotonic()
        with self._lock:
            while self._recent and self._recent[0] <= now - 1:
                self._recent.popleft()
            if len(self._recent) >= self.rate_limit:
                return max(1, math.ceil(self._recent[0] + 1 - now))
            self._recent.append(now)
        return None


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Stats:
    """Requests seen under /atoms/v1, by route template and status (or "timeout")."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
        # Bumped by each clear: a request begun before it (held by a latency fault past the
        # reset between two tests) is not counted in the next one's figures.
        self.epoch = 0

    def record(self, route: str, outcome: int | str, epoch: int | None = None) -> None:
        with self._lock:
            if epoch is None or epoch == self.epoch:
                self._counts[(route, str(outcome))] += 1

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()
            self.epoch += 1

    def snapshot(self) -> dict:
        with self._lock:
            by_route: dict[str, dict[str, int]] = {}
            for (route, outcome), count in sorted(self._counts.items()):
                by_route.setdefault(route, {})[outcome] = count
            return {"requests": sum(self._counts.values()), "by_route": by_route}
