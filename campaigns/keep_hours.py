"""The beat's rule for campaigns with calling hours: pause a dialing one once its window
has ended, start a held one once a window has begun, through Atoms' own pause and start
(their claims make a second tick or worker a no-op). Asks Atoms nothing otherwise.

A resume is a person's decision when it may call a do-not-call number: Atoms keeps a
campaign's contacts as they were, so a number listed since is still called on resume (not
reached yet, or retried). Calling hours resume a campaign only when no such number is left
to call, or when the person who asked for the resume agreed to each one; otherwise it stays
paused, and an alert asks a person to decide (the resume page names the numbers).
"""

import logging
from datetime import datetime

from django.utils import timezone

from campaigns import calling_hours, suppression
from campaigns.models import PAUSABLE_STATUSES, STARTABLE_STATUSES, Campaign, PendingAction
from campaigns.services import (
    CALLING_HOURS,
    ActionRefused,
    pause_campaign,
    start_campaign,
    withhold_resume,
)

log = logging.getLogger(__name__)


def keep_calling_hours(now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    report = {"paused": 0, "started": 0, "withheld": 0, "refused": 0}
    listed = _ListedNumbers()
    for campaign in Campaign.objects.exclude(calling_hours={}).filter(
            deleted_remotely_at__isnull=True, pending_action=PendingAction.NONE):
        hours = calling_hours.of(campaign)
        if hours is None:
            continue
        open_now = hours.is_open(now)
        try:
            if not open_now and campaign.status in PAUSABLE_STATUSES:
                pause_campaign(CALLING_HOURS, campaign)
                report["paused"] += 1
            elif open_now and campaign.held_for_calling_hours:
                if campaign.status in STARTABLE_STATUSES:
                    unagreed = listed.still_to_call_unagreed(campaign)
                    if unagreed:
                        withhold_resume(campaign, unagreed)
                        report["withheld"] += 1
                    else:
                        start_campaign(CALLING_HOURS, campaign)
                        report["started"] += 1
                elif campaign.status in PAUSABLE_STATUSES:
                    # Its start took effect: from now on a pause made in Atoms stays.
                    Campaign.objects.filter(pk=campaign.pk).update(
                        held_for_calling_hours=False)
        except ActionRefused as refused:
            # Audited by the action; the next tick tries again if it is still due.
            log.warning("Calling hours could not act on campaign %s: %s", campaign.pk,
                        refused.message)
            report["refused"] += 1
    return report


class _ListedNumbers:
    """The do-not-call list, read from Atoms at most once a tick, and only when a campaign
    is about to be resumed."""

    def __init__(self):
        self._blocked: suppression.ListedNumbers | None = None

    def still_to_call_unagreed(self, campaign) -> list[str]:
        """Listed numbers the resume may call that no person agreed to. Raises
        ActionRefused when the list cannot be read: a resume is not made blind."""
        if self._blocked is None:
            self._blocked = suppression.suppressed_numbers()
        # A first start held here is asked too: a number may have been listed since.
        waiting = suppression.listed_to_call(campaign, self._blocked)
        return [number for number in waiting
                if number not in set(campaign.listed_retries_accepted)]
