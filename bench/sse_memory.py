"""sse_memory: memory per idle SSE connection (goal <= 50 KB) and the web process's Redis
and PostgreSQL connections as viewers grow (goal: constant).

Read from outside the uvicorn process: VmRSS in /proc/PID/status, its threads, and its
established TCP connections to Redis (6379) and PostgreSQL (5432), found by matching
the socket inodes in /proc/PID/fd against /proc/PID/net/tcp (so the benchmark's own
connections and other processes' never count).

The server is the shipped one (`dashboard.asgi:application`, whose `/live/` is
`campaigns.live.stream.asgi_stream`). Besides the idle readings at each level, PostgreSQL
connections are sampled every 20 ms while viewers connect, since each one reads the
database for its session and first frame. The PostgreSQL server is shared (100
connections in all): if connections grow with viewers, the ramp stops there.
"""

import threading
import time

from bench import harness, measure
from bench.harness import Row
from bench.sse_swarm import Swarm

NAME = "sse_memory"
GOAL_KB = 50
# The stream's Redis pool (stream.Broadcaster.redis) holds at most this many connections:
# it fills up to its cap while viewers connect at once, then stays there however many come.
REDIS_POOL_CAP = 4
# More PostgreSQL connections than this held by idle viewers is a leak: stop adding viewers.
POSTGRES_LEAK = 5


def run(ctx) -> list[Row]:
    from campaigns.live import poll

    sim = ctx.sim
    levels = ctx.size([1, 100, 500], [1, 100, 300])
    harness.reset_world(sim)
    harness.create_running_campaigns(sim, 20)
    poll.tick()  # viewers get real cached fragments as their first frames
    readings = _measure(sim, harness.viewer_cookies(), levels)
    return _rows(readings, levels)


def _measure(sim, cookies, levels: list[int]) -> dict[int, dict]:
    web = harness.start_web(sim)
    swarm = Swarm(web.url, "/live/?kind=card&ids=all", cookies)
    readings = {}
    try:
        # Warm the process first (imports, templates, first DB connection, the Redis
        # subscription's pool), so the 0-viewer reading is not a cold process.
        warm = Swarm(web.url, "/live/?kind=card&ids=all", cookies)
        warm.connect(5)
        warm.close()
        time.sleep(1)
        readings[0] = _reading(web)
        for level in levels:
            adding = level - len(swarm.viewers)
            started = time.monotonic()
            with _PeakSampler(web.pid) as peak:
                opened = swarm.connect(adding)
            rate = adding / (time.monotonic() - started)
            harness.say(f"sse_memory: {opened} viewers open"
                        + (f", refused {dict(swarm.failures)}" if swarm.failures else ""))
            if opened < level:
                raise RuntimeError(f"only {opened} of {level} streams opened: "
                                   f"{dict(swarm.failures)}")
            time.sleep(1.5)  # idle: nothing published, at most a heartbeat
            readings[level] = {**_reading(web), "postgres_peak": peak.value, "rate": rate}
            if readings[level]["postgres"] > POSTGRES_LEAK:
                raise RuntimeError(f"{readings[level]['postgres']} PostgreSQL connections held "
                                   f"by {level} idle viewers: a leak; stopped adding viewers")
    finally:
        swarm.close()
        harness.stop(web)
    return readings


class _PeakSampler:
    """The most PostgreSQL connections the web process held while the block ran."""

    def __init__(self, pid: int, interval: float = 0.02):
        self.pid, self.interval = pid, interval
        self.value = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="pg-sampler", daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.value = max(self.value, measure.tcp_connections(self.pid, harness.POSTGRES_PORT))
            self._stop.wait(self.interval)

    def __enter__(self) -> "_PeakSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(5)


def _reading(web) -> dict:
    return {
        "rss": measure.rss_kb(web.pid),
        "threads": measure.thread_count(web.pid),
        "redis": measure.tcp_connections(web.pid, harness.REDIS_PORT),
        "postgres": measure.tcp_connections(web.pid, harness.POSTGRES_PORT),
    }


def _per_viewer(readings: dict, low: int, high: int, key: str) -> float:
    return (readings[high][key] - readings[low][key]) / (high - low)


def _rows(readings: dict, levels: list[int]) -> list[Row]:
    top = levels[-1]
    kb = _per_viewer(readings, 0, top, "rss")
    steps = ", ".join(f"{_per_viewer(readings, low, high, 'rss'):.1f}"
                      for low, high in zip([0, *levels], levels, strict=False))
    redis = [readings[level]["redis"] for level in levels]
    postgres = [readings[level]["postgres"] for level in [0, *levels]]
    peaks = [readings[level]["postgres_peak"] for level in levels]
    shown = " / ".join(map(str, levels))
    return [
        Row(NAME, f"RSS per idle connection, 0 -> {top} viewers",
            f"{kb:.1f} KB (RSS {readings[0]['rss'] / 1024:.0f} -> "
            f"{readings[top]['rss'] / 1024:.0f} MB)", f"<= {GOAL_KB} KB", kb <= GOAL_KB),
        Row(NAME, f"RSS per connection added, each step 0 -> {shown}", f"{steps} KB"),
        Row(NAME, f"Redis connections of the web process at {shown} viewers",
            " / ".join(map(str, redis)), f"constant (<= pool cap {REDIS_POOL_CAP})",
            max(redis) <= REDIS_POOL_CAP),
        Row(NAME, f"PostgreSQL connections held at 0 / {shown} idle viewers",
            " / ".join(map(str, postgres)), "constant", len(set(postgres)) == 1),
        Row(NAME, f"PostgreSQL connections, most at once while connecting up to {shown}",
            " / ".join(map(str, peaks))),
        Row(NAME, f"viewers connected per second (20 at a time), steps to {shown}",
            " / ".join(f"{readings[level]['rate']:.0f}" for level in levels)),
        Row(NAME, f"threads of the web process at 0 / {shown} viewers",
            " / ".join(str(readings[level]["threads"]) for level in [0, *levels])),
    ]
