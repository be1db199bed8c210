"""sse_memory: memory per idle SSE connection (goal <= 50 KB) and the web process's Redis
and PostgreSQL connections as viewers grow (goal: constant).

Read from outside the uvicorn process: VmRSS in /proc/PID/status, its threads, and its
established TCP connections to Redis (6379) and PostgreSQL (5432), found by matching
the socket inodes in /proc/PID/fd against /proc/PID/net/tcp (so the benchmark's own
connections and other processes' never count).

Two servers side by side. The shipped one keeps each stream's PostgreSQL connection
open for as long as the viewer stays, so it is measured only up to 30 viewers (the
PostgreSQL server is shared and has 100 connections in all). The other serves the same
app with that connection handed back after the stream's first frame
(bench/asgi_released.py) and is measured at 100 and 500 viewers.
"""

import time

from bench import harness, measure
from bench.harness import Row
from bench.sse_swarm import Swarm

NAME = "sse_memory"
GOAL_KB = 50
SHIPPED_VIEWERS = 30
# The stream's Redis pool (live.Broadcaster.redis) holds at most this many connections:
# it fills up to its cap while viewers connect at once, then stays there however many come.
REDIS_POOL_CAP = 4


def run(ctx) -> list[Row]:
    from campaigns import polling

    sim = ctx.sim
    levels = ctx.size([1, 100, 500], [1, 100, 300])
    harness.reset_world(sim)
    harness.create_running_campaigns(sim, 20)
    polling.tick()  # viewers get real cached fragments as their first frames
    cookies = harness.viewer_cookies()
    shipped = _measure(sim, cookies, harness.SHIPPED_APP, [1, SHIPPED_VIEWERS])
    released = _measure(sim, cookies, harness.RELEASED_APP, levels)
    return _rows(shipped, released, levels)


def _measure(sim, cookies, app: str, levels: list[int]) -> dict[int, dict]:
    web = harness.start_web(sim, app=app)
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
            opened = swarm.connect(level - len(swarm.viewers))
            harness.say(f"sse_memory: {app.split(':')[0]}: {opened} viewers open"
                        + (f", refused {dict(swarm.failures)}" if swarm.failures else ""))
            if opened < level:
                raise RuntimeError(f"only {opened} of {level} streams opened: "
                                   f"{dict(swarm.failures)}")
            time.sleep(1.5)  # idle: nothing published, at most a heartbeat
            readings[level] = _reading(web)
    finally:
        swarm.close()
        harness.stop(web)
    return readings


def _reading(web) -> dict:
    return {
        "rss": measure.rss_kb(web.pid),
        "threads": measure.thread_count(web.pid),
        "redis": measure.tcp_connections(web.pid, harness.REDIS_PORT),
        "postgres": measure.tcp_connections(web.pid, harness.POSTGRES_PORT),
    }


def _per_viewer(readings: dict, low: int, high: int, key: str) -> float:
    return (readings[high][key] - readings[low][key]) / (high - low)


def _rows(shipped: dict, released: dict, levels: list[int]) -> list[Row]:
    top = levels[-1]
    kb_released = _per_viewer(released, 0, top, "rss")
    kb_shipped = _per_viewer(shipped, 0, SHIPPED_VIEWERS, "rss")
    redis = [released[level]["redis"] for level in levels]
    redis_shipped = [shipped[level]["redis"] for level in (1, SHIPPED_VIEWERS)]
    rows = [
        Row(NAME, f"RSS per idle connection, 0 -> {top} viewers (connection released)",
            f"{kb_released:.1f} KB (RSS {released[0]['rss'] / 1024:.0f} -> "
            f"{released[top]['rss'] / 1024:.0f} MB)", f"<= {GOAL_KB} KB",
            kb_released <= GOAL_KB),
        Row(NAME, f"RSS per idle connection, 0 -> {SHIPPED_VIEWERS} viewers (as shipped)",
            f"{kb_shipped:.1f} KB", f"<= {GOAL_KB} KB", kb_shipped <= GOAL_KB),
        Row(NAME, "Redis connections of the web process at "
            + " / ".join(map(str, levels)) + " viewers",
            " / ".join(map(str, redis)), f"constant (<= pool cap {REDIS_POOL_CAP})",
            max(redis) <= REDIS_POOL_CAP),
        Row(NAME, f"Redis connections at 1 / {SHIPPED_VIEWERS} viewers (as shipped)",
            " / ".join(map(str, redis_shipped)), f"constant (<= pool cap {REDIS_POOL_CAP})",
            max(redis_shipped) <= REDIS_POOL_CAP),
        Row(NAME, f"PostgreSQL connections held at 0 / 1 / {SHIPPED_VIEWERS} viewers "
            "(as shipped)",
            " / ".join(str(shipped[level]["postgres"]) for level in (0, 1, SHIPPED_VIEWERS)),
            "constant", len({shipped[level]["postgres"] for level in shipped}) == 1),
        Row(NAME, "PostgreSQL connections held at 0 / " + " / ".join(map(str, levels))
            + " viewers (connection released)",
            " / ".join(str(released[level]["postgres"]) for level in [0, *levels]),
            "constant", len({released[level]["postgres"] for level in released}) == 1),
        Row(NAME, f"threads per viewer, as shipped / released (0 -> {top})",
            f"{_per_viewer(shipped, 0, SHIPPED_VIEWERS, 'threads'):.2f} / "
            f"{_per_viewer(released, 0, top, 'threads'):.2f}"),
    ]
    return rows
