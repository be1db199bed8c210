"""How a campaign is moving: when it last moved, whether it has stalled, and when it will
finish. Pure functions of what is mirrored (the row and its metric snapshots): no Atoms
call, so the poller can judge every campaign each tick and pages add nothing upstream.

"Moved" means a snapshot-worthy change (status, contacts called or connected): the poller
writes a `MetricSnapshot` exactly then, so the newest snapshot says when it last moved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from campaigns.atoms import CampaignStatus

# The rate is read over this much recent history: long enough to smooth single calls,
# short enough to follow a campaign that speeds up or slows down.
RATE_WINDOW = timedelta(minutes=30)
# Fewer points than this, or less time than MIN_SPAN, and there is no rate worth showing.
MIN_POINTS = 3
MIN_SPAN = timedelta(minutes=1)


def stall_after() -> timedelta:
    return timedelta(seconds=settings.STALL_AFTER_SECONDS)


def last_moved_at(snapshots) -> datetime | None:
    """`snapshots` oldest first (as the charts take them)."""
    return snapshots[-1].taken_at if snapshots else None


def is_stalled(campaign, moved_at: datetime | None, now: datetime) -> bool:
    """Running, nothing pending, and not moved for `STALL_AFTER_SECONDS`, as last read: a
    campaign Atoms did not answer for is not judged (an outage made every running campaign
    "stalled", an alert each, on top of the one that says Atoms is not answering)."""
    if campaign.status != CampaignStatus.RUNNING or campaign.pending_action:
        return False
    if campaign.poll_failures:
        return False
    if campaign.deleted_remotely_at is not None or moved_at is None:
        return False
    return now - moved_at >= stall_after()


def stalled_since(moved_at: datetime | None, was_checked: datetime | None,
                  now: datetime) -> bool:
    """Whether the stall began between the previous check and this one: the one moment
    the poller must tell open pages, as nothing else about the campaign changed."""
    if moved_at is None or was_checked is None:
        return False
    return was_checked - moved_at < stall_after() <= now - moved_at


@dataclass(frozen=True)
class Eta:
    """Time left to finish, as a range (the rate's spread over the window)."""

    soonest: timedelta
    latest: timedelta

    def __str__(self) -> str:
        if self.latest < timedelta(minutes=1):
            return "under a minute"
        soonest, latest = _span(self.soonest), _span(self.latest)
        return f"about {latest}" if soonest == latest else f"{soonest} to {latest}"


def _span(length: timedelta) -> str:
    minutes = max(1, round(length.total_seconds() / 60))
    if minutes < 90:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    return f"{round(hours / 24)} days"


def eta(points: list[tuple[datetime, int]], *, remaining_calls: int,
        now: datetime, not_before: datetime | None = None) -> Eta | None:
    """Time to finish from the observed dialing rate.

    `points`: (time, contacts called) oldest first; `remaining_calls`: first calls still
    to make plus retries still due. None until there is enough history to say anything
    (never a made-up number). The range comes from the fastest and the slowest stretch of
    the recent window: the two ends of how fast it has lately been going. `not_before`:
    when the last retry now waiting may be dialled; it cannot finish sooner, however fast
    it dials (a card said "about 1 min" beside "the next retry in 14 minutes").
    """
    if remaining_calls <= 0:
        return Eta(timedelta(0), timedelta(0))
    recent = [(at, called) for at, called in points if now - at <= RATE_WINDOW]
    if len(recent) < MIN_POINTS or recent[-1][0] - recent[0][0] < MIN_SPAN:
        return None
    # The rate over the whole window and over each third of it: the spread between the
    # fastest and the slowest recent stretch is the honest width of the estimate.
    third = max(1, (len(recent) - 1) // 3)
    stretches = [recent, recent[:third + 1], recent[third:2 * third + 1], recent[2 * third:]]
    rates = [r for r in map(_rate, stretches) if r]
    if not rates:
        return None
    floor = max(not_before - now, timedelta(0)) if not_before else timedelta(0)
    return Eta(max(timedelta(seconds=remaining_calls / max(rates)), floor),
               max(timedelta(seconds=remaining_calls / min(rates)), floor))


def _rate(points) -> float:
    """Contacts called per second between the first and last point (0 if none)."""
    (start, first), (end, last) = points[0], points[-1]
    seconds = (end - start).total_seconds()
    return (last - first) / seconds if seconds > 0 and last > first else 0.0


def remaining_calls(campaign) -> int:
    """First calls still to make plus the retries still due."""
    first_calls = max(campaign.total_participants - campaign.contacts_called, 0)
    return first_calls + (campaign.call_summary or {}).get("retries_pending", 0)
