"""poll_fairness: how long the least recently refreshed campaign waits, at 5,000 and 10,000.

Active campaigns at 50 ms Atoms latency, refreshed by real `celery worker` processes on the
product's defaults (a 5 s interval, chunks of 200, 64 fetches at once per chunk). This
process plays beat: every interval it calls `poll.tick` with the task module's own
dispatcher, as the beat task does, and moves the simulator's clock on by as much. A chunk
still queued at the next tick expires; its campaigns, then the oldest, are claimed first.

A window starts with every campaign just refreshed and lasts WINDOW seconds; one-worker
and two-worker windows alternate (the second worker's consumer switched off and on), with
a budget high enough that Atoms never holds them back. The figure is the largest "oldest
refresh age" the ticks of the window's second half report, in intervals, and how many
campaigns the window never refreshed (starved, or not yet reached).

Reads are not spaced out for campaigns whose numbers stand still (POLL_QUIET_MAX_INTERVALS
is 1 here, in the workers and in the beat): such a campaign is read every four intervals
by design, which would show here as a wait, and this measures the scheduler.

Last, the product's default budget (ATOMS_MAX_RPS=50, a fraction of what 10,000 campaigns
need each interval): a window in which every GET /campaign/{id} should reach a different
campaign until each has had one, i.e. they take turns, none read twice while another waits.
"""

import time

from bench import harness, measure
from bench.harness import Row

NAME = "poll_fairness"
INTERVAL = 5
WORKER_THREADS = 2
HIGH_BUDGET = harness.BENCH_MAX_RPS
DEFAULT_BUDGET = 50
GOAL_INTERVALS = 2  # issue 15: every campaign refreshed at least every two intervals


def run(ctx) -> list[Row]:
    from django.conf import settings

    sizes = [ctx.size(5000, 500), ctx.size(10000, 1000)]
    window = ctx.size(60, 20)
    saved = (settings.POLL_INTERVAL_SECONDS, settings.POLL_CHUNK_SIZE,
             settings.POLL_QUIET_MAX_INTERVALS)
    (settings.POLL_INTERVAL_SECONDS, settings.POLL_CHUNK_SIZE,
     settings.POLL_QUIET_MAX_INTERVALS) = INTERVAL, 200, 1
    rows: list[Row] = []
    try:
        for count in sizes:
            harness.reset_world(ctx.sim)
            harness.say(f"poll_fairness: creating {count} running campaigns")
            harness.create_running_campaigns(ctx.sim, count)
            ctx.sim.faults(latency_ms=harness.ATOMS_LATENCY_MS)
            try:
                rows += _one_against_two(ctx.sim, count, window)
                if count == sizes[-1]:
                    rows += _default_budget(ctx.sim, count, window)
            finally:
                ctx.sim.clear_faults()
    finally:
        (settings.POLL_INTERVAL_SECONDS, settings.POLL_CHUNK_SIZE,
         settings.POLL_QUIET_MAX_INTERVALS) = saved
    return rows


def _workers(sim, budget: int) -> list:
    env = {"POLL_INTERVAL_SECONDS": str(INTERVAL), "ATOMS_MAX_RPS": str(budget),
           "POLL_QUIET_MAX_INTERVALS": "1", "LOG_LEVEL": "WARNING"}
    return [harness.start_worker(sim, concurrency=WORKER_THREADS, **env) for _ in range(2)]


def _one_against_two(sim, count: int, window: int) -> list[Row]:
    workers = _workers(sim, HIGH_BUDGET)
    try:
        second = harness.worker_node_name(workers[1])
        runs = {}
        for processes in (1, 2):
            harness.set_consuming(second, processes == 2)
            runs[processes] = _window(sim, window, workers[:processes], HIGH_BUDGET)
            harness.say(f"poll_fairness: {count}, {processes} worker(s): {runs[processes]}")
    finally:
        for worker in reversed(workers):
            harness.stop(worker)
    rows = []
    for processes, result in runs.items():
        age = result["oldest_age"]
        rows.append(Row(
            NAME, f"{count} active campaigns, {processes} worker process(es): oldest refresh "
            f"age in the window's second half; never refreshed in {window} s",
            f"{age:.1f} s = {age / INTERVAL:.1f} intervals; {result['never']} of {count} "
            f"({result['per_second']:.0f} refreshes/s, {result['cpu_ms']:.1f} ms worker CPU "
            f"each)",
            goal=f"<= {GOAL_INTERVALS} intervals" if processes == 2 and count >= 10000 else "",
            met=(age <= GOAL_INTERVALS * INTERVAL and result["never"] == 0)
            if processes == 2 and count >= 10000 else None))
    return rows


def _default_budget(sim, count: int, window: int) -> list[Row]:
    workers = _workers(sim, DEFAULT_BUDGET)
    try:
        result = _window(sim, window, workers, DEFAULT_BUDGET)
    finally:
        for worker in reversed(workers):
            harness.stop(worker)
    harness.say(f"poll_fairness: default budget: {result}")
    # Taking turns: as many different campaigns read as there were reads, until every
    # campaign had its turn.
    turns = min(result["gets"], result["active"])
    return [Row(
        NAME, f"{count} campaigns, 2 workers, default budget ({DEFAULT_BUDGET}/s): Atoms "
        f"reads in {window} s, different campaigns among them",
        f"{result['gets']} reads, {result['distinct']} campaigns "
        f"({result['distinct'] / max(turns, 1):.0%} of the {turns} possible)",
        goal="none read twice before all once", met=result["distinct"] >= turns)]


def _window(sim, seconds: int, workers: list, budget: int) -> dict:
    from django.conf import settings
    from django.utils import timezone

    from campaigns import tasks
    from campaigns.live import poll
    from campaigns.models import Campaign, active_q

    started_at = timezone.now()
    # Everyone just refreshed: the ages measured are this window's alone.
    Campaign.objects.update(fetched_at=started_at, next_poll_at=None)
    gets = sim.calls_to("GET /campaign/{id}")
    cpu_before = sum(measure.cpu_seconds(w.popen.pid) for w in workers)
    ages: list[tuple[float, float]] = []
    started = time.monotonic()
    ticks = 0
    saved, settings.ATOMS_MAX_RPS = settings.ATOMS_MAX_RPS, budget  # beat's, as the workers'
    try:
        while (elapsed := time.monotonic() - started) < seconds:
            time.sleep(max(0.0, ticks * INTERVAL - elapsed))
            sim.advance(INTERVAL)
            report = poll.tick(dispatch_chunk=tasks._dispatch_chunk)
            if report.oldest_age is not None:
                ages.append((time.monotonic() - started, report.oldest_age))
            ticks += 1
    finally:
        settings.ATOMS_MAX_RPS = saved
    # Chunks still queued or running: let them finish, so no two windows overlap.
    time.sleep(INTERVAL)
    active = Campaign.objects.filter(active_q())
    count, distinct = active.count(), active.filter(fetched_at__gt=started_at).count()
    gets = sim.calls_to("GET /campaign/{id}") - gets
    cpu = sum(measure.cpu_seconds(w.popen.pid) for w in workers) - cpu_before
    return {
        "oldest_age": max(age for at, age in ages if at >= seconds / 2),
        "active": count,
        "never": count - distinct,
        "distinct": distinct,
        "gets": gets,
        "per_second": gets / (seconds + INTERVAL),
        "cpu_ms": 1000 * cpu / max(gets, 1),
    }
