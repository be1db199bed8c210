"""One meaning of "active": the query the poller and the board use (`active_q`) and the
check pages make on one row (`Campaign.is_active`) agree on every kind of campaign."""

import itertools
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.atoms import CampaignStatus
from campaigns.models import Campaign, PendingAction, active_q
from campaigns.views import board

pytestmark = pytest.mark.django_db

NOW = timezone.now()
SCHEDULES = [None, NOW + timedelta(seconds=1), NOW + timedelta(days=1)]


def test_the_query_and_the_row_check_agree_on_every_combination():
    combos = itertools.product(
        [*CampaignStatus.values, "archived"],  # an unknown status Atoms may add one day
        [PendingAction.NONE, PendingAction.START],
        SCHEDULES,
        [False, True],  # needs_final_poll
        [None, NOW],  # deleted_remotely_at
    )
    rows = Campaign.objects.bulk_create([
        Campaign(atoms_id=f"{n:024x}", name=f"c{n}", status=status, pending_action=pending,
                 scheduled_at=scheduled, needs_final_poll=final, deleted_remotely_at=deleted)
        for n, (status, pending, scheduled, final, deleted) in enumerate(combos)
    ])

    by_query = set(Campaign.objects.filter(active_q(NOW)).values_list("pk", flat=True))
    by_row = {c.pk for c in Campaign.objects.all() if c.is_active(NOW)}

    assert by_query == by_row
    # Not vacuous: both kinds are present.
    assert 0 < len(by_query) < len(rows)


def test_a_campaign_scheduled_far_ahead_is_not_active_until_shortly_before_it_starts():
    campaign = Campaign(atoms_id="a" * 24, name="later", status=CampaignStatus.SCHEDULED,
                        scheduled_at=NOW + timedelta(hours=1))

    assert not campaign.is_active(NOW)
    assert campaign.is_active(NOW + timedelta(minutes=59, seconds=55))


def test_the_board_lists_what_finished_in_the_last_day_under_its_cards(login_as, users):
    """A campaign left the board seconds after "Completed", and the board said "Nothing is
    dialling right now" with no final numbers or link (probe)."""
    now = timezone.now()
    done = Campaign.objects.create(atoms_id="d" * 24, name="Done today", status="completed",
                                   total_participants=50, contacts_connected=39,
                                   remote_updated_at=now - timedelta(hours=1))
    Campaign.objects.create(atoms_id="e" * 24, name="Done last week", status="completed",
                            remote_updated_at=now - timedelta(days=7))
    Campaign.objects.create(atoms_id="f" * 24, name="Deleted since", status="failed",
                            remote_updated_at=now, deleted_remotely_at=now)
    page = login_as("manager").get(reverse("board")).content.decode()
    assert 'data-testid="board-empty"' in page
    finished = page.split('data-testid="board-finished"')[1].split("</section>")[0]
    assert f'<a href="{reverse("campaign_detail", args=[done.pk])}">Done today</a>' in finished
    assert "39 of 50 contacts connected" in finished and "completed" in finished
    assert "Done last week" not in finished and "Deleted since" not in finished
    assert 'data-testid="finished-more"' not in finished
    # Past ten, the rest are counted with a way to them (the eleventh vanished silently).
    Campaign.objects.bulk_create([
        Campaign(atoms_id=f"{n:024x}", name=f"Batch {n}", status="completed",
                 remote_updated_at=now - timedelta(minutes=n)) for n in range(11)])
    page = login_as("manager").get(reverse("board")).content.decode()
    assert page.count('data-testid="finished-campaign"') == 10
    assert ('And 2 more: see <a href="/campaigns/?status=completed">the completed campaigns'
            '</a>.') in page


def test_past_its_cards_the_board_says_how_many_active_campaigns_it_leaves_out(login_as):
    """The board drew the 200 newest active campaigns and the rest were not there, unsaid."""
    Campaign.objects.bulk_create([
        Campaign(atoms_id=f"{n:024x}", name=f"Running {n:03d}", status="running",
                 created_at=NOW - timedelta(minutes=n)) for n in range(board.CARDS_SHOWN + 3)])
    page = login_as("manager").get(reverse("board")).content.decode()
    assert page.count('data-testid="board-card"') == board.CARDS_SHOWN
    assert "Running 000" in page and f"Running {board.CARDS_SHOWN + 2:03d}" not in page
    assert ("These are the 200 newest active campaigns; 3 older ones are not shown here: see "
            '<a href="/campaigns/?status=running">the running campaigns</a>.') in page
