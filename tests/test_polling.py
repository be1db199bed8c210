"""The poller, called directly: what one tick claims, fetches, writes, caches and publishes."""

import json
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns import services
from campaigns.connections import atoms_client, redis_client
from campaigns.live import poll, publish
from campaigns.live.budget import RequestBudget
from campaigns.models import Campaign, MetricSnapshot
from tests.campaign_factory import due_now, make_campaign, wait_for_status
from tests.published import Published, watch

pytestmark = pytest.mark.django_db


def test_a_tick_refreshes_mirror_snapshot_cache_and_publishes_once(sim, running):
    watch(running.pk)  # an open page
    published = Published()
    before = MetricSnapshot.objects.filter(campaign=running).count()
    sim.advance(600)
    due_now(running)

    report = poll.tick()

    assert (report.claimed, report.refreshed, report.changed) == (1, 1, 1)
    running.refresh_from_db()
    assert running.contacts_called > 0
    assert MetricSnapshot.objects.filter(campaign=running).count() == before + 1
    html = redis_client().get(publish.fragment_key(running.pk, "detail")).decode()
    assert f'data-testid="metric-called">{running.contacts_called}<' in html
    messages = published.messages()
    changes = [m for m in messages if "campaign" in m]
    assert [m["campaign"] for m in changes] == [running.pk]
    assert set(changes[0]["fragments"]) == {"row", "card", "detail"}
    assert [m["ids"] for m in messages if "tick" in m] == [[running.pk]]


def test_a_change_nobody_watches_is_not_rendered_and_no_stale_fragment_stays(sim, running):
    watch(running.pk)
    sim.advance(600)
    due_now(running)
    poll.tick()
    assert redis_client().get(publish.fragment_key(running.pk, "detail")) is not None
    redis_client().delete(publish.WATCHING_KEY)  # the page is closed
    published = Published()
    sim.advance(600)
    due_now(running)

    poll.tick()

    [change] = published.changes()
    assert change["campaign"] == running.pk and change["fragments"] == {}
    assert redis_client().mget([publish.fragment_key(running.pk, kind)
                                for kind in publish.KINDS]) == [None, None, None]
    running.refresh_from_db()
    # The next page to open renders it from the database, with the new numbers.
    html = publish.cached_fragments([running], "detail")[running.pk]
    assert f'data-testid="metric-called">{running.contacts_called}<' in html


def test_only_the_fragments_being_watched_are_rendered(sim, running):
    watch(None, kinds=["card"])  # a board
    watch(running.pk, kinds=["row"])  # a list page showing it
    watch(running.pk, kinds=["detail"], seconds=-1)  # a page closed long ago
    published = Published()
    sim.advance(600)
    due_now(running)

    poll.tick()

    [change] = published.changes()
    assert set(change["fragments"]) == {"card", "row"}
    assert redis_client().get(publish.fragment_key(running.pk, "detail")) is None


def read_again(campaign):
    due_now(campaign)
    poll.tick()
    campaign.refresh_from_db()
    return campaign


def test_a_running_campaign_that_stands_still_is_read_less_and_its_page_says_so(
        sim, running, settings):
    interval = settings.POLL_INTERVAL_SECONDS
    watch(running.pk)  # an open page
    sim.advance(600)
    read_again(running)  # it moved; the clock stands still from here: nothing moves
    spacings = []
    for _ in range(7):
        read_again(running)
        # Due again when the tick's claim ends (0.8 of an interval), plus the spacing.
        apart = (running.next_poll_at - running.fetched_at).total_seconds()
        spacings.append(round(apart / interval + 0.2))
    assert spacings == [1, 1, 2, 2, 2, 4, 4]
    assert running.poll_every_seconds == 4 * interval
    html = redis_client().get(publish.fragment_key(running.pk, "detail")).decode()
    assert f'data-interval="{4 * interval}"' in html
    assert f"checked every {4 * interval} s until it moves" in html

    sim.advance(600)  # it dials again: read every interval from the next read on
    published = Published()
    read_again(running)
    assert running.quiet_polls == 0
    apart = (running.next_poll_at - running.fetched_at).total_seconds()
    assert round(apart / interval + 0.2) == 1
    [change] = published.changes()
    assert f'data-interval="{interval}"' in change["fragments"]["detail"]
    assert "quiet-note" not in change["fragments"]["detail"]


def test_a_campaign_waiting_on_a_click_is_never_read_less(sim, running):
    read_again(running)
    Campaign.objects.filter(pk=running.pk).update(quiet_polls=6, pending_action="pause",
                                                  pending_since=timezone.now())
    read_again(running)
    assert running.pending_action == "pause"  # not confirmed yet: still polled each tick
    assert running.quiet_polls == 0


def test_an_unchanged_campaign_is_confirmed_fresh_but_not_republished(sim, running):
    due_now(running)
    poll.tick()
    published = Published()
    snapshots = MetricSnapshot.objects.count()
    due_now(running)  # no simulated time passes: Atoms reports the same numbers

    poll.tick()

    assert published.changes() == []
    assert MetricSnapshot.objects.count() == snapshots
    running.refresh_from_db()
    assert (timezone.now() - running.fetched_at).total_seconds() < 5


def test_a_campaign_is_not_polled_twice_within_an_interval(sim, running):
    due_now(running)
    assert poll.tick().claimed == 1
    assert poll.tick().claimed == 0  # claimed until the next interval


def test_the_next_tick_one_interval_later_polls_it_again(sim, running, settings):
    due_now(running)
    now = timezone.now()
    assert poll.claim_due(now) == ([running.pk], 0)
    assert poll.claim_due(now + timedelta(seconds=settings.POLL_INTERVAL_SECONDS / 2)) == ([], 0)
    assert poll.claim_due(now + timedelta(seconds=settings.POLL_INTERVAL_SECONDS)) == (
        [running.pk], 0)


def test_overlapping_ticks_are_skipped_by_the_lock(sim, running, settings):
    lock = redis_client().lock(poll.TICK_LOCK, timeout=5)
    assert lock.acquire(blocking=False)
    try:
        assert poll.tick().skipped
    finally:
        lock.release()


def test_a_tick_claims_no_more_than_the_budget_reads_in_an_interval(settings):
    """10 due, a budget of 5 reads a second and a 1 s interval, of which the reads of
    campaigns may plan on 4: 4 a tick, the other 6 reported waiting; they take turns,
    none claimed twice before every one was once."""
    settings.ATOMS_MAX_RPS, settings.POLL_INTERVAL_SECONDS, settings.POLL_CHUNK_SIZE = 5, 1, 3
    Campaign.objects.bulk_create([Campaign(atoms_id=f"{i:024x}", name=f"c{i}", status="running")
                                  for i in range(10)])
    claimed: list[int] = []
    for expected_waiting in (6, 6, 6):
        chunks: list[list[int]] = []
        report = poll.tick(dispatch_chunk=lambda ids, _at, chunks=chunks: chunks.append(ids))
        assert (report.claimed, report.waiting) == (4, expected_waiting)
        batch = [pk for chunk in chunks for pk in chunk]
        claimed += batch
        # The workers read them: refreshed now, due again at the next interval.
        Campaign.objects.filter(pk__in=batch).update(fetched_at=timezone.now())
        Campaign.objects.update(next_poll_at=None)
    assert len(set(claimed[:10])) == 10
    assert set(claimed) == set(Campaign.objects.values_list("pk", flat=True))


def test_drafts_and_completed_campaigns_are_not_polled(sim, atoms_settings, users):
    draft = make_campaign(sim, users["staff"], "draft")
    due_now(draft)
    assert poll.tick().claimed == 0


def test_a_large_active_set_is_split_into_disjoint_chunks(settings):
    settings.POLL_CHUNK_SIZE = 3
    Campaign.objects.bulk_create([Campaign(atoms_id=f"{i:024x}", name=f"c{i}", status="running")
                                  for i in range(10)])
    chunks = []
    report = poll.tick(dispatch_chunk=lambda ids, _claimed_at: chunks.append(ids))
    assert report.chunks == 4
    ids = [pk for chunk in chunks for pk in chunk]
    assert sorted(ids) == sorted(Campaign.objects.values_list("pk", flat=True))
    assert max(len(c) for c in chunks) == 3


def test_errors_mark_the_campaign_stale_with_the_reason_and_back_off(sim, running):
    sim.faults(fail_routes=["GET /campaign/{id}"])
    watch(None, kinds=["card"])  # an open board
    published = Published()
    due_now(running)

    report = poll.tick()

    assert report.failed == 1
    running.refresh_from_db()
    assert running.poll_error and running.poll_failures == 1
    assert running.next_poll_at > timezone.now()  # backed off, not hammering
    [change] = published.changes()
    assert "Not live:" in change["fragments"]["card"]

    sim.clear_faults()
    due_now(running)
    poll.tick()
    running.refresh_from_db()
    assert (running.poll_error, running.poll_failures) == ("", 0)


def test_backoff_grows_with_consecutive_failures(sim, running, settings):
    # One failure is a blip retried at the next tick; from DOWN_SAMPLE in a row, Atoms looks
    # down for this campaign and the wait doubles with each further failure.
    sim.faults(fail_routes=["GET /campaign/{id}"])
    waits = []
    for _ in range(poll.DOWN_SAMPLE + 2):
        due_now(running)
        now = timezone.now()
        poll.tick()
        running.refresh_from_db()
        waits.append((running.next_poll_at - now).total_seconds())
    blips, backoffs = waits[:poll.DOWN_SAMPLE - 1], waits[poll.DOWN_SAMPLE - 1:]
    assert max(blips) <= settings.POLL_INTERVAL_SECONDS + 1
    assert settings.POLL_INTERVAL_SECONDS + 1 < backoffs[0] < backoffs[1] < backoffs[2]


def test_after_an_outage_atoms_is_probed_and_every_campaign_refreshed_at_once(
        sim, running, users, settings):
    """During an outage every campaign backs off (minutes, in the end); one is read every
    PROBE_SECONDS meanwhile, and once it reads fine all are due again at once."""
    other = make_campaign(sim, users["staff"], "running", name="Autumn renewals",
                          audience_size=50)
    sim.faults(fail_routes=["GET /campaign/{id}"])
    for _ in range(poll.DOWN_SAMPLE + 2):
        due_now(running)
        due_now(other)
        poll.tick()
    backed_off = Campaign.objects.filter(next_poll_at__gt=timezone.now()
                                         + timedelta(seconds=4 * settings.POLL_INTERVAL_SECONDS))
    assert backed_off.count() == 2
    assert poll.tick().claimed == 1  # nothing due: the probe
    assert poll.tick().claimed == 0  # one probe per PROBE_SECONDS, however many ticks
    sim.clear_faults()
    redis_client().delete(poll.PROBE_KEY)  # PROBE_SECONDS later
    assert poll.tick().refreshed == 1  # the probe reads fine: Atoms is back...
    assert poll.tick().refreshed == 1  # ...and the other is read at the next tick
    assert set(Campaign.objects.values_list("poll_failures", flat=True)) == {0}


def test_a_campaign_deleted_elsewhere_leaves_the_active_set(sim, running):
    from campaigns.connections import atoms_client

    sim.advance(100_000)  # let it finish so Atoms allows the delete
    atoms_client().delete_campaign(running.atoms_id)
    due_now(running)
    poll.tick()
    running.refresh_from_db()
    assert running.deleted_remotely_at is not None
    due_now(running)
    assert poll.tick().claimed == 0


def test_a_not_found_atoms_still_lists_is_a_passing_fault_not_a_deletion(sim, running):
    """A probe: one 404 for a running campaign's details marked it "Deleted in Atoms",
    took it off the board and its Pause button away while Atoms' list still held it,
    running, and it kept dialling. A deletion is believed when the list agrees."""
    sim.faults(fail_routes=["GET /campaign/{id}"], error_status=404)
    watch(running.pk)
    due_now(running)
    assert poll.tick().failed == 1
    running.refresh_from_db()
    assert running.deleted_remotely_at is None and running.is_active()
    assert running.poll_error.startswith("Atoms still lists this campaign")
    assert running.button_state == "running:::"  # its Pause stays
    detail = redis_client().get(publish.fragment_key(running.pk, "detail")).decode()
    assert "Deleted in Atoms" not in detail and "Not live: Atoms still lists" in detail
    sim.clear_faults()
    due_now(running)
    assert poll.tick().refreshed == 1
    running.refresh_from_db()
    assert (running.poll_error, running.deleted_remotely_at) == ("", None)


def test_a_completed_campaign_gets_one_last_refresh_then_leaves(sim, running):
    sim.advance(100_000)
    due_now(running)
    poll.tick()
    running.refresh_from_db()
    assert running.status == "completed" and running.needs_final_poll
    due_now(running)
    assert poll.tick().claimed == 1
    running.refresh_from_db()
    assert not running.needs_final_poll
    due_now(running)
    assert poll.tick().claimed == 0


def test_the_last_read_of_a_finished_campaign_tells_open_boards_that_it_left(sim, running):
    """That read only ends its final reading (the status moved a read earlier), and boards
    reload their grid on a status change only: its "Completed" card stayed on every open
    board until another campaign moved (probe, 25 to 50 s)."""
    sim.advance(100_000)
    due_now(running)
    poll.tick()  # "completed": still active, for its one last read
    published = Published()
    due_now(running)
    poll.tick()
    running.refresh_from_db()
    assert not running.is_active()
    (change,) = [m for m in published.changes() if m["campaign"] == running.pk]
    assert change["status_changed"]


def test_a_finished_campaign_is_read_while_its_calls_show_one_in_progress_and_no_longer(
        sim, running, settings):
    """Finished with calls still in progress in our copy: one last refresh left them so
    for good, under "Final numbers" (3 in progress, the spend short of Atoms' own). It is
    read again while they show, for at most POLL_SETTLE_SECONDS without a change."""
    sim.advance(100_000)
    poll.refresh_one(running.pk)  # the first sighting of "completed"
    poll.refresh_one(running.pk)  # its one last refresh
    running.refresh_from_db()
    assert running.status == "completed" and not running.needs_final_poll
    summary = {**(running.call_summary or {}), "counts": {"in_progress": 3}}
    Campaign.objects.filter(pk=running.pk).update(
        call_summary=summary, needs_final_poll=True, modified_at=timezone.now())
    poll.refresh_one(running.pk)
    running.refresh_from_db()
    assert running.needs_final_poll  # still read: a call may still end and count
    stood_still = timezone.now() - timedelta(seconds=settings.POLL_SETTLE_SECONDS + 1)
    Campaign.objects.filter(pk=running.pk).update(
        call_summary=summary, needs_final_poll=True, modified_at=stood_still)
    poll.refresh_one(running.pk)
    running.refresh_from_db()
    assert not running.needs_final_poll  # nothing moved for that long: it leaves
    # Left so, it is not called "Final numbers": those calls would add outcomes and cost.
    Campaign.objects.filter(pk=running.pk).update(call_summary=summary)
    (page,) = publish.render_from_database([Campaign.objects.get(pk=running.pk)],
                                           "detail").values()
    assert "Final numbers" not in page
    assert "Completed: numbers as of" in page and "3 calls still in progress" in page


def test_a_429_pauses_every_poller_and_backs_off_as_told(sim, atoms_settings):
    from campaigns.live import sync

    sync.sync_campaign_list()
    ids = list(Campaign.objects.values_list("pk", flat=True))
    assert len(ids) >= 4
    sim.faults(rate_limit=1)
    started = time.time()

    result = poll.refresh(ids)

    limited = sim.stats()["by_route"]["GET /campaign/{id}"].get("429", 0)
    assert limited >= 2 and result.failed == limited
    budget = RequestBudget(redis_client(), 100)
    assert float(redis_client().get(f"{budget.key}:paused-until")) > started
    waiting = Campaign.objects.exclude(poll_error="")
    assert waiting.count() == limited
    assert all(c.next_poll_at > timezone.now() for c in waiting)


def test_the_request_budget_never_exceeds_its_rate_across_threads():
    fake_now = [1000.0]
    sleeps = []
    lock = threading.Lock()

    def sleep(seconds):
        with lock:
            sleeps.append(seconds)
            fake_now[0] = int(fake_now[0]) + 1.0

    budget = RequestBudget(redis_client(), 5, key="test:budget", clock=lambda: fake_now[0],
                           sleep=sleep)
    seconds_used = []
    for _ in range(12):
        budget.acquire()
        seconds_used.append(int(fake_now[0]))
    counts = {s: seconds_used.count(s) for s in set(seconds_used)}
    assert max(counts.values()) == 5
    assert sorted(counts) == [1000, 1001, 1002]


def test_two_workers_sharing_the_budget_never_exceed_it_together():
    clock = [2000.0]

    def sleep(seconds):
        clock[0] = int(clock[0]) + 1.0

    workers = [RequestBudget(redis_client(), 100, key="test:shared", clock=lambda: clock[0],
                             sleep=sleep) for _ in range(2)]
    granted: dict[int, int] = {}
    for n in range(450):
        workers[n % 2].acquire()  # interleaved, as two processes would be
        granted[int(clock[0])] = granted.get(int(clock[0]), 0) + 1
    assert max(granted.values()) <= 100
    assert sum(granted.values()) == 450
    assert len(granted) >= 5  # it had to wait for new seconds instead of overspending


def test_the_budget_takes_tokens_from_redis_in_batches():
    budget = RequestBudget(redis_client(), 1000, key="test:batched", clock=lambda: 3000.5,
                           sleep=lambda s: None)
    for _ in range(200):
        budget.acquire()
    # 50 tokens a round trip: 4 reservations for 200 requests, not 200.
    assert int(redis_client().get("test:batched:3000")) == 200


def test_the_budget_waits_out_a_429_pause():
    now = [500.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    budget = RequestBudget(redis_client(), 100, key="test:pause", clock=lambda: now[0],
                           sleep=sleep)
    budget.pause_for(7)
    budget.acquire()
    assert slept == [7]


def test_stale_pending_actions_show_the_overdue_note(sim, running, settings):
    Campaign.objects.filter(pk=running.pk).update(
        pending_action="pause", pending_since=timezone.now() - timedelta(minutes=3))
    running.refresh_from_db()
    html = publish.render_fragment(running, "detail", [])
    assert 'data-pending-since="' in html and "has not confirmed it after a minute" in html


def test_polls_in_one_process_share_their_budget_tokens(sim, atoms_settings, settings):
    """Tokens one poll reserved but did not use serve the next one, instead of lapsing."""
    from campaigns.connections import request_budget
    from campaigns.live import sync

    settings.ATOMS_MAX_RPS = 40  # 2 tokens per Redis round trip
    sync.sync_campaign_list()
    ids = list(Campaign.objects.values_list("pk", flat=True))[:3]
    assert request_budget() is request_budget()
    time.sleep(1.02 - time.time() % 1)  # start at a new second: the polls fit inside it
    for pk in ids:  # three separate polls of one campaign each
        poll.refresh([pk])
    reserved = sum(int(redis_client().get(key)) for key in redis_client().keys("atoms:budget:*")
                   if not key.endswith(b"paused-until"))
    assert reserved <= 4  # a budget per poll would have taken 2 each: 6


def test_a_scheduled_campaign_is_polled_only_near_its_start(settings):
    now = timezone.now()
    later = Campaign.objects.create(atoms_id="a" * 24, name="Next week", status="scheduled",
                                    scheduled_at=now + timedelta(days=7))
    soon = Campaign.objects.create(atoms_id="b" * 24, name="In a moment", status="scheduled",
                                   scheduled_at=now + timedelta(seconds=1))
    assert poll.claim_due(now) == ([soon.pk], 0)
    assert later.pk in poll.claim_due(later.scheduled_at - timedelta(seconds=1))[0]


def test_a_paused_campaign_is_refreshed_until_calls_in_flight_have_counted(sim, running, users):
    sim.advance(45)  # calls under way
    services.pause_campaign(users["staff"], running)
    paused = wait_for_status(sim, running, "paused", step=1)
    at_pause = (paused.contacts_called, paused.contacts_connected)
    sim.advance(600)  # the calls in progress at the pause end, and count
    metrics = atoms_client().get_campaign(paused.atoms_id).metrics
    assert (metrics.contacts_called, metrics.contacts_connected) != at_pause
    due_now(paused)
    assert poll.tick().claimed == 1
    paused.refresh_from_db()
    assert (paused.contacts_called, paused.contacts_connected) == (
        metrics.contacts_called, metrics.contacts_connected)


def test_chunks_that_expire_unstarted_never_starve_the_same_campaigns(sim, atoms_settings,
                                                                       users, settings):
    """Workers with time for one chunk per tick (the rest expire in the queue) still
    refresh every campaign in turn: claims go least recently refreshed first."""
    settings.POLL_CHUNK_SIZE = 2
    campaigns = [make_campaign(sim, users["staff"], "running", name=f"Fair {n}",
                               audience_size=50) for n in range(6)]
    refreshed: set[int] = set()
    for _ in range(3):
        Campaign.objects.update(next_poll_at=timezone.now())  # the next interval has come
        chunks: list[list[int]] = []
        report = poll.tick(dispatch_chunk=lambda ids, _at, chunks=chunks: chunks.append(ids))
        assert (report.claimed, report.chunks) == (6, 3)
        poll.refresh(chunks[0])  # the only chunk a worker reached; the others expired
        refreshed |= set(chunks[0])
    assert refreshed == {c.pk for c in campaigns}


def test_a_chunk_being_read_is_not_claimed_again_by_the_next_tick(sim, atoms_settings,
                                                                    users, settings):
    """A chunk that starts late in its interval holds its campaigns while it reads them:
    the next tick claims only the others, a second delivery of the chunk reads nothing,
    and once read the campaign is due at the tick after."""
    settings.POLL_CHUNK_SIZE = 1
    for n in range(2):
        make_campaign(sim, users["staff"], "running", name=f"Late {n}", audience_size=50)
    Campaign.objects.update(next_poll_at=None)
    chunks: list[tuple[list[int], object]] = []
    assert poll.tick(dispatch_chunk=lambda *chunk: chunks.append(chunk)).claimed == 2
    (late, claimed_at), (other, _) = chunks
    assert poll.take(late, claimed_at) == late  # a worker starts it just before the next tick
    assert poll.take(late, claimed_at) == []  # the same chunk again (a redelivery)
    interval = timedelta(seconds=settings.POLL_INTERVAL_SECONDS)
    next_tick = timezone.now() + interval
    assert poll.claim_due(next_tick) == (other, 0)
    assert poll.refresh(late).refreshed == 1
    assert late[0] in poll.claim_due(next_tick + interval)[0]


def test_a_chunk_read_late_in_its_interval_is_due_at_the_next_tick(sim, running, settings):
    """However late in the interval a chunk's reads come, its campaigns are claimed again
    at the next tick, not the one after."""
    interval = timedelta(seconds=settings.POLL_INTERVAL_SECONDS)
    claimed_at = timezone.now() - interval * 0.9  # the tick was most of an interval ago
    Campaign.objects.filter(pk=running.pk).update(fetched_at=claimed_at - interval,
                                                  next_poll_at=None)
    ids, _ = poll.claim_due(claimed_at)
    assert poll.refresh(poll.take(ids, claimed_at), claimed_at).refreshed == 1
    assert poll.claim_due(claimed_at + interval) == ([running.pk], 0)


def test_a_chunk_that_starts_after_a_later_claim_was_read_leaves_its_campaigns(
        sim, atoms_settings, users, settings):
    """Two ticks' chunks hold the same campaigns when the first chunk waits past the second
    tick: whichever starts first reads them, the other reads nothing."""
    make_campaign(sim, users["staff"], "running", name="Twice", audience_size=50)
    Campaign.objects.update(next_poll_at=None)
    second_claim = timezone.now()  # the next tick, the first chunk still queued
    first_claim = second_claim - timedelta(seconds=settings.POLL_INTERVAL_SECONDS)
    ids, _ = poll.claim_due(first_claim)
    assert poll.claim_due(second_claim) == (ids, 0)
    assert poll.refresh(poll.take(ids, second_claim)).refreshed == 1
    assert poll.take(ids, first_claim) == []  # the late chunk: read since its claim


def test_each_tick_reports_how_long_the_most_neglected_campaign_has_waited(sim, running):
    stale = timezone.now() - timedelta(minutes=5)
    Campaign.objects.filter(pk=running.pk).update(fetched_at=stale, next_poll_at=None)
    report = poll.tick()
    assert 300 <= report.oldest_age < 330
    assert report.refreshed == 1
    Campaign.objects.filter(pk=running.pk).update(next_poll_at=None)
    assert poll.tick().oldest_age < 30  # just refreshed


SQLITE_WRITE = """
import json, django
django.setup()
from django.core.management import call_command
from django.utils import timezone
from campaigns.live import poll
from campaigns.models import Campaign
call_command("migrate", verbosity=0)
now = timezone.now()
rows = [Campaign.objects.create(atoms_id=f"{n:024x}", name=f"c{n}", status="running",
                                contacts_called=1, quiet_polls=4) for n in range(3)]
rows[0].contacts_called, rows[0].events = 7, [{"action": "started"}]
rows[1].contacts_called, rows[1].fetched_at, rows[1].needs_final_poll = 9, now, True
rows[2].status, rows[2].paused_at = "paused", now
poll._save([(rows[0], {"contacts_called", "events"}),
            (rows[1], {"contacts_called", "fetched_at", "needs_final_poll"}),
            (rows[2], {"status", "paused_at"})], now)
print(json.dumps([[c.contacts_called, c.events, c.fetched_at is not None, c.needs_final_poll,
                   c.status, c.paused_at is not None, c.quiet_polls, c.modified_at == now]
                  for c in Campaign.objects.order_by("pk")]))
"""


def test_the_poll_writes_changed_campaigns_on_sqlite_the_demo_database(tmp_path):
    """The demo runs on SQLite, where the batch write is other SQL than on PostgreSQL
    (UPDATE ... FROM (VALUES ...) without column aliases): each row gets its own values,
    only in the fields it changed."""
    from django.conf import settings

    env = {"PATH": os.environ["PATH"], "SECRET_KEY": "x" * 50, "HTTPS": "0", "DEBUG": "0",
           "DJANGO_SETTINGS_MODULE": "dashboard.settings",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}"}
    result = subprocess.run([sys.executable, "-c", SQLITE_WRITE], cwd=settings.BASE_DIR,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == [
        [7, [{"action": "started"}], False, False, "running", False, 4, True],
        [9, [], True, True, "running", False, 4, True],
        [1, [], False, False, "paused", True, 4, True],
    ]


def test_a_slow_read_sent_before_a_newer_one_was_applied_is_not_written_over_it(
        sim, running, users):
    """Two reads of one campaign in flight (a tick's and a click's): the one sent first
    answered last. Written, the page stepped back (Running, then "Resuming…", then
    Running again) until the next read."""
    sent_at = timezone.now()
    slow = atoms_client().get_campaign(running.atoms_id)  # answered "running", held
    assert slow.campaign.status == "running"
    services.pause_campaign(users["admin"], running)
    paused = wait_for_status(sim, running, "paused", step=1)  # a newer read, applied
    stale = Campaign.objects.get(pk=running.pk)
    result = poll.apply_results([(stale, (slow, None))], timezone.now(), sent_at=sent_at)
    paused.refresh_from_db()
    assert paused.status == "paused" and paused.pending_action == ""
    assert result.changed == 0


def test_a_pause_asked_for_while_a_read_was_on_its_way_is_settled_by_that_read(
        sim, running, users):
    """A tick read the campaign's row, a person paused it, and the tick's fetch came back
    "paused": written as it was read (nothing pending), the row said Paused with the pause
    still pending until a later read, and an open page's buttons, fetched meanwhile, said
    "Pausing…" beside "Paused" (seen in CI)."""
    watch(running.pk)
    read_before_the_click = Campaign.objects.get(pk=running.pk)
    sent_at = timezone.now()
    services.pause_campaign(users["admin"], running)
    detail = atoms_client().get_campaign(running.atoms_id)
    for _ in range(30):
        if detail.campaign.status == "paused":
            break
        sim.advance(1)
        detail = atoms_client().get_campaign(running.atoms_id)
    assert detail.campaign.status == "paused"
    published = Published()
    poll.apply_results([(read_before_the_click, (detail, None))], timezone.now(),
                       sent_at=sent_at)
    running.refresh_from_db()
    assert (running.status, running.pending_action, running.pending_since) == (
        "paused", "", None)
    [change] = published.changes()
    assert 'data-button-state="paused:::"' in change["fragments"]["detail"]
