"""The board's name search: 61 running cards were 29 screens on a phone with no way to the
one wanted but scrolling (a probe)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaigns():
    now = timezone.now()
    Campaign.objects.bulk_create([
        Campaign(atoms_id="a" * 24, name="Mumbai leads", status="running"),
        Campaign(atoms_id="b" * 24, name="Delhi renewals", status="running"),
        Campaign(atoms_id="c" * 24, name="mumbai callbacks", status="running"),
        Campaign(atoms_id="d" * 24, name="Mumbai done", status="completed",
                 remote_updated_at=now - timedelta(hours=1)),
        Campaign(atoms_id="e" * 24, name="Delhi done", status="completed",
                 remote_updated_at=now - timedelta(hours=1)),
    ])


def cards(page: str) -> list[str]:
    return [chunk.split("</a>")[0].rsplit(">", 1)[1]
            for chunk in page.split('data-testid="board-card"')[1:]]


def test_the_board_shows_the_campaigns_whose_name_has_the_words_typed(login_as, campaigns):
    client = login_as("manager")
    page = client.get(reverse("board"), {"q": " MUMBAI "}).content.decode()
    assert sorted(cards(page)) == ["Mumbai leads", "mumbai callbacks"]
    assert "2 of 3 active campaigns match “MUMBAI”." in page
    assert 'value=" MUMBAI "' in page  # the box keeps what was typed
    finished = page.split('data-testid="board-finished"')[1].split("</section>")[0]
    assert "Mumbai done" in finished and "Delhi done" not in finished
    # Its live reload (a status moved) keeps the search: without it, every card came back.
    assert 'hx-get="/board/?q=MUMBAI"' in page
    grid = client.get(reverse("board"), {"q": "delhi"}, HTTP_HX_REQUEST="true").content.decode()
    assert cards(grid) == ["Delhi renewals"] and "<h1>" not in grid
    assert "1 of 3 active campaigns matches “delhi”." in grid


def test_a_search_that_finds_nothing_says_so_and_how_to_go_on(login_as, campaigns):
    page = login_as("manager").get(reverse("board"), {"q": "Pune"}).content.decode()
    assert cards(page) == []
    assert "No active campaign has “Pune” in its name" in page
    assert '<a href="/board/">show every active campaign</a>' in page
    assert '<a href="/campaigns/?q=Pune">all campaigns</a>' in page
    assert "Nothing is dialling right now" not in page  # it is: just not under that name


def test_without_a_search_the_board_says_nothing_of_one(login_as, campaigns):
    page = login_as("manager").get(reverse("board")).content.decode()
    assert len(cards(page)) == 3
    assert 'data-testid="board-filtered"' not in page
    assert 'hx-get="/board/"' in page


@pytest.mark.parametrize("typed", ["x\x00y", "\u202eevil", "bell\x07", "x" * 201])
def test_a_search_no_name_can_match_is_refused_beside_the_box_and_kept(login_as, campaigns,
                                                                       typed):
    """A NUL went into the page three times (and PostgreSQL refuses it in a query), and a
    right-to-left override reversed the page's sentence (attacker probe): the list's own
    search refused the first; both now refuse them the same way."""
    client = login_as("manager")
    for name, typing in (("board", False), ("board", True), ("campaign_list", False)):
        # As typed, htmx asks for the grid alone: the refusal must be in it.
        response = client.get(reverse(name), {"q": typed},
                              **({"HTTP_HX_REQUEST": "true"} if typing else {}))
        page = response.content.decode()
        assert response.status_code == 200
        assert 'data-testid="filter-errors"' in page
        if name == "board":
            assert len(cards(page)) == 3  # every active campaign, as without a search
            assert 'data-testid="board-filtered"' not in page
