"""Celery tasks: thin, idempotent, taking ids; the work lives in polling and sync."""

from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from campaigns import alerts, audiences, keep_hours, webhooks
from campaigns.live import poll, sync


@shared_task(ignore_result=True)
def poll_tick() -> dict:
    """The beat entry: refresh every active campaign (or fan chunks out to workers)."""
    report = poll.tick(dispatch_chunk=_dispatch_chunk)
    return report.__dict__


def _dispatch_chunk(ids: list[int], claimed_at: datetime) -> None:
    # A chunk still queued when the next tick comes is obsolete: that tick re-claims it.
    poll_chunk.apply_async((ids, claimed_at.isoformat()), expires=settings.POLL_INTERVAL_SECONDS)


@shared_task(ignore_result=True)
def poll_chunk(ids: list[int], claimed_at: str | None = None) -> dict:
    # (Without `claimed_at`: a chunk queued by the release before it, read as claimed now.)
    claimed = datetime.fromisoformat(claimed_at) if claimed_at else timezone.now()
    return poll.refresh(poll.take(ids, claimed), claimed).__dict__


@shared_task(ignore_result=True)
def refresh_campaign(pk: int) -> dict:
    """Refresh one campaign at once, e.g. right after a start or pause was accepted."""
    return poll.refresh_one(pk).__dict__


@shared_task(ignore_result=True)
def evaluate_alerts() -> dict:
    """Open and close alert episodes (their people are told at once), then post the
    webhook deliveries that are due, new or retried."""
    opened = alerts.evaluate()
    return {"opened": len(opened), **webhooks.deliver_due()}


@shared_task(ignore_result=True)
def keep_calling_hours() -> dict:
    """Pause campaigns whose calling window has ended; start held ones whose has begun."""
    return keep_hours.keep_calling_hours()


@shared_task(ignore_result=True)
def sync_campaigns() -> dict:
    """Mirror campaigns created elsewhere; mark the ones deleted elsewhere."""
    return sync.sync_campaign_list().__dict__


@shared_task(ignore_result=True)
def send_audience_upload(upload_id: int) -> None:
    """Send a large confirmed upload to Atoms batch by batch, recording progress."""
    audiences.send_upload(upload_id)
