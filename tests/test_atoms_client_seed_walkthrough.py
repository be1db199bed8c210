"""The SDK guide's campaign lifecycle, step by step, through the client and the simulator:
list numbers, create, start, watch it run, pause, delete."""

import pytest

from campaigns.atoms import AtomsClient, AtomsNotFound, CampaignStatus

STEP_SECONDS = 1
# Start and pause are queued tasks in Atoms; give up if one has not landed after this long.
PATIENCE_SECONDS = 60


@pytest.fixture
def atoms(sim):
    with AtomsClient(sim.base_url, sim.api_key, sleep=lambda seconds: None) as client:
        yield client


def advance_until(sim, atoms, campaign_id, status):
    """Move the simulated clock a second at a time until the campaign shows `status`."""
    for waited in range(0, PATIENCE_SECONDS + 1, STEP_SECONDS):
        detail = atoms.get_campaign(campaign_id)
        if detail.campaign.status == status:
            return detail, waited
        sim.advance(STEP_SECONDS)
    raise AssertionError(f"still {detail.campaign.status!r}, not {status!r}, after "
                         f"{PATIENCE_SECONDS} simulated seconds")


def test_the_guide_walkthrough_from_phone_numbers_to_delete(atoms, sim):
    # 1. Pick an outbound number, as the guide does with data[0]._id.
    phone_id = atoms.list_phone_numbers()[0].id
    agent = next(a for a in atoms.all_agents() if a.name == "Renewals Assistant")
    audience = next(a for a in atoms.list_audiences() if a.name == "Pilot testers")

    # 2. Create with the guide's retry policy.
    created = atoms.create_campaign(
        "January Outreach", agent.id, audience.id, [phone_id], max_retries=2, retry_delay=30)
    assert created.status == CampaignStatus.DRAFT
    assert (created.participants_count, created.max_retries, created.retry_delay) == (2, 2, 30)

    # 3. Start: accepted at once, dialing later.
    atoms.start_campaign(created.id)

    # 4. Watch until Atoms reports it running, with the guide's three metrics.
    running, waited = advance_until(sim, atoms, created.id, CampaignStatus.RUNNING)
    assert waited > 0, "start is asynchronous: the first read must not already say running"
    assert running.metrics.total_participants == 2
    assert 0 <= running.metrics.contacts_connected <= running.metrics.contacts_called <= 2
    assert running.executions[0].total_members == 2

    # 5. Pause, and wait for the pause to land.
    atoms.pause_campaign(created.id)
    paused, _ = advance_until(sim, atoms, created.id, CampaignStatus.PAUSED)
    assert paused.campaign.paused_at is not None
    assert "paused" in [event.action for event in paused.events]

    # 6. Delete; the campaign is then gone.
    atoms.delete_campaign(created.id)
    with pytest.raises(AtomsNotFound):
        atoms.get_campaign(created.id)
    assert created.id not in {c.id for c in atoms.iter_campaigns()}
