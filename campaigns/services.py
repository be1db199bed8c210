"""The campaign operations: the one place that joins the Atoms client, the DB and the log.

Views call these and only these. Each action talks to Atoms synchronously with short
timeouts, leaves the mirror consistent whatever Atoms answers, and writes an audit entry
for every attempt, including the refused and the failed ones.
"""

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from campaigns import atoms, audit, calling_hours, mirror, wording
from campaigns.atoms import CampaignStatus
from campaigns.connections import atoms_client
from campaigns.explain import withheld_reason
from campaigns.live import health, poll, publish
from campaigns.models import (
    PAUSABLE_STATUSES,
    STARTABLE_STATUSES,
    Campaign,
    CreateRequest,
    PendingAction,
    PendingOutcome,
)

log = logging.getLogger(__name__)

Action = audit.Action
Outcome = audit.Outcome

# Without PostgreSQL's advisory locks (the SQLite demo): a create still "in progress"
# after this long was abandoned by a process that died.
STALE_PENDING = timedelta(minutes=2)
# A create like one made this recently (same name, agent, audience) asks "another one?".
LIKELY_DUPLICATE_WINDOW = timedelta(minutes=10)
# How many of the newest same-named campaigns a reconciliation looks at.
RECONCILE_WINDOW = 20
# How long after the dashboard stopped waiting Atoms may still carry out a create whose
# answer never came (its own servers still at work on it): a resubmit that finds nothing
# before then waits instead of creating a second campaign.
LATE_LANDING = timedelta(seconds=45)
CALLING_HOURS = audit.CALLING_HOURS


class ActionRefused(Exception):
    """The action cannot be done now; the message says why in plain words."""

    def __init__(self, message: str, *, field_errors: dict[str, list[str]] | None = None,
                 may_have_happened: bool = False):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}
        # Atoms may have done it after all (no answer): a warning to check, not a failure.
        self.may_have_happened = may_have_happened


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
    # The dashboard's own setting (Atoms has none), kept by a copy of a campaign.
    calling_hours: dict | None = None

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
    # Asked to start, and Atoms' answer was lost: whether it started is found out later.
    start_unknown: bool = False
    # The start waits for the campaign's calling hours: what to tell the person.
    start_held: str = ""
    # Nothing was made: a campaign like it was made (or is being made) from another form
    # a moment ago, and the caller asked to hear of one first (`likely_duplicate`).
    twin: Campaign | CreateRequest | None = None


# --- create ---------------------------------------------------------------------------


def create_campaign(user, token: uuid.UUID, data: CampaignInput, *, start: bool,
                    ask_about_twins: bool = False) -> CreateOutcome:
    """Create the campaign in Atoms, then its mirror; exactly once per form token.

    The request is recorded (committed) before Atoms is called and owned through a
    PostgreSQL advisory lock held by this database session, so a resubmit can tell a
    submit still talking to Atoms (wait for it) from one whose process or database
    connection died (take over). A resubmit whose earlier outcome is unknown looks in Atoms
    before it ever creates.

    With `ask_about_twins`, a likely duplicate from another form is returned as `twin`
    instead of being made. The check and the recording of this request are one step for
    forms with the same name, agent and audience, so that of several sent at once only
    the first goes through and the others hear of it.

    Raises ActionRefused when Atoms says no or cannot be reached; nothing local is left
    behind then except the audit entry and the failed request (so a resubmit can retry).
    """
    with _twins_one_at_a_time(data):
        if ask_about_twins:
            twin = likely_duplicate(token, data)
            if twin is not None:
                return CreateOutcome(twin=twin)
        claimed = _claim_create_request(user, token, data)
    if isinstance(claimed, CreateOutcome):
        return claimed
    request, reconcile = claimed
    try:
        return _create_owned(user, request, data, reconcile=reconcile, start=start)
    finally:
        _release_request(token)


def _create_owned(user, request: CreateRequest, data: CampaignInput, *, reconcile: bool,
                  start: bool) -> CreateOutcome:
    client = atoms_client()
    remote = None
    if reconcile:
        try:
            remote = _find_created_campaign(client, request)
        except atoms.AtomsError as error:
            # Unknown whether the earlier submit made it: never create blindly.
            _fail_create(request, user, data, CreateRequest.State.UNCERTAIN, Outcome.FAILED,
                         error.user_message)
            raise ActionRefused(CHECK_FAILED_MESSAGE) from error
        may_land_until = request.may_land_until
        if remote is None and may_land_until and may_land_until > timezone.now():
            # Not there yet is not "never made": the earlier try may still land.
            _fail_create(request, user, data, CreateRequest.State.UNCERTAIN, Outcome.FAILED,
                         "Atoms may still be making the campaign of an earlier try")
            raise ActionRefused(_still_landing_message(may_land_until))
    try:
        if remote is None:
            remote = client.create_campaign(
                data.name, data.agent_id, data.audience_id, list(data.phone_number_ids),
                description=data.description, max_retries=data.max_retries,
                retry_delay=data.retry_delay, scheduled_at=data.scheduled_at,
            )
    except atoms.AtomsUnavailable as error:
        remote, looked = None, False
        if error.outcome_unknown:
            try:
                remote, looked = _find_created_campaign(client, request), True
            except atoms.AtomsError:
                remote = None
        if remote is None:
            # After a reconciliation found nothing, a create that failed for sure leaves the
            # request as uncertain as the earlier submit left it.
            state = (CreateRequest.State.UNCERTAIN
                     if error.outcome_unknown or reconcile else CreateRequest.State.FAILED)
            _fail_create(request, user, data, state, Outcome.FAILED, error.user_message)
            if error.may_still_land:
                CreateRequest.objects.filter(pk=request.pk).update(
                    may_land_until=timezone.now() + LATE_LANDING)
            raise ActionRefused(_unavailable_message(error, looked=looked)) from error
    except atoms.AtomsError as error:
        _fail_create(request, user, data, CreateRequest.State.FAILED, Outcome.REFUSED,
                     error.user_message)
        raise ActionRefused(error.user_message, field_errors=_field_errors(error)) from error

    # The outcome first, on its own: should the mirror write below fail, a resubmit
    # still knows which campaign this request made.
    try:
        CreateRequest.objects.filter(pk=request.pk).update(atoms_id=remote.id)
        with transaction.atomic():
            campaign = _mirror_created(remote, user, data)
            CreateRequest.objects.filter(pk=request.pk).update(
                state=CreateRequest.State.CREATED, campaign=campaign, error=""
            )
            audit.record(user, Action.CREATE, Outcome.OK, campaign=campaign,
                         message="Created in Atoms"
                         + (" (scheduled)" if data.scheduled_at else ""))
    except DatabaseError as error:
        # Atoms made it; we could not write that down. The request stays pending and its
        # lock dies with this connection, so a resubmit takes over and finds it in Atoms.
        log.exception("Create request %s: Atoms made %s, the database write failed",
                      request.token, remote.id)
        raise ActionRefused(LOST_WRITE_MESSAGE) from error

    if not start:
        # Atoms' answer to a create has no events, and a draft is not polled: one read
        # brings them (its page said "No events reported by Atoms yet" beside Atoms' own
        # "created"). A start asks for a read of its own.
        _poll_soon(campaign)
    outcome = CreateOutcome(campaign=campaign)
    if start:
        try:
            outcome.start_held = start_campaign(user, campaign) or ""
        except ActionRefused as refused:
            if refused.may_have_happened:
                outcome.start_unknown = True  # the page's live note follows Atoms' answer
            else:
                outcome.start_error = refused.message
        campaign.refresh_from_db()  # the start set its pending state in the database
    return outcome


def _mirror_created(remote: atoms.Campaign, user, data: CampaignInput) -> Campaign:
    """The mirror row of the campaign this request made: new, or the one the sync already
    imported (an orphan of an earlier, uncertain submit), now credited to its maker."""
    now = timezone.now()
    campaign = Campaign.objects.select_for_update().filter(atoms_id=remote.id).first()
    if campaign is None:
        campaign = mirror.new_campaign(
            remote, created_by=user, agent_name=data.agent_name,
            audience_name=data.audience_name, next_poll_at=now, created_at=now,
        )
        campaign.phone_number_ids = campaign.phone_number_ids or list(data.phone_number_ids)
        campaign.calling_hours = data.calling_hours or campaign.calling_hours
        try:
            with transaction.atomic():
                campaign.save()
            transaction.on_commit(lambda: _best_effort(publish.publish_added, [campaign]))
            return campaign
        except IntegrityError:  # the sync imported it a moment ago (and said so)
            campaign = Campaign.objects.select_for_update().get(atoms_id=remote.id)
    mirror.apply_remote(campaign, remote)
    campaign.created_by = campaign.created_by or user
    campaign.next_poll_at = now
    campaign.save()
    return campaign


def likely_duplicate(token: uuid.UUID, data: CampaignInput) -> Campaign | CreateRequest | None:
    """A campaign with the same name, agent and audience made a few minutes ago (or a
    create of it still under way), from another form: a Back-button resubmit or a second
    tab. The same form sent again is not one: its token already makes it exactly once."""
    if CreateRequest.objects.filter(token=token).exists():
        return None
    since = timezone.now() - LIKELY_DUPLICATE_WINDOW
    twin = (Campaign.objects.filter(name=data.name, agent_id=data.agent_id,
                                    audience_id=data.audience_id, created_at__gte=since,
                                    deleted_remotely_at__isnull=True)
            .order_by("-created_at").first())
    if twin is not None:
        return twin
    return (CreateRequest.objects
            .filter(created_at__gte=since, payload__name=data.name,
                    payload__agent_id=data.agent_id, payload__audience_id=data.audience_id)
            .filter(state__in=(CreateRequest.State.PENDING, CreateRequest.State.UNCERTAIN))
            .order_by("-created_at").first())


# --- owning a create request ---------------------------------------------------------------


def _claim_create_request(user, token, data: CampaignInput):
    """Own the token, or learn what the submit that owns it did.

    Returns (request, reconcile) once owned, where `reconcile` says an earlier submit may
    have made the campaign already; or a CreateOutcome when there is nothing to do.
    """
    deadline = time.monotonic() + settings.DUPLICATE_SUBMIT_WAIT_SECONDS
    while True:
        if _lock_request(token):
            try:
                return _take_request(user, token, data)
            except BaseException:
                _release_request(token)
                raise
        existing = (CreateRequest.objects.select_related("campaign")
                    .filter(token=token).first())
        if existing is not None and existing.user_id != user.pk:
            raise ActionRefused("This form was opened by someone else; reload it and try again.")
        if existing is not None and existing.state == CreateRequest.State.CREATED:
            return CreateOutcome(campaign=existing.campaign, duplicate=True)
        if time.monotonic() >= deadline:
            # True: another submit of this form is talking to Atoms right now.
            return CreateOutcome(in_progress=True)
        time.sleep(0.2)


def _take_request(user, token, data: CampaignInput):
    """With the token's lock held: record the request, or take over the existing one."""
    try:
        with transaction.atomic():
            request = CreateRequest.objects.create(token=token, user=user,
                                                   payload=data.as_payload())
        return request, False
    except IntegrityError:
        pass
    existing = CreateRequest.objects.select_related("campaign").get(token=token)
    if existing.user_id != user.pk:
        raise ActionRefused("This form was opened by someone else; reload it and try again.")
    if existing.state == CreateRequest.State.CREATED:
        _release_request(token)
        if existing.campaign is None:
            raise ActionRefused("The campaign this form made has been deleted since. Open "
                                "a new form to create another one.")
        return CreateOutcome(campaign=existing.campaign, duplicate=True)
    # FAILED: Atoms certainly made nothing. UNCERTAIN, or PENDING with its owner gone
    # (its lock died with its process or connection): Atoms may hold the campaign, so
    # look before creating.
    reconcile = existing.state != CreateRequest.State.FAILED
    if existing.state == CreateRequest.State.PENDING:
        # Its process died, perhaps with its create on its way to Atoms (sent when the try
        # began: `updated_at`, written as each try takes the request).
        died_sending = (existing.updated_at + timedelta(seconds=settings.ATOMS_READ_TIMEOUT)
                        + LATE_LANDING)
        existing.may_land_until = max(existing.may_land_until or died_sending, died_sending)
    CreateRequest.objects.filter(pk=existing.pk).update(
        state=CreateRequest.State.PENDING, payload=data.as_payload(),
        may_land_until=existing.may_land_until, updated_at=timezone.now())
    return existing, reconcile


# Advisory locks of the two-number form, in their own space: this namespace, then a hash.
_TWIN_LOCK_NAMESPACE = 0x74776E  # "twn"
_twin_lock_in_process = threading.Lock()  # the SQLite demo: one process


@contextmanager
def _twins_one_at_a_time(data: CampaignInput):
    """Held while a create looks for a likely duplicate and records its request: across
    every web process on PostgreSQL (an advisory lock of this session), in-process on the
    SQLite demo."""
    if connection.vendor != "postgresql":
        with _twin_lock_in_process:
            yield
        return
    digest = hashlib.sha256(
        "\x1f".join((data.name, data.agent_id, data.audience_id)).encode()).digest()
    key = [_TWIN_LOCK_NAMESPACE, int.from_bytes(digest[:4], "big", signed=True)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", key)
    try:
        yield
    finally:
        _advisory_unlock(*key)


def _lock_key(token: uuid.UUID) -> int:
    return int.from_bytes(uuid.UUID(str(token)).bytes[:8], "big", signed=True)


def _lock_request(token) -> bool:
    """Hold the token's advisory lock for this database session (until released, or until
    the session ends: a dead process or connection frees it by itself)."""
    if connection.vendor != "postgresql":
        return _stale_or_free(token)  # the SQLite demo: one process, judged by age
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_lock_key(token)])
        return cursor.fetchone()[0]


def create_under_way(token) -> bool:
    """Another request is making the campaign of this token right now (it holds the
    token's lock). A request whose process died holds nothing: its token may be taken."""
    if not _lock_request(token):
        return True
    _release_request(token)
    return False


def _stale_or_free(token) -> bool:
    existing = CreateRequest.objects.filter(token=token).first()
    return (existing is None or existing.state != CreateRequest.State.PENDING
            or existing.updated_at < timezone.now() - STALE_PENDING)


def _release_request(token) -> None:
    if connection.vendor == "postgresql":
        _advisory_unlock(_lock_key(token))


def _advisory_unlock(*key: int) -> None:
    """Release a session advisory lock (one key, or two: a namespace and a key)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_advisory_unlock({', '.join(['%s'] * len(key))})",
                           list(key))
    except DatabaseError:
        # The connection is gone, and the lock with its session; make sure of it.
        connection.close()


def _find_created_campaign(client, request: CreateRequest) -> atoms.Campaign | None:
    """Look in Atoms for the campaign an earlier submit of this request may have made.

    The campaign whose id the request recorded, if it got that far; otherwise one with the
    same name, agent and audience among the newest of that name that no other create
    request made, mirrored already (the sync imports orphans) or not. Atoms' clock is not
    ours, so no time window. Raises AtomsError when Atoms cannot be asked: never create
    blindly then.
    """
    payload = request.payload
    newest = client.list_campaigns(search=payload["name"], page_size=RECONCILE_WINDOW)
    candidates = [remote for remote in newest.items
                  if (remote.name, remote.agent_id, remote.audience_id)
                  == (payload["name"], payload["agent_id"], payload["audience_id"])]
    if request.atoms_id:
        recorded = [remote for remote in candidates if remote.id == request.atoms_id]
        if recorded:
            return recorded[0]
    made_by_others = set(
        CreateRequest.objects.exclude(pk=request.pk)
        .filter(Q(atoms_id__in=[c.id for c in candidates])
                | Q(campaign__atoms_id__in=[c.id for c in candidates]))
        .values_list("atoms_id", "campaign__atoms_id"))
    taken = {atoms_id for pair in made_by_others for atoms_id in pair if atoms_id}
    return next((remote for remote in candidates if remote.id not in taken), None)


def _fail_create(request, user, data: CampaignInput, state: str, outcome: str,
                 message: str) -> None:
    CreateRequest.objects.filter(pk=request.pk).update(state=state, error=message)
    audit.record(user, Action.CREATE, outcome, campaign_name=data.name, message=message)


# Said after the create form and after "Start without them" (whose page has no input to
# keep): "send it again" fits both, and the form keeps what was typed where it is seen.
LOST_WRITE_MESSAGE = (
    "Atoms made the campaign, but the dashboard could not record it just now. Send it again: "
    "the dashboard will find that campaign, not make another.")
CHECK_FAILED_MESSAGE = (
    "Atoms could not be asked whether the earlier try made this campaign, so nothing new was "
    "created. Send it again in a moment.")


def _unavailable_message(error: atoms.AtomsUnavailable, *, looked: bool) -> str:
    """`looked`: whether Atoms could be asked if the create landed (it had not)."""
    if error.outcome_unknown:
        found = ("no new campaign shows up there yet" if looked else
                 "Atoms could not be asked whether it made the campaign")
        if error.may_still_land:
            return (f"{error.what_happened} and {found}, but it may still be making it. "
                    "Send it again in a minute: the dashboard looks first, so you will not "
                    "get two campaigns.")
        return (f"{error.what_happened} and {found}. Send it again: the dashboard checks "
                "before creating, so you will not get two campaigns.")
    return error.user_message  # which says when to try again


def _still_landing_message(may_land_until) -> str:
    return ("Atoms has not shown the campaign from the last try yet and may still be making "
            f"it, so nothing new was created. Send it again in "
            f"{wording.seconds_until(may_land_until)}: the dashboard looks first, so you will "
            "not get two campaigns.")


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
                errors.setdefault(form_field, []).append(atoms.in_plain_words(message))
                break
    return errors


# --- start, pause, delete ---------------------------------------------------------------


def start_campaign(user, campaign: Campaign, *, listed_accepted: Iterable[str] = ()
                   ) -> str | None:
    """Ask Atoms to start (or resume) the campaign; the status changes when a poll sees it.

    Outside the campaign's calling hours a person's start asks nothing of Atoms: it is held,
    and calling hours start it when the next window opens. `listed_accepted`: do-not-call
    numbers still to be called that the person agreed to have called (kept with a held
    resume, see `keep_hours`). Returns what to tell the person when it was held."""
    hours = calling_hours.of(campaign)
    now = timezone.now()
    if user != CALLING_HOURS and hours and not hours.is_open(now):
        held = _hold_start(user, campaign, hours, now, sorted(listed_accepted))
        _record_listed_accepted(user, campaign, listed_accepted)
        return held
    verb = "Resume" if campaign.status == "paused" else "Start"
    _run_async_action(
        user, campaign, Action.START, PendingAction.START, STARTABLE_STATUSES,
        call=lambda client: client.start_campaign(campaign.atoms_id),
        refusal=f"{verb} is only possible for draft, scheduled or paused campaigns.",
        done_statuses={CampaignStatus.RUNNING, CampaignStatus.PROCESSING},
        verb=verb.lower(),
        # Asked for (and asked first about listed numbers): nothing is withheld any more.
        resume_withheld_for=[], listed_retries_accepted=[],
    )
    _record_listed_accepted(user, campaign, listed_accepted)
    return None


def _record_listed_accepted(user, campaign: Campaign, numbers: Iterable[str]) -> None:
    """"Resume anyway" over do-not-call numbers goes in the activity log with the numbers:
    taking one off the list needs an admin and a reason, and this override left no trace."""
    numbers = sorted(numbers)
    if numbers:
        audit.record(user, Action.START, Outcome.OK, campaign=campaign,
                     message=f"Resumed knowing it may call {len(numbers)} number"
                             f"{'s' if len(numbers) != 1 else ''} on the do-not-call list "
                             f"(agreed to be called): {', '.join(numbers)}")


def pause_campaign(user, campaign: Campaign) -> None:
    _run_async_action(
        user, campaign, Action.PAUSE, PendingAction.PAUSE, PAUSABLE_STATUSES,
        call=lambda client: client.pause_campaign(campaign.atoms_id),
        refusal="Only running or processing campaigns can be paused.",
        done_statuses={CampaignStatus.PAUSED},
        verb="pause",
        # A person's pause is theirs to undo: calling hours never resume it.
        held_for_calling_hours=user == CALLING_HOURS,
    )


def _hold_start(user, campaign: Campaign, hours, now: datetime, listed_accepted: list[str]
                ) -> str:
    opens = hours.opens_at(now)
    when = f"at {hours.wall_clock(opens)}" if opens else "when its next window opens"
    held = Campaign.objects.filter(pk=campaign.pk, status__in=STARTABLE_STATUSES,
                                   pending_action=PendingAction.NONE)
    if not held.update(held_for_calling_hours=True, resume_withheld_for=[],
                       listed_retries_accepted=listed_accepted):
        message = "Start is only possible for draft, scheduled or paused campaigns."
        audit.record(user, Action.START, Outcome.REFUSED, campaign=campaign, message=message)
        raise ActionRefused(message)
    message = f"Outside its calling hours, {hours}: it will start {when}."
    audit.record(user, Action.START, Outcome.OK, campaign=campaign, message=message)
    _publish_soon(campaign)
    return message


def cancel_held_start(user, campaign: Campaign) -> str:
    """Drop a start (or resume) held for calling hours: the campaign stays as it is, and
    calling hours will not start it. Asks nothing of Atoms (nothing was sent to it)."""
    verb = "resume" if campaign.status == CampaignStatus.PAUSED else "start"
    # Not once the beat has claimed the start (its hours began): that start is on its way.
    if not Campaign.objects.filter(pk=campaign.pk, held_for_calling_hours=True,
                                   status__in=STARTABLE_STATUSES,
                                   pending_action=PendingAction.NONE).update(
            held_for_calling_hours=False, listed_retries_accepted=[]):
        raise ActionRefused(f"No {verb} is waiting for calling hours any more: it may be "
                            f"under way (see its status).")
    message = f"The {verb} waiting for calling hours is cancelled: it stays {campaign.status}."
    audit.record(user, Action.CALLING_HOURS, Outcome.OK, campaign=campaign, message=message)
    _publish_soon(campaign)
    return message


def set_calling_hours(user, campaign: Campaign, hours: calling_hours.CallingHours | None) -> str:
    """Save the campaign's calling hours (None: any time); returns what to tell the person.
    Pausing or starting at their boundaries is `keep_hours.keep_calling_hours`, at the
    beat's next tick."""
    changes = {"calling_hours": hours.as_json() if hours else {}}
    if hours is not None:
        message = ("Calling hours saved: the campaign dials only within them; the dashboard "
                   "pauses and resumes it at their edges.")
    else:
        # Nothing will start a held campaign any more: it stays as it is, for a person.
        changes.update(held_for_calling_hours=False, listed_retries_accepted=[])
        verb = "resume" if campaign.status == CampaignStatus.PAUSED else "start"
        message = (f"Calling hours removed. The {verb} that waited for them is dropped, so it "
                   f"stays {campaign.status}: {verb} it when it should dial."
                   if campaign.start_waits_for_hours else
                   "Calling hours removed: the campaign may dial at any time.")
    Campaign.objects.filter(pk=campaign.pk).update(**changes)
    audit.record(user, Action.CALLING_HOURS, Outcome.OK, campaign=campaign,
                 message=f"Calling hours: {hours}" if hours else message)
    _publish_soon(campaign)
    return message


def withhold_resume(campaign: Campaign, numbers: list[str]) -> None:
    """Calling hours leave it paused: resuming would call these do-not-call numbers again
    and no person agreed to it. An alert asks a person (`alerts`); their resume clears it."""
    Campaign.objects.filter(pk=campaign.pk).update(
        held_for_calling_hours=False, listed_retries_accepted=[], resume_withheld_for=numbers)
    done = "resumed" if campaign.status == CampaignStatus.PAUSED else "started"
    audit.record(CALLING_HOURS, Action.START, Outcome.REFUSED, campaign=campaign,
                 message=f"Not {done}: {withheld_reason(numbers)}")
    _publish_soon(campaign)


def _run_async_action(user, campaign, action, pending, allowed_statuses, *, call, refusal,
                      done_statuses, verb, **also) -> None:
    """Start and pause: Atoms accepts at once and changes the status later.

    The compare-and-set on `pending_action` makes a double click send one request; the
    page shows "Starting…"/"Pausing…" until the poller sees Atoms' new status or event.
    When Atoms' answer is unknown (timeout, 5xx, lost answer) the claim stays: the poller
    finds out from Atoms whether it was carried out, and clears it as "not carried out"
    when Atoms shows no sign of it within `poll.pending_bound`. `done_statuses`: those in
    which the action is done already. `also`: fields written with the claim.
    """
    now = timezone.now()
    overdue = now - timedelta(seconds=settings.PENDING_ACTION_WARN_SECONDS)
    claimable = Campaign.objects.filter(pk=campaign.pk, status__in=allowed_statuses)
    claim = {"pending_action": pending, "pending_since": now, "next_poll_at": now,
             "pending_outcome": PendingOutcome.NONE, "lapsed_action": PendingAction.NONE,
             **also}
    claimed = (
        claimable.filter(pending_action=PendingAction.NONE).update(**claim)
        # A pending action Atoms accepted and never confirmed may be tried again; one whose
        # answer was lost waits for Atoms to show what became of it (Campaign.pending_overdue).
        or claimable.filter(pending_since__lt=overdue).exclude(
            pending_outcome=PendingOutcome.UNANSWERED).update(**claim)
    )
    if not claimed:
        campaign.refresh_from_db()
        if campaign.pending_action:
            message = f"Already {campaign.pending_label.lower()}."
        elif campaign.status in done_statuses:
            # Done already (from another tab, say): said so, not "only possible for...".
            message = f"It is already {campaign.status_label.lower().rstrip('…')}."
        else:
            message = refusal
        audit.record(user, action, Outcome.REFUSED, campaign=campaign, message=message)
        raise ActionRefused(message)
    mine = Campaign.objects.filter(pk=campaign.pk, pending_action=pending, pending_since=now)
    # Every open page shows "Starting…"/"Pausing…" now, while Atoms is asked: a page drawn
    # meanwhile from the cache said "press Start" beside a "Starting…" button.
    _publish_soon(campaign)
    try:
        call(atoms_client())
    except atoms.AtomsError as error:
        unknown = isinstance(error, atoms.AtomsUnavailable) and error.outcome_unknown
        # From now on the wait is counted from our giving up (poll.pending_bound).
        if unknown and not mine.update(pending_outcome=PendingOutcome.UNANSWERED,
                                       pending_since=timezone.now()):
            campaign.refresh_from_db()
            if not campaign.pending_action and campaign.lapsed_action != pending:
                # While our request waited, the poll saw Atoms carry it out (it settled
                # the pending action): say so, not "checking", which nothing follows up.
                audit.record(user, action, Outcome.OK, campaign=campaign,
                             message=f"{error.what_happened}, but Atoms shows the {verb} "
                                     "carried out")
                # Drawn by the poll before this entry: "Paused by …" named an earlier pause.
                _publish_soon(campaign)
                raise ActionRefused(error.user_message, may_have_happened=True) from error
        if unknown:
            message = (f"{error.what_happened}: checking whether the {verb} was carried out. "
                       "The page shows it when Atoms does, or offers it again if not.")
            # The request line and Atoms' words are for engineers: the log, not the page.
            log.warning("%s of campaign %s: outcome unknown: %s", verb, campaign.atoms_id,
                        error)
            audit.record(user, action, Outcome.FAILED, campaign=campaign,
                         message=f"{error.what_happened}; checking with Atoms whether the "
                                 f"{verb} was carried out")
            _publish_soon(campaign)
            _poll_soon(campaign)
            # A warning, not an error: the page says "Pausing…" beside it, not a contradiction.
            raise ActionRefused(message, may_have_happened=True) from error
        # Atoms certainly did nothing: release the claim so the button comes back.
        mine.update(pending_action=PendingAction.NONE, pending_since=None,
                    pending_outcome=PendingOutcome.NONE)
        message = error.user_message
        if isinstance(error, atoms.AtomsNotFound):
            # Gone, or a passing fault of Atoms': the poll asks the list before believing it,
            # and the page says which ("It may have been deleted" alarmed for nothing).
            _poll_soon(campaign)
            message = (f"Atoms could not find this campaign, so the {verb} was not carried "
                       "out. The dashboard is checking with Atoms whether it was deleted; "
                       "this page shows the answer.")
        outcome = Outcome.REFUSED if isinstance(error, atoms.AtomsRejected) else Outcome.FAILED
        audit.record(user, action, outcome, campaign=campaign, message=message)
        _publish_soon(campaign)
        raise ActionRefused(message) from error
    mine.update(pending_outcome=PendingOutcome.ACCEPTED)
    # Said as of that moment: "waiting for it to take effect" stayed in the log for good,
    # long after the status showed it done.
    audit.record(user, action, Outcome.OK, campaign=campaign,
                 message=f"Atoms accepted the {verb}.")
    # Every open page shows "Starting…"/"Pausing…" now, not when Atoms' status moves.
    _publish_soon(campaign)
    _poll_soon(campaign)


def delete_campaign(user, campaign: Campaign, typed_name: str) -> None:
    """Delete in Atoms, then locally. The user must have typed the campaign's exact name."""
    if typed_name.strip() != campaign.name:
        raise ActionRefused("Type the campaign's name exactly to confirm.",
                            field_errors={"confirm_name": ["That is not the campaign's name."]})
    if not campaign.can_delete:
        message = "This campaign is running: pause it first, then delete it."
        audit.record(user, Action.DELETE, Outcome.REFUSED, campaign=campaign, message=message)
        raise ActionRefused(message)
    try:
        atoms_client().delete_campaign(campaign.atoms_id)
        message = "Deleted in Atoms"
    except atoms.AtomsNotFound:
        message = "Atoms no longer had it; removed here"
    except atoms.AtomsError as error:
        gone = (gone_from_atoms(lambda: atoms_client().get_campaign(campaign.atoms_id))
                if isinstance(error, atoms.AtomsUnavailable) and error.outcome_unknown
                else None)
        if not gone:
            outcome = (Outcome.REFUSED if isinstance(error, atoms.AtomsRejected)
                       else Outcome.FAILED)
            message = not_deleted_message(error, gone)
            audit.record(user, Action.DELETE, outcome, campaign=campaign, message=message)
            may_land = (gone is False and isinstance(error, atoms.AtomsUnavailable)
                        and error.may_still_land)
            if may_land:  # its page looks again (look_again_after_delete) until known
                cache.set(_unanswered_delete_key(campaign), time.time(),
                          UNANSWERED_DELETE_KEPT_SECONDS)
            raise ActionRefused(message, may_have_happened=may_land) from error
        message = "Deleted in Atoms (its answer was lost; Atoms no longer has it)"
    _remove_here(user, campaign, message)


# How long the page of a delete Atoms left unanswered may ask what came of it.
UNANSWERED_DELETE_KEPT_SECONDS = 600


def delete_unanswered(campaign: Campaign) -> bool:
    """Whether a delete of this campaign went unanswered lately, and what came of it is
    not known yet."""
    return cache.get(_unanswered_delete_key(campaign)) is not None


def look_again_after_delete(user, campaign: Campaign) -> bool | None:
    """After a delete Atoms did not answer and still showed, which it may yet carry out
    (`delete_unanswered`): look again. True: Atoms has deleted it since, and it is taken
    off here too. False: Atoms still has it, past the time it could still be at work on
    the request (as long again as we waited for its answer, as for an unanswered start or
    pause): nothing was deleted. None: not known yet. (The delete page said "look again in
    a minute" and never changed: a probe had to leave it to find out.)"""
    key = _unanswered_delete_key(campaign)
    sent = cache.get(key)
    if sent is None:
        return None
    gone = gone_from_atoms(lambda: atoms_client().get_campaign(campaign.atoms_id))
    if gone is None or (not gone and time.time() - sent <= settings.ATOMS_READ_TIMEOUT):
        return None  # Atoms cannot be asked, or may still be at work on it
    cache.delete(key)
    if gone:
        _remove_here(user, campaign, "Deleted in Atoms (its answer was lost; found deleted "
                                     "on looking again)")
    return gone


def _unanswered_delete_key(campaign: Campaign) -> str:
    return f"delete:unanswered:{campaign.pk}"


def _remove_here(user, campaign: Campaign, message: str) -> None:
    """Take a campaign Atoms no longer has off the dashboard, with a record of it."""
    pk, name = campaign.pk, campaign.name
    with transaction.atomic():
        # Lock the row first: a poll writing this campaign's snapshot finishes before we
        # collect what to delete, or sees the row gone (live/poll.py `_write`). Gone
        # already (a second tab looking again at the same moment): recorded once.
        if not Campaign.objects.select_for_update().filter(pk=pk).exists():
            return
        audit.record(user, Action.DELETE, Outcome.OK, campaign=campaign, message=message)
        campaign.delete()
        transaction.on_commit(lambda: _best_effort(publish.publish_removed, pk, name))


def gone_from_atoms(read: Callable[[], object]) -> bool | None:
    """After a delete whose answer was lost, `read` the thing again: True when Atoms no
    longer has it (deleted), False when it still has it (nothing was deleted), None when
    Atoms cannot be asked (unknown)."""
    try:
        read()
    except atoms.AtomsNotFound:
        return True
    except (atoms.AtomsError, ValueError):
        return None
    return False


def not_deleted_message(error: atoms.AtomsError, gone: bool | None) -> str:
    """Why a delete did not go through. After a lost answer and a look (`gone` False),
    what was found: "we cannot tell" was said when the dashboard had just told."""
    if gone is False and isinstance(error, atoms.AtomsUnavailable):
        if error.may_still_land:
            # Still there is not "never deleted": Atoms may be at work on it (a probe saw
            # one go 4 s after this page said "nothing was deleted").
            return (f"{error.what_happened} and still shows it, but may yet delete it. "
                    "Look again in a minute before deleting it again: once Atoms has, the "
                    "dashboard shows it as deleted in Atoms.")
        return (f"{error.what_happened}, and Atoms still has it: nothing was deleted. Try "
                "again in a minute.")
    return error.user_message


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
    transaction.on_commit(lambda: _best_effort(poll.request_refresh, pk))


def _publish_soon(campaign: Campaign) -> None:
    pk = campaign.pk
    transaction.on_commit(lambda: _best_effort(publish.publish_campaign, pk))


def _best_effort(send, *args) -> None:
    """Tell the worker or the open pages; with Redis down the action still stands (it is
    in the database and Atoms) and the next tick catches up, so never fail the request."""
    try:
        send(*args)
    except (RedisError, KombuOperationalError) as error:
        health.mark_down()
        log.warning("Could not reach Redis after an action (%s); the next tick catches up",
                    error)
