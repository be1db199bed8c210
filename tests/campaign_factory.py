"""Making campaigns for tests. `make_campaign` creates a real one in the simulator through
our own services, then moves it to the wanted status by advancing the simulator's clock and
polling; `campaign_row` writes only the mirror's row, for tests that read pages or are refused
before anything reaches Atoms (no HTTP, no pickers, no polling: a few milliseconds)."""

import uuid

from django.utils import timezone

from campaigns import outcomes, services, suppression
from campaigns.catalog import load_pickers
from campaigns.live import poll
from campaigns.models import Campaign

# The seeded world's agent and audience names, so a row reads like a mirrored campaign.
ROW_DEFAULTS = {
    "description": "", "agent_id": "agent-row", "agent_name": "Renewals Assistant",
    "audience_id": "audience-row", "audience_name": "Pilot testers",
    "phone_number_ids": ["phone-row"], "max_retries": 2, "retry_delay": 30,
    "total_participants": 2,
}


def campaign_input(name: str = "Spring renewals", *, audience_size: int = 2,
                   **overrides) -> services.CampaignInput:
    pickers = load_pickers(refresh=True)
    assert not pickers.error, pickers.error
    audience = next(a for a in pickers.audiences if a.member_count == audience_size)
    agent = pickers.agents[0]
    values = {
        "name": name, "description": "", "agent_id": agent.id, "audience_id": audience.id,
        "phone_number_ids": (next(p for p in pickers.phone_numbers if p.is_active).id,),
        "max_retries": 2, "retry_delay": 30, "agent_name": agent.name,
        "audience_name": audience.name, **overrides,
    }
    return services.CampaignInput(**values)


def form_data(name: str = "Spring renewals", *, audience_size: int = 2, **overrides) -> dict:
    """What the create form posts for the same campaign."""
    data = campaign_input(name, audience_size=audience_size)
    return {
        "token": str(uuid.uuid4()), "name": data.name, "description": "",
        "agent": data.agent_id, "audience": data.audience_id,
        "phone_numbers": list(data.phone_number_ids), "max_retries": "3",
        "retry_delay": "15", "scheduled_at": "", **overrides,
    }


def wait_for_status(sim, campaign: Campaign, status: str, *, step: float = 5,
                    limit: float = 6 * 3600) -> Campaign:
    """Advance the simulator and poll until the mirror shows `status`."""
    advanced = 0.0
    while True:
        poll.refresh_one(campaign.pk)
        campaign.refresh_from_db()
        if campaign.status == status:
            return campaign
        assert advanced < limit, f"still {campaign.status} after {advanced} simulated s"
        sim.advance(step)
        advanced += step


def make_campaign(sim, user, status: str = "draft", name: str = "Spring renewals",
                  **overrides) -> Campaign:
    outcome = services.create_campaign(user, uuid.uuid4(), campaign_input(name, **overrides),
                                       start=False)
    campaign = outcome.campaign
    if status == "draft":
        return campaign
    services.start_campaign(user, campaign)
    if status in ("running", "paused"):
        campaign = wait_for_status(sim, campaign, "running", step=1)
        if status == "paused":
            services.pause_campaign(user, campaign)
            campaign = wait_for_status(sim, campaign, "paused", step=1)
        return campaign
    return wait_for_status(sim, campaign, status, step=600)


def campaign_row(user=None, status: str = "draft", name: str = "Spring renewals",
                 **fields) -> Campaign:
    """A mirror row as `make_campaign` leaves it, with an Atoms id Atoms has never seen:
    only for tests in which nothing may reach Atoms (a refused action, a page read)."""
    return Campaign.objects.create(
        atoms_id=f"row-{uuid.uuid4().hex}", name=name, status=status, created_by=user,
        **{**ROW_DEFAULTS, **fields})


def campaign_rows(count: int, **fields) -> None:
    """`count` mirror rows "Campaign 00000"... (drafts unless told), for lists and paging."""
    Campaign.objects.bulk_create([
        Campaign(atoms_id=f"{i:024x}", name=f"Campaign {i:05d}", status="draft", **fields)
        for i in range(count)
    ])


def field_errors(response, field: str) -> list[str]:
    """The errors a form page shows beside `field`."""
    return response.context["form"].errors.get(field, [])


def due_now(campaign: Campaign) -> None:
    """Make the poller's next tick take this campaign."""
    Campaign.objects.filter(pk=campaign.pk).update(next_poll_at=timezone.now())


def list_a_number_awaiting_retry(sim, campaign: Campaign, user) -> str:
    """Dial until a call of `campaign` awaits a retry, then put its number on the
    do-not-call list from that call ("never call again", which also drops it from the
    audience): Atoms still holds it among the campaign's contacts. Returns the number."""
    for _ in range(30):
        sim.advance(10)
        poll.refresh_one(campaign.pk)
        waiting = outcomes.awaiting_retry([campaign.pk]).first()
        if waiting is not None:
            suppression.suppress_from_call(user, waiting.to_number,
                                           audience_id=campaign.audience_id)
            return waiting.to_number
    raise AssertionError("no call awaiting a retry")
