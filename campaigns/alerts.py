"""Alerts: finished, stopped by Atoms, deleted in Atoms while active, stalled, many calls
failing, a start or pause not carried out, and Atoms not answering at all (one alert for
every campaign, not one each). Checked by a beat task (`tasks.evaluate_alerts`) against
what is mirrored; each condition is one `Alert` episode, opened when it appears and
closed when it clears, and the people it concerns are told once per episode: in the
dashboard (a notification, unread until they look) and by email when they have an address.

Who is told: as an admin chose per person (`AlertChoice`: the kinds they hear of, on every
campaign); a person with no choice made hears of every alert if they are a manager or an
admin, and of their own campaigns' if they created it. Teams are told through webhooks
(campaigns/webhooks.py), each with the kinds it wants.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from campaigns import audit, progress, webhooks
from campaigns.atoms import CampaignStatus
from campaigns.explain import withheld_reason
from campaigns.models import (
    Alert,
    AlertChoice,
    CallRecord,
    Campaign,
    MetricSnapshot,
    Notification,
    active_q,
)
from campaigns.permissions import ADMIN, MANAGER

log = logging.getLogger(__name__)

# Said once for good: a campaign finishes, is stopped, is deleted in Atoms once.
ONE_SHOT = frozenset({Alert.Kind.COMPLETED, Alert.Kind.FAILED, Alert.Kind.DELETED_IN_ATOMS})
# A failure spike: at least this many calls in the window, this share of them failed.
SPIKE_WINDOW = timedelta(minutes=15)
SPIKE_MIN_CALLS = 10
# Failed refreshes in a row of every active campaign after which Atoms is "not answering".
UNREACHABLE_AFTER_FAILURES = 3


def evaluate(now: datetime | None = None) -> list[Alert]:
    """Open the alerts whose condition holds, close those whose condition cleared; return
    the ones opened (their people have been told)."""
    now = now or timezone.now()
    holding = conditions(now)
    open_alerts = {(a.campaign_id, a.kind): a
                   for a in Alert.objects.filter(closed_at__isnull=True)}
    cleared = [a.pk for key, a in open_alerts.items()
               if key not in holding and a.kind not in ONE_SHOT]
    Alert.objects.filter(pk__in=cleared).update(closed_at=now)
    told = set(Alert.objects.filter(kind__in=ONE_SHOT).values_list("campaign_id", "kind"))
    opened = []
    for (campaign_id, kind), message in holding.items():
        if (campaign_id, kind) in open_alerts or (campaign_id, kind) in told:
            continue
        try:
            with transaction.atomic():
                alert = Alert.objects.create(campaign_id=campaign_id, kind=kind,
                                             message=message, opened_at=now)
        except IntegrityError:  # another worker opened this episode a moment ago
            continue
        opened.append(alert)
        notify(alert)
    return opened


def conditions(now: datetime) -> dict[tuple[int, str], str]:
    """Every condition that holds now: (campaign id, kind) -> what to say."""
    found: dict[tuple[int, str], str] = {}
    # Finished or stopped while the dashboard watched it dial (not an old one synced in).
    watched = Campaign.objects.filter(
        status__in=[CampaignStatus.COMPLETED, CampaignStatus.FAILED],
        snapshots__status__in=[CampaignStatus.RUNNING, CampaignStatus.PROCESSING],
    ).distinct()
    for campaign in watched:
        if campaign.status == CampaignStatus.COMPLETED:
            # Under its title "Finished" everywhere (page, mail, webhook): not said twice.
            found[(campaign.pk, Alert.Kind.COMPLETED)] = (
                f"“{campaign.name}”: {campaign.contacts_connected} of "
                f"{campaign.total_participants} contacts connected.")
        else:
            found[(campaign.pk, Alert.Kind.FAILED)] = (
                f"Atoms stopped “{campaign.name}”: {campaign.error or 'no reason given'}.")
    # Deleted in Atoms, by someone else, while it dialled or was about to: it left the board
    # without a word (a probe). (The dashboard deletes only what is paused or finished.)
    for campaign in Campaign.objects.filter(
            deleted_remotely_at__isnull=False,
            status__in=[CampaignStatus.RUNNING, CampaignStatus.PROCESSING,
                        CampaignStatus.SCHEDULED]):
        was = ("before its scheduled start" if campaign.status == CampaignStatus.SCHEDULED
               else "while it was dialling")
        found[(campaign.pk, Alert.Kind.DELETED_IN_ATOMS)] = (
            f"“{campaign.name}” was deleted in Atoms {was}: it calls no one more, and its "
            "numbers are the last ones seen.")
    running = list(Campaign.objects.filter(status=CampaignStatus.RUNNING,
                                           deleted_remotely_at__isnull=True))
    moved = dict(MetricSnapshot.objects.filter(campaign__in=running).values("campaign_id")
                 .annotate(at=Max("taken_at")).values_list("campaign_id", "at"))
    for campaign in running:
        if progress.is_stalled(campaign, moved.get(campaign.pk), now):
            found[(campaign.pk, Alert.Kind.STALLED)] = (
                f"“{campaign.name}” is running but nothing has moved for "
                f"{settings.STALL_AFTER_SECONDS // 60 or 1} minutes or more.")
    recent = (CallRecord.objects
              .filter(campaign__in=running, created_at__gte=now - SPIKE_WINDOW)
              .values("campaign_id")
              .annotate(calls=Count("id"), failed=Count("id", filter=Q(outcome="failed"))))
    names = {c.pk: c.name for c in running}
    for row in recent:
        if (row["calls"] >= SPIKE_MIN_CALLS
                and 100 * row["failed"] >= settings.ALERT_FAILURE_PERCENT * row["calls"]):
            found[(row["campaign_id"], Alert.Kind.FAILURE_SPIKE)] = (
                f"“{names[row['campaign_id']]}”: {row['failed']} of its last {row['calls']} "
                "calls failed.")
    active = Campaign.objects.filter(active_q(now))
    failing = active.filter(poll_failures__gte=UNREACHABLE_AFTER_FAILURES)
    if active.exists() and not active.filter(poll_failures__lt=UNREACHABLE_AFTER_FAILURES):
        # No clock time in the words: each page and channel shows when the alert opened,
        # in its reader's zone (a UTC "since 14:07" read wrong beside local times).
        found[(None, Alert.Kind.ATOMS_UNREACHABLE)] = (
            f"Atoms is not answering: none of the {failing.count()} active campaigns could be "
            "refreshed. Their numbers are out of date until it answers again.")
    for campaign in Campaign.objects.filter(
            status__in=[CampaignStatus.PAUSED, CampaignStatus.DRAFT]).exclude(
            resume_withheld_for=[]):
        resume, state = (("resume", "paused") if campaign.status == CampaignStatus.PAUSED
                         else ("start", "a draft"))
        found[(campaign.pk, Alert.Kind.RESUME_WITHHELD)] = (
            f"Calling hours did not {resume} “{campaign.name}”: "
            f"{withheld_reason(campaign.resume_withheld_for)}. It stays {state} until a "
            f"person {resume}s it.")
    for campaign in Campaign.objects.exclude(lapsed_action=""):
        found[(campaign.pk, Alert.Kind.NOT_CARRIED_OUT)] = (
            f"The last {campaign.lapsed_word} of “{campaign.name}” was not carried out by "
            "Atoms.")
    return found


def recipients(alert: Alert) -> list:
    """The people told of this alert (see the module's docstring)."""
    chosen = dict(AlertChoice.objects.values_list("user_id", "kinds"))
    by_default = Q(groups__name__in=[MANAGER, ADMIN]) | Q(is_superuser=True)
    if alert.campaign is not None:
        by_default |= Q(pk=alert.campaign.created_by_id)
    return [person for person in get_user_model().objects.filter(
                by_default | Q(pk__in=chosen), is_active=True).distinct().order_by("pk")
            if alert.kind in chosen.get(person.pk, [alert.kind])]


def notify(alert: Alert) -> None:
    webhooks.enqueue(alert)
    people = recipients(alert)
    Notification.objects.bulk_create(
        [Notification(user=person, alert=alert) for person in people], ignore_conflicts=True)
    addresses = [person.email for person in people if person.email]
    if not addresses:
        return
    try:
        about = f": {alert.campaign.name}" if alert.campaign else ""
        send_mail(f"[Atoms campaigns] {alert.get_kind_display()}{about}",
                  alert.message, None, addresses)
    except OSError:  # the mail server is down: the dashboard still shows it
        log.warning("Alert %s could not be emailed", alert.pk, exc_info=True)


def set_choice(actor, person, kinds: list[str] | None) -> str:
    """What `person` is told of, chosen by an admin; None: back to their role's default.
    Returns it in words ("sam is told of Stalled"). The activity log gets it only when
    it changed: saved again as it was, it would show a change that was none."""
    was = AlertChoice.objects.filter(user=person).values_list("kinds", flat=True).first()
    if kinds is None:
        AlertChoice.objects.filter(user=person).delete()
        said = "what their role is told of, again"
    else:
        kinds = list(dict.fromkeys(kinds))  # each kind once, however often it was sent
        AlertChoice.objects.update_or_create(user=person, defaults={"kinds": kinds})
        labels = [label for value, label in Alert.Kind.choices if value in kinds]
        said = ", ".join(labels) if labels else "no alerts"
    told = f"{person.get_username()} is told of {said}"
    if (None if was is None else set(was)) != (None if kinds is None else set(kinds)):
        audit.record(actor, audit.Action.ALERT_ROUTING, audit.Outcome.OK, message=told)
    return told


def unread_count(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
