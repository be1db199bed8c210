""""Why isn't it dialing?": one sentence, the cause and what to do, for a campaign that is
not moving. Derived from what is mirrored (the row, its snapshots, its calls, the activity
log), never from a call to Atoms, so the poller can render it with the live fragments.

The rules are tried in order and the first that applies speaks. Times are relative
("3 minutes ago", "in 12 minutes"), in `<time data-relative>` elements that the page's
script keeps counting: the sentence is rendered once, by the poller, for every viewer
whatever their time zone, and may stay on a page for a long time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Max, Min
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince, timeuntil

from campaigns import calling_hours, outcomes, progress
from campaigns.atoms import CampaignStatus
from campaigns.audit import CALLING_HOURS
from campaigns.models import PAUSABLE_STATUSES, AuditEntry, PendingOutcome

# Atoms' failures in a row after which the sentence says it is not answering.
NOT_ANSWERING_AFTER = 2


def why_not_dialing(campaign, *, moved_at: datetime | None,
                    now: datetime) -> SafeString | None:
    """The sentence, or None while the campaign is dialing as it should."""
    for rule in RULES:
        sentence = rule(campaign, moved_at, now)
        if sentence:
            return sentence
    return None


def for_those_who_may(action: str, can: str, cannot: str) -> SafeString:
    """Both wordings of a sentence that asks someone to `action` ("start", "pause"): the
    sentence is rendered once for every viewer, so each page shows the one for its
    viewer's role (app.css, by the body's `may-start`/`may-pause` classes). Only words:
    the action itself is refused on the server."""
    return format_html('<span class="if-may-{}">{}</span><span class="if-may-not-{}">{}</span>',
                       action, can, action, cannot)


def _removed(campaign, moved_at, now):
    if campaign.deleted_remotely_at is not None:
        return "Deleted in Atoms: nothing more will be dialled. The numbers are the last ones seen."
    return None


def _failed(campaign, moved_at, now):
    if campaign.status != CampaignStatus.FAILED:
        return None
    reason = campaign.error.rstrip(".") or "it gave no reason"
    return format_html("Atoms stopped this campaign: {}. Check its phone numbers and agent in "
                       "Atoms, then make a new campaign.", reason)


def _pending(campaign, moved_at, now):
    if not campaign.pending_action:
        return None
    verb = campaign.pending_label
    since = relative(campaign.pending_since or now, now)
    if campaign.pending_outcome == PendingOutcome.UNANSWERED:
        return format_html("{}, not confirmed: Atoms gave no clear answer ({}), and the "
                           "dashboard is checking whether it was carried out.", verb, since)
    return format_html("{}: Atoms accepted it {} and has not confirmed it yet. The status "
                       "changes when it does.", verb, since)


def _not_answering(campaign, moved_at, now):
    if campaign.poll_failures < NOT_ANSWERING_AFTER:
        return None
    since = (format_html(" since {}", relative(campaign.fetched_at, now))
             if campaign.fetched_at else "")
    return format_html("Atoms is not answering{}: the numbers shown may be out of date. The "
                       "dashboard keeps asking; nothing needs doing here.", since)


def _calling_hours(campaign, moved_at, now):
    hours = calling_hours.of(campaign)
    if hours is None:
        return None
    if hours.is_open(now):
        if campaign.start_waits_for_hours:
            return format_html("Its calling hours ({}) have begun: the dashboard is starting "
                               "it.", hours)
        return None
    if campaign.status in PAUSABLE_STATUSES:
        return format_html("Outside its calling hours, {}: the dashboard is pausing it.",
                           hours)
    if not campaign.start_waits_for_hours:
        return None
    opens = hours.opens_at(now)
    verb = "resumes" if campaign.status == CampaignStatus.PAUSED else "starts"
    return format_html("Outside its calling hours, {}: it {} {}.", hours, verb,
                       relative(opens, now) if opens else "when a window opens")


def _resume_withheld(campaign, moved_at, now):
    if (campaign.status not in (CampaignStatus.PAUSED, CampaignStatus.DRAFT)
            or not campaign.resume_withheld_for):
        return None
    if campaign.status == CampaignStatus.DRAFT:  # a first start held for its window
        return format_html("Calling hours did not start it: {}. {}",
                           withheld_reason(campaign.resume_withheld_for), for_those_who_may(
                               "start", "Press Start: it offers to start without them.",
                               "Someone with the staff or admin role can start it without "
                               "them."))
    return format_html("Calling hours did not resume it: {}. {}",
                       withheld_reason(campaign.resume_withheld_for), for_those_who_may(
                           "start", "Resume it if they agreed to be called; the page names them.",
                           "Someone with the staff or admin role can decide whether to "
                           "resume it."))


def _paused(campaign, moved_at, now):
    if campaign.status != CampaignStatus.PAUSED:
        return None
    pause = (AuditEntry.objects.filter(campaign=campaign, action=AuditEntry.Action.PAUSE,
                                       outcome=AuditEntry.Outcome.OK)
             .order_by("-created_at").first())
    if pause is not None:
        who = format_html("by {} {}", pause.actor_name, relative(pause.created_at, now))
        if (pause.actor_name == CALLING_HOURS and not campaign.held_for_calling_hours
                and calling_hours.of(campaign) is not None):
            # Their resume was dropped ("Stay paused"): an admin expected it back at 9:00.
            kept = (AuditEntry.objects.filter(
                campaign=campaign, action=AuditEntry.Action.CALLING_HOURS,
                created_at__gte=pause.created_at, actor__isnull=False)
                .order_by("-created_at").first())
            who = format_html("{}, and kept paused{}: its calling hours will not resume it",
                              who, f" by {kept.actor_name}" if kept else "")
    elif campaign.paused_at:
        who = format_html("in Atoms {}", relative(campaign.paused_at, now))
    else:
        who = "in Atoms"
    return format_html("Paused {}. {}", who, for_those_who_may(
        "start", "Resume it to carry on where it stopped.",
        "Someone with the staff or admin role can resume it where it stopped."))


def _scheduled(campaign, moved_at, now):
    if campaign.status != CampaignStatus.SCHEDULED:
        return None
    if campaign.scheduled_at and campaign.scheduled_at > now:
        hours = calling_hours.of(campaign)
        if hours is not None and not hours.is_open(campaign.scheduled_at):
            # Atoms starts it by itself, blind to our windows: said before it happens.
            return format_html(
                "Scheduled: Atoms starts it {}, at {}, outside its calling hours: the "
                "dashboard pauses it as soon as it starts, and resumes it when they begin.",
                relative(campaign.scheduled_at, now),
                hours.wall_clock(campaign.scheduled_at))
        return format_html("Scheduled: Atoms starts it {}.",
                           relative(campaign.scheduled_at, now))
    return "Scheduled to start now: waiting for Atoms to begin dialling."


def _draft(campaign, moved_at, now):
    if campaign.status != CampaignStatus.DRAFT:
        return None
    return format_html("Not started yet: {}", for_those_who_may(
        "start", "press Start when it is ready.",
        "someone with the staff or admin role starts it when it is ready."))


def _finished(campaign, moved_at, now):
    if campaign.status != CampaignStatus.COMPLETED:
        return None
    # "All 50 were reached or have no retries left" read as all reached beside "39
    # connected" (probe): the connected and the rest, counted.
    total, connected = campaign.total_participants, campaign.contacts_connected
    if connected >= total:
        return f"Finished: all {total:,} contact{'s' if total != 1 else ''} connected."
    rest = total - connected
    return (f"Finished: {connected:,} of {total:,} contacts connected; the other {rest:,} "
            f"{'was' if rest == 1 else 'were'} not reached, with no retries left.")


def _waiting_for_retries(campaign, moved_at, now):
    if campaign.status != CampaignStatus.RUNNING:
        return None
    summary = campaign.call_summary or {}
    waiting = summary.get("retries_pending", 0)
    if not waiting or summary.get("counts", {}).get("in_progress"):
        return None  # calls are under way: it is dialing
    due = next_retry_at(campaign)
    when = (format_html("the next {}", relative(due, now)) if due and due > now
            else "the next any moment now")
    return format_html("Waiting for retries: {} contact{} will be called again, {}.",
                       waiting, "s" if waiting != 1 else "", when)


def _stalled(campaign, moved_at, now):
    if not progress.is_stalled(campaign, moved_at, now):
        return None
    return format_html("Running, but stalled: the last call was made or connected {}. Check "
                       "that its phone numbers are active in Atoms; {}", relative(moved_at, now),
                       for_those_who_may("pause", "pausing and resuming it restarts the "
                                         "dialling.", "an admin can pause and resume it to "
                                         "restart the dialling."))


RULES = (_removed, _failed, _pending, _not_answering, _calling_hours, _resume_withheld,
         _paused, _scheduled, _draft, _finished, _waiting_for_retries, _stalled)


def relative(at: datetime, now: datetime) -> SafeString:
    """"in 12 minutes" / "3 minutes ago", which the page's script keeps up to date."""
    if abs(at - now) < timedelta(minutes=1):
        words = "in less than a minute" if at > now else "less than a minute ago"
    else:
        words = f"in {timeuntil(at, now)}" if at > now else f"{timesince(at, now)} ago"
    return format_html('<time data-relative datetime="{}">{}</time>', at.isoformat(), words)


def next_retry_at(campaign) -> datetime | None:
    """When the earliest due retry may be dialled: that contact's last call plus the
    campaign's retry delay."""
    return _retry_due(campaign, Min)


def last_retry_at(campaign) -> datetime | None:
    """When the last of the retries now waiting may be dialled."""
    return _retry_due(campaign, Max)


def _retry_due(campaign, which) -> datetime | None:
    at = outcomes.awaiting_retry([campaign.pk]).aggregate(at=which("created_at"))["at"]
    return None if at is None else at + timedelta(minutes=campaign.retry_delay)


def withheld_reason(numbers: list[str]) -> str:
    """Why calling hours left a campaign paused (also the alert's and the log's words)."""
    many = len(numbers) != 1
    return (f"{len(numbers)} number{'s' if many else ''} on the do-not-call list "
            f"{'are' if many else 'is'} still to be called by it ({', '.join(numbers)})")
