"""Refreshing active campaigns from Atoms: claim, fetch concurrently, apply in bulk.

One beat tick claims the due campaigns, least recently refreshed first and no more than
the shared request budget can read in an interval, with a single UPDATE (so an
overlapping tick cannot claim them again); chunks of them go to workers, which take them
(leaving any another chunk is reading or has read since), fetch them with bounded
concurrency under the budget, then write the mirror, snapshots, cache and messages in a
handful of queries.
"""

import logging
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F, Max, Min, Q
from django.utils import timezone
from redis.exceptions import LockError

from campaigns import atoms, audit, mirror, outcomes, progress
from campaigns.atoms import CampaignStatus
from campaigns.connections import poller_client, redis_client, request_budget
from campaigns.live import publish
from campaigns.models import (
    QUIET_SPACING,
    TERMINAL_STATUSES,
    Campaign,
    MetricSnapshot,
    PendingOutcome,
    active_q,
)

log = logging.getLogger(__name__)

TICK_LOCK = "poll:tick-lock"
# When the last tick finished without an error (epoch seconds): /readyz reads it.
LAST_TICK_KEY = "poll:last-tick"
MAX_BACKOFF_SECONDS = 300
# Failures in a tick this large (or in a row for one campaign) that mean Atoms is down.
DOWN_SAMPLE = 3


@dataclass
class TickReport:
    claimed: int = 0
    chunks: int = 0
    refreshed: int = 0
    changed: int = 0
    failed: int = 0
    # Due campaigns left for the next tick: more than the Atoms budget can read in one
    # interval (they are the most recently refreshed ones, so they go first next time).
    waiting: int = 0
    skipped: bool = False
    # Seconds since the least recently refreshed active campaign was refreshed (None: none
    # has been yet): the figure that shows whether some campaigns are being starved.
    oldest_age: float | None = None


def tick(dispatch_chunk=None) -> TickReport:
    """Claim due campaigns and refresh them here, or in chunks on other workers.

    `dispatch_chunk(ids, claimed_at)` sends a chunk to a worker (the task module passes a
    Celery call).
    """
    interval = settings.POLL_INTERVAL_SECONDS
    # Shorter than the interval: a crashed tick can never block the next one.
    lock = redis_client().lock(TICK_LOCK, timeout=interval * 0.9, blocking=False)
    if not lock.acquire(blocking=False):
        return TickReport(skipped=True)
    try:
        now = timezone.now()
        report = TickReport(oldest_age=oldest_refresh_age(now))
        ids, report.waiting = claim_due(now, limit=claim_limit())
        ids = ids or claim_probe(now)
        report.claimed = len(ids)
        size = settings.POLL_CHUNK_SIZE
        if len(ids) > size and dispatch_chunk is not None:
            # Oldest first, so the chunks a busy worker pool drops (they expire unstarted)
            # hold the freshest campaigns, which are then the oldest at the next tick.
            for start in range(0, len(ids), size):
                dispatch_chunk(ids[start:start + size], now)
                report.chunks += 1
        else:
            result = refresh(take(ids, now), now)
            report.refreshed, report.changed, report.failed = (
                result.refreshed, result.changed, result.failed)
        record_tick()
        log.info("Poll tick: %s", report)
        return report
    finally:
        try:
            lock.release()
        except LockError:  # expired already: the next tick may own it now
            log.info("Poll tick outlived its lock")


def record_tick() -> None:
    redis_client().set(LAST_TICK_KEY, f"{time.time():.3f}")


def last_tick_age() -> float | None:
    """Seconds since the last tick finished, or None if none has (since Redis was emptied)."""
    stamp = redis_client().get(LAST_TICK_KEY)
    return None if stamp is None else max(0.0, time.time() - float(stamp))


def oldest_refresh_age(now: datetime) -> float | None:
    oldest = Campaign.objects.filter(active_q(now)).aggregate(oldest=Min("fetched_at"))["oldest"]
    return None if oldest is None else round((now - oldest).total_seconds(), 3)


# The share of the Atoms budget a tick's campaign reads may plan on: the rest is left for
# the call logs read along with them and for people's clicks.
CLAIM_SHARE = 0.8


def claim_limit() -> int:
    """As many campaigns as the Atoms budget can read in one interval. Claiming more only
    queues reads that run past the time `take` holds them for, into later ticks, which
    claim the same least recently refreshed campaigns again: some would be read twice
    while others wait."""
    return max(1, int(settings.ATOMS_MAX_RPS * settings.POLL_INTERVAL_SECONDS * CLAIM_SHARE))


def claimed_until(now: datetime) -> datetime:
    """How long a tick's claim at `now` lasts: most of an interval, not all of it, since
    the next beat tick comes exactly one interval later and must find the campaign due
    again, or it would be polled every other tick."""
    return now + timedelta(seconds=settings.POLL_INTERVAL_SECONDS * 0.8)


def claim_due(now: datetime, *, limit: int | None = None) -> tuple[list[int], int]:
    """Mark up to `limit` due active campaigns as claimed until the next interval; return
    their ids, least recently refreshed first (never refreshed before all), so that no
    campaign waits behind newer ones however many are due, and how many due ones wait."""
    due = Campaign.objects.filter(active_q(now)).filter(
        Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now)
    ).order_by(F("fetched_at").asc(nulls_first=True), "pk")
    with transaction.atomic():
        ids = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)
                   [:limit])
        Campaign.objects.filter(pk__in=ids).update(next_poll_at=claimed_until(now))
    # Those just claimed are no longer due: what `due` counts now is what waits.
    waiting = 0 if limit is None or len(ids) < limit else due.count()
    return ids, waiting


# While Atoms is down every campaign backs off, up to MAX_BACKOFF_SECONDS; one of them is
# read this often meanwhile, so that the dashboard learns soon that Atoms answers again.
PROBE_SECONDS = 15
PROBE_KEY = "poll:outage-probe"


def claim_probe(now: datetime) -> list[int]:
    """When nothing is due: the campaign backed off from an outage that is due soonest,
    at most once per PROBE_SECONDS across all workers (a Redis key), else nothing."""
    backed_off = (Campaign.objects.filter(active_q(now), poll_failures__gte=DOWN_SAMPLE,
                                          next_poll_at__gt=now)
                  .order_by("next_poll_at", "pk"))
    if not backed_off.exists() or not redis_client().set(PROBE_KEY, "1", nx=True,
                                                          ex=PROBE_SECONDS):
        return []
    with transaction.atomic():
        ids = list(backed_off.select_for_update(skip_locked=True).values_list("pk", flat=True)
                   [:1])
        Campaign.objects.filter(pk__in=ids).update(next_poll_at=claimed_until(now))
    return ids


def take(ids: list[int], claimed_at: datetime) -> list[int]:
    """Mark the campaigns of a chunk claimed at `claimed_at` as being read now and return
    them, leaving out any that another chunk is reading or has read since.

    A chunk can start late, even after the next tick, which finds its campaigns still
    unrefreshed, the least recently refreshed of all, and claims them first again: two
    chunks then hold the same campaigns. Whichever starts first reads them, held here
    until the longest a read may take; the other finds them held or read since its claim
    and leaves them, so a tick's reads go to campaigns that are waiting. (A worker that
    dies mid-chunk leaves them held that long, then they are the oldest and go first.)
    """
    now = timezone.now()
    # Any claim's `next_poll_at` is at most `claimed_until(now)`; a later one is a hold.
    free = ((Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=claimed_until(now)))
            & (Q(fetched_at__isnull=True) | Q(fetched_at__lt=claimed_at)))
    until = now + timedelta(seconds=settings.POLL_INTERVAL_SECONDS
                            + settings.ATOMS_CONNECT_TIMEOUT + settings.ATOMS_READ_TIMEOUT)
    with transaction.atomic():
        taken = list(Campaign.objects.select_for_update(skip_locked=True)
                     .filter(free, pk__in=ids).values_list("pk", flat=True))
        Campaign.objects.filter(pk__in=taken).update(next_poll_at=until)
    return taken


@dataclass
class RefreshResult:
    refreshed: int = 0
    changed: int = 0
    failed: int = 0


# Threads reading call logs beside the detail readers: one per this many of those (a
# call-log request covers outcomes.BATCH_SIZE campaigns, so few are needed).
CALL_READER_SHARE = 8


def refresh(ids: list[int], claimed_at: datetime | None = None) -> RefreshResult:
    """Fetch each campaign from Atoms, then apply every result in bulk; `claimed_at`:
    when the tick claimed them (see `apply_results`)."""
    campaigns = list(Campaign.objects.filter(pk__in=ids))
    if not campaigns:
        return RefreshResult()
    budget = request_budget()

    def fetch(campaign: Campaign):
        try:
            budget.acquire()
            with poller_client() as client:
                try:
                    return client.get_campaign(campaign.atoms_id)
                except atoms.AtomsNotFound as missing:
                    budget.acquire()  # the list searched by name: one page, as a rule
                    if client.lists_campaign(campaign.atoms_id, campaign.name):
                        return atoms.AtomsContradicted(str(missing), status=404)
                    return missing
        except atoms.AtomsError as error:
            if isinstance(error, atoms.AtomsRateLimited):
                budget.pause_for(error.retry_after)
            return error

    def read_calls(job: list[Campaign]) -> dict:
        """Changed calls of a few campaigns; on failure none, left for the next poll
        (a failure here must not throw away the details fetched fine)."""
        try:
            with poller_client() as client:
                return outcomes.fetch_changed(client, job, budget.acquire, reach)
        except atoms.AtomsError as error:
            if isinstance(error, atoms.AtomsRateLimited):
                budget.pause_for(error.retry_after)
            log.info("Call logs of %d campaign(s) not read this poll: %s", len(job), error)
            return {}

    # Read here: the reading threads have no database connection of their own to use.
    reach = outcomes.reach_back(campaigns)
    sent_at = timezone.now()
    workers = min(settings.POLL_CONCURRENCY, len(campaigns))
    details: list = [None] * len(campaigns)
    calls: dict = {}
    jobs = outcomes.CallJobs()
    # The call logs are read by threads of their own while the details still arrive: in
    # the detail pool they would queue behind every detail, and the cycle would wait for
    # them after all the details (most of a tenth of a second at 1,000 campaigns).
    with (ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poll") as pool,
          ThreadPoolExecutor(max_workers=max(1, workers // CALL_READER_SHARE),
                             thread_name_prefix="poll-calls") as call_pool):
        position = {pool.submit(fetch, campaign): i for i, campaign in enumerate(campaigns)}
        reading = []
        for future in as_completed(position):
            i = position[future]
            details[i] = detail = future.result()
            if (not isinstance(detail, atoms.AtomsError)
                    and outcomes.wants_calls(campaigns[i], detail)
                    and (job := jobs.add(campaigns[i]))):
                reading.append(call_pool.submit(read_calls, job))
        reading += [call_pool.submit(read_calls, job) for job in jobs.rest()]
        for future in reading:
            calls.update(future.result())
    results = [detail if isinstance(detail, atoms.AtomsError) else (detail, calls.get(c.pk))
               for c, detail in zip(campaigns, details, strict=True)]
    return apply_results(list(zip(campaigns, results, strict=True)), timezone.now(),
                         sent_at=sent_at, claimed_at=claimed_at)


def pending_bound(campaign: Campaign) -> timedelta:
    """How long a start or pause may show no sign in Atoms before it counts as not carried
    out, from `pending_since`.

    Accepted (2xx, counted from the click): the warning time, plus the longest our own
    request can have taken. Unanswered (counted from when our request gave up): as long
    again as we waited, for a request Atoms was still working on when we stopped waiting.
    """
    if campaign.pending_outcome == PendingOutcome.UNANSWERED:
        return timedelta(seconds=settings.ATOMS_READ_TIMEOUT)
    return timedelta(seconds=settings.PENDING_ACTION_WARN_SECONDS
                     + settings.ATOMS_CONNECT_TIMEOUT + settings.ATOMS_READ_TIMEOUT)


def apply_results(pairs, now: datetime, *, sent_at: datetime | None = None,
                  claimed_at: datetime | None = None) -> RefreshResult:
    """Write what the fetches found; `sent_at` (when the fetches were sent) lets a pending
    action Atoms shows no sign of lapse as not carried out. A campaign read, no longer
    held by `take`, is due again when its claim ends (`claimed_at`, else now), i.e. at
    the next tick however late in the interval the read came; one that keeps reading
    unchanged, a few intervals later (models.QUIET_SPACING)."""
    result = RefreshResult()
    due = claimed_until(claimed_at or now)
    to_save: list[tuple[Campaign, set[str]]] = []
    to_publish: list[tuple[Campaign, bool]] = []
    fresh_ids: list[int] = []
    # Pending actions Atoms settled: (campaign, action, carried out or not).
    settled: list[tuple[Campaign, str, str]] = []
    failures = sum(isinstance(outcome, atoms.AtomsUnavailable) for _, outcome in pairs)
    # One read that had been backing off from an outage came back fine: Atoms answers
    # again, so every campaign backed off with it is due now, not minutes from now.
    recovered = any(campaign.poll_failures >= DOWN_SAMPLE
                    and not isinstance(outcome, atoms.AtomsError)
                    for campaign, outcome in pairs)
    # Most of a real tick failed: Atoms is down, back off. One refresh failing says little.
    atoms_down = len(pairs) >= DOWN_SAMPLE and failures * 2 > len(pairs)
    # (campaign, changed fields, its button state and whether it was active before the read)
    touched: list[tuple[Campaign, set[str], str, bool]] = []
    call_work: list[tuple] = []
    was_checked: dict[int, datetime | None] = {}
    claims_read: dict[int, tuple] = {}  # each campaign's start or pause claim as read
    for campaign, outcome in pairs:
        was_status, was_state = campaign.status, campaign.button_state
        was_active = campaign.is_active(now)
        was_checked[campaign.pk] = campaign.fetched_at
        pending, lapsed = campaign.pending_action, campaign.lapsed_action
        unanswered = campaign.pending_outcome == PendingOutcome.UNANSWERED
        claims_read[campaign.pk] = _claim_of(campaign)
        if isinstance(outcome, atoms.AtomsError):
            fields = _record_failure(campaign, outcome, now, due, atoms_down=atoms_down)
            result.failed += 1
            if isinstance(outcome, atoms.AtomsNotFound):
                # Gone from Atoms: nothing pending on it can still happen.
                fields |= mirror.lapse_pending_action(campaign, now, timedelta(0))
        else:
            detail, calls = outcome
            fields = _record_success(campaign, detail, now, was_status)
            if sent_at is not None:
                fields |= mirror.lapse_pending_action(campaign, sent_at,
                                                      pending_bound(campaign))
            fresh_ids.append(campaign.pk)
            result.refreshed += 1
            if calls is not None:
                call_work.append((campaign, calls, "status" in fields))
        settled += _settled(campaign, fields, pending, lapsed, unanswered)
        touched.append((campaign, fields, was_state, was_active))
    call_fields = copy_calls(call_work)
    fresh = set(fresh_ids)
    # Each campaign read fine: when it is due again and its unchanged reads in a row.
    read_fine: dict[int, tuple[datetime, int]] = {}
    for campaign, fields, was_state, was_active in touched:
        fields |= call_fields.get(campaign.pk, set())
        was_every = campaign.poll_every_seconds
        if campaign.pk in fresh:
            fields |= _count_quiet(campaign, fields)
            # No longer held by `take`: due at the next tick, or later while it stands still.
            campaign.next_poll_at = due + timedelta(
                seconds=campaign.poll_every_seconds - settings.POLL_INTERVAL_SECONDS)
            read_fine[campaign.pk] = (campaign.next_poll_at, campaign.quiet_polls)
        if fields - {"fetched_at", "quiet_polls"}:
            if campaign.pk in read_fine:
                fields.add("next_poll_at")
            to_save.append((campaign, fields))
        if fields & Campaign.LIVE_FIELDS or campaign.poll_every_seconds != was_every:
            # A confirmed pause can leave the status as it was and clear only the pending
            # action: the buttons change all the same, so it counts as a status change.
            # So does leaving the active set (the last read of a finished campaign): open
            # boards reload their grid on it, and the finished card kept its place there.
            # A new read spacing changes what its page calls stale.
            to_publish.append((campaign, campaign.button_state != was_state
                               or campaign.is_active(now) != was_active))
    quiet = fresh - {c.pk for c, _ in to_publish}
    to_publish += _newly_stalled([c for c, *_ in touched if c.pk in quiet], was_checked, now)

    try:
        kept = _write(to_save, read_fine, settled, now, sent_at, claims_read)
    except DatabaseError:
        # One campaign's rows must never cost the others theirs: campaign by campaign.
        log.exception("Poll batch write failed; writing campaign by campaign")
        kept = set()
        for campaign, fields in to_save:
            try:
                kept |= _write([(campaign, fields)], {}, [one for one in settled
                                                          if one[0].pk == campaign.pk],
                               now, sent_at, claims_read)
            except DatabaseError:
                log.exception("Poll write failed for campaign %s", campaign.pk)
        saved_ids = {c.pk for c, _ in to_save}
        kept |= _write([], {pk: read for pk, read in read_fine.items() if pk not in saved_ids},
                       [], now, sent_at)
    if recovered:
        Campaign.objects.filter(poll_failures__gte=DOWN_SAMPLE,
                                next_poll_at__gt=now).update(next_poll_at=now)
    to_publish = [(c, changed) for c, changed in to_publish if c.pk in kept]
    fresh_ids = [pk for pk in fresh_ids if pk in kept]
    result.changed = len(to_publish)
    # Render once per change someone watches, after the snapshot exists so the chart
    # includes it.
    watched = publish.forget_and_watched([c.pk for c, _ in to_publish])
    snapshots = publish.snapshots_by_campaign(pk for pk, kinds in watched.items() if kinds)
    publish.publish_changes([
        (c, publish.render_fragments(c, snapshots.get(c.pk, []), watched[c.pk]),
         status_changed)
        for c, status_changed in to_publish
    ])
    publish.publish_tick(now, fresh_ids)
    return result


def copy_calls(call_work) -> dict[int, set[str]]:
    """Every campaign's calls in a few queries, not a few per campaign; if that fails,
    campaign by campaign, so that calls one campaign cannot store never cost the others
    their refresh (a chunk failing whole would fail again at every tick, its campaigns
    the oldest and first in line each time)."""
    try:
        return outcomes.apply_calls(call_work)
    except DatabaseError:
        log.exception("Copying the calls of %d campaign(s) failed; one by one", len(call_work))
    fields: dict[int, set[str]] = {}
    for work in call_work:
        try:
            fields |= outcomes.apply_calls([work])
        except DatabaseError:
            log.exception("Copying the calls of campaign %s failed", work[0].pk)
    return fields


def _newly_stalled(campaigns, was_checked, now: datetime) -> list[tuple[Campaign, bool]]:
    """Running campaigns that just went without moving for `STALL_AFTER_SECONDS`. Nothing
    about them changed, so without this their pages would never learn that they stalled;
    it is told once, at the check that crosses the line."""
    running = [c for c in campaigns if c.status == CampaignStatus.RUNNING]
    if not running:
        return []
    moved = dict(MetricSnapshot.objects.filter(campaign_id__in=[c.pk for c in running])
                 .values("campaign_id").annotate(at=Max("taken_at"))
                 .values_list("campaign_id", "at"))
    return [(c, False) for c in running
            if progress.stalled_since(moved.get(c.pk), was_checked.get(c.pk), now)]


def _write(to_save, read_fine: dict[int, tuple[datetime, int]], settled,
           now: datetime, sent_at: datetime | None = None,
           claims_read: dict[int, tuple] | None = None) -> set[int]:
    """Write in one transaction, skipping campaigns deleted since they were read, or read
    again since this read was sent (`sent_at`); return the ids written. `read_fine`: when
    each campaign read fine is due again, and its unchanged reads in a row;
    `claims_read`: each campaign's start or pause claim as this read found it. The row
    locks make a concurrent delete wait for us, or us see it gone, so no snapshot ever
    points at a deleted campaign."""
    ids = {c.pk for c, _ in to_save} | set(read_fine)
    with transaction.atomic():
        rows = Campaign.objects.select_for_update().filter(pk__in=ids)
        if sent_at is not None:
            # A read applied since this one was sent is newer: written over, the page
            # would step back (seen: Running, then "Resuming…" from a slow earlier read,
            # then Running) until the next read.
            rows = rows.filter(Q(fetched_at__isnull=True) | Q(fetched_at__lte=sent_at))
        claims_now = {pk: tuple(claim) for pk, *claim in
                      rows.order_by("pk").values_list("pk", *CLAIM_FIELDS)}
        kept = set(claims_now)
        to_save = [(c, fields) for c, fields in to_save if c.pk in kept]
        settled = _adopt_newer_claims(to_save, claims_read or {}, claims_now, settled)
        saved_ids = {c.pk for c, _ in to_save}
        # Campaigns that only got fresher need one UPDATE per due time and count of
        # unchanged reads (a handful), not one each.
        alike: dict[tuple[datetime, int], list[int]] = defaultdict(list)
        for pk, read in read_fine.items():
            if pk in kept and pk not in saved_ids:
                alike[read].append(pk)
        for (at, quiet), pks in alike.items():
            Campaign.objects.filter(pk__in=pks).update(fetched_at=now, next_poll_at=at,
                                                       quiet_polls=quiet)
        _save(to_save, now)
        MetricSnapshot.objects.bulk_create([
            MetricSnapshot(
                campaign=c, taken_at=now, status=c.status,
                total_participants=c.total_participants, contacts_called=c.contacts_called,
                contacts_connected=c.contacts_connected,
            )
            for c, fields in to_save if fields & Campaign.SNAPSHOT_FIELDS
        ])
        for campaign, action, outcome in settled:
            if campaign.pk in kept:
                audit.record(None, action, outcome, campaign=campaign,
                             message=_settled_message(campaign.action_word(action), outcome))
    return kept


def _settled(campaign: Campaign, fields: set[str], pending: str, lapsed: str,
             unanswered: bool) -> list[tuple[Campaign, str, str]]:
    """The pending action this read settled, if any: (campaign, action, carried out or
    not), from the claim it had before (`pending`, `lapsed`, `unanswered`)."""
    if pending and campaign.lapsed_action == pending and "lapsed_action" in fields:
        return [(campaign, pending, audit.Outcome.FAILED)]
    if unanswered and "pending_action" in fields and not campaign.pending_action:
        # The activity log said "checking with Atoms"; it says what Atoms showed.
        return [(campaign, pending, audit.Outcome.OK)]
    if lapsed and not campaign.lapsed_action and mirror.shows_done(lapsed, campaign):
        # Judged not carried out, then carried out by an Atoms slower than the bound:
        # the log said "not carried out" for good beside Atoms' "Started" (a probe).
        return [(campaign, lapsed, audit.Outcome.OK)]
    return []


# A start or pause claim (services._run_async_action) and what became of the last one.
CLAIM_FIELDS = ("pending_action", "pending_since", "pending_outcome", "lapsed_action")


def _claim_of(campaign: Campaign) -> tuple:
    return tuple(getattr(campaign, name) for name in CLAIM_FIELDS)


def _adopt_newer_claims(to_save, claims_read: dict[int, tuple], claims_now: dict[int, tuple],
                        settled) -> list:
    """A start or pause claimed (or given up) since a campaign's row was read is the row's,
    not this copy's: the copy takes it and settles it against what Atoms showed. Written as
    read, a pause asked for while the read was on its way stayed pending beside the
    "Paused" the read found, and the buttons an open page fetched meanwhile said
    "Pausing…" (seen in CI). Returns `settled` without what the old claim settled."""
    for campaign, fields in to_save:
        claim = claims_now[campaign.pk]
        if claim == claims_read.get(campaign.pk, claim):
            continue
        fields -= set(CLAIM_FIELDS)
        for name, value in zip(CLAIM_FIELDS, claim, strict=True):
            setattr(campaign, name, value)
        pending, lapsed = campaign.pending_action, campaign.lapsed_action
        unanswered = campaign.pending_outcome == PendingOutcome.UNANSWERED
        fields |= mirror.settle_pending_action(campaign)
        settled = [one for one in settled if one[0].pk != campaign.pk]
        settled += _settled(campaign, fields, pending, lapsed, unanswered)
    return settled


def _settled_message(verb: str, outcome: str) -> str:
    if outcome == audit.Outcome.OK:
        return f"The {verb} was carried out after all: Atoms shows it."
    return (f"The {verb} was not carried out: Atoms showed no sign of it. "
            f"It can be asked for again.")


def _record_success(campaign: Campaign, detail, now: datetime, was_status: str) -> set[str]:
    last_change, first_fetch = campaign.modified_at, campaign.fetched_at is None
    fields = mirror.apply_detail(campaign, detail)
    recent = (last_change is not None
              and now - last_change < timedelta(seconds=settings.POLL_SETTLE_SECONDS))
    if campaign.status in TERMINAL_STATUSES:
        # One more refresh after the first terminal sighting catches the last calls, and
        # more while the calls copied still show one in progress (for at most
        # POLL_SETTLE_SECONDS without a change): with one only, a finished campaign said
        # "Final numbers" over three calls "in progress" and a spend short of Atoms' own.
        final = was_status not in TERMINAL_STATUSES or (
            campaign.needs_final_poll and campaign.calls_shown_in_progress > 0 and recent)
    elif campaign.status == CampaignStatus.PAUSED and not first_fetch:
        # Calls in progress when a campaign pauses still finish and count: keep refreshing
        # it until its numbers have stood still for POLL_SETTLE_SECONDS. (A paused
        # campaign the sync just imported is old history: its first full copy is enough.)
        moved = bool(fields & Campaign.SNAPSHOT_FIELDS)
        final = was_status != campaign.status or (campaign.needs_final_poll
                                                  and (moved or recent))
    else:
        final = False
    return fields | mirror.assign(campaign, {
        "fetched_at": now, "poll_error": "", "poll_failures": 0, "needs_final_poll": final})


def _count_quiet(campaign: Campaign, fields: set[str]) -> set[str]:
    """Count the reads in a row that found it running and unchanged (models.QUIET_SPACING);
    anything else (a change, a pending click, another status) starts the count again."""
    unchanged = (campaign.status == CampaignStatus.RUNNING and not campaign.pending_action
                 and not fields & Campaign.LIVE_FIELDS)
    most = max(reads for reads, _ in QUIET_SPACING)  # counting further changes nothing
    return mirror.assign(campaign, {
        "quiet_polls": min(campaign.quiet_polls + 1, most) if unchanged else 0})


def _record_failure(campaign: Campaign, error: atoms.AtomsError, now: datetime,
                    due: datetime, *,
                    atoms_down: bool) -> set[str]:
    if isinstance(error, atoms.AtomsNotFound):
        campaign.deleted_remotely_at = now
        campaign.poll_error = "Atoms no longer has this campaign (deleted elsewhere)."
        return {"deleted_remotely_at", "poll_error"}
    campaign.poll_failures = min(campaign.poll_failures + 1, 30)
    fields = {"poll_failures"}
    if isinstance(error, atoms.AtomsRateLimited):
        wait = error.retry_after
    elif atoms_down or campaign.poll_failures >= DOWN_SAMPLE:
        wait = settings.POLL_INTERVAL_SECONDS * 2 ** (campaign.poll_failures - 1)
    else:
        # Atoms answered the rest of this tick: a blip, tried again at the next tick
        # (backing off would leave this campaign minutes behind Atoms for nothing).
        wait = None
    campaign.next_poll_at = (due if wait is None
                             else now + timedelta(seconds=min(wait, MAX_BACKOFF_SECONDS)))
    fields.add("next_poll_at")
    message = error.user_message[:300]
    if campaign.poll_error != message:
        campaign.poll_error = message
        fields.add("poll_error")
    return fields


def _save(to_save, now: datetime) -> None:
    """Write only the fields each campaign changed.

    Writing a stale copy of an untouched field (say `pending_action`, which a click may
    have set since we loaded the row) would undo that click; grouping by field set keeps
    the batch small without that risk.
    """
    by_fields: dict[frozenset, list[Campaign]] = defaultdict(list)
    for campaign, fields in to_save:
        campaign.modified_at = now  # fast_update does not apply auto_now
        by_fields[frozenset(fields | {"modified_at"})].append(campaign)
    for fields, campaigns in by_fields.items():
        Campaign.objects.fast_update(campaigns, sorted(fields), batch_size=1000)


def refresh_one(pk: int) -> RefreshResult:
    """Refresh a single campaign now (after a start or pause click)."""
    Campaign.objects.filter(pk=pk).update(next_poll_at=timezone.now() + timedelta(
        seconds=settings.POLL_INTERVAL_SECONDS))
    return refresh([pk])


REFRESH_TASK = "campaigns.tasks.refresh_campaign"


def request_refresh(pk: int) -> None:
    """Ask a worker to refresh one campaign now (after a start or pause click).

    Sent by the task's registered name: the services that call this sit below the task
    module, which must stay free to import them.
    """
    current_app.send_task(REFRESH_TASK, args=(pk,))
