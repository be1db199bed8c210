"""The check before Start: contacts, do-not-call numbers, the numbers it dials from, the
time it should take at its agent's past pace, and anything that will stop it.

Read on demand (the page asks once it is drawn): it asks Atoms for the campaign's contacts
to count the do-not-call ones, which is too slow and too costly for every page view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Max, Min
from django.utils import timezone

from campaigns import calling_hours, progress, suppression
from campaigns.atoms import AtomsUnavailable, CampaignStatus
from campaigns.catalog import load_pickers
from campaigns.models import Campaign, MetricSnapshot
from campaigns.services import ActionRefused

# How often a page asks again for a check Atoms could not answer (counted against the
# person's Atoms allowance like any check: 3 a minute).
CHECK_AGAIN_SECONDS = 20


@dataclass
class Preflight:
    contacts: int | None = None
    suppressed: int | None = None  # None: Atoms could not be asked
    numbers: list[tuple[str, bool]] = field(default_factory=list)  # (number, active)
    estimate: str = "—"
    calling_hours: str = "any time"
    blockers: list[str] = field(default_factory=list)
    # What will happen that should not (it will start, and call listed numbers).
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Atoms could not be asked for now (busy, failing): the page asks again by itself, so
    # the note saying so goes once it can be (it stayed until a reload: a probe).
    check_again: bool = False


def check(campaign: Campaign) -> Preflight:
    result = Preflight()
    hours = calling_hours.of(campaign)
    if hours:
        result.calling_hours = str(hours)
        now = timezone.now()
        opens = None if hours.is_open(now) else hours.opens_at(now)
        if opens:
            result.notes.append(
                f"It is outside its calling hours now: a start waits until "
                f"{hours.wall_clock(opens)}.")
    pickers = load_pickers()
    if pickers.error:
        result.notes.append(pickers.error)
    if not pickers.agent(campaign.agent_id) and not pickers.error:
        result.blockers.append(
            f"The agent “{campaign.agent_name or campaign.agent_id}” is archived or gone in "
            "Atoms: Atoms will not dial with it. Make a new campaign with an active agent.")
    for phone_id in campaign.phone_number_ids:
        number = pickers.phone_number(phone_id)
        if number is None:
            if not pickers.error:
                result.blockers.append("One of its phone numbers is no longer in Atoms.")
            continue
        result.numbers.append((number.number, number.is_active))
    if result.numbers and not any(active for _, active in result.numbers):
        result.blockers.append("None of its phone numbers is active: Atoms would stop it at "
                               "once. Make a new campaign with an active number.")
    elif any(not active for _, active in result.numbers):
        result.notes.append("Some of its phone numbers are inactive: it dials from the "
                            "others only.")
    try:
        # The campaign's own contacts, as Atoms will call them: its audience as it was when
        # the campaign was made (one removed from the audience since is still called).
        contacts = suppression.campaign_contacts(campaign)
        listed = suppression.listed_to_call(campaign, suppression.suppressed_numbers(),
                                            contacts)
    except ActionRefused as refused:
        # Said for a check, not a start: the refusal's own words ("so it was not started")
        # stood on a card nobody had pressed Start on.
        why = getattr(refused.__cause__, "what_happened", "")
        result.check_again = isinstance(refused.__cause__, AtomsUnavailable)
        result.notes.append("Its contacts could not be checked against the do-not-call list "
                            f"just now{f' ({why})' if why else ''}: Start checks them again.")
        result.contacts = campaign.total_participants or None
    else:
        result.contacts, result.suppressed = len(contacts), len(listed)
        if len(listed) == len(contacts):
            result.blockers.append("It has no contacts to call"
                                   + (" that are not on the do-not-call list."
                                      if listed else "."))
        elif listed and campaign.status == CampaignStatus.SCHEDULED:
            count = len(listed)
            result.warnings.append(
                f"Atoms starts it by itself at its time, and it would call {count} number"
                f"{'s' if count != 1 else ''} on the do-not-call list: Atoms keeps a "
                "campaign's contacts as they were when it was made. Delete it (admins can), "
                f"then make a new one on an audience without {'them' if count != 1 else 'it'}.")
    rate = agent_rate(campaign.agent_id)
    if rate and result.contacts:
        to_call = result.contacts - (result.suppressed or 0)
        seconds = to_call / rate
        result.estimate = str(progress.Eta(timedelta(seconds=seconds),
                                           timedelta(seconds=seconds)))
    return result


def agent_rate(agent_id: str) -> float | None:
    """Contacts called per second over this agent's finished campaigns, from their
    snapshots (first call to last); None when it has finished none the dashboard saw."""
    spans = (MetricSnapshot.objects
             .filter(campaign__agent_id=agent_id,
                     campaign__status=CampaignStatus.COMPLETED, contacts_called__gt=0)
             .values("campaign_id")
             .annotate(start=Min("taken_at"), end=Max("taken_at"),
                       called=Max("contacts_called")))
    called = seconds = 0.0
    for span in spans:
        length = (span["end"] - span["start"]).total_seconds()
        if length > 0:
            called += span["called"]
            seconds += length
    return called / seconds if seconds else None
