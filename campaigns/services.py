"""The campaign operations: the one place that joins the Atoms client, the DB and the log.

Views call these and only these. Each action talks to Atoms synchronously with short
timeouts, leaves the mirror consistent whatever Atoms answers, and writes an audit entry
for every attempt, including the refused and the failed ones.
"""

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns import atoms, audit, mirror
from campaigns.atoms import CampaignStatus
from campaigns.connections import atoms_client
from campaigns.live import poll, publish
from campaigns.models import (
    PAUSABLE_STATUSES,
    STARTABLE_STATUSES,
    UNDELETABLE_STATUSES,
    Campaign,
    CreateRequest,
    PendingAction,
)

log = logging.getLogger(__name__)

Action = audit.Action
Outcome = audit.Outcome

# How long a second submit of the same form waits for the first one to finish.
DUPLICATE_WAIT_SECONDS = 20
# A create still "in progress" after this long was abandoned by a process that died.
STALE_PENDING = timedelta(minutes=2)
# How many of the newest same-named campaigns a reconciliation looks at.
RECONCILE_WINDOW = 20


class ActionRefused(Exception):
    """The action cannot be done now; the message says why in plain words."""

    def __init__(self, message: str, *, field_errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


@dataclass(frozen=True)
class CampaignInput:
    """What the create form collected, already validated."""

    name: str
    description: str
    agent_id: str
    audience_id: str
    phone_number_ids: tuple[str, ...]
    max_retries: int
    retry_delay: int
    scheduled_at: datetime | None = None
    # Names shown in the mirror before the first poll brings Atoms' own copy.
    agent_name: str = ""
    audience_name: str = ""

    def as_payload(self) -> dict:
        return {
            "name": self.name, "description": self.description, "agent_id": self.agent_id,
            "audience_id": self.audience_id, "phone_number_ids": list(self.phone_number_ids),
            "max_retries": self.max_retries, "retry_delay": self.retry_delay,
            "scheduled_at": self.scheduled_at.isoformat() if self.scheduled_at else None,
        }


@dataclass
class CreateOutcome:
    campaign: Campaign | None = None
    # Another submit of the same form is still talking to Atoms.
    in_progress: bool = False
    # This submit found the campaign an earlier submit of the same form had made.
    duplicate: bool = False
    start_error: str = ""


# --- create ---------------------------------------------------------------------------


def create_campaign(user, token: uuid.UUID, data: CampaignInput, *, start: bool) -> CreateOutcome:
    """Create the campaign in Atoms, then its mirror; exactly once per form token.

    Raises ActionRefused when Atoms says no or cannot be reached; nothing local is left
    behind then except the audit entry and the failed request (so a resubmit can retry).
    """
    request = _claim_create_request(user, token, data)
    if isinstance(request, CreateOutcome):
        return request

    client = atoms_client()
    try:
        remote = None
        if request.state == CreateRequest.State.UNCERTAIN:
            remote = _find_created_campaign(client, request)
        if remote is None:
            remote = client.create_campaign(
                data.name, data.agent_id, data.audience_id, list(data.phone_number_ids),
                description=data.description, max_retries=data.max_retries,
                retry_delay=data.retry_delay, scheduled_at=data.scheduled_at,
            )
    except atoms.AtomsUnavailable as error:
        remote = _find_created_campaign(client, request) if error.outcome_unknown else None
        if remote is None:
            state = (CreateRequest.State.UNCERTAIN if error.outcome_unknown
                     else CreateRequest.State.FAILED)
            _fail_create(request, user, data, state, Outcome.FAILED, error.user_message)
            raise ActionRefused(_unavailable_message(error)) from error
    except atoms.AtomsError as error:
        _fail_create(request, user, data, CreateRequest.State.FAILED, Outcome.REFUSED,
                     error.user_message)
        raise ActionRefused(error.user_message, field_errors=_field_errors(error)) from error

    with transaction.atomic():
        now = timezone.now()
        campaign = mirror.new_campaign(
            remote, created_by=user, agent_name=data.agent_name,
            audience_name=data.audience_name, next_poll_at=now, created_at=now,
        )
        campaign.phone_number_ids = campaign.phone_number_ids or list(data.phone_number_ids)
        campaign.save()
        CreateRequest.objects.filter(pk=request.pk).update(
            state=CreateRequest.State.CREATED, campaign=campaign, error=""
        )
        audit.record(user, Action.CREATE, Outcome.OK, campaign=campaign,
                     message="Created in Atoms" + (" (scheduled)" if data.scheduled_at else ""))

    outcome = CreateOutcome(campaign=campaign)
    if start:
        try:
            start_campaign(user, campaign)
        except ActionRefused as refused:
            outcome.start_error = refused.message
        campaign.refresh_from_db()  # the start set its pending state in the database
    return outcome


def _claim_create_request(user, token, data: CampaignInput) -> CreateRequest | CreateOutcome:
    """Own the token, or learn what the submit that owns it did."""
    try:
        with transaction.atomic():
            return CreateRequest.objects.create(token=token, user=user, payload=data.as_payload())
    except IntegrityError:
        pass
    deadline = time.monotonic() + DUPLICATE_WAIT_SECONDS
    while True:
        existing = CreateRequest.objects.select_related("campaign").get(token=token)
        if existing.user_id != user.pk:
            raise ActionRefused("This form was opened by someone else; reload it and try again.")
        if existing.state == CreateRequest.State.CREATED:
            return CreateOutcome(campaign=existing.campaign, duplicate=True)
        if existing.state in (CreateRequest.State.FAILED, CreateRequest.State.UNCERTAIN):
            # A resubmit after a failure retries, but only one resubmit at a time.
            claimed = CreateRequest.objects.filter(pk=existing.pk, state=existing.state).update(
                state=CreateRequest.State.PENDING, payload=data.as_payload()
            )
            if claimed:
                # `existing.state` still holds the old state: UNCERTAIN makes us reconcile.
                return existing
            continue
        if existing.updated_at < timezone.now() - STALE_PENDING:
            # The submit that owned it died mid-way (a killed process): take over, but
            # look in Atoms first, as after a timeout.
            claimed = CreateRequest.objects.filter(
                pk=existing.pk, state=CreateRequest.State.PENDING,
                updated_at=existing.updated_at,
            ).update(updated_at=timezone.now(), payload=data.as_payload())
            if claimed:
                existing.state = CreateRequest.State.UNCERTAIN
                return existing
            continue
        if time.monotonic() >= deadline:
            return CreateOutcome(in_progress=True)
        time.sleep(0.2)


def _find_created_campaign(client, request: CreateRequest) -> atoms.Campaign | None:
    """After a timed-out create, look in Atoms for the campaign it may have made.

    A match has the same name, agent and audience, is among the newest campaigns of that
    name, and is not mirrored here yet. Atoms' clock is not ours, so no time window.
    """
    payload = request.payload
    try:
        newest = client.list_campaigns(search=payload["name"], page_size=RECONCILE_WINDOW)
    except atoms.AtomsError as error:
        log.warning("Could not reconcile create request %s: %s", request.token, error)
        return None
    candidates = [remote for remote in newest.items
                  if (remote.name, remote.agent_id, remote.audience_id)
                  == (payload["name"], payload["agent_id"], payload["audience_id"])]
    known = set(Campaign.objects.filter(atoms_id__in=[c.id for c in candidates])
                .values_list("atoms_id", flat=True))
    return next((remote for remote in candidates if remote.id not in known), None)


def _fail_create(request, user, data: CampaignInput, state: str, outcome: str,
                 message: str) -> None:
    CreateRequest.objects.filter(pk=request.pk).update(state=state, error=message)
    audit.record(user, Action.CREATE, outcome, campaign_name=data.name, message=message)


def _unavailable_message(error: atoms.AtomsUnavailable) -> str:
    if error.outcome_unknown:
        return ("Atoms did not answer in time and no new campaign shows up there yet. "
                "Your input is kept: submit again and the dashboard will check before "
                "creating, so you will not get two campaigns.")
    return f"{error.user_message} Your input is kept; try again in a moment."


# Atoms' messages mention its JSON keys; map them to the form's fields when we can.
_FIELD_HINTS = {
    "maxretries": "max_retries", "retrydelay": "retry_delay", "scheduledat": "scheduled_at",
    "agent": "agent", "audience": "audience", "phone": "phone_numbers", "name": "name",
}


def _field_errors(error: atoms.AtomsError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for message in error.messages:
        squashed = message.lower().replace(" ", "").replace("_", "")
        for hint, form_field in _FIELD_HINTS.items():
            if hint in squashed:
                errors.setdefault(form_field, []).append(message)
                break
    return errors


# --- start, pause, delete ---------------------------------------------------------------


def start_campaign(user, campaign: Campaign) -> None:
    """Ask Atoms to start (or resume) the campaign; the status changes when a poll sees it."""
    verb = "Resume" if campaign.status == "paused" else "Start"
    _run_async_action(
        user, campaign, Action.START, PendingAction.START, STARTABLE_STATUSES,
        call=lambda client: client.start_campaign(campaign.atoms_id),
        refusal=f"{verb} is only possible for draft, scheduled or paused campaigns.",
        ok_message=f"{verb} requested; Atoms is processing it",
    )


def pause_campaign(user, campaign: Campaign) -> None:
    _run_async_action(
        user, campaign, Action.PAUSE, PendingAction.PAUSE, PAUSABLE_STATUSES,
        call=lambda client: client.pause_campaign(campaign.atoms_id),
        refusal="Only running or processing campaigns can be paused.",
        ok_message="Pause requested; Atoms is pausing it",
    )


def _run_async_action(user, campaign, action, pending, allowed_statuses, *, call, refusal,
                      ok_message) -> None:
    """Start and pause: Atoms accepts at once and changes the status later.

    The compare-and-set on `pending_action` makes a double click send one request; the
    page shows "Starting…"/"Pausing…" until the poller sees Atoms' new status.
    """
    now = timezone.now()
    overdue = now - timedelta(seconds=settings.PENDING_ACTION_WARN_SECONDS)
    claimable = Campaign.objects.filter(pk=campaign.pk, status__in=allowed_statuses)
    claimed = (
        claimable.filter(pending_action=PendingAction.NONE).update(
            pending_action=pending, pending_since=now, next_poll_at=now)
        # A pending action Atoms never confirmed may be tried again.
        or claimable.filter(pending_since__lt=overdue).update(
            pending_action=pending, pending_since=now, next_poll_at=now)
    )
    if not claimed:
        campaign.refresh_from_db()
        message = (f"Already {campaign.get_pending_action_display().lower()}."
                   if campaign.pending_action else refusal)
        audit.record(user, action, Outcome.REFUSED, campaign=campaign, message=message)
        raise ActionRefused(message)
    try:
        call(atoms_client())
    except atoms.AtomsError as error:
        unknown = isinstance(error, atoms.AtomsUnavailable) and error.outcome_unknown
        if not unknown:
            # Atoms certainly did nothing: release the claim so the button comes back.
            Campaign.objects.filter(pk=campaign.pk, pending_action=pending).update(
                pending_action=PendingAction.NONE, pending_since=None)
        if isinstance(error, atoms.AtomsNotFound):
            Campaign.objects.filter(pk=campaign.pk).update(deleted_remotely_at=now)
        outcome = Outcome.REFUSED if isinstance(error, atoms.AtomsRejected) else Outcome.FAILED
        audit.record(user, action, outcome, campaign=campaign, message=error.user_message)
        transaction.on_commit(lambda: publish.publish_campaign(campaign.pk))
        raise ActionRefused(error.user_message + (
            " It may still take effect; the page will show it when Atoms confirms."
            if unknown else "")) from error
    audit.record(user, action, Outcome.OK, campaign=campaign, message=ok_message)
    # Every open page shows "Starting…"/"Pausing…" now, not when Atoms' status moves.
    transaction.on_commit(lambda: publish.publish_campaign(campaign.pk))
    _poll_soon(campaign)


def delete_campaign(user, campaign: Campaign, typed_name: str) -> None:
    """Delete in Atoms, then locally. The user must have typed the campaign's exact name."""
    if typed_name.strip() != campaign.name:
        raise ActionRefused("Type the campaign's name exactly to confirm.",
                            field_errors={"confirm_name": ["That is not the campaign's name."]})
    if campaign.status in UNDELETABLE_STATUSES:
        message = "This campaign is running: pause it first, then delete it."
        audit.record(user, Action.DELETE, Outcome.REFUSED, campaign=campaign, message=message)
        raise ActionRefused(message)
    try:
        atoms_client().delete_campaign(campaign.atoms_id)
        message = "Deleted in Atoms"
    except atoms.AtomsNotFound:
        message = "Atoms no longer had it; removed here"
    except atoms.AtomsError as error:
        outcome = Outcome.REFUSED if isinstance(error, atoms.AtomsRejected) else Outcome.FAILED
        audit.record(user, Action.DELETE, outcome, campaign=campaign, message=error.user_message)
        raise ActionRefused(error.user_message) from error
    pk, name = campaign.pk, campaign.name
    with transaction.atomic():
        audit.record(user, Action.DELETE, Outcome.OK, campaign=campaign, message=message)
        campaign.delete()
        transaction.on_commit(lambda: publish.publish_removed(pk, name))


def count_outcomes_once(campaign: Campaign) -> bool:
    """A campaign the poller never watched dial (finished, or made elsewhere) has no
    outcome breakdown: ask a worker to read its calls once. Once per campaign however many
    people open it (a short-lived cache key), never while the poller has it anyway."""
    if campaign.call_summary or campaign.is_active() or campaign.status in (
            CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
        return False
    if not cache.add(f"outcomes:first-count:{campaign.pk}", 1, 300):
        return False
    poll.request_refresh(campaign.pk)
    return True


def _poll_soon(campaign: Campaign) -> None:
    """Ask a worker to refresh this campaign now rather than at the next tick."""
    pk = campaign.pk
    transaction.on_commit(lambda: poll.request_refresh(pk))
