"""The polling fallback: cached fragments, their fetch times, and 286 once nothing moves."""

import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.live import poll
from campaigns.models import Campaign
from tests.campaign_factory import campaign_row, make_campaign

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


def test_a_finished_campaign_answers_286_so_polling_stops(login_as, users):
    done = campaign_row(users["staff"], "completed")
    response = fragment(login_as("manager"), done.pk, "detail")
    assert response.status_code == 286
    assert 'data-testid="metric-total"' in response.content.decode()


@pytest.mark.parametrize("status", ["draft", "scheduled", "paused"])
def test_a_campaign_that_may_still_be_started_keeps_being_polled(login_as, users, status):
    """A probe, stream down: a draft's page got 286 at its first poll and showed "Draft"
    for good while the list beside it showed the campaign running."""
    waiting = campaign_row(users["staff"], status)
    client = login_as("manager")
    assert fragment(client, waiting.pk, "detail").status_code == 200
    page = client.get(reverse("campaign_detail", args=[waiting.pk])).content.decode()
    assert f'hx-get="{reverse("campaign_fragment", args=[waiting.pk, "detail"])}"' in page


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


# --- a campaign list polls all its live rows in one request -------------------------------


def rows_poll(client, ids):
    return client.get(reverse("campaign_rows"), {"ids": ",".join(map(str, ids))},
                      HTTP_HX_REQUEST="true")


def oob_rows(html: str) -> dict[str, str]:
    """Each row swapped out of band: its id -> the cells put in it."""
    return dict(re.findall(r'<template><tr id="(campaign-\d+)" hx-swap-oob="innerHTML">'
                           r"(.*?)</tr></template>", html, re.S))


def test_a_list_polls_its_live_rows_in_one_request_and_keeps_asking_for_those_still_live(
        login_as, sim, atoms_settings, users):
    """With the stream down, each live row of a list polled on its own: 25 requests a list
    every interval, when the stream was down for a server already hard pressed."""
    running = make_campaign(sim, users["staff"], "running", audience_size=50)
    Campaign.objects.filter(pk=running.pk).update(next_poll_at=timezone.now())
    poll.tick()
    running.refresh_from_db()
    draft = campaign_row(users["staff"], "draft", name="Not started yet")
    done = campaign_row(users["staff"], "completed", name="All called")
    response = rows_poll(login_as("manager"), [running.pk, draft.pk, done.pk, 424242])
    assert response.status_code == 200
    html = response.content.decode()
    rows = oob_rows(html)
    assert set(rows) == {f"campaign-{pk}" for pk in (running.pk, draft.pk, done.pk, 424242)}
    assert 'data-testid="row-counts"' in rows[f"campaign-{running.pk}"]
    assert "All called" in rows[f"campaign-{done.pk}"]
    assert '<td colspan="7">' in rows["campaign-424242"]
    assert "has been deleted" in rows["campaign-424242"]
    # The poller comes back naming what may still move: not the finished, not the deleted.
    asks = re.search(r'<div id="rows-poll" hidden hx-get="([^"]+)"', html).group(1)
    assert asks == f"{reverse('campaign_rows')}?ids={running.pk},{draft.pk}"
    times = json.loads(response["HX-Trigger-After-Settle"])["live:fetched"]
    assert times == {str(running.pk): running.fetched_at.isoformat()}


def test_a_list_whose_rows_are_all_still_stops_polling(login_as, users):
    done = campaign_row(users["staff"], "completed", name="All called")
    response = rows_poll(login_as("manager"), [done.pk, 424242])
    assert response.status_code == 286
    assert 'hx-get' not in response.content.decode().split("<template>")[0]
    assert set(oob_rows(response.content.decode())) == {f"campaign-{done.pk}", "campaign-424242"}


def test_ids_that_are_not_campaign_numbers_are_left_out(login_as, users):
    draft = campaign_row(users["staff"], "draft")
    response = rows_poll(login_as("manager"), ["x", -3, "١٢", "9" * 30, draft.pk, ""])
    assert response.status_code == 200
    assert set(oob_rows(response.content.decode())) == {f"campaign-{draft.pk}"}


def test_the_list_has_one_poller_for_its_live_rows_and_none_per_row(login_as, users):
    draft = campaign_row(users["staff"], "draft", name="Not started yet")
    running = campaign_row(users["staff"], "running", name="Dialling")
    campaign_row(users["staff"], "completed", name="All called")
    html = login_as("manager").get(reverse("campaign_list")).content.decode()
    assert html.count("data-poll-fallback") == 1
    assert f'{reverse("campaign_rows")}?ids={running.pk},{draft.pk}"' in html


def test_the_rows_poll_is_for_signed_in_people_only(client):
    response = client.get(reverse("campaign_rows"), {"ids": "1"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("kind", ["detail", "card"])
def test_the_connect_rate_says_it_counts_calls_still_in_progress(login_as, users, kind):
    """A probe: with calls ringing the rate fell (35% to 29%) while nobody hung up: Atoms
    counts a contact called as the call starts."""
    running = campaign_row(users["staff"], "running", contacts_called=14,
                           contacts_connected=4, call_summary={"calls": 14, "counts": {
                               "connected": 4, "no_answer": 6, "in_progress": 4}})
    html = fragment(login_as("manager"), running.pk, kind).content.decode()
    assert re.search(r"29%.*\(counting 4 calls still in progress\)", html, re.S)
    done = campaign_row(users["staff"], "completed", contacts_called=14, contacts_connected=4,
                        call_summary={"calls": 14, "counts": {"in_progress": 1}})
    assert "still in progress)" not in fragment(
        login_as("manager"), done.pk, kind).content.decode()
