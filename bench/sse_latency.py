"""sse_latency: publish-to-receive delay to 1 and to 200 SSE viewers (goal: p99 <= 250 ms).

The path measured is the product's: `publish.publish_changes` (Redis PUBLISH) -> the web
process's one subscription (`stream.Broadcaster`) -> each viewer's queue -> the
viewer's `stream.event_stream` -> uvicorn -> the viewer's socket.
Each published fragment is a real rendered card with the send time embedded; a viewer
subtracts it from its arrival time (same machine, same clock).

Two loads: single changes, 10 a second (a campaign changing between ticks, e.g. after a
click), and whole ticks of 20 changes published at once, as the poller does: 4,000
frames at 200 viewers, which each viewer's stream sends as few writes as its queue
allows (all frames waiting go out together).
"""

import time

from bench import harness, measure
from bench.harness import Row
from bench.sse_swarm import Swarm

NAME = "sse_latency"
CAMPAIGNS = 20
GOAL_MS = 250


def run(ctx) -> list[Row]:
    from campaigns.live import poll, publish
    from campaigns.models import Campaign

    sim = ctx.sim
    singles = ctx.size(60, 30)
    ticks = ctx.size(10, 5)
    counts = (1, 200)
    harness.reset_world(sim)
    campaigns = harness.create_running_campaigns(sim, CAMPAIGNS)
    poll.tick()
    campaigns = list(Campaign.objects.filter(pk__in=[c.pk for c in campaigns]))
    snapshots = publish.snapshots_by_campaign(c.pk for c in campaigns)
    # Rendered once here: the benchmark measures delivery, not rendering.
    fragments = {c.pk: publish.render_fragments(c, snapshots.get(c.pk, [])) for c in campaigns}

    def send(batch: list) -> None:
        sent = f"<!-- bench-sent={time.time():.6f} -->"
        publish.publish_changes([(c, {kind: html + sent for kind, html in fragments[c.pk].items()},
                               False) for c in batch])

    web = harness.start_web(sim)
    cookies = harness.viewer_cookies()
    results = {}
    try:
        for viewers in counts:
            harness.say(f"sse_latency: {viewers} viewers, {singles} single changes, "
                        f"{ticks} ticks of {CAMPAIGNS} changes")
            swarm = Swarm(web.url, "/live/?kind=card&ids=all", cookies)
            try:
                if swarm.connect(viewers) < viewers:
                    raise RuntimeError(f"streams refused: {dict(swarm.failures)}")
                harness.warm_up(swarm)
                swarm.recording = True
                for index in range(singles):
                    send([campaigns[index % len(campaigns)]])
                    time.sleep(0.1)
                single = _collect(swarm, viewers * singles)
                for _ in range(ticks):
                    send(campaigns)
                    time.sleep(1.0)
                burst = _collect(swarm, viewers * CAMPAIGNS * ticks)
                results[viewers] = (single, burst)
            finally:
                swarm.close()
    finally:
        harness.stop(web)
    return _rows(results, counts, ticks)


def _collect(swarm, expected: int, timeout: float = 20) -> tuple[list[float], int, int]:
    """The latencies and the number of writes (HTTP chunks) received since the last call,
    once `expected` frames are in (or the timeout passed: then the shortfall is reported
    as lost)."""
    deadline = time.monotonic() + timeout
    while True:
        _, latencies, chunks = swarm.snapshot()
        if len(latencies) >= expected or time.monotonic() > deadline:
            swarm.reset_counts()
            return latencies, expected - len(latencies), chunks
        time.sleep(0.05)


def _ms(values: list[float], p: float) -> float:
    return measure.percentile(values, p) * 1000


def _rows(results: dict, counts, ticks: int) -> list[Row]:
    rows = []
    for viewers in counts:
        (single, lost_single, _), (burst, lost_burst, chunks) = results[viewers]
        p99 = _ms(single, 99)
        rows.append(Row(
            NAME, f"single change -> {viewers} viewer(s): p50 / p99 / max "
            f"({len(single)} frames, {lost_single} lost)",
            f"{_ms(single, 50):.1f} / {p99:.1f} / {_ms(single, 100):.1f} ms",
            f"p99 <= {GOAL_MS} ms" if viewers == counts[-1] else "",
            p99 <= GOAL_MS and lost_single == 0 if viewers == counts[-1] else None))
        burst_p99 = _ms(burst, 99)
        rows.append(Row(
            NAME, f"tick of {CAMPAIGNS} changes -> {viewers} viewer(s): p50 / p99 / max "
            f"({len(burst)} frames, {lost_burst} lost)",
            f"{_ms(burst, 50):.1f} / {burst_p99:.1f} / {_ms(burst, 100):.1f} ms",
            f"p99 <= {GOAL_MS} ms" if viewers == counts[-1] else "",
            burst_p99 <= GOAL_MS and lost_burst == 0 if viewers == counts[-1] else None))
        rows.append(Row(
            NAME, f"tick of {CAMPAIGNS} changes -> {viewers} viewer(s): writes received "
            "per viewer per tick (frames are batched when queued together)",
            f"{chunks / viewers / ticks:.2f} for {CAMPAIGNS} frames"))
    one, many = (_ms(results[n][0][0], 99) for n in counts)
    rows.append(Row(NAME, f"single change p99, ratio {counts[-1]} / {counts[0]} viewers",
                    f"{many / one:.1f}x"))
    return rows
