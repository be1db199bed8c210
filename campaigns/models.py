"""The dashboard's own records: a mirror of Atoms campaigns, and what Atoms does not keep.

Atoms is the source of truth for campaigns; `Campaign` mirrors it so that pages render
without calling Atoms. Metric snapshots, the audit log and create requests exist only here.
"""

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from fast_update.query import FastUpdateManager

from campaigns import wording
from campaigns.atoms import CampaignStatus

TERMINAL_STATUSES = frozenset({CampaignStatus.COMPLETED, CampaignStatus.FAILED})
STARTABLE_STATUSES = frozenset(
    {CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.PAUSED})
PAUSABLE_STATUSES = frozenset({CampaignStatus.RUNNING, CampaignStatus.PROCESSING})
# Atoms refuses to delete a campaign that is dialling or about to.
UNDELETABLE_STATUSES = PAUSABLE_STATUSES


# "Active" has one meaning: numbers that move or are about to. The board shows these, the
# poller refreshes them, pages keep listening for them. `active_q` is the rule for a query,
# `Campaign.is_active` the same rule for a row in memory (tests/test_active_rule.py holds
# them to each other).


# A running campaign that reads unchanged this many times in a row is read this many
# intervals apart (at most POLL_QUIET_MAX_INTERVALS) until a read finds it moving: one
# waiting for its retries or the next call slot costs Atoms less, and a change still shows
# within four intervals. Its page says how often it is checked, and calls it stale only
# past twice that.
QUIET_SPACING = ((6, 4), (3, 2))


def spacing_of(quiet_polls: int) -> int:
    """How many poll intervals apart a campaign with these unchanged reads is read."""
    for reads, intervals in QUIET_SPACING:
        if quiet_polls >= reads:
            return min(intervals, settings.POLL_QUIET_MAX_INTERVALS)
    return 1


def scheduled_soon_until(now):
    """Scheduled campaigns join the active set this close to their start time."""
    return now + timedelta(seconds=2 * settings.POLL_INTERVAL_SECONDS)


def active_q(now=None):
    now = now or timezone.now()
    return (
        models.Q(status__in=PAUSABLE_STATUSES)
        | ~models.Q(pending_action="")
        | models.Q(status=CampaignStatus.SCHEDULED, scheduled_at__lte=scheduled_soon_until(now))
        | models.Q(status=CampaignStatus.SCHEDULED, scheduled_at__isnull=True)
        | models.Q(needs_final_poll=True)
    ) & models.Q(deleted_remotely_at__isnull=True)


def listed_q(q: str = "", status: str = "") -> models.Q:
    """The campaigns a list searched for `q` (in the name, any case) and filtered to
    `status` shows; `is_listed` is the same rule for a campaign in memory."""
    condition = models.Q()
    if q.strip():
        condition &= models.Q(name__icontains=q.strip())
    if status:
        condition &= models.Q(status=status)
    return condition


def is_listed(name: str, campaign_status: str, q: str = "", status: str = "") -> bool:
    """`listed_q` for a campaign known by its name and status (the live stream's note of
    campaigns added, told only to the lists that would show them)."""
    return q.strip().upper() in name.upper() and (not status or campaign_status == status)


def anchor_id(value) -> int | None:
    """A list's anchor from the address (`upto`, the newest row it was first drawn with:
    its later pages are the list as it was then), or None for anything else (an edited
    address)."""
    if value and value.isascii() and value.isdigit() and len(value) < 19:
        return int(value)
    return None


class PendingAction(models.TextChoices):
    NONE = "", "None"
    START = "start", "Starting"
    PAUSE = "pause", "Pausing"


class PendingOutcome(models.TextChoices):
    """What Atoms answered to the pending start or pause: the page words match it."""

    NONE = "", "None"
    ACCEPTED = "accepted", "Accepted by Atoms"
    # Timeout, 5xx or a lost answer: it may or may not have been carried out.
    UNANSWERED = "unanswered", "No answer from Atoms"


class Campaign(models.Model):
    atoms_id = models.CharField("Atoms id", max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=32, db_index=True)

    agent_id = models.CharField(max_length=64, blank=True)
    agent_name = models.CharField(max_length=200, blank=True)
    audience_id = models.CharField(max_length=64, blank=True)
    audience_name = models.CharField(max_length=200, blank=True)
    phone_number_ids = models.JSONField(default=list, blank=True)

    max_retries = models.PositiveSmallIntegerField(default=3)
    retry_delay = models.PositiveIntegerField("retry delay (minutes)", default=15)
    scheduled_at = models.DateTimeField(null=True, blank=True)

    total_participants = models.PositiveIntegerField(default=0)
    contacts_called = models.PositiveIntegerField(default=0)
    contacts_connected = models.PositiveIntegerField(default=0)
    retry_attempts = models.PositiveIntegerField(default=0)

    paused_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    executions = models.JSONField(default=list, blank=True)
    events = models.JSONField(default=list, blank=True)

    remote_updated_at = models.DateTimeField(null=True, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    # When the campaign was made: now for ours, Atoms' createdAt for one made elsewhere.
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    modified_at = models.DateTimeField(auto_now=True, db_index=True)

    # A start or pause asked of Atoms and not yet confirmed by its status or events.
    pending_action = models.CharField(
        max_length=8, choices=PendingAction.choices, blank=True, default=PendingAction.NONE
    )
    pending_since = models.DateTimeField(null=True, blank=True)
    pending_outcome = models.CharField(
        max_length=10, choices=PendingOutcome.choices, blank=True, default=PendingOutcome.NONE
    )
    # The last start or pause Atoms showed no sign of within the bounded wait: the page says
    # it was not carried out and offers it again. Cleared by the next action.
    lapsed_action = models.CharField(
        max_length=8, choices=PendingAction.choices, blank=True, default=PendingAction.NONE
    )

    # Calling hours (campaigns/calling_hours.py): {"zone": ..., "windows": [...]}, empty to
    # dial at any time. `held_for_calling_hours`: calling hours paused it at a window's end,
    # or held a person's start outside the windows, and start it when the next one opens.
    # A person's pause clears it, so calling hours never undo that pause.
    calling_hours = models.JSONField(default=dict, blank=True)
    held_for_calling_hours = models.BooleanField(default=False)
    # Numbers on the do-not-call list still to be called by the campaign (Atoms keeps its
    # contacts as they were) that a person agreed to have called when they asked for the
    # resume calling hours hold; calling hours resume it only if no other is left.
    listed_retries_accepted = models.JSONField(default=list, blank=True)
    # The listed numbers for which calling hours did not resume it: it stays paused, an
    # alert says so, and a person's resume (asked first) clears it.
    resume_withheld_for = models.JSONField(default=list, blank=True)

    # Polling bookkeeping.
    fetched_at = models.DateTimeField(null=True, blank=True)
    poll_error = models.CharField(max_length=300, blank=True)
    poll_failures = models.PositiveSmallIntegerField(default=0)
    # Not indexed, on purpose: every read rewrites it (claimed, taken, due again), and a
    # row whose indexed columns stay put is updated in place (PostgreSQL's HOT) instead of
    # adding an entry to each of the table's nine indexes. No query needed it: the claim's
    # condition (`active_q`, an OR of several columns) is a scan of the table either way.
    next_poll_at = models.DateTimeField(null=True, blank=True)
    # Set when a poll first sees a terminal status: one more refresh catches the last calls.
    needs_final_poll = models.BooleanField(default=False)
    # Reads in a row that found it running and unchanged (capped): see QUIET_SPACING.
    quiet_polls = models.PositiveSmallIntegerField(default=0)

    # Set by the sync task when Atoms no longer knows the campaign (deleted elsewhere).
    deleted_remotely_at = models.DateTimeField(null=True, blank=True)

    # What happened to its calls (campaigns/outcomes.py): the breakdown the page shows,
    # and the newest call-log update already copied, so a poll fetches only what changed.
    call_summary = models.JSONField(default=dict, blank=True)
    calls_synced_to = models.DateTimeField(null=True, blank=True)

    # `Campaign.objects.fast_update(rows, fields)` writes many rows' own values in one
    # UPDATE ... FROM (VALUES ...); Django's bulk_update builds a CASE WHEN per row and
    # field, which cost the poller 2-3 ms of CPU per campaign written (docs/BENCHMARKS.md).
    objects = FastUpdateManager()

    # What each copy from Atoms is judged by, defined once for the mirror, sync and poller.
    # The numbers a chart point records: a change to any of them is a metric snapshot.
    SNAPSHOT_FIELDS = frozenset(
        {"status", "total_participants", "contacts_called", "contacts_connected"})
    # What the live fragments show: a change to any of them is published to open pages.
    LIVE_FIELDS = SNAPSHOT_FIELDS | {
        "executions", "events", "pending_action", "pending_since", "poll_error", "name",
        "pending_outcome", "lapsed_action",
        "paused_at", "error", "retry_attempts", "deleted_remotely_at", "needs_final_poll",
        "call_summary", "calling_hours", "held_for_calling_hours", "resume_withheld_for",
    }
    # What Atoms' campaign list carries (no metrics, executions or events): the sync
    # writes these, and a change to one of them earns a full refresh by the poller.
    LIST_FIELDS = ("status", "name", "description", "agent_name", "audience_name",
                   "paused_at", "scheduled_at", "remote_updated_at", "retry_attempts")

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [
            ("start_campaign", "Can start or resume a campaign"),
            ("pause_campaign", "Can pause a campaign"),
            ("manage_audiences", "Can upload audiences"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def status_label(self) -> str:
        # Atoms says "processing" between a start and the first dial: people read that as
        # the start (or resume) under way, not as an unexplained state.
        if self.status == CampaignStatus.PROCESSING:
            return "Resuming…" if self.paused_at else "Starting…"
        try:
            return CampaignStatus(self.status).label
        except ValueError:
            return self.status.replace("_", " ").capitalize() or "Unknown"

    @property
    def pending_label(self) -> str:
        """The pending action in words: a start of a paused campaign is a resume."""
        if self.pending_action == PendingAction.START and self.status == CampaignStatus.PAUSED:
            return "Resuming"
        return self.get_pending_action_display()

    def action_word(self, action: str) -> str:
        """"resume" for a start of a campaign paused before, else the action's own word
        (the log and the alerts said "The start was not carried out" of a resume)."""
        return "resume" if action == PendingAction.START and self.paused_at else action

    @property
    def lapsed_word(self) -> str:
        return self.action_word(self.lapsed_action)

    @property
    def button_state(self) -> str:
        """What the role-dependent buttons and hints depend on. A page sends the state it
        was drawn in; when the campaign's differs, the page refetches its buttons."""
        deleted = "deleted" if self.deleted_remotely_at else ""
        held = "held" if self.start_waits_for_hours else ""
        return f"{self.status}:{self.pending_action}:{deleted}:{held}"

    @property
    def poll_every_seconds(self) -> int:
        """How often the poller reads it now: more apart while it stands still."""
        return settings.POLL_INTERVAL_SECONDS * spacing_of(self.quiet_polls)

    @property
    def is_final(self) -> bool:
        """Nothing will change any more: only then are the numbers "final"."""
        return self.status in TERMINAL_STATUSES or self.deleted_remotely_at is not None

    @property
    def calls_shown_in_progress(self) -> int:
        """Calls the copy of its call logs shows still in progress (outcomes.summarize):
        a finished campaign's numbers are not final while one does."""
        return (self.call_summary or {}).get("counts", {}).get("in_progress", 0)

    @property
    def is_watched(self) -> bool:
        """A list row listens to the stream while its campaign can still change: a draft or
        a paused one may be started in another tab, a scheduled one starts by itself (the
        poller publishes each once it is active). Only finished and deleted ones are still."""
        return self.is_active() or not self.is_final

    def is_active(self, now=None) -> bool:
        """`active_q` for this row: the poller refreshes it and open pages listen for it."""
        if self.deleted_remotely_at is not None:
            return False
        if self.status in PAUSABLE_STATUSES or self.pending_action or self.needs_final_poll:
            return True
        return self.status == CampaignStatus.SCHEDULED and (
            self.scheduled_at is None
            or self.scheduled_at <= scheduled_soon_until(now or timezone.now()))

    @property
    def may_go_overdue(self) -> bool:
        """A pending start or pause that is offered again if unconfirmed for too long. Never
        one whose answer was lost: its outcome is found out from Atoms (the poll settles or
        lapses it), not guessed. Offered again while Atoms could not be read, a resume was
        sent twice (a probe)."""
        return (bool(self.pending_action) and self.pending_since is not None
                and self.pending_outcome != PendingOutcome.UNANSWERED)

    @property
    def pending_overdue(self) -> bool:
        """Atoms accepted a start or pause but no poll has confirmed it for too long."""
        if not self.may_go_overdue:
            return False
        waited = (timezone.now() - self.pending_since).total_seconds()
        return waited > settings.PENDING_ACTION_WARN_SECONDS

    @property
    def pending_seconds_left(self) -> int:
        """Seconds until a pending action is overdue (the page refreshes its buttons then)."""
        if self.pending_since is None:
            return 0
        deadline = self.pending_since + timedelta(seconds=settings.PENDING_ACTION_WARN_SECONDS)
        return max(1, int((deadline - timezone.now()).total_seconds()) + 1)

    @property
    def can_start(self) -> bool:
        return self.status in STARTABLE_STATUSES and (
            not self.pending_action or self.pending_overdue)

    @property
    def start_waits_for_hours(self) -> bool:
        """A start (or, after calling hours paused it, a resume) is held until its calling
        hours open: starting again would change nothing; not starting is the choice left."""
        return (self.held_for_calling_hours and self.status in STARTABLE_STATUSES
                and not self.pending_action and not self.deleted_remotely_at)

    @property
    def awaits_first_start(self) -> bool:
        """Never started yet, and no start on its way: the check before Start applies."""
        return (self.status in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)
                and not self.pending_action and not self.deleted_remotely_at)

    @property
    def can_pause(self) -> bool:
        return self.status in PAUSABLE_STATUSES and (
            not self.pending_action or self.pending_overdue)

    @property
    def can_delete(self) -> bool:
        # Gone from Atoms, its last status (running, say) is no reason to keep its row.
        return self.status not in UNDELETABLE_STATUSES or bool(self.deleted_remotely_at)

    @property
    def called_percent(self) -> int:
        return _percent(self.contacts_called, self.total_participants)

    @property
    def connected_percent(self) -> int:
        """Success rate: connected contacts over contacts called."""
        return _percent(self.contacts_connected, self.contacts_called)


    @property
    def execution_rows(self) -> list[dict]:
        """Executions as stored (JSON), with times parsed and a human duration."""
        rows = []
        for execution in self.executions:
            row = {**execution, "started_at": _parse_time(execution.get("started_at")),
                   "completed_at": _parse_time(execution.get("completed_at"))}
            if row["started_at"] and row["completed_at"]:
                row["duration"] = _duration(row["completed_at"] - row["started_at"])
            rows.append(row)
        return rows

    @property
    def event_rows(self) -> list[dict]:
        """Events as stored (JSON), with times parsed and who caused each in words."""
        return [{**event, "created_at": _parse_time(event.get("created_at")),
                 "by": wording.event_source(event.get("trigger_source") or "")}
                for event in self.events]


def _parse_time(value):
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def _duration(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def _percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


class CallRecord(models.Model):
    """One call attempt of a campaign as Atoms last reported it, copied by the poller so the
    outcome breakdown is counted here, never fetched per viewer."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="calls")
    call_id = models.CharField(max_length=64, unique=True)
    to_number = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=32)
    # The breakdown's category (campaigns/outcomes.py OUTCOMES), derived once on copy.
    outcome = models.CharField(max_length=16)
    attempt = models.PositiveSmallIntegerField(default=0)
    duration = models.FloatField(default=0)
    cost = models.FloatField(default=0)
    created_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["campaign", "outcome"]),
            # "Is there a later attempt on this contact?" for the retries pending.
            models.Index(fields=["campaign", "to_number", "attempt"]),
        ]

    def __str__(self) -> str:
        return f"{self.call_id} ({self.status})"


class MetricSnapshot(models.Model):
    """Numbers Atoms reported at one poll, stored only when they changed; feeds the charts."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="snapshots")
    taken_at = models.DateTimeField()
    status = models.CharField(max_length=32)
    total_participants = models.PositiveIntegerField()
    contacts_called = models.PositiveIntegerField()
    contacts_connected = models.PositiveIntegerField()

    class Meta:
        ordering = ["taken_at"]
        indexes = [models.Index(fields=["campaign", "taken_at"])]

    def __str__(self) -> str:
        return f"{self.campaign_id} at {self.taken_at:%Y-%m-%d %H:%M:%S}"


class AuditEntry(models.Model):
    class Action(models.TextChoices):
        CREATE = "create", "Create"
        START = "start", "Start or resume"
        PAUSE = "pause", "Pause"
        DELETE = "delete", "Delete"
        UPLOAD_AUDIENCE = "upload_audience", "Upload audience"
        DELETE_AUDIENCE = "delete_audience", "Delete audience"
        EDIT_AUDIENCE = "edit_audience", "Change audience members"
        SUPPRESS = "suppress", "Do-not-call list"
        MANAGE_USER = "manage_user", "Users and roles"
        THROTTLED = "throttled", "Too many requests"
        CALLING_HOURS = "calling_hours", "Calling hours"
        ALERT_ROUTING = "alert_routing", "Alert routing"

    class Outcome(models.TextChoices):
        OK = "ok", "Done"
        REFUSED = "refused", "Refused"
        FAILED = "failed", "Failed"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept as text too so the log still says who and what after deletions.
    actor_name = models.CharField(max_length=150)
    action = models.CharField(max_length=20, choices=Action.choices)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries"
    )
    campaign_name = models.CharField(max_length=200, blank=True)
    atoms_id = models.CharField(max_length=64, blank=True)
    # The campaign's id here, kept after it is deleted (`campaign` is then empty): an old
    # link to it, or Back after deleting it, says what became of it (errors.py).
    campaign_pk = models.BigIntegerField(null=True, blank=True, db_index=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.actor_name} {self.action} {self.campaign_name}: {self.outcome}"


class CreateRequest(models.Model):
    """One submitted create form, keyed by the idempotency token rendered into the form.

    The unique token is what makes a double click, a second tab or a resubmit after a
    timeout create exactly one campaign.
    """

    class State(models.TextChoices):
        PENDING = "pending", "In progress"
        CREATED = "created", "Created"
        FAILED = "failed", "Failed"
        # The create call timed out: Atoms may or may not have made the campaign.
        UNCERTAIN = "uncertain", "Unknown outcome"

    token = models.UUIDField(unique=True, default=uuid.uuid4)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    payload = models.JSONField(default=dict)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The campaign Atoms made for this request, written as soon as Atoms answers (before
    # the mirror row), so a resubmit after a crash knows it without guessing.
    atoms_id = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    # A try whose answer never came may still be carried out by Atoms after we stopped
    # waiting (seen: a create 20 s slow landed 5 s after the dashboard looked and found
    # nothing). Until then a resubmit that finds nothing waits rather than create another.
    may_land_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.token} ({self.state})"


class SuppressedNumber(models.Model):
    """A number that must never be called, kept here (Atoms' own list is read-only).

    Merged with Atoms' `GET /dnc` wherever numbers are checked: at upload and before a start.
    """

    class Source(models.TextChoices):
        MANUAL = "manual", "Added by hand"
        CSV = "csv", "From a CSV file"
        CALL = "call", "From a call"

    phone_number = models.CharField(max_length=20, unique=True)  # E.164
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    note = models.CharField(max_length=200, blank=True)
    call_id = models.CharField(max_length=64, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.phone_number


class AudienceUpload(models.Model):
    """A contacts file kept between the preview and the upload, so it is chosen once."""

    class State(models.TextChoices):
        PREVIEW = "preview", "Waiting for confirmation"
        SENDING = "sending", "Uploading"
        DONE = "done", "Uploaded"
        FAILED = "failed", "Failed"

    token = models.UUIDField(unique=True, default=uuid.uuid4)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                   related_name="+")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    filename = models.CharField(max_length=255, blank=True)
    content = models.BinaryField()
    phone_column = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=2)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PREVIEW)
    total_rows = models.PositiveIntegerField(default=0)
    sent_rows = models.PositiveIntegerField(default=0)
    audience_id = models.CharField(max_length=64, blank=True)
    # The Atoms audiences of this name before the first create was sent (null: none sent
    # yet). An audience of this name not among them may be the one an unanswered create
    # made, so a retry looks for it before creating another.
    known_audience_ids = models.JSONField(null=True, blank=True)
    # As CreateRequest's: a create whose answer never came may still land until then, so
    # a retry that finds nothing before then sends nothing.
    may_land_until = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.state})"

    @property
    def percent_sent(self) -> int:
        return _percent(self.sent_rows, self.total_rows)

    @property
    def stalled(self) -> bool:
        """Sending, but no progress for UPLOAD_STALLED_AFTER: its worker stopped (a task is
        lost with a killed worker), so it may be started again."""
        return (self.state == self.State.SENDING
                and self.updated_at < timezone.now() - UPLOAD_STALLED_AFTER)


# Each batch is one Atoms request, so a live upload moves well within this.
UPLOAD_STALLED_AFTER = timedelta(minutes=2)


class Alert(models.Model):
    """One episode of something people should know about a campaign. It opens when its
    condition appears and closes when it clears; people are told once, when it opens, so
    a condition that lasts an hour is one alert, not one per check."""

    class Kind(models.TextChoices):
        COMPLETED = "completed", "Finished"
        FAILED = "failed", "Stopped by Atoms"
        DELETED_IN_ATOMS = "deleted_in_atoms", "Deleted in Atoms while active"
        STALLED = "stalled", "Stalled"
        FAILURE_SPIKE = "failure_spike", "Many calls failing"
        NOT_CARRIED_OUT = "not_carried_out", "Start or pause not carried out"
        ATOMS_UNREACHABLE = "atoms_unreachable", "Atoms not answering"
        RESUME_WITHHELD = "resume_withheld", "Not started or resumed: do-not-call numbers"

    # None for what concerns every campaign at once (Atoms not answering).
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="alerts",
                                 null=True, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    message = models.TextField()
    opened_at = models.DateTimeField(default=timezone.now, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            # Two workers evaluating at once still open one episode.
            models.UniqueConstraint(fields=["campaign", "kind"],
                                    condition=models.Q(closed_at__isnull=True),
                                    name="one_open_alert_per_campaign_and_kind"),
            # NULLs are distinct in a unique index: the same for alerts of no campaign.
            models.UniqueConstraint(fields=["kind"],
                                    condition=models.Q(closed_at__isnull=True,
                                                       campaign__isnull=True),
                                    name="one_open_alert_per_kind_without_campaign"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message}"


class Notification(models.Model):
    """An alert as one person received it: unread until they open their notifications."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="notifications")
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notifications")
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [models.UniqueConstraint(fields=["user", "alert"],
                                               name="one_notification_per_person_and_alert")]

    def __str__(self) -> str:
        return f"{self.user} — {self.alert}"


class AlertChoice(models.Model):
    """Which alerts one person is told of, as an admin set it (campaigns/alerts.py). Without
    one, managers and admins hear of every alert and staff of their own campaigns'."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="alert_choice")
    # Alert kinds told of, on every campaign; empty: none at all.
    kinds = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"{self.user}: {', '.join(self.kinds) or 'no alerts'}"


class AlertWebhook(models.Model):
    """A team's channel for alerts: a URL taking Slack's incoming-webhook JSON, and the
    alert kinds it wants (campaigns/webhooks.py)."""

    name = models.CharField(max_length=100)
    url = models.URLField("URL", max_length=500)
    kinds = models.JSONField(default=list, blank=True)  # empty: every kind
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def wants(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds


class WebhookDelivery(models.Model):
    """One alert posted to one webhook: sent once, retried with backoff while the receiver
    fails, given up after the last try; every failure stays visible."""

    class State(models.TextChoices):
        PENDING = "pending", "Retrying"
        SENT = "sent", "Sent"
        FAILED = "failed", "Gave up"

    webhook = models.ForeignKey(AlertWebhook, on_delete=models.CASCADE,
                                related_name="deliveries")
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_error = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["webhook", "alert"],
                                               name="one_delivery_per_webhook_and_alert")]

    def __str__(self) -> str:
        return f"{self.alert} → {self.webhook}: {self.state}"

    @property
    def error_sentence(self) -> str:
        """The last error as a sentence with one closing stop, for a page that reads on
        after it. Some reasons are kept with their stop and some without (and rows kept
        before are as they were), so the stop is settled here, not by each reason."""
        error = self.last_error.strip()
        return error if not error or error.endswith((".", "!", "?")) else f"{error}."


class PasswordChosenByAdmin(models.Model):
    """Someone whose password an admin set on the site (accounts.set_password): that admin
    knew it. While their password descends from that one through changes made on the site,
    no admin gives them the admin role through the site (a superuser still can): the site
    cannot tell them from the admin who knew it, who could sign in as them and change it
    "as them" (seen on the demo: another admin then promoted them, the first holding an
    admin account in their name).

    The lineage is followed by hash: `password_hash` is their password's hash when the admin
    set it, moved to the new one when they change it on the site
    (accounts.own_password_changed) or Django stores the same password again under a new
    hash as they sign in (accounts.SaysDeactivatedBackend). A password set on the server
    (`manage.py changepassword`, which our code never sees) no longer matches it: the
    lineage ends there, and so does the refusal."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True,
                                on_delete=models.CASCADE, related_name="+")
    chosen_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    chosen_at = models.DateTimeField(default=timezone.now)
    # As User.password holds it ("pbkdf2_sha256$…").
    password_hash = models.CharField(max_length=128)

    def __str__(self) -> str:
        return f"Password of user {self.user_id}, set by user {self.chosen_by_id}"


class FormerAdmin(models.Model):
    """Someone who lost the admin role (accounts.set_role). Their password is no longer
    set through the site by an admin: one admin could demote another, set their password,
    sign in as them and change it "as them", and another admin would then promote them
    back, the first holding an admin account in their name. It is reset on the server
    (`manage.py changepassword`) or by a superuser. Kept when they are made admin again:
    what matters is that they were one."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True,
                                on_delete=models.CASCADE, related_name="+")
    demoted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    demoted_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"User {self.user_id}, no longer an admin since {self.demoted_at:%Y-%m-%d}"
