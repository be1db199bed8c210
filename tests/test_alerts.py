"""Alerts: each condition is one episode, told once to the people it concerns (in the
dashboard and by email), closed when it clears; checked on the simulator over HTTP or on
mirror rows."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns import alerts
from campaigns.live import poll
from campaigns.models import Alert, CallRecord, Campaign, MetricSnapshot, Notification
from tests.campaign_factory import campaign_row, due_now, make_campaign

pytestmark = pytest.mark.django_db


def stall(campaign, seconds: int = 61) -> None:
    MetricSnapshot.objects.filter(campaign=campaign).update(
        taken_at=timezone.now() - timedelta(seconds=seconds))


def test_a_stall_raises_one_alert_not_one_per_check(running, users, settings):
    settings.STALL_AFTER_SECONDS = 60
    users["manager"].email = "mia@example.com"
    users["manager"].save()
    stall(running)
    opened = alerts.evaluate()
    assert [(a.campaign_id, a.kind) for a in opened] == [(running.pk, "stalled")]
    for _ in range(3):
        assert alerts.evaluate() == []
    assert Alert.objects.count() == 1
    # Managers, admins and the campaign's creator are told, each once.
    told = set(Notification.objects.values_list("user__username", flat=True))
    assert told == {users[role].username for role in ("staff", "manager", "admin")}
    assert [m.to for m in mail.outbox] == [["mia@example.com"]]
    assert "Stalled: Spring renewals" in mail.outbox[0].subject


def test_a_campaign_atoms_does_not_answer_for_is_not_called_stalled(sim, running, settings):
    """During an outage nothing moves because nothing is read: the outage is one alert of
    its own, not a stall alert for every running campaign."""
    settings.STALL_AFTER_SECONDS = 60
    sim.faults(error_rate=1, fail_routes=["GET /campaign/{id}"])
    due_now(running)
    poll.tick()
    stall(running)
    assert [a.kind for a in alerts.evaluate()] == []
    sim.clear_faults()
    due_now(running)
    poll.tick()  # read again, and still nothing moved: now it is judged
    stall(running)
    assert [a.kind for a in alerts.evaluate()] == ["stalled"]


def test_an_episode_closes_when_it_clears_and_a_new_one_is_told_again(running, settings):
    settings.STALL_AFTER_SECONDS = 60
    stall(running)
    first = alerts.evaluate()[0]
    stall(running, seconds=0)  # it moved again
    assert alerts.evaluate() == []
    first.refresh_from_db()
    assert first.closed_at is not None
    stall(running)
    again = alerts.evaluate()
    assert [a.kind for a in again] == ["stalled"] and again[0].pk != first.pk


def test_a_campaign_watched_to_the_end_is_told_finished_once(sim, atoms_settings, users):
    campaign = make_campaign(sim, users["staff"], "running", max_retries=0)
    for _ in range(60):
        sim.advance(60)
        due_now(campaign)
        poll.tick()
        campaign.refresh_from_db()
        if campaign.status == "completed":
            break
    assert campaign.status == "completed"
    (told,) = alerts.evaluate()
    assert told.kind == "completed"
    # "Finished: “…” finished: …" said it twice under its title.
    assert str(told) == (f"Finished: “{campaign.name}”: {campaign.contacts_connected} of "
                         f"{campaign.total_participants} contacts connected.")
    assert alerts.evaluate() == []  # a finish is told once, for good


def test_an_old_finished_campaign_synced_in_is_not_news(users):
    campaign_row(users["staff"], "completed")  # never seen dialling
    assert alerts.evaluate() == []


def test_a_campaign_deleted_in_atoms_while_active_is_told_once(users):
    """Deleted in Atoms while it dialled, it left the board without a word (probe); one
    deleted there once paused or finished is no news (the dashboard deletes those too)."""
    now = timezone.now()
    dialling = campaign_row(users["staff"], "running", name="Gone mid-call",
                            deleted_remotely_at=now)
    campaign_row(users["staff"], "paused", name="Tidied away", deleted_remotely_at=now)
    campaign_row(users["staff"], "completed", name="Done and tidied", deleted_remotely_at=now)
    (told,) = alerts.evaluate()
    assert (told.campaign_id, told.kind) == (dialling.pk, "deleted_in_atoms")
    assert str(told) == ("Deleted in Atoms while active: “Gone mid-call” was deleted in Atoms "
                         "while it was dialling: it calls no one more, and its numbers are "
                         "the last ones seen.")
    assert Notification.objects.filter(alert=told).exists()
    assert alerts.evaluate() == []  # told once, for good


def test_a_start_not_carried_out_is_told_and_closes_when_asked_again(users):
    row = campaign_row(users["staff"], lapsed_action="start")
    assert [a.kind for a in alerts.evaluate()] == ["not_carried_out"]
    Campaign.objects.filter(pk=row.pk).update(lapsed_action="")
    alerts.evaluate()
    assert Alert.objects.get().closed_at is not None


def test_many_failed_calls_raise_a_failure_spike(users, settings):
    settings.ALERT_FAILURE_PERCENT = 50
    row = campaign_row(users["staff"], "running")
    now = timezone.now()
    for n in range(10):
        outcome = "failed" if n < 6 else "connected"
        CallRecord.objects.create(campaign=row, call_id=f"CALL-{n}", to_number=f"+9100{n}",
                                  status=outcome, outcome=outcome, created_at=now)
    opened = alerts.evaluate()
    assert [a.kind for a in opened] == ["failure_spike"]
    assert "6 of its last 10 calls failed" in opened[0].message


def test_the_alerts_page_lists_mine_and_clears_the_count(running, login_as, settings):
    settings.STALL_AFTER_SECONDS = 60
    stall(running)
    alerts.evaluate()
    client = login_as("manager")
    badge = client.get(reverse("notification_badge")).content.decode()
    assert 'data-testid="alert-count">1<' in badge
    page = client.get(reverse("notification_list")).content.decode()
    assert page.count('data-testid="alert"') == 1 and "nothing has moved" in page
    # When, to the minute, and how long ago (a probe: "10 minutes ago" alone).
    opened = Alert.objects.get().opened_at
    assert f'<time data-local="day-minute" datetime="{opened.isoformat()}"' in page
    assert re.search(r"</time> \((just now|\d+ minutes? ago)\)", page)
    badge = client.get(reverse("notification_badge")).content.decode()
    assert "alert-count" not in badge


def test_the_alerts_page_shows_new_alerts_as_they_come_and_counts_those_shown_as_read(
        running, login_as, settings, users):
    """The list stayed as first drawn while the badge above it counted new alerts, and
    the badge drawn with the page still said "1 unread" of the alert on screen (a probe)."""
    settings.STALL_AFTER_SECONDS = 60
    stall(running)
    alerts.evaluate()
    client = login_as("manager")
    page = client.get(reverse("notification_list")).content.decode()
    assert page.count('class="alert-item unread"') == 1  # still stands out as new
    assert "alert-count" not in page  # and the badge beside it counts it seen
    newest = Notification.objects.filter(user=users["manager"]).latest("pk").pk
    assert f'hx-get="{reverse("notification_list")}?after={newest}"' in page
    # Asked again with nothing new: 204, the page stays as it is.
    poll_again = {"after": newest}
    response = client.get(reverse("notification_list"), poll_again, HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    # A new alert: the list comes again, the new one standing out, and the badge with it.
    other = campaign_row(users["staff"], lapsed_action="start")
    alerts.evaluate()
    response = client.get(reverse("notification_list"), poll_again, HTTP_HX_REQUEST="true")
    fragment = response.content.decode()
    assert response.status_code == 200 and "<h1>" not in fragment
    assert fragment.count('data-testid="alert"') == 2
    assert fragment.count('class="alert-item unread"') == 1 and other.name in fragment
    assert 'id="alert-badge"' in fragment and 'hx-swap-oob="true"' in fragment
    assert "alert-count" not in fragment
    assert alerts.unread_count(users["manager"]) == 0
    # An edited address is answered as a first ask: "²" passed str.isdigit, not int() (500).
    for edited in ("²", "9" * 5000, "-1", "x"):
        answer = client.get(reverse("notification_list"), {"after": edited},
                            HTTP_HX_REQUEST="true")
        assert answer.status_code == 200 and answer.content.decode().count(
            'data-testid="alert"') == 2


def test_the_alerts_page_needs_a_sign_in(client):
    response = client.get(reverse("notification_list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_atoms_not_answering_is_one_alert_for_every_campaign_until_it_answers(
        sim, atoms_settings, users):
    first = make_campaign(sim, users["staff"], "running", audience_size=50)
    second = make_campaign(sim, users["staff"], "running", name="Autumn renewals",
                           audience_size=50)
    sim.faults(error_rate=1, fail_routes=["GET /campaign/{id}"])
    for _ in range(alerts.UNREACHABLE_AFTER_FAILURES):
        # Not yet after fewer failures in a row than that.
        assert [a.kind for a in alerts.evaluate()] == []
        for campaign in (first, second):
            due_now(campaign)
        poll.tick()
    (opened,) = alerts.evaluate()
    assert (opened.kind, opened.campaign) == ("atoms_unreachable", None)
    assert opened.message == ("Atoms is not answering: none of the 2 active campaigns could be "
                              "refreshed. Their numbers are out of date until it answers again.")
    assert alerts.evaluate() == []  # one episode, not one per check or per campaign
    told = set(Notification.objects.filter(alert=opened)
               .values_list("user__username", flat=True))
    assert told == {users["manager"].username, users["admin"].username}

    client = Client()
    client.force_login(users["manager"])
    page = client.get(reverse("notification_list")).content.decode()
    assert f'<a href="{reverse("board")}">Atoms is not answering: none of the 2' in page

    sim.clear_faults()
    for campaign in (first, second):
        due_now(campaign)
    poll.tick()
    assert alerts.evaluate() == []
    opened.refresh_from_db()
    assert opened.closed_at is not None
