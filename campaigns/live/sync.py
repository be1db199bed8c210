"""Keeping the mirror's list in step with Atoms: campaigns made or deleted elsewhere.

The poller only looks at active campaigns; this periodic walk over Atoms' whole list
finds campaigns created in Atoms' own console, notices deletions made there, and hands
any campaign whose status moved to the poller for a full refresh.
"""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from redis.exceptions import RedisError

from campaigns import atoms, mirror
from campaigns.connections import atoms_client
from campaigns.live import publish
from campaigns.models import Campaign

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    seen: int = 0
    added: int = 0
    updated: int = 0
    marked_deleted: int = 0
    error: str = ""


def sync_campaign_list() -> SyncReport:
    started = timezone.now()
    report = SyncReport()
    try:
        remote_campaigns = list(atoms_client().iter_campaigns())
    except atoms.AtomsError as error:
        # A partial listing must not mark anything deleted: try again next time.
        log.warning("Campaign sync skipped: %s", error)
        report.error = error.user_message
        return report
    report.seen = len(remote_campaigns)
    local = {c.atoms_id: c for c in Campaign.objects.all()}
    new, changed = [], []
    for remote in remote_campaigns:
        campaign = local.get(remote.id)
        if campaign is None:
            # The list has no metrics: one full poll brings numbers, executions, events.
            new.append(mirror.new_campaign(remote, next_poll_at=started, needs_final_poll=True))
            continue
        fields = mirror.apply_remote(campaign, remote) & set(Campaign.LIST_FIELDS)
        if fields:
            # Let the poller do the full refresh and tell the open pages.
            campaign.needs_final_poll = True
            campaign.next_poll_at = started
            campaign.modified_at = started  # fast_update skips auto_now; the poller's
            changed.append(campaign)          # settling (live/poll.py) counts from here
    seen_ids = {remote.id for remote in remote_campaigns}
    # Only rows older than this walk: a campaign created meanwhile is not in it.
    missing = list(Campaign.objects.filter(deleted_remotely_at__isnull=True,
                                           created_at__lt=started)
                   .exclude(atoms_id__in=seen_ids).values_list("atoms_id", flat=True))
    gone = _confirmed_gone(missing)
    with transaction.atomic():
        Campaign.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
        Campaign.objects.fast_update(
            changed, [*Campaign.LIST_FIELDS, "needs_final_poll", "next_poll_at", "modified_at"],
            batch_size=1000)
        marked = list(Campaign.objects.filter(atoms_id__in=gone, deleted_remotely_at__isnull=True)
                      .values_list("pk", flat=True))
        report.marked_deleted = Campaign.objects.filter(pk__in=marked).update(
            deleted_remotely_at=started, poll_error="Deleted in Atoms.")
        # Listed again after being judged gone (a 404 during a blip): back on the dashboard.
        Campaign.objects.filter(atoms_id__in=seen_ids, deleted_remotely_at__isnull=False).update(
            deleted_remotely_at=None, poll_error="", next_poll_at=started,
            needs_final_poll=True)
    report.added, report.updated = len(new), len(changed)
    try:
        publish.publish_added(new)
    except RedisError as error:  # the lists show them when next loaded
        log.warning("Could not tell open campaign lists of %d new campaigns (%s)",
                    report.added, error)
    # Their cached fragments still offered Start beside the page's "Deleted in Atoms"
    # (a probe): drawn anew, and sent to the pages open on them.
    try:
        publish.publish_campaigns(marked)
    except RedisError as error:
        log.warning("Could not tell open pages of %d campaigns deleted in Atoms (%s)",
                    len(marked), error)
    return report


# Each sync checks at most this many missing campaigns one by one (the rest wait a turn).
CONFIRM_LIMIT = 50


def _confirmed_gone(atoms_ids: list[str]) -> list[str]:
    """The missing campaigns Atoms confirms it no longer has (404).

    Atoms' list is paged by offset: campaigns deleted while we walk it shift the pages, so
    a campaign can be missing from one walk and still exist. Absence alone never counts.
    """
    client = atoms_client()
    gone = []
    for atoms_id in atoms_ids[:CONFIRM_LIMIT]:
        try:
            client.get_campaign(atoms_id)
        except atoms.AtomsNotFound:
            gone.append(atoms_id)
        except atoms.AtomsError as error:
            log.info("Could not confirm campaign %s is gone: %s", atoms_id, error)
    return gone
