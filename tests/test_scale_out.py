"""Scale-out on real processes: two web processes and two Celery workers (one with the
beat) on one Redis and PostgreSQL, as docker-compose.yml runs them with --scale.

Every viewer, on either web process, receives every change once; no campaign is polled
twice in a tick; and killing a worker or a web process loses nothing.
"""

import signal
import time
from collections import defaultdict

import pytest
from django.urls import reverse

from dashboard.processes import POLL_INTERVAL, session_cookie, start_web_server, start_worker
from tests.campaign_factory import make_campaign
from tests.sse_client import Stream

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

CAMPAIGNS = 4
PHASE_SECONDS = 6
SPEED = 30  # simulated seconds a second: numbers move every tick, nothing completes


def cards(frames) -> dict[int, list[str]]:
    by_campaign: dict[int, list[str]] = defaultdict(list)
    for frame in frames:
        if frame.event.startswith("card-"):
            by_campaign[int(frame.event[5:])].append(frame.data)
    return by_campaign


def settle(stream, seconds: float) -> list:
    """Frames that arrive within `seconds`."""
    deadline = time.monotonic() + seconds
    got = []
    while time.monotonic() < deadline:
        try:
            got.append(stream.next(timeout=max(0.05, deadline - time.monotonic())))
        except (TimeoutError, Exception):
            break
    return got


def test_two_webs_two_workers_every_change_once_no_double_polls_and_a_kill_loses_nothing(
        simulator_process, sim, atoms_settings, users):
    campaigns = [make_campaign(sim, users["staff"], "running", name=f"Scale {n}",
                               audience_size=1000) for n in range(CAMPAIGNS)]
    # Small chunks: every tick is split across both workers. No stall notices nor reads
    # spaced out once the numbers stand still: they would add messages at the very end of
    # the reading window, which is not what this measures.
    # A chunk the killed worker was reading stays held for the longest a read may take
    # (interval + connect + read timeouts: 21 s by default), then goes first: short
    # timeouts (the simulator answers in milliseconds) make that lapse within a phase.
    worker_env = {"POLL_CHUNK_SIZE": "1", "STALL_AFTER_SECONDS": "3600",
                  "POLL_QUIET_MAX_INTERVALS": "1",
                  "ATOMS_CONNECT_TIMEOUT": "1", "ATOMS_READ_TIMEOUT": "2"}
    workers = [start_worker(simulator_process, beat=True, **worker_env),
               start_worker(simulator_process, beat=False, **worker_env)]
    webs = [start_web_server(simulator_process), start_web_server(simulator_process)]
    cookie = session_cookie(users["manager"])
    # Named ids, not "all": a campaign that completes stays in the reconnect's state.
    ids = ",".join(str(c.pk) for c in campaigns)
    path = f"{reverse('live_stream')}?kind=card&ids={ids}"
    viewers = [Stream(webs[0].url + path, cookie), Stream(webs[1].url + path, cookie)]
    try:
        for viewer in viewers:
            settle(viewer, 1.5)  # the current state
        # Phase 1: everything up. Both viewers see the same changes, each once.
        sim.set_speed(SPEED)
        before = sim.calls_to("GET /campaign/{id}")
        started = time.monotonic()
        time.sleep(PHASE_SECONDS)
        sim.set_speed(0)
        polled = sim.calls_to("GET /campaign/{id}") - before
        elapsed = time.monotonic() - started
        seen = [cards(settle(viewer, 3 * POLL_INTERVAL)) for viewer in viewers]
        assert seen[0] == seen[1], "the two web processes delivered different changes"
        for pk, fragments in seen[0].items():
            assert fragments, f"campaign {pk} showed no change"
            assert all(a != b for a, b in zip(fragments, fragments[1:], strict=False)), \
                f"campaign {pk}: a change was delivered twice"
        assert set(seen[0]) == {c.pk for c in campaigns}
        ticks = elapsed / POLL_INTERVAL
        # Once per campaign per tick (plus the tick in flight at each end), never twice.
        assert polled <= CAMPAIGNS * (ticks + 2), (polled, ticks)
        print(f"phase 1: {polled} campaign polls in {ticks:.1f} ticks for {CAMPAIGNS} "
              f"campaigns; {sum(map(len, seen[0].values()))} changes to each viewer")

        # Phase 2: kill the worker without the beat; the other carries on alone.
        workers[1].popen.send_signal(signal.SIGKILL)
        workers[1].popen.wait()
        sim.set_speed(SPEED)
        time.sleep(PHASE_SECONDS)
        sim.set_speed(0)
        seen = [cards(settle(viewer, 3 * POLL_INTERVAL)) for viewer in viewers]
        assert seen[0] == seen[1]
        assert set(seen[0]) == {c.pk for c in campaigns}, "changes stopped with one worker"

        # Phase 3: kill web 2; its viewer reconnects to web 1 and misses nothing: the
        # state it is given is what the viewer that stayed saw last.
        last = {pk: fragments[-1] for pk, fragments in seen[0].items()}
        sim.set_speed(SPEED)
        time.sleep(2)
        webs[1].process.popen.send_signal(signal.SIGKILL)
        webs[1].process.popen.wait()
        time.sleep(2)
        sim.set_speed(0)
        stayed = cards(settle(viewers[0], 3 * POLL_INTERVAL))
        for pk, fragments in stayed.items():
            last[pk] = fragments[-1]
        viewers[1].close()
        viewers[1] = Stream(webs[0].url + path, cookie)
        # The current state comes first, in id order (a busy machine may take seconds).
        try:
            current = {c.pk: viewers[1].next(event=f"card-{c.pk}", timeout=15).data
                       for c in campaigns}
        except Exception:
            pytest.fail(f"no current state on reconnect: status {viewers[1].status}, "
                        f"frames {[f.event for f in viewers[1].drain()]}\n"
                        f"{webs[0].process.output()}")
        assert current == last
    finally:
        sim.set_speed(0)
        for viewer in viewers:
            viewer.close()
        for web in webs:
            web.process.stop()
        for worker in workers:
            worker.stop()
