"""board_bytes: what an open board receives per poll cycle, plain and gzipped.

A probe of the demo with 61 running campaigns measured 2.4 MB a minute per open board:
every running card's whole HTML at each poll. Measured here side by side in one run:

* a card's SSE frame with the fragment as the template renders it against as published
  (line breaks and indentation folded, `publish._render`), over the same campaigns;
* the bytes on the wire per viewer per cycle for viewers asking for gzip (as browsers
  do) and for viewers that do not, watching the same cycles;
* the web process's CPU per cycle with only plain viewers, then with only gzipped ones
  (each frame is deflated once for all viewers, `campaigns/live/compress.py`, so the
  gzipped fan-out should cost about what the plain one does).
"""

from bench import harness, measure
from bench.harness import Row

NAME = "board_bytes"
# Simulated time between cycles: long enough that every running card's numbers move.
STEP_SECONDS = 60


def run(ctx) -> list[Row]:
    from django.template.loader import render_to_string

    from campaigns.live import poll, publish
    from campaigns.live.stream import sse_frame
    from campaigns.models import Campaign

    sim = ctx.sim
    campaigns = ctx.size(61, 20)
    viewers = ctx.size(50, 10)
    cycles = ctx.size(8, 2)
    harness.reset_world(sim)
    harness.create_running_campaigns(sim, campaigns)
    # Cards of campaigns that have dialled a while carry a full sparkline (30 points).
    for _ in range(ctx.size(30, 3)):
        sim.advance(STEP_SECONDS)
        harness.make_all_due()
        poll.tick()

    # As SSE frames: each line of a fragment costs a "data: " prefix on the wire.
    rendered = published = 0
    listed = list(Campaign.objects.all())
    snapshots = publish.snapshots_by_campaign(c.pk for c in listed)
    for campaign in listed:
        context = publish.fragment_context(campaign, snapshots.get(campaign.pk, []))
        event = f"card-{campaign.pk}"
        rendered += len(sse_frame(
            event, render_to_string(f"{publish.TEMPLATE}#card", context)).encode())
        published += len(sse_frame(event, publish.render_fragment(
            campaign, "card", snapshots.get(campaign.pk, []))).encode())

    web = harness.start_web(sim)
    cookies = harness.viewer_cookies()
    measured = {}
    try:
        for gzip in (False, True):
            label = "gzip" if gzip else "plain"
            harness.say(f"board_bytes: {viewers} {label} viewers of {campaigns} running "
                        f"cards, {cycles} poll cycles")
            with harness.board_viewers(web, cookies, viewers, gzip=gzip) as swarm:
                measured[label] = _cycles(sim, web, swarm, cycles, poll)
    finally:
        harness.stop(web)
    per_viewer = {label: m["bytes"] / viewers / cycles for label, m in measured.items()}
    cpu = {label: m["cpu"] / cycles * 1000 for label, m in measured.items()}
    cards = {label: m["cards"] / viewers / cycles for label, m in measured.items()}
    return [
        Row(NAME, f"card frame with the fragment as rendered / as published, mean of "
            f"{campaigns} (line breaks and indentation folded)",
            f"{rendered / campaigns:.0f} B / {published / campaigns:.0f} B, "
            f"ratio {published / rendered:.2f}"),
        Row(NAME, f"card frames per viewer per cycle, plain / gzip ({campaigns} running)",
            f"{cards['plain']:.1f} / {cards['gzip']:.1f}"),
        Row(NAME, "bytes on the wire per viewer per cycle, plain / gzip",
            f"{per_viewer['plain'] / 1000:.1f} KB / {per_viewer['gzip'] / 1000:.1f} KB, "
            f"ratio {per_viewer['gzip'] / per_viewer['plain']:.2f}"),
        Row(NAME, f"web process CPU per cycle, {viewers} plain / {viewers} gzip viewers",
            f"{cpu['plain']:.0f} ms / {cpu['gzip']:.0f} ms, "
            f"ratio {cpu['gzip'] / max(cpu['plain'], 0.001):.2f}"),
        Row(NAME, "one board per minute at a 5 s poll (12 cycles), plain / gzip",
            f"{per_viewer['plain'] * 12 / 1e6:.2f} MB / {per_viewer['gzip'] * 12 / 1e6:.2f} MB"),
    ]


def _cycles(sim, web, swarm, cycles, poll) -> dict:
    totals = {"bytes": 0, "cpu": 0.0, "cards": 0}
    swarm.reset_counts()
    for cycle in range(1, cycles + 1):
        sim.advance(STEP_SECONDS)
        harness.make_all_due()
        cpu_before = measure.cpu_seconds(web.pid)
        poll.tick()
        # The change frames travel ahead of the tick on the same channel, so once every
        # viewer has this cycle's tick, the fan-out of its changes is done.
        measure.wait_for(lambda cycle=cycle: min(swarm.ticks()) >= cycle, timeout=30,
                         what="every viewer's tick frame")
        totals["cpu"] += measure.cpu_seconds(web.pid) - cpu_before
    events, _, _ = swarm.snapshot()
    totals["bytes"] = swarm.received_bytes()
    totals["cards"] = events["card"]
    return totals
