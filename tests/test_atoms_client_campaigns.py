"""Campaigns and their calls through the client, against the simulator over real HTTP."""

from datetime import UTC, datetime, timedelta

import pytest

from campaigns.atoms import (
    AtomsClient,
    AtomsNotFound,
    AtomsRejected,
    CampaignStatus,
)

UNKNOWN_ID = "0123456789abcdef01234567"
SEEDED_CAMPAIGNS = 4
# Long enough for the simulator's queued start or pause task to land.
TASK_LANDS_SECONDS = 4


@pytest.fixture
def atoms(sim):
    with AtomsClient(sim.base_url, sim.api_key, sleep=lambda seconds: None) as client:
        yield client


def campaign_named(atoms, name):
    return next(c for c in atoms.iter_campaigns() if c.name == name)


def test_create_returns_the_new_draft_campaign(atoms, parts):
    created = atoms.create_campaign("Spring renewals", **parts, description="second wave",
                                    max_retries=2, retry_delay=30)

    assert len(created.id) == 24
    assert created.status == CampaignStatus.DRAFT
    assert (created.name, created.description) == ("Spring renewals", "second wave")
    assert (created.agent_id, created.audience_id) == (parts["agent_id"], parts["audience_id"])
    assert (created.max_retries, created.retry_delay, created.retry_attempts) == (2, 30, 0)
    assert created.participants_count == 2
    assert created.phone_number_ids == tuple(parts["phone_number_ids"])
    assert created.created_at is not None


def test_a_created_campaign_reads_back_the_same_through_get_and_list(atoms, parts):
    created = atoms.create_campaign("Read me back", **parts)

    fetched = atoms.get_campaign(created.id).campaign
    listed = campaign_named(atoms, "Read me back")

    for campaign in (fetched, listed):
        assert (campaign.id, campaign.agent_id, campaign.audience_id) == (
            created.id, created.agent_id, created.audience_id)
        assert (campaign.agent_name, campaign.audience_name) == (
            "Renewals Assistant", "Pilot testers")
        assert campaign.created_at == created.created_at


def test_a_campaign_with_a_start_time_is_scheduled_for_it(atoms, sim, parts):
    now = datetime.fromisoformat(sim.now()["now"])
    start_at = (now + timedelta(hours=2)).replace(microsecond=123000)

    created = atoms.create_campaign("Tonight", **parts, scheduled_at=start_at)

    assert created.status == CampaignStatus.SCHEDULED
    assert created.scheduled_at == start_at.astimezone(UTC)


def test_an_invalid_create_reports_every_problem_atoms_found(atoms, parts):
    with pytest.raises(AtomsRejected) as caught:
        atoms.create_campaign("Bad", **{**parts, "agent_id": UNKNOWN_ID}, max_retries=11)

    messages = caught.value.messages
    assert f"Agent not found: {UNKNOWN_ID}" in messages
    assert "maxRetries must be an integer between 0 and 10" in messages
    assert caught.value.permanent is True
    assert atoms.list_campaigns().total == SEEDED_CAMPAIGNS  # nothing half-made


def test_campaigns_are_listed_a_page_at_a_time(atoms):
    first = atoms.list_campaigns(page=1, page_size=3)
    second = atoms.list_campaigns(page=2, page_size=3)

    assert (len(first.items), first.total, first.total_pages, first.has_more) == (
        3, SEEDED_CAMPAIGNS, 2, True)
    assert (len(second.items), second.has_more) == (1, False)
    assert first.total_campaign_count == SEEDED_CAMPAIGNS


def test_iter_campaigns_walks_every_page_once(atoms, sim):
    walked = list(atoms.iter_campaigns(page_size=1))

    assert len({campaign.id for campaign in walked}) == SEEDED_CAMPAIGNS == len(walked)
    assert sim.calls_to("GET /campaign") == SEEDED_CAMPAIGNS


def test_a_campaign_created_mid_walk_does_not_make_another_appear_twice(atoms, parts):
    walker = atoms.iter_campaigns(page_size=2)
    first_page = [next(walker), next(walker)]

    # The newest campaign goes on top, pushing the second one onto page two.
    atoms.create_campaign("Created mid-walk", **parts)
    rest = list(walker)

    walked = [campaign.id for campaign in first_page + rest]
    assert len(walked) == len(set(walked)) == SEEDED_CAMPAIGNS


def test_listing_filters_by_status_while_still_counting_every_campaign(atoms):
    page = atoms.list_campaigns(status="completed")

    assert [c.name for c in page.items] == ["Mumbai leads - first touch"]
    assert page.total == 1
    assert page.total_campaign_count == SEEDED_CAMPAIGNS


def test_listing_searches_by_name_and_sorts_both_ways(atoms):
    newest_first = [c.name for c in atoms.iter_campaigns(search="mumbai")]
    oldest_first = [c.name for c in atoms.iter_campaigns(search="mumbai", sort_order="asc")]

    assert newest_first == ["Mumbai leads - follow-up", "Mumbai leads - first touch"]
    assert oldest_first == list(reversed(newest_first))


def test_start_is_accepted_then_the_campaign_runs_once_the_task_lands(atoms, sim, parts):
    created = atoms.create_campaign("Start me", **parts)

    atoms.start_campaign(created.id)
    right_after = atoms.get_campaign(created.id).campaign.status
    sim.advance(TASK_LANDS_SECONDS)
    detail = atoms.get_campaign(created.id)

    assert right_after == CampaignStatus.PROCESSING
    assert detail.campaign.status == CampaignStatus.RUNNING
    assert detail.executions[0].number == 1
    assert detail.executions[0].trigger == "initial_start"
    assert [event.action for event in detail.events] == ["created", "started"]


def test_starting_a_running_campaign_is_rejected(atoms, sim, parts):
    created = atoms.create_campaign("Twice", **parts)
    atoms.start_campaign(created.id)
    sim.advance(TASK_LANDS_SECONDS)

    with pytest.raises(AtomsRejected, match="already running"):
        atoms.start_campaign(created.id)


def test_pausing_a_draft_is_rejected(atoms, parts):
    created = atoms.create_campaign("Never started", **parts)

    with pytest.raises(AtomsRejected, match="Only a running campaign can be paused"):
        atoms.pause_campaign(created.id)


def test_deleting_a_running_campaign_is_rejected(atoms, sim, parts):
    created = atoms.create_campaign("Busy", **parts)
    atoms.start_campaign(created.id)
    sim.advance(TASK_LANDS_SECONDS)

    with pytest.raises(AtomsRejected, match="pause it before deleting"):
        atoms.delete_campaign(created.id)

    assert atoms.get_campaign(created.id).campaign.status == CampaignStatus.RUNNING


@pytest.mark.parametrize("action", ["get_campaign", "start_campaign", "pause_campaign",
                                    "delete_campaign"])
def test_an_unknown_campaign_is_not_found(atoms, action):
    with pytest.raises(AtomsNotFound) as caught:
        getattr(atoms, action)(UNKNOWN_ID)

    assert caught.value.status == 404
    assert caught.value.permanent is True


def test_call_logs_of_a_campaign_are_paged_and_split_by_attempt(atoms):
    finished = campaign_named(atoms, "Mumbai leads - first touch")

    first_attempts = atoms.list_call_logs(finished.id, limit=20, attempts="initial")
    second_page = atoms.list_call_logs(finished.id, page=2, limit=20, attempts="initial")
    everything = atoms.list_call_logs(finished.id, limit=500, attempts="all")

    assert first_attempts.total == 50
    assert (len(first_attempts.items), first_attempts.total_pages) == (20, 3)
    assert {log.attempt_number for log in first_attempts.items} == {0}
    assert not ({log.call_id for log in first_attempts.items}
                & {log.call_id for log in second_page.items})
    assert everything.total > 50
    assert max(log.attempt_number for log in everything.items) >= 1
    assert {log.campaign_id for log in everything.items} == {finished.id}
    assert all(log.call_id.startswith("CALL-") for log in everything.items)


def test_a_connected_call_comes_with_its_transcript(atoms):
    finished = campaign_named(atoms, "Mumbai leads - first touch")
    logs = atoms.list_call_logs(finished.id, limit=500, attempts="all").items
    connected = next(log for log in logs if log.status == "completed")

    detail = atoms.get_call(connected.call_id)

    assert detail.call.call_id == connected.call_id
    assert detail.call.duration_seconds == connected.duration_seconds > 0
    assert detail.agent_name == "Appointment Reminder"
    assert [turn.role for turn in detail.transcript][:2] == ["agent", "user"]
    assert detail.transcript[0].timestamp is not None


def test_an_unknown_call_is_not_found(atoms):
    with pytest.raises(AtomsNotFound):
        atoms.get_call("CALL-1737000000000-abc123")
    # Atoms answers 400 "Invalid callId" to an id not of its form: no such call either.
    with pytest.raises(AtomsNotFound):
        atoms.get_call("CALL-1234567-xyz")
