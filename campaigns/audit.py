"""The activity log: who did what to which campaign, and what Atoms said."""

from datetime import timedelta

from campaigns.models import AuditEntry, Campaign

Action = AuditEntry.Action
Outcome = AuditEntry.Outcome
# Who the log says paused or started a campaign at a calling-hours boundary.
CALLING_HOURS = "calling hours"
# Who the log says concluded something on its own (a pending action found not carried out).
SYSTEM = "system"
# The actions whose views take the campaign's pk: in the others a pk is a person, a
# webhook or a listed number, never a campaign to file the entry under.
CAMPAIGN_ACTIONS = frozenset({Action.CREATE, Action.START, Action.PAUSE, Action.DELETE,
                              Action.CALLING_HOURS})


def record(
    actor,
    action: str,
    outcome: str,
    *,
    campaign: Campaign | None = None,
    campaign_name: str = "",
    atoms_id: str = "",
    message: str = "",
) -> AuditEntry:
    """Write one audit entry. Name and Atoms id are copied so the entry outlives a delete.

    `actor` is a user, or the name of what acted on its own (e.g. "calling hours"), or None
    for the dashboard itself ("system")."""
    person = actor if getattr(actor, "pk", None) else None
    return AuditEntry.objects.create(
        actor=person,
        actor_name=person.get_username() if person else (
            actor if isinstance(actor, str) and actor else SYSTEM),
        action=action,
        outcome=outcome,
        campaign=campaign if campaign is not None and campaign.pk else None,
        campaign_pk=campaign.pk if campaign is not None else None,
        campaign_name=campaign_name or (campaign.name if campaign else ""),
        atoms_id=atoms_id or (campaign.atoms_id if campaign else ""),
        message=message[:2000],
    )


def record_refusal(actor, action: str, message: str, pk: int | None) -> AuditEntry:
    """An action refused for want of a permission: admins see who tried what."""
    campaign = (Campaign.objects.filter(pk=pk).first()
                if pk is not None and action in CAMPAIGN_ACTIONS else None)
    return record(actor, action, Outcome.REFUSED, campaign=campaign,
                  message=f"Not allowed: {message}")


# Atoms' events say "user" for whoever asked through its API: this dashboard's people and
# its calling hours alike. The log knows which of them asked; these are the asks an event
# can show carried out, and the entries that can have asked it (an answer lost on the way
# is "failed", yet Atoms may have acted on it).
_ASKED_BY_EVENT = {"created": Action.CREATE, "started": Action.START,
                   "resumed": Action.START, "paused": Action.PAUSE}
# Atoms dates the event when it carries the ask out (a start takes seconds of processing);
# our entry is written when its answer came, or when we gave up waiting for it.
_EVENT_AFTER_ASK = timedelta(minutes=10)
_CLOCK_SLACK = timedelta(seconds=30)


def campaign_events(campaign: Campaign) -> list[dict]:
    """The campaign's events from Atoms (`Campaign.event_rows`), each "user" one that this
    dashboard asked for naming who asked: the latest matching entry before it, each entry
    naming one event at most. Events asked elsewhere (Atoms' console) keep "A person"."""
    rows = campaign.event_rows
    asked = sorted((row for row in rows
                    if (row.get("trigger_source") or "").strip().lower() == "user"
                    and row.get("action") in _ASKED_BY_EVENT and row["created_at"]),
                   key=lambda row: row["created_at"])
    if not asked or not campaign.pk:
        return rows
    # Not the dashboard's own conclusions ("system": a start found not carried out), which
    # named the event a person's lost-answer start had caused (a probe).
    entries = list(AuditEntry.objects.exclude(actor_name=SYSTEM).filter(
        campaign=campaign, action__in=set(_ASKED_BY_EVENT.values()),
        outcome__in=(Outcome.OK, Outcome.FAILED),
        created_at__gte=asked[0]["created_at"] - _EVENT_AFTER_ASK,
        created_at__lte=asked[-1]["created_at"] + _CLOCK_SLACK,
    ).order_by("created_at", "pk").values("pk", "action", "actor_name", "created_at"))
    named: set[int] = set()
    for row in asked:
        when = row["created_at"]
        fitting = [entry for entry in entries
                   if entry["pk"] not in named and entry["action"] == _ASKED_BY_EVENT[row["action"]]
                   and when - _EVENT_AFTER_ASK <= entry["created_at"] <= when + _CLOCK_SLACK]
        # The last ask before it; one just after only for clocks apart (a later ask of the
        # same kind is a later event's).
        before = [entry for entry in fitting if entry["created_at"] <= when]
        entry = before[-1] if before else fitting[0] if fitting else None
        if entry is not None:
            named.add(entry["pk"])
            row["by"] = ("Its calling hours" if entry["actor_name"] == CALLING_HOURS
                         else entry["actor_name"])
    return rows
