"""sse_admission: 1,000 viewers, each signed in with a session of their own, open the board's
live stream at once; how long until every one has its first frame (goal <= 2 s on one web
process).

Each viewer's admission is the stream's whole check: Django's `get_user` (the session, the
user, the session hash), the view permission, then the active campaigns and their cached
fragments. Set BENCH_BEFORE to another checkout of the project (same database schema, e.g.
`git worktree add /tmp/before <commit>`) to measure its web process in the same run,
alternated with this one's, for a side-by-side ratio.
"""

import os
import time
from pathlib import Path

from bench import harness
from bench.harness import Row
from bench.sse_swarm import Swarm

NAME = "sse_admission"
GOAL_SECONDS = 2.0


def run(ctx) -> list[Row]:
    from campaigns.accounts import ensure_user
    from campaigns.live import poll
    from dashboard.processes import session_cookie

    sim = ctx.sim
    viewers = ctx.size(1000, 300)
    rounds = ctx.size(2, 1)
    harness.reset_world(sim)
    harness.create_running_campaigns(sim, 20)
    poll.tick()  # viewers get real cached fragments as their first frames
    person = ensure_user("bench-manager", "manager", "bench-password-1234")
    harness.say(f"sse_admission: signing in {viewers} sessions")
    sessions = [session_cookie(person) for _ in range(viewers)]
    before = os.environ.get("BENCH_BEFORE")
    trees = {"after": None, **({"before": Path(before)} if before else {})}
    seconds: dict[str, list[float]] = {label: [] for label in trees}
    for _ in range(rounds):
        for label, checkout in trees.items():
            seconds[label].append(_admit_all(sim, checkout, sessions, label))
    return _rows(seconds, viewers)


def _admit_all(sim, checkout, sessions, label: str) -> float:
    web = harness.start_web(sim, checkout=checkout)
    try:
        warm = Swarm(web.url, "/live/?kind=card&ids=all", sessions[:5])
        warm.connect(5)  # imports, templates, the Redis subscription: not a cold process
        warm.close()
        swarm = Swarm(web.url, "/live/?kind=card&ids=all", sessions)
        try:
            started = time.monotonic()
            opened = swarm.connect(len(sessions), parallel=len(sessions))
            took = time.monotonic() - started
            if opened < len(sessions):
                raise RuntimeError(f"{label}: only {opened} of {len(sessions)} streams "
                                   f"opened: {dict(swarm.failures)}")
        finally:
            swarm.close()
    finally:
        harness.stop(web)
    harness.say(f"sse_admission: {label}: {len(sessions)} viewers in {took:.2f} s")
    return took


def _rows(seconds: dict[str, list[float]], viewers: int) -> list[Row]:
    after = min(seconds["after"])
    rows = [Row(NAME, f"{viewers} viewers with their own sessions, all at once: seconds to "
                f"admit all (best of {len(seconds['after'])}; each run)",
                f"{after:.2f} s ({', '.join(f'{s:.2f}' for s in seconds['after'])})",
                f"<= {GOAL_SECONDS:.0f} s", after <= GOAL_SECONDS)]
    if "before" in seconds:
        before = min(seconds["before"])
        rows += [
            Row(NAME, "the same on BENCH_BEFORE's checkout (alternated in this run)",
                f"{before:.2f} s ({', '.join(f'{s:.2f}' for s in seconds['before'])})"),
            Row(NAME, "viewers admitted per second, after / before",
                f"{viewers / after:.0f} / {viewers / before:.0f} "
                f"(ratio {before / after:.1f})"),
        ]
    return rows
