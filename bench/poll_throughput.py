"""poll_throughput: campaigns polled per second by one, two and four Celery worker processes.

Real `celery worker` processes (threads pool, as the tests run them) on the benchmarks'
broker; this process plays beat: it calls `poll.tick` with the task module's own
dispatcher, which splits the claimed campaigns into POLL_CHUNK_SIZE chunks queued as
`poll_chunk` tasks, so whichever worker is free takes the next chunk. A cycle ends when
every claimed campaign has been written back (fetched, or failed and rescheduled).

All workers start at once and get an untimed warm-up cycle (a fresh worker imports and
connects on its first chunks). Then one-, two- and four-worker cycles alternate, the
other workers' consumers switched off and on with Celery's remote control, so that
whatever else loads the machine meanwhile weighs on every configuration alike (`--quick`:
one and two). Cycles
are 30 simulated seconds apart, so a realistic share of campaigns changes (and is
rendered) each cycle. Throughput is the median over cycles.
"""

import os
import time

from bench import harness, measure
from bench.harness import Row

NAME = "poll_throughput"
CHUNK = 50
WORKER_THREADS = 2  # chunks one worker process runs at once
STEP_SECONDS = 30


def run(ctx) -> list[Row]:
    from django.conf import settings

    sim = ctx.sim
    count = ctx.size(1000, 400)
    cycles = 3  # odd, so the median is one real cycle
    harness.reset_world(sim)
    harness.say(f"poll_throughput: creating {count} running campaigns")
    harness.create_running_campaigns(sim, count)
    sim.faults(latency_ms=harness.ATOMS_LATENCY_MS)
    env = {
        "POLL_CONCURRENCY": "32", "ATOMS_MAX_RPS": str(harness.BENCH_MAX_RPS),
        # Long enough that no chunk expires in the queue while one worker is busy.
        "POLL_INTERVAL_SECONDS": "120", "LOG_LEVEL": "WARNING",
    }
    saved = settings.POLL_CHUNK_SIZE, settings.POLL_INTERVAL_SECONDS
    settings.POLL_CHUNK_SIZE, settings.POLL_INTERVAL_SECONDS = CHUNK, 120
    scales = ctx.size((1, 2, 4), (1, 2))
    results: dict[int, list] = {n: [] for n in scales}
    workers = []
    try:
        workers = [harness.start_worker(sim, concurrency=WORKER_THREADS, **env)
                   for _ in range(max(scales))]
        names = [harness.worker_node_name(worker) for worker in workers]
        _cycle(sim, workers)  # warm-up
        consuming = [True] * len(workers)
        for _ in range(cycles):
            for n in scales:
                for index, name in enumerate(names):
                    if consuming[index] != (index < n):
                        harness.set_consuming(name, index < n)
                        consuming[index] = index < n
                results[n].append(_cycle(sim, workers[:n]))
    finally:
        settings.POLL_CHUNK_SIZE, settings.POLL_INTERVAL_SECONDS = saved
        for worker in reversed(workers):
            harness.stop(worker)
        sim.clear_faults()
    return _rows(results, count, cycles)


def _cycle(sim, workers) -> dict:
    from django.db.models import Q
    from django.utils import timezone

    from campaigns import tasks
    from campaigns.live import poll
    from campaigns.models import Campaign

    sim.advance(STEP_SECONDS)
    harness.make_all_due()
    cpu_before = [measure.cpu_seconds(w.popen.pid) for w in workers]
    sim_before = measure.cpu_seconds(sim.popen.pid)
    machine_before = measure.machine_cpu()
    since = timezone.now()
    started = time.monotonic()
    report = poll.tick(dispatch_chunk=tasks._dispatch_chunk)
    if report.skipped or not report.chunks:
        raise RuntimeError(f"the tick did not fan out: {report}")
    # A refreshed campaign gets fetched_at; a failed one gets modified_at (its backoff).
    done = Campaign.objects.filter(Q(fetched_at__gte=since) | Q(modified_at__gte=since))
    measure.wait_for(lambda: done.count() >= report.claimed, timeout=180, interval=0.05,
                     what=f"all {report.claimed} campaigns polled")
    seconds = time.monotonic() - started
    busy = measure.busy_share(machine_before, measure.machine_cpu())
    changed = Campaign.objects.filter(modified_at__gte=since).count()
    result = {
        "claimed": report.claimed, "chunks": report.chunks, "seconds": seconds,
        "rate": report.claimed / seconds, "changed": changed,
        "worker_cpu": sum(measure.cpu_seconds(w.popen.pid) - before
                          for w, before in zip(workers, cpu_before, strict=True)),
        "sim_cpu": measure.cpu_seconds(sim.popen.pid) - sim_before,
        "busy": busy,
    }
    harness.say(f"poll_throughput: {len(workers)} worker(s): {report.claimed} in {seconds:.2f} s "
                f"({result['rate']:.0f}/s, {changed} changed)")
    return result


def _rows(results: dict, count: int, cycles: int) -> list[Row]:
    rows = []
    rates = {}
    for processes, runs in results.items():
        rates[processes] = measure.median([r["rate"] for r in runs])
        middle = sorted(runs, key=lambda r: r["rate"])[len(runs) // 2]
        rows.append(Row(
            NAME, f"{processes} worker process(es) x {WORKER_THREADS} threads, {count} "
            f"campaigns in chunks of {CHUNK} (median of {cycles} cycles)",
            f"{rates[processes]:.0f} campaigns/s ({middle['seconds']:.2f} s a cycle, "
            f"{middle['changed']} changed)"))
        rows.append(Row(
            NAME, f"{processes} worker(s): CPU per cycle, workers / simulator; "
            "machine busy (all processes, anyone's)",
            f"{middle['worker_cpu']:.2f} s / {middle['sim_cpu']:.2f} s in "
            f"{middle['seconds']:.2f} s; {middle['busy']:.0%} of {os.cpu_count()} cores"))
    for processes in list(rates)[1:]:
        rows.append(Row(NAME, f"throughput ratio, {processes} workers / 1 worker (proportional: "
                        f"{processes}.00x)", f"{rates[processes] / rates[1]:.2f}x"))
    return rows
