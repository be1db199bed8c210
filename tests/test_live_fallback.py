"""The polling fallback: cached fragments, their fetch times, and 286 once nothing moves."""

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.live import poll
from campaigns.models import Campaign
from tests.campaign_factory import make_campaign

pytestmark = pytest.mark.django_db


def fragment(client, campaign_pk, kind="card"):
    return client.get(reverse("campaign_fragment", args=[campaign_pk, kind]),
                      HTTP_HX_REQUEST="true")


def test_a_live_campaign_answers_200_with_its_latest_fetch_time(login_as, sim, atoms_settings,
                                                                 users):
    running = make_campaign(sim, users["staff"], "running", audience_size=50)
    Campaign.objects.filter(pk=running.pk).update(next_poll_at=timezone.now())
    poll.tick()
    running.refresh_from_db()
    response = fragment(login_as("manager"), running.pk)
    assert response.status_code == 200
    assert 'data-testid="card-called"' in response.content.decode()
    times = json.loads(response["HX-Trigger-After-Settle"])["live:fetched"]
    assert times == {str(running.pk): running.fetched_at.isoformat()}


def test_a_finished_campaign_answers_286_so_polling_stops(login_as, sim, atoms_settings, users):
    draft = make_campaign(sim, users["staff"], "draft")
    response = fragment(login_as("manager"), draft.pk, "detail")
    assert response.status_code == 286
    assert 'data-testid="metric-total"' in response.content.decode()


def test_a_deleted_campaign_answers_286_with_a_notice(login_as):
    response = fragment(login_as("manager"), 424242)
    assert response.status_code == 286
    assert "has been deleted" in response.content.decode()


def test_an_unknown_fragment_kind_is_a_404(login_as, sim, atoms_settings, users):
    draft = make_campaign(sim, users["staff"], "draft")
    assert fragment(login_as("manager"), draft.pk, "secrets").status_code == 404


def test_the_actions_of_a_deleted_campaign_say_so(login_as):
    # The page's own refetch (htmx) after a delete: the buttons make way for a note.
    response = login_as("admin").get(reverse("campaign_actions", args=[424242]),
                                     headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "This campaign has been deleted." in response.content.decode()


def test_an_unknown_campaign_on_the_actions_address_is_not_found(login_as):
    # Typed by hand: nothing says it ever existed, so it is not "deleted".
    response = login_as("admin").get(reverse("campaign_actions", args=[424242]))
    assert response.status_code == 404
    page = response.content.decode()
    assert "There is no such campaign here" in page and "has been deleted" not in page
