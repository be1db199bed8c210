"""page_bytes: what a page watching one campaign receives per poll cycle among many active.

A board needs every refreshed campaign's freshness; a campaign's own page needs its own.
Each poll tick names the campaigns it confirmed fresh, and every stream was sent the whole
list: at 1,000 active campaigns, some 7 KB a cycle for a page that shows one. Measured in
one run, on the same cycles: viewers of one running campaign's page among `campaigns`
running ones, some not asking for gzip (their bytes are the frames': the tick frames' share
is counted) and as many asking for it, as browsers do (the bytes on the wire).
"""

from bench import harness, measure
from bench.harness import Row
from bench.sse_swarm import Swarm

NAME = "page_bytes"
STEP_SECONDS = 60


def run(ctx) -> list[Row]:
    from campaigns.live import poll

    sim = ctx.sim
    campaigns = ctx.size(1000, 100)
    viewers = ctx.size(20, 5)
    cycles = ctx.size(4, 2)
    harness.reset_world(sim)
    watched = harness.create_running_campaigns(sim, campaigns)[0]
    poll.tick()  # the first sighting changes everything; later cycles are the steady state

    web = harness.start_web(sim)
    path = f"/live/?kind=detail&ids={watched.pk}"
    cookies = harness.viewer_cookies()
    plain, gzipped = Swarm(web.url, path, cookies), Swarm(web.url, path, cookies, gzip=True)
    try:
        harness.say(f"page_bytes: {viewers} plain and {viewers} gzip viewers of one "
                    f"campaign's page among {campaigns} running, {cycles} poll cycles")
        for swarm in (plain, gzipped):
            if swarm.connect(viewers) < viewers:
                raise RuntimeError(f"only {len(swarm.viewers)} of {viewers} streams opened: "
                                   f"{dict(swarm.failures)}")
            harness.warm_up(swarm)
        plain.reset_counts()  # the gzip viewers' warm-up ticks reached these too
        for cycle in range(1, cycles + 1):
            sim.advance(STEP_SECONDS)
            harness.make_all_due()
            poll.tick()
            measure.wait_for(lambda cycle=cycle: min(plain.ticks() + gzipped.ticks()) >= cycle,
                             timeout=60, what="every viewer's tick frame")
        by_kind = plain.bytes_by_kind()
        events, _, _ = plain.snapshot()
        wire = gzipped.received_bytes()
    finally:
        for swarm in (plain, gzipped):
            swarm.close()
        harness.stop(web)
    per_cycle = viewers * cycles
    total = sum(by_kind.values()) / per_cycle
    ticks = by_kind["tick"] / per_cycle
    return [
        Row(NAME, f"bytes per viewer per cycle of one campaign's page among {campaigns} "
            f"running, plain: all frames / tick frames",
            f"{total / 1000:.2f} KB / {ticks / 1000:.2f} KB "
            f"({events['tick'] / per_cycle:.1f} tick frames), tick share {ticks / total:.2f}"),
        Row(NAME, "the same page asking for gzip (as browsers do): bytes on the wire per "
            "viewer per cycle", f"{wire / per_cycle / 1000:.2f} KB"),
    ]
