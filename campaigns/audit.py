"""The activity log: who did what to which campaign, and what Atoms said."""

from campaigns.models import AuditEntry, Campaign

Action = AuditEntry.Action
Outcome = AuditEntry.Outcome
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
            actor if isinstance(actor, str) and actor else "system"),
        action=action,
        outcome=outcome,
        campaign=campaign if campaign is not None and campaign.pk else None,
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
