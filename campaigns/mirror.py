"""Copying what Atoms says about a campaign onto its local mirror row.

Used by create (the first copy), the list sync and the poller, so the three can never
disagree on how a remote field lands in the database.
"""

from dataclasses import fields
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from campaigns import atoms
from campaigns.atoms import CampaignStatus
from campaigns.models import (
    PAUSABLE_STATUSES,
    STARTABLE_STATUSES,
    Campaign,
    PendingAction,
    PendingOutcome,
)


def apply_remote(campaign: Campaign, remote: atoms.Campaign) -> set[str]:
    """Set the fields Atoms owns; return the names of those that changed."""
    values = {
        "name": remote.name or campaign.name,
        "description": remote.description,
        "status": remote.status or campaign.status,
        "agent_id": remote.agent_id or campaign.agent_id,
        # Create answers with flat ids and no names: never blank out a known name.
        "agent_name": remote.agent_name or campaign.agent_name,
        "audience_id": remote.audience_id or campaign.audience_id,
        "audience_name": remote.audience_name or campaign.audience_name,
        "max_retries": remote.max_retries,
        "retry_delay": remote.retry_delay,
        "retry_attempts": remote.retry_attempts,
        "scheduled_at": remote.scheduled_at,
        "paused_at": remote.paused_at,
        "failed_at": remote.failed_at,
        "error": remote.error or "",
        "remote_updated_at": remote.updated_at or campaign.remote_updated_at,
    }
    if remote.phone_number_ids:
        values["phone_number_ids"] = list(remote.phone_number_ids)
    # The detail's metrics carry the live total; the campaign's own count is the fallback.
    if remote.participants_count and not campaign.total_participants:
        values["total_participants"] = remote.participants_count
    return assign(campaign, values)


def apply_detail(campaign: Campaign, detail: atoms.CampaignDetail) -> set[str]:
    """Apply a full `GET /campaign/{id}`: campaign, metrics, executions and events."""
    changed = apply_remote(campaign, detail.campaign)
    values = {
        "executions": [_jsonable(execution) for execution in detail.executions],
        "events": [_jsonable(event) for event in detail.events],
    }
    metrics = detail.metrics
    if metrics is not None:  # absent metrics keep the last known numbers, not zeros
        values.update(
            total_participants=metrics.total_participants or campaign.total_participants,
            contacts_called=metrics.contacts_called,
            contacts_connected=metrics.contacts_connected,
        )
    changed |= assign(campaign, values)
    changed |= settle_pending_action(campaign)
    changed |= forget_moot_lapse(campaign)
    return changed


def forget_moot_lapse(campaign: Campaign) -> set[str]:
    """A start or pause not carried out stops being news once the campaign's status no
    longer allows asking for it (it finished, or got there another way): its page would
    say "you can ask again" when nobody can, and its alert would stay open. The activity
    log keeps it."""
    allowed = (STARTABLE_STATUSES if campaign.lapsed_action == PendingAction.START
               else PAUSABLE_STATUSES)
    if campaign.lapsed_action and campaign.status not in allowed:
        return assign(campaign, {"lapsed_action": PendingAction.NONE})
    return set()


# The statuses in which a start or a pause shows carried out.
_DONE_STATUSES = {
    PendingAction.START: frozenset({CampaignStatus.PROCESSING, CampaignStatus.RUNNING,
                                    CampaignStatus.COMPLETED}),
    PendingAction.PAUSE: frozenset({CampaignStatus.PAUSED}),
}


def shows_done(action: str, campaign: Campaign) -> bool:
    """Whether the campaign's status shows `action` (a start or pause) carried out."""
    return campaign.status in _DONE_STATUSES.get(action, ())


# The events that show a start or a pause was carried out, even if the status has moved on
# since (a start that ran and was paused elsewhere, a pause resumed elsewhere).
_CONFIRMING_EVENTS = {
    PendingAction.START: frozenset({"started", "resumed"}),
    PendingAction.PAUSE: frozenset({"paused"}),
}


def settle_pending_action(campaign: Campaign) -> set[str]:
    """Clear a pending start or pause once Atoms shows it took effect: by its status, or by
    a matching event after the request time."""
    if not pending_confirmed(campaign):
        return set()
    return assign(campaign, {"pending_action": PendingAction.NONE, "pending_since": None,
                             "pending_outcome": PendingOutcome.NONE})


def pending_confirmed(campaign: Campaign) -> bool:
    action = campaign.pending_action
    if action == PendingAction.START and campaign.status not in STARTABLE_STATUSES:
        return True
    if action == PendingAction.PAUSE and campaign.status not in PAUSABLE_STATUSES:
        return True
    if not action or campaign.pending_since is None:
        return False
    wanted = _CONFIRMING_EVENTS[action]
    since = campaign.pending_since
    if campaign.pending_outcome == PendingOutcome.UNANSWERED:
        # Counted from when our request gave up: Atoms may have acted while it waited.
        since -= timedelta(seconds=settings.ATOMS_CONNECT_TIMEOUT + settings.ATOMS_READ_TIMEOUT)
    return any(event.get("action") in wanted and _after(event.get("created_at"), since)
               for event in campaign.events)


def lapse_pending_action(campaign: Campaign, checked_at: datetime, bound) -> set[str]:
    """A pending action Atoms shows no sign of, in a copy fetched from Atoms more than
    `bound` after the request, was not carried out: clear it and remember which it was.

    `checked_at` is when the fetch was sent, so a request still on its way when the copy
    was taken can never be judged lost. Call after `settle_pending_action`.
    """
    if (not campaign.pending_action or campaign.pending_since is None
            or checked_at < campaign.pending_since + bound):
        return set()
    return assign(campaign, {"lapsed_action": campaign.pending_action,
                             "pending_action": PendingAction.NONE, "pending_since": None,
                             "pending_outcome": PendingOutcome.NONE})


def _after(stamp, since: datetime) -> bool:
    if not stamp:
        return False
    try:
        return datetime.fromisoformat(stamp) >= since
    except (TypeError, ValueError):
        return False


def new_campaign(remote: atoms.Campaign, **local) -> Campaign:
    """An unsaved mirror row for a campaign Atoms just told us about.

    One made elsewhere keeps Atoms' creation time; the caller passes `created_at` for ours.
    """
    local.setdefault("created_at", remote.created_at or timezone.now())
    campaign = Campaign(atoms_id=remote.id, **local)
    apply_remote(campaign, remote)
    return campaign


def assign(campaign: Campaign, values: dict) -> set[str]:
    """Set each value that differs; return the names of the fields that changed."""
    changed = set()
    for field, value in values.items():
        if getattr(campaign, field) != value:
            setattr(campaign, field, value)
            changed.add(field)
    return changed


def _jsonable(record) -> dict:
    """A flat dataclass as a JSON-ready dict; `asdict` deep-copies, which the poller's
    profile showed costing more than the comparison it feeds."""
    values = ((f.name, getattr(record, f.name)) for f in fields(record))
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values}
