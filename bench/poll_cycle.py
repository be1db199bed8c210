"""poll_cycle: one poll cycle over 1,000 active campaigns at 50 ms Atoms latency, against
fetching them one by one (goals: <= 2 s, >= 25x).

The cycle is `poll.tick()` in this process, as a worker runs it when the active set
fits one chunk: claim (one UPDATE), fetch with POLL_CONCURRENCY threads under the Redis
request budget, then apply in bulk (mirror, snapshots, one render per change, publish).
ATOMS_MAX_RPS is raised to 5000 so the budget is not what is measured: at its default
of 50 requests a second, 1,000 campaigns take 20 s by construction.

Two kinds of cycle: the first after the campaigns appear, where every campaign changes,
and steady cycles 5 simulated seconds apart, where only the campaigns whose dialing moved
change. No page is open in either, so no fragment is rendered (the poller renders only what
a stream watches); a last steady cycle has every fragment of every campaign watched, the
most rendering can cost (three fragments per change). The one-by-one baseline runs the
poller's own fetch (budget + `with poller_client() as client: client.get_campaign`)
sequentially over a subset and is scaled to 1,000; it leaves out the applying, so the
speed-up it gives is an underestimate.

Each cycle also counts the campaign rows it rewrote (a read rewrites its row when claimed,
taken and due again) and how many of them PostgreSQL updated in place, adding no index
entries (HOT): what `next_poll_at` going unindexed bought (issue 15, eighth part).

POLL_CONCURRENCY is 32, then 64 (`--quick`: 32); `BENCH_POLL_CONCURRENCIES=64,128`
measures other values instead (the first cycle runs at the largest).
"""

import os
import sys
import time
from pathlib import Path

from bench import harness, measure
from bench.harness import Row

NAME = "poll_cycle"
GOAL_SECONDS = 2.0
GOAL_SPEEDUP = 25
GOAL_CPU_MS = 1.0  # issue 15: worker CPU per refreshed campaign
STEP_SECONDS = 5  # simulated time between steady cycles: the default poll interval


def run(ctx) -> list[Row]:
    from django.conf import settings

    from campaigns.connections import poller_client, redis_client
    from campaigns.live import poll, publish
    from campaigns.live.budget import RequestBudget
    from campaigns.models import Campaign

    sim = ctx.sim
    count = 1000
    concurrencies = ([int(n) for n in os.environ["BENCH_POLL_CONCURRENCIES"].split(",")]
                     if os.environ.get("BENCH_POLL_CONCURRENCIES") else ctx.size([32, 64], [32]))
    subset = ctx.size(100, 50)
    harness.reset_world(sim)
    harness.say(f"poll_cycle: creating {count} running campaigns")
    campaigns = harness.create_running_campaigns(sim, count)
    sim.faults(latency_ms=harness.ATOMS_LATENCY_MS)
    saved = settings.POLL_CONCURRENCY, settings.ATOMS_MAX_RPS
    settings.ATOMS_MAX_RPS = harness.BENCH_MAX_RPS
    cycles = []
    try:
        # The first cycle at the most threads: every client a cycle borrows then exists
        # (creating one costs ~20 ms of CPU, once per process), so no steady cycle pays it.
        settings.POLL_CONCURRENCY = max(concurrencies)
        cycles.append(("first sighting", max(concurrencies),
                       _cycle(sim, poll, publish, advance=0)))
        for concurrency in concurrencies:
            settings.POLL_CONCURRENCY = concurrency
            cycles.append(("steady", concurrency, _cycle(sim, poll, publish)))
        # The cycles above have no page open, so nothing is rendered; here every fragment
        # of every campaign is watched (as if boards, lists and detail pages showed them
        # all), the most rendering a change can cost.
        # Templates compile at their first render in a process: not part of a change.
        publish.render_fragments(Campaign.objects.first(), [])
        redis_client().zadd(publish.WATCHING_KEY, {
            publish.watch_member(kind, None): time.time() + 3600 for kind in publish.KINDS})
        try:
            cycles.append(("steady, every fragment watched", concurrencies[-1],
                           _cycle(sim, poll, publish)))
        finally:
            redis_client().delete(publish.WATCHING_KEY)
        if ctx.profile:
            # Wall-clock time shows what the fetch threads wait on; each thread's CPU time
            # shows what the poller's one GIL is spent on (what binds more threads).
            for concurrency, timer, what in (
                    (concurrencies[0], time.perf_counter, "wall-clock time"),
                    (concurrencies[-1], time.thread_time, "CPU time of each thread")):
                settings.POLL_CONCURRENCY = concurrency
                _profiled_cycle(sim, poll, timer, f"{what}, POLL_CONCURRENCY={concurrency}")
        harness.say(f"poll_cycle: fetching {subset} campaigns one by one")
        # Exactly what poll.refresh's fetch does for one campaign, on one thread: so
        # one borrowed client, one kept-alive connection, tokens taken in batches.
        budget = RequestBudget(redis_client(), settings.ATOMS_MAX_RPS)
        started = time.perf_counter()
        for campaign in campaigns[:subset]:
            budget.acquire()
            with poller_client() as client:
                client.get_campaign(campaign.atoms_id)
        sequential = (time.perf_counter() - started) / subset * count
    finally:
        settings.POLL_CONCURRENCY, settings.ATOMS_MAX_RPS = saved
        sim.clear_faults()
    return _rows(cycles, sequential, subset, count)


def _cycle(sim, poll, publish, *, advance: int = STEP_SECONDS) -> dict:
    from campaigns import connections
    from campaigns.live.budget import RequestBudget
    from campaigns.models import Campaign

    sim.advance(advance)
    harness.make_all_due()
    # Phase timings come from wrapping the poller's own functions (they run unchanged);
    # RequestBudget._reserve is the budget's Redis round trip.
    rows_before = measure.row_updates(Campaign._meta.db_table)
    with measure.Counting((poll, "claim_due"), (poll, "apply_results"),
                          (publish, "render_fragments"), (publish, "snapshots_by_campaign"),
                          (publish, "publish_changes"), (publish, "publish_tick"),
                          (RequestBudget, "_reserve")) as seen:
        cpu_started, sim_started = time.process_time(), measure.cpu_seconds(sim.popen.pid)
        machine_started = measure.machine_cpu()
        started = time.perf_counter()
        report = poll.tick()
        total = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        sim_cpu = measure.cpu_seconds(sim.popen.pid) - sim_started
        busy = measure.busy_share(machine_started, measure.machine_cpu())
    if report.skipped or report.failed:
        raise RuntimeError(f"cycle went wrong: {report}")
    updated, in_place = (after - before for after, before in zip(
        measure.row_updates(Campaign._meta.db_table), rows_before, strict=True))
    harness.say(f"poll_cycle: {report.claimed} claimed, {report.changed} changed in "
                f"{total:.2f} s")
    apply = seen.seconds["apply_results"]
    return {
        "total": total, "claimed": report.claimed, "changed": report.changed,
        "claim": seen.seconds["claim_due"],
        "fetch": total - apply - seen.seconds["claim_due"],
        "apply": apply, "render": seen.seconds["render_fragments"],
        "publish": seen.seconds["publish_changes"] + seen.seconds["publish_tick"],
        "snapshots": seen.seconds["snapshots_by_campaign"],
        "cpu": cpu, "sim_cpu": sim_cpu, "busy": busy,
        # The main thread's own CPU in these phases; the rest of `cpu` is the claim and
        # the fetch threads (reads, call logs, budget).
        "apply_cpu": seen.cpu["apply_results"], "render_cpu": seen.cpu["render_fragments"],
        "reserves": seen.calls["_reserve"],
        "rows_updated": updated, "rows_in_place": in_place,
        "clients": sum(idle.qsize() for idle in connections._poller_clients.values()),
    }


def _profiled_cycle(sim, poll, timer, what: str, top: int = 25) -> None:
    """One more steady cycle under cProfile, printed to stderr (`--profile`).

    cProfile sees only the thread that enables it, so each fetch thread gets its own
    profiler around the two calls it makes (budget, GET); the main thread's covers the
    claim and the apply. `timer` is what the profile counts: time.perf_counter (waiting
    included, summed over threads) or time.thread_time (each thread's own CPU). The
    figures are inflated by profiling; their ranking is not.
    """
    import cProfile
    import pstats
    import threading

    from campaigns.atoms import AtomsClient
    from campaigns.live.budget import RequestBudget

    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()
    local = threading.local()

    def profiled(function):
        def wrapper(*args, **kwargs):
            profile = getattr(local, "profile", None)
            if profile is None:
                profile = local.profile = cProfile.Profile(timer)
                with lock:
                    profiles.append(profile)
            profile.enable()
            try:
                return function(*args, **kwargs)
            finally:
                profile.disable()

        return wrapper

    # Each fetch thread borrows a client (connections.poller_client) inside the profiled
    # get_campaign's caller, so the lending itself is outside the profile: it is a queue
    # get and put.
    targets = [(RequestBudget, "acquire"), (AtomsClient, "get_campaign"),
               (poll, "claim_due"), (poll, "apply_results")]
    saved = [(owner, name, getattr(owner, name)) for owner, name in targets]
    for owner, name, function in saved:
        setattr(owner, name, profiled(function))
    try:
        sim.advance(STEP_SECONDS)
        harness.make_all_due()
        poll.tick()
    finally:
        for owner, name, function in saved:
            setattr(owner, name, function)
    print(f"\n--- poll_cycle profile ({what}): one steady cycle, {len(profiles)} "
          f"threads, top {top} by own time ---", file=sys.stderr)
    stats = pstats.Stats(*profiles, stream=sys.stderr)
    print(_by_package(stats), file=sys.stderr)
    stats.sort_stats("tottime").print_stats(top)
    print("--- the same, cumulative, the project's code and the calls it spends most in ---",
          file=sys.stderr)
    stats.sort_stats("cumulative").print_stats(
        r"campaigns/|bulk_update|render_to_string|_assign_requests|bulk_create|"
        r"resolve_expression|execute_command", top)


def _by_package(stats) -> str:
    """Own time summed by where the code lives: a site-packages package, the project, the
    standard library, or C functions (which include the socket calls)."""
    import re
    from collections import Counter

    totals: Counter = Counter()
    for (filename, _, name), (_, _, own, _, _) in stats.stats.items():
        if filename == "~":  # "<method 'recv' of '_socket.socket' objects>", "<built-in ...>"
            method = re.fullmatch(r"<method '(\w+)' of '([\w.]+)' objects>", name)
            where = "C: " + (f"{method[2]}.{method[1]}" if method else
                             re.sub(r"^<built-in (method |function )?|>$", "", name))
        elif package := re.search(r"site-packages/([^/]+)", filename):
            where = package.group(1)
        elif "/work/" in filename or "campaigns/" in filename:
            where = "project: " + filename.rsplit("/", 2)[-2]
        else:
            module = re.search(r"python3\.\d+/(.+)\.py$", filename)
            where = "stdlib: " + (module[1].replace("/", ".").removesuffix(".__init__")
                                  if module else Path(filename).stem)
        totals[where] += own
    whole = sum(totals.values()) or 1
    return "own time by package: " + ", ".join(
        f"{where} {seconds / whole:.0%}" for where, seconds in totals.most_common(12))


def _rows(cycles, sequential: float, subset: int, count: int) -> list[Row]:
    rows = [Row(NAME, f"one by one, {subset} fetched in sequence, scaled to {count}",
                f"{sequential:.1f} s")]
    for kind, concurrency, c in cycles:
        label = f"{kind} cycle, POLL_CONCURRENCY={concurrency} ({c['changed']} of " \
                f"{c['claimed']} changed)"
        rows.append(Row(NAME, f"{label}: total", f"{c['total']:.2f} s",
                        f"<= {GOAL_SECONDS:g} s", c["total"] <= GOAL_SECONDS))
        rows.append(Row(NAME, f"{label}: claim / fetch / apply (render, chart query, "
                        "publish)",
                        f"{c['claim']:.2f} / {c['fetch']:.2f} / {c['apply']:.2f} "
                        f"({c['render']:.2f}, {c['snapshots']:.2f}, {c['publish']:.2f}) s"))
        rows.append(Row(NAME, f"{label}: budget Redis round trips; poller clients held "
                        "(one connection each)", f"{c['reserves']}; {c['clients']}"))
        rows.append(Row(NAME, f"{label}: campaign rows rewritten (claim, take, apply); of "
                        "them in place, adding no index entries (PostgreSQL HOT)",
                        f"{c['rows_updated']}; {c['rows_in_place']} "
                        f"({c['rows_in_place'] / max(c['rows_updated'], 1):.0%})"))
        rows.append(Row(NAME, f"{label}: CPU, poller process (all threads) / simulator; "
                        "machine busy (all processes, anyone's)",
                        f"{c['cpu']:.2f} s / {c['sim_cpu']:.2f} s; {c['busy']:.0%} of "
                        f"{os.cpu_count()} cores"))
        fetch_cpu = c["cpu"] - c["apply_cpu"]
        rows.append(Row(NAME, f"{label}: worker CPU per refreshed campaign: all / fetch "
                        "threads / apply, of which render per changed campaign",
                        f"{c['cpu'] / c['claimed'] * 1000:.2f} / "
                        f"{fetch_cpu / c['claimed'] * 1000:.2f} / "
                        f"{c['apply_cpu'] / c['claimed'] * 1000:.2f} ms, "
                        f"{c['render_cpu'] / max(c['changed'], 1) * 1000:.2f} ms",
                        f"<= {GOAL_CPU_MS:g} ms", c["cpu"] / c["claimed"] * 1000 <= GOAL_CPU_MS))
        speedup = sequential / c["total"]
        rows.append(Row(NAME, f"{label}: speed-up over one by one", f"{speedup:.1f}x",
                        f">= {GOAL_SPEEDUP}x", speedup >= GOAL_SPEEDUP))
    return rows
