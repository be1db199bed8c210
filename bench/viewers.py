"""viewers: Atoms calls per poll cycle with 1 viewer and with 200 (goal: ratio 1.00).

The design says the cost is set by the active campaigns, never by the people watching:
the poller fetches each campaign once per cycle, renders each change once, and the web
process fans the ready-made frames out. So with 20 running campaigns, each cycle must
cost 20 `GET /campaign/{id}` and one template render per changed campaign and fragment
kind being watched (the board watches cards: one), whether 1 or 200 browsers watch it.
With the outcome breakdown on, each running campaign also costs one `GET /conversation`
(its changed call logs), still per campaign and never per viewer: the ratio is taken over
every Atoms request.

The beat's other tasks run in each measured cycle too, with calling hours open on every
campaign (keeping them asks Atoms nothing until a window's edge), the alert checks and the
webhook deliveries: none of them may add an Atoms request.
"""

from bench import harness, measure
from bench.harness import Row

NAME = "viewers"
CAMPAIGNS = 20
ROUTE = "GET /campaign/{id}"
LOGS_ROUTE = "GET /conversation"
# Simulated time between cycles: long enough that most campaigns' numbers move.
STEP_SECONDS = 60


def run(ctx) -> list[Row]:
    from campaigns import calling_hours, services
    from campaigns.live import poll, publish
    from campaigns.models import Campaign

    sim = ctx.sim
    cycles = ctx.size(4, 2)
    counts = (1, 200)
    harness.reset_world(sim)
    harness.create_running_campaigns(sim, CAMPAIGNS)
    hours = calling_hours.parse("Daily 10:00-14:00", _zone_where_it_is_noon())
    for campaign in Campaign.objects.all():
        services.set_calling_hours(None, campaign, hours)
    poll.tick()  # the first sighting changes everything; later cycles are the steady state
    web = harness.start_web(sim)
    cookies = harness.viewer_cookies()
    measured = {}
    try:
        for viewers in counts:
            harness.say(f"viewers: {viewers} watching the board, {cycles} poll cycles")
            with harness.board_viewers(web, cookies, viewers) as swarm:
                measured[viewers] = _cycles(ctx, sim, web, swarm, cycles, publish, poll)
    finally:
        harness.stop(web)
    return _rows(measured, counts, cycles)


def _zone_where_it_is_noon() -> str:
    """A zone people may choose (a place's: calling hours refuse fixed offsets such as
    "Etc/GMT+1", which made this benchmark fail at some hours) in which it is nearest noon
    now, so a 10:00-14:00 window is open for the whole run whatever the hour here."""
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from campaigns import calling_hours

    now = timezone.now()

    def from_noon(zone: str) -> int:
        local = now.astimezone(ZoneInfo(zone))
        return abs(local.hour * 60 + local.minute - 12 * 60)

    return min(calling_hours.zones(), key=from_noon)


def _beat_tasks() -> None:
    """What the beat runs besides the poll tick, in this process."""
    from campaigns import alerts, keep_hours, webhooks

    acted = keep_hours.keep_calling_hours()
    if any(acted.values()):
        raise RuntimeError("calling hours acted: the window should be open all run")
    alerts.evaluate()
    webhooks.deliver_due()


def _cycles(ctx, sim, web, swarm, cycles, publish, poll) -> dict:
    totals = {"calls": 0, "logs": 0, "requests": 0, "changes": 0, "renders": 0, "frames": 0,
              "web_cpu": 0.0}
    for cycle in range(1, cycles + 1):
        sim.advance(STEP_SECONDS)
        harness.make_all_due()
        before = sim.stats()
        cpu_before = measure.cpu_seconds(web.pid)
        # Counted in this process, where the tick runs: the web process renders nothing
        # for the stream (it relays the frames the worker rendered).
        with measure.Counting((publish, "render_to_string"), (publish, "publish_changes")) as seen:
            report = poll.tick()
        _beat_tasks()
        after = sim.stats()
        # The change frames travel ahead of the tick on the same channel, so once every
        # viewer has this cycle's tick, the fan-out of its changes is done.
        measure.wait_for(lambda cycle=cycle: min(swarm.ticks()) >= cycle, timeout=30,
                         what="every viewer's tick frame")
        totals["web_cpu"] += measure.cpu_seconds(web.pid) - cpu_before
        totals["calls"] += sum(after["by_route"].get(ROUTE, {}).values()) - sum(
            before["by_route"].get(ROUTE, {}).values())
        totals["logs"] += sum(after["by_route"].get(LOGS_ROUTE, {}).values()) - sum(
            before["by_route"].get(LOGS_ROUTE, {}).values())
        totals["requests"] += after["requests"] - before["requests"]
        totals["changes"] += seen.items["publish_changes"]
        totals["renders"] += seen.calls["render_to_string"]
        if report.claimed != CAMPAIGNS:
            raise RuntimeError(f"cycle claimed {report.claimed} campaigns, not {CAMPAIGNS}")
    events, _, _ = swarm.snapshot()
    totals["frames"] = events["card"]
    return totals


def _rows(measured: dict, counts, cycles: int) -> list[Row]:
    one, many = (measured[n] for n in counts)
    per_cycle = {n: measured[n]["calls"] / cycles for n in counts}
    logs = {n: measured[n]["logs"] / cycles for n in counts}
    requests = {n: measured[n]["requests"] / cycles for n in counts}
    ratio = requests[counts[1]] / requests[counts[0]]
    renders = {n: measured[n]["renders"] / max(measured[n]["changes"], 1) for n in counts}
    frames = {n: measured[n]["frames"] / max(measured[n]["changes"], 1) for n in counts}
    cpu = {n: measured[n]["web_cpu"] / cycles * 1000 for n in counts}
    return [
        Row(NAME, f"{ROUTE} per cycle, {counts[0]} viewer / {counts[1]} viewers "
            f"({CAMPAIGNS} running campaigns, {cycles} cycles each)",
            f"{per_cycle[counts[0]]:.1f} / {per_cycle[counts[1]]:.1f}"),
        Row(NAME, f"{LOGS_ROUTE} per cycle (outcome breakdown), 1 / 200 viewers",
            f"{logs[counts[0]]:.1f} / {logs[counts[1]]:.1f}"),
        Row(NAME, "all Atoms requests per cycle (any route; the beat's calling hours, "
            "alerts and webhooks included), 1 / 200 viewers",
            f"{requests[counts[0]]:.1f} / {requests[counts[1]]:.1f}"),
        Row(NAME, f"Atoms calls per cycle (breakdown on), ratio {counts[1]} / {counts[0]} "
            "viewers", f"{ratio:.2f}", "1.00", abs(ratio - 1) < 0.005),
        Row(NAME, "template renders per published change, 1 / 200 viewers",
            f"{renders[counts[0]]:.2f} / {renders[counts[1]]:.2f}",
            "same (one per fragment kind watched: the board, cards)",
            renders[counts[0]] == renders[counts[1]]),
        Row(NAME, "changes published per cycle, 1 / 200 viewers",
            f"{one['changes'] / cycles:.1f} / {many['changes'] / cycles:.1f}"),
        Row(NAME, "card frames delivered per change, 1 / 200 viewers",
            f"{frames[counts[0]]:.2f} / {frames[counts[1]]:.2f}"),
        Row(NAME, "web process CPU per cycle (fan-out), 1 / 200 viewers",
            f"{cpu[counts[0]]:.0f} ms / {cpu[counts[1]]:.0f} ms"),
    ]
