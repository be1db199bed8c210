"""The check before Start, on the simulator over HTTP: contacts, do-not-call numbers, the
numbers it calls from, the time it should take at its agent's pace, and what will stop it."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.catalog import load_pickers
from campaigns.connections import atoms_client
from campaigns.models import Campaign, MetricSnapshot, SuppressedNumber
from tests.campaign_factory import campaign_row, make_campaign

pytestmark = pytest.mark.django_db


def preflight(client, campaign) -> str:
    response = client.get(reverse("campaign_preflight", args=[campaign.pk]),
                          headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode()


def test_a_clean_draft_shows_its_contacts_numbers_and_nothing_in_the_way(staff, users, sim):
    draft = make_campaign(sim, users["staff"])
    html = preflight(staff, draft)
    assert 'data-testid="preflight-contacts">2<' in html
    assert 'data-testid="preflight-suppressed">none<' in html
    number = load_pickers().phone_number(draft.phone_number_ids[0]).number
    assert f'data-testid="preflight-numbers"><span class="phone-number">{number}</span><' in html
    assert 'data-testid="preflight-ok"' in html and "preflight-blockers" not in html
    assert "(shown once this agent has finished a campaign)" in html


def test_do_not_call_contacts_are_counted_before_the_start(staff, users, sim):
    draft = make_campaign(sim, users["staff"])
    pilot = next(a for a in atoms_client().list_audiences() if a.name == "Pilot testers")
    member = atoms_client().all_audience_members(pilot.id)[0]
    SuppressedNumber.objects.create(phone_number=member.data["phoneNumber"])
    html = preflight(staff, draft)
    assert 'data-testid="preflight-suppressed">1: Start offers to leave it out' in html
    # Not the all-clear a probe read under the note that the start was held for it.
    assert "Nothing found that would stop it" not in html
    assert ("Nothing else found that would stop it; starting first asks about the listed "
            "number.") in html
    assert sim.calls_to("POST /campaign/{id}/start") == 0  # a check, never a start


def test_only_inactive_numbers_block_the_start_and_say_what_to_do(staff, users, sim):
    draft = make_campaign(sim, users["staff"])
    number = load_pickers().phone_number(draft.phone_number_ids[0]).number
    sim.set_number_active(number, False)
    load_pickers(refresh=True)
    html = preflight(staff, draft)
    assert "Starting will not work yet" in html
    assert "None of its phone numbers is active" in html
    assert f"{number} (inactive)" in html


def test_an_archived_agent_blocks_the_start(staff, users, sim):
    row = campaign_row(users["staff"], agent_id="65f0c0ffee00000000000999",
                       agent_name="Old agent")
    html = preflight(staff, row)
    assert "The agent “Old agent” is archived or gone in Atoms" in html


def test_the_estimate_uses_the_agents_past_pace(staff, users, sim):
    draft = make_campaign(sim, users["staff"])
    done = campaign_row(users["staff"], "completed", agent_id=draft.agent_id,
                        total_participants=100, contacts_called=100)
    start = timezone.now() - timedelta(hours=2)
    for minutes, called in ((0, 1), (50, 100)):  # 100 contacts in 50 minutes: 2 a minute
        MetricSnapshot.objects.create(campaign=done, taken_at=start + timedelta(minutes=minutes),
                                      status="completed", total_participants=100,
                                      contacts_called=called, contacts_connected=0)
    html = preflight(staff, draft)  # 2 contacts at 2 a minute
    assert 'data-testid="preflight-estimate">about 1 min' in html


def test_only_those_who_may_start_get_the_check(login_as, users, sim, atoms_settings):
    draft = make_campaign(sim, users["staff"])
    response = login_as("manager").get(reverse("campaign_preflight", args=[draft.pk]))
    assert response.status_code == 403
    page = login_as("manager").get(reverse("campaign_detail", args=[draft.pk])).content.decode()
    assert 'id="preflight"' not in page
    page = login_as("staff").get(reverse("campaign_detail", args=[draft.pk])).content.decode()
    assert 'id="preflight"' in page


def test_once_started_the_check_is_gone_from_the_page_and_from_its_refresh(staff, users, sim):
    """The card followed no status: a campaign created and started at once showed "Before
    you start" beside Running. Now a start on its way or done leaves it out, and the
    page's refresh of it (on each status change) answers nothing, which removes it."""
    draft = make_campaign(sim, users["staff"])
    page = staff.get(reverse("campaign_detail", args=[draft.pk])).content.decode()
    assert (f'hx-trigger="load, sse:status-{draft.pk}, live:state-moved from:body, '
            'live:again" data-ask-again') in page
    # Its refresh answers the whole card, still listening for the next status change.
    assert preflight(staff, draft).lstrip().startswith('<section class="card" id="preflight"')
    draft.pending_action = "start"
    draft.save(update_fields=["pending_action"])
    assert 'id="preflight"' not in staff.get(
        reverse("campaign_detail", args=[draft.pk])).content.decode()
    assert preflight(staff, draft) == ""
    running = make_campaign(sim, users["staff"], "running", name="Running")
    assert 'id="preflight"' not in staff.get(
        reverse("campaign_detail", args=[running.pk])).content.decode()
    assert preflight(staff, running) == ""
    # Asked for without htmx (the link in the card), the check still shows on its own page.
    assert 'data-testid="preflight-contacts"' in staff.get(
        reverse("campaign_preflight", args=[running.pk])).content.decode()


def test_the_card_of_a_campaign_deleted_meanwhile_goes_quietly(staff, users, sim):
    """Deleted in another tab: the card's own refresh got a 404, an error in the console."""
    draft = make_campaign(sim, users["staff"])
    url = reverse("campaign_preflight", args=[draft.pk])
    Campaign.objects.filter(pk=draft.pk).delete()
    answer = staff.get(url, headers={"HX-Request": "true"})
    assert (answer.status_code, answer.content) == (200, b"")
    assert staff.get(url).status_code == 404  # typed by hand: not found
