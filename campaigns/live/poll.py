"""Refreshing active campaigns from Atoms: claim, fetch concurrently, apply in bulk.

One beat tick claims every due campaign with a single UPDATE (so an overlapping tick
cannot claim it again), fetches them with bounded concurrency under the shared request
budget, then writes the mirror, snapshots, cache and messages in a handful of queries.
"""

import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from redis.exceptions import LockError

from campaigns import atoms, mirror, outcomes
from campaigns.connections import poller_client, redis_client, request_budget
from campaigns.live import publish
from campaigns.models import TERMINAL_STATUSES, Campaign, MetricSnapshot, active_q

log = logging.getLogger(__name__)

TICK_LOCK = "poll:tick-lock"
MAX_BACKOFF_SECONDS = 300


@dataclass
class TickReport:
    claimed: int = 0
    chunks: int = 0
    refreshed: int = 0
    changed: int = 0
    failed: int = 0
    skipped: bool = False


def tick(dispatch_chunk=None) -> TickReport:
    """Claim due campaigns and refresh them here, or in chunks on other workers.

    `dispatch_chunk(ids)` sends a chunk to a worker (the task module passes a Celery call).
    """
    interval = settings.POLL_INTERVAL_SECONDS
    # Shorter than the interval: a crashed tick can never block the next one.
    lock = redis_client().lock(TICK_LOCK, timeout=interval * 0.9, blocking=False)
    if not lock.acquire(blocking=False):
        return TickReport(skipped=True)
    try:
        ids = claim_due(timezone.now())
        report = TickReport(claimed=len(ids))
        size = settings.POLL_CHUNK_SIZE
        if len(ids) > size and dispatch_chunk is not None:
            for start in range(0, len(ids), size):
                dispatch_chunk(ids[start:start + size])
                report.chunks += 1
            return report
        result = refresh(ids)
        report.refreshed, report.changed, report.failed = (
            result.refreshed, result.changed, result.failed)
        return report
    finally:
        try:
            lock.release()
        except LockError:  # expired already: the next tick may own it now
            log.info("Poll tick outlived its lock")


def claim_due(now: datetime) -> list[int]:
    """Mark due active campaigns as claimed until the next interval; return their ids."""
    due = Campaign.objects.filter(active_q(now)).filter(
        Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now)
    )
    # Claimed for most of an interval, not all of it: the next beat tick comes exactly one
    # interval later and must find it due again, or it would be polled every other tick.
    until = now + timedelta(seconds=settings.POLL_INTERVAL_SECONDS * 0.8)
    with transaction.atomic():
        ids = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True))
        Campaign.objects.filter(pk__in=ids).update(next_poll_at=until)
    return ids


@dataclass
class RefreshResult:
    refreshed: int = 0
    changed: int = 0
    failed: int = 0


def refresh(ids: list[int]) -> RefreshResult:
    """Fetch each campaign from Atoms, then apply every result in bulk."""
    campaigns = list(Campaign.objects.filter(pk__in=ids))
    if not campaigns:
        return RefreshResult()
    budget = request_budget()

    def fetch(campaign: Campaign):
        try:
            budget.acquire()
            with poller_client() as client:
                return client.get_campaign(campaign.atoms_id)
        except atoms.AtomsError as error:
            if isinstance(error, atoms.AtomsRateLimited):
                budget.pause_for(error.retry_after)
            return error

    def read_calls(job: list[Campaign]) -> dict:
        """Changed calls of a few campaigns; on failure none, left for the next poll
        (a failure here must not throw away the details fetched fine)."""
        try:
            with poller_client() as client:
                return outcomes.fetch_changed(client, job, budget.acquire)
        except atoms.AtomsError as error:
            if isinstance(error, atoms.AtomsRateLimited):
                budget.pause_for(error.retry_after)
            log.info("Call logs of %d campaign(s) not read this poll: %s", len(job), error)
            return {}

    workers = min(settings.POLL_CONCURRENCY, len(campaigns))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poll") as pool:
        details = list(pool.map(fetch, campaigns))
        wanted = [c for c, detail in zip(campaigns, details, strict=True)
                  if not isinstance(detail, atoms.AtomsError)
                  and outcomes.wants_calls(c, detail)]
        calls: dict = {}
        for found in pool.map(read_calls, outcomes.call_jobs(wanted)):
            calls.update(found)
    results = [detail if isinstance(detail, atoms.AtomsError) else (detail, calls.get(c.pk))
               for c, detail in zip(campaigns, details, strict=True)]
    return apply_results(list(zip(campaigns, results, strict=True)), timezone.now())


def apply_results(pairs, now: datetime) -> RefreshResult:
    result = RefreshResult()
    to_save: list[tuple[Campaign, set[str]]] = []
    to_publish: list[tuple[Campaign, bool]] = []
    fresh_ids: list[int] = []
    touched: list[tuple[Campaign, set[str], str]] = []
    call_work: list[tuple] = []
    for campaign, outcome in pairs:
        was_status = campaign.status
        if isinstance(outcome, atoms.AtomsError):
            fields = _record_failure(campaign, outcome, now)
            result.failed += 1
        else:
            detail, calls = outcome
            fields = _record_success(campaign, detail, now, was_status)
            fresh_ids.append(campaign.pk)
            result.refreshed += 1
            if calls is not None:
                call_work.append((campaign, calls, "status" in fields))
        touched.append((campaign, fields, was_status))
    # Every campaign's calls in a few queries, not a few per campaign.
    call_fields = outcomes.apply_calls(call_work)
    for campaign, fields, was_status in touched:
        fields |= call_fields.get(campaign.pk, set())
        if fields - {"fetched_at"}:
            to_save.append((campaign, fields))
        if fields & Campaign.LIVE_FIELDS:
            to_publish.append((campaign, campaign.status != was_status))

    saved_ids = {c.pk for c, _ in to_save}
    with transaction.atomic():
        # Campaigns that only got fresher need one UPDATE between them, not one each.
        Campaign.objects.filter(pk__in=[pk for pk in fresh_ids if pk not in saved_ids]).update(
            fetched_at=now)
        _save(to_save, now)
        MetricSnapshot.objects.bulk_create([
            MetricSnapshot(
                campaign=c, taken_at=now, status=c.status,
                total_participants=c.total_participants, contacts_called=c.contacts_called,
                contacts_connected=c.contacts_connected,
            )
            for c, fields in to_save if fields & Campaign.SNAPSHOT_FIELDS
        ])
    result.changed = len(to_publish)
    # Render once per change, after the snapshot exists so the chart includes it.
    snapshots = publish.snapshots_by_campaign(c.pk for c, _ in to_publish)
    publish.publish_changes([
        (c, publish.render_fragments(c, snapshots.get(c.pk, [])), status_changed)
        for c, status_changed in to_publish
    ])
    publish.publish_tick(now, fresh_ids)
    return result


def _record_success(campaign: Campaign, detail, now: datetime, was_status: str) -> set[str]:
    fields = mirror.apply_detail(campaign, detail)
    became_terminal = campaign.status in TERMINAL_STATUSES and was_status not in TERMINAL_STATUSES
    final = became_terminal  # one more refresh after the first terminal sighting
    return fields | mirror.assign(campaign, {
        "fetched_at": now, "poll_error": "", "poll_failures": 0, "needs_final_poll": final})


def _record_failure(campaign: Campaign, error: atoms.AtomsError, now: datetime) -> set[str]:
    if isinstance(error, atoms.AtomsNotFound):
        campaign.deleted_remotely_at = now
        campaign.poll_error = "Atoms no longer has this campaign (deleted elsewhere)."
        return {"deleted_remotely_at", "poll_error"}
    campaign.poll_failures = min(campaign.poll_failures + 1, 30)
    wait = (error.retry_after if isinstance(error, atoms.AtomsRateLimited)
            else settings.POLL_INTERVAL_SECONDS * 2 ** (campaign.poll_failures - 1))
    campaign.next_poll_at = now + timedelta(seconds=min(wait, MAX_BACKOFF_SECONDS))
    fields = {"poll_failures", "next_poll_at"}
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
        campaign.modified_at = now  # bulk_update does not apply auto_now
        by_fields[frozenset(fields | {"modified_at"})].append(campaign)
    for fields, campaigns in by_fields.items():
        Campaign.objects.bulk_update(campaigns, sorted(fields), batch_size=200)


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
