"""A start or pause whose outcome is unknown (5xx, timeout, lost answer): the dashboard
finds out from Atoms, never guesses. Confirmed by the poll when Atoms shows it; cleared,
logged as "not carried out" and offered again when Atoms shows no sign of it in time."""

import re
import threading
import time
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from campaigns import alerts, services
from campaigns.connections import atoms_client, redis_client
from campaigns.live import poll, publish
from campaigns.models import AuditEntry, Campaign
from tests.campaign_factory import campaign_row, make_campaign, wait_for_status
from tests.published import watch

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(sim, atoms_settings, users, settings):
    settings.PENDING_ACTION_WARN_SECONDS = 5
    settings.ATOMS_CONNECT_TIMEOUT = 1
    settings.ATOMS_READ_TIMEOUT = 1
    return sim


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def detail(client, campaign) -> str:
    return client.get(reverse("campaign_detail", args=[campaign.pk])).content.decode()


def past_the_bound(campaign) -> None:
    """As if the request was made longer ago than the bounded wait."""
    campaign.refresh_from_db()
    Campaign.objects.filter(pk=campaign.pk).update(
        pending_since=timezone.now() - poll.pending_bound(campaign) - timedelta(seconds=1))


def test_a_start_atoms_never_carried_out_is_cleared_logged_and_offered_again(
        login_as, world, users, settings):
    draft = make_campaign(world, users["staff"])
    client = login_as("staff")
    world.faults(fail_routes=["POST /campaign/{id}/start"])  # 5xx: outcome unknown
    response = client.post(reverse("campaign_start", args=[draft.pk]), follow=True)
    # Said by the live note, which follows Atoms' answer, not by a message that would stay.
    assert messages_of(response) == []
    assert "checking whether it was carried out" in response.content.decode()
    logged = AuditEntry.objects.get(campaign=draft, action="start", outcome="failed").message
    assert logged == ("Atoms answered with an error of its own (HTTP 500); checking with "
                      "Atoms whether the start was carried out")  # no request line, no path
    page = detail(client, draft)
    assert "Atoms has not confirmed it; checking whether it was carried out" in page
    assert "Atoms has accepted" not in page  # "accepted" only after a 2xx
    world.clear_faults()

    # Within the bounded wait a poll that shows no sign yet decides nothing.
    settings.ATOMS_READ_TIMEOUT = 30  # the wait: as long again as our request could take
    poll.refresh_one(draft.pk)
    draft.refresh_from_db()
    assert draft.pending_action == "start"

    past_the_bound(draft)
    poll.refresh_one(draft.pk)
    draft.refresh_from_db()
    assert atoms_client().get_campaign(draft.atoms_id).campaign.status == "draft"
    assert (draft.pending_action, draft.lapsed_action) == ("", "start")
    assert not draft.is_active()  # no longer on the board nor polled every tick
    entry = AuditEntry.objects.filter(action="start").latest("pk")
    assert (entry.outcome, entry.actor_name) == ("failed", "system")
    assert "was not carried out" in entry.message
    page = detail(client, draft)
    assert "The last start was not carried out" in page and ">Start<" in page

    # Offered again, and this time Atoms accepts it.
    response = client.post(reverse("campaign_start", args=[draft.pk]), follow=True)
    assert "Start requested." in messages_of(response)[0]
    draft.refresh_from_db()
    assert (draft.pending_action, draft.pending_outcome, draft.lapsed_action) == (
        "start", "accepted", "")
    assert "Atoms has accepted the request" in publish.render_fragment(draft, "detail", [])
    assert world.calls_to("POST /campaign/{id}/start") == 2


def test_a_start_atoms_carries_out_after_it_was_judged_lost_is_logged_as_carried_out(
        login_as, world, users):
    """Atoms acted 38 s late, past the bound: the log said "not carried out" for good beside
    Atoms' "Started", and the Events table named "system" as who asked (a probe)."""
    # Atoms' clock and ours agree (the simulator's stands where the test session began).
    world.advance(max(0.0, time.time() - world.now()["nowMs"] / 1000))
    draft = make_campaign(world, users["staff"])
    client = login_as("staff")
    world.faults(fail_routes=["POST /campaign/{id}/start"])
    client.post(reverse("campaign_start", args=[draft.pk]))
    world.clear_faults()
    past_the_bound(draft)
    poll.refresh_one(draft.pk)
    draft.refresh_from_db()
    assert draft.lapsed_action == "start"

    atoms_client().start_campaign(draft.atoms_id)  # the start landing late, as Atoms' own
    draft = wait_for_status(world, draft, "running", step=1)
    assert draft.lapsed_action == ""
    latest = AuditEntry.objects.filter(campaign=draft, action="start").latest("pk")
    assert (latest.actor_name, latest.outcome, latest.message) == (
        "system", "ok", "The start was carried out after all: Atoms shows it.")
    page = detail(client, draft)
    assert "The last start was not carried out" not in page
    # Its event names the person who asked, not the dashboard's conclusions about it.
    events = page.split('aria-label="Events"')[1].split("</table>")[0]
    assert "<td>system</td>" not in events and "<td>sam-staff</td>" in events


def test_a_start_whose_answer_was_lost_is_not_offered_again_while_atoms_cannot_be_read(
        login_as, world, users):
    """Atoms resumed it, its answer was lost, and Atoms could not be read: after a minute
    the page offered Resume again ("you can try again") and a second start went (a
    probe). Its outcome is found out from Atoms, never guessed."""
    draft = make_campaign(world, users["staff"])
    client = login_as("staff")
    start = reverse("campaign_start", args=[draft.pk])
    world.faults(drop_response_rate=1, timeout_seconds=1, fail_routes=["POST /campaign/{id}/start"])
    client.post(start)
    world.faults(error_rate=1, fail_routes=["GET /campaign/{id}"])
    Campaign.objects.filter(pk=draft.pk).update(
        pending_since=timezone.now() - timedelta(minutes=5))  # long past the warning
    poll.refresh_one(draft.pk)
    draft.refresh_from_db()
    assert draft.pending_action == "start" and not draft.pending_overdue
    assert not draft.can_start
    client.post(start)
    assert world.calls_to("POST /campaign/{id}/start") == 1
    assert "you can try again" not in detail(client, draft)

    world.clear_faults()  # Atoms can be read: it shows the start carried out
    draft = wait_for_status(world, draft, "running", step=1)
    assert draft.pending_action == ""


def test_a_resume_atoms_never_carried_out_is_called_a_resume_everywhere(
        login_as, world, users, settings):
    """The person pressed Resume; the log, the page and the alert said "start"."""
    paused = make_campaign(world, users["staff"], "paused", audience_size=50)
    client = login_as("staff")
    world.faults(fail_routes=["POST /campaign/{id}/start"])  # 5xx: outcome unknown
    client.post(reverse("campaign_start", args=[paused.pk]))
    world.clear_faults()
    # Checked well after the resume, which came after every event of the campaign (its
    # start and pause, stamped by the simulator's clock) and after our last read of it.
    # The session's simulator clock stands still between tests: late in a long run it is
    # behind ours, and a read "sent" before our last one was rightly not written (the
    # test failed so once in a full run).
    resumed_at = max(datetime.fromisoformat(world.now()["now"]),
                     timezone.now()) + timedelta(minutes=5)
    Campaign.objects.filter(pk=paused.pk).update(pending_since=resumed_at)
    paused.refresh_from_db()
    detail_now = atoms_client().get_campaign(paused.atoms_id)
    poll.apply_results([(paused, (detail_now, None))], timezone.now(),
                       sent_at=resumed_at + poll.pending_bound(paused) + timedelta(seconds=1))
    paused.refresh_from_db()
    assert (paused.status, paused.lapsed_action) == ("paused", "start")
    entry = AuditEntry.objects.filter(action="start").latest("pk")
    assert entry.message.startswith("The resume was not carried out")
    assert "The last resume was not carried out" in detail(client, paused)
    assert any(alert.message.startswith(f"The last resume of “{paused.name}”")
               for alert in alerts.evaluate())


def test_a_start_whose_answer_was_lost_is_confirmed_by_the_poll(login_as, world, users):
    draft = make_campaign(world, users["staff"])
    world.faults(drop_response_rate=1, timeout_seconds=2,
                 fail_routes=["POST /campaign/{id}/start"])  # it lands, the answer is lost
    response = login_as("staff").post(reverse("campaign_start", args=[draft.pk]), follow=True)
    assert messages_of(response) == []
    assert "checking whether it was carried out" in response.content.decode()
    world.clear_faults()
    past_the_bound(draft)
    poll.refresh_one(draft.pk)
    draft.refresh_from_db()
    assert draft.status == "processing"
    assert (draft.pending_action, draft.lapsed_action) == ("", "")
    assert not AuditEntry.objects.filter(message__contains="not carried out").exists()
    # The activity log said "checking with Atoms"; it goes on to say what Atoms showed.
    assert list(AuditEntry.objects.filter(campaign=draft, action="start").order_by("pk")
                .values_list("outcome", "actor_name", "message"))[-1] == (
        "ok", "system", "The start was carried out after all: Atoms shows it.")


def test_a_pause_atoms_never_carried_out_is_cleared_and_offered_again(login_as, world, users):
    running = make_campaign(world, users["staff"], "running")
    admin = login_as("admin")
    world.faults(timeout_rate=1, timeout_seconds=2, fail_routes=["POST /campaign/{id}/pause"])
    response = admin.post(reverse("campaign_pause", args=[running.pk]), follow=True)
    assert messages_of(response) == []
    assert "checking whether it was carried out" in response.content.decode()
    world.clear_faults()
    past_the_bound(running)
    poll.refresh_one(running.pk)
    running.refresh_from_db()
    assert running.status == "running"
    assert (running.pending_action, running.lapsed_action) == ("", "pause")
    page = detail(admin, running)
    assert "The last pause was not carried out" in page and ">Pause<" in page

    # Once the campaign has finished, "you can ask again" would be untrue: it is forgotten
    # (the activity log keeps it), and its alert closes.
    finished = wait_for_status(world, running, "completed", step=600)
    assert finished.lapsed_action == ""
    page = detail(admin, finished)
    assert "The last pause was not carried out" not in page
    assert "The pause was not carried out" in page  # in the activity log


@pytest.mark.django_db(transaction=True)  # the request runs on a thread of its own
def test_a_start_the_poll_confirms_while_its_answer_is_still_awaited_is_logged_as_done(
        world, users, settings):
    """The poll saw Atoms carry it out before our request gave up: the log said "Failed:
    checking with Atoms" for good, since the check had already happened."""
    settings.ATOMS_READ_TIMEOUT = 3
    draft = make_campaign(world, users["staff"])
    world.faults(drop_response_rate=1, timeout_seconds=6,
                 fail_routes=["POST /campaign/{id}/start"])
    outcome = {}

    def press_start():
        try:
            services.start_campaign(users["staff"], draft)
        except services.ActionRefused as refused:
            outcome["refused"] = refused
        finally:
            connection.close()

    pressing = threading.Thread(target=press_start)
    pressing.start()
    deadline = time.monotonic() + 2.5  # before our request gives up
    while Campaign.objects.get(pk=draft.pk).pending_action != "start":  # the click's claim
        assert time.monotonic() < deadline
        time.sleep(0.02)
    while Campaign.objects.get(pk=draft.pk).pending_action == "start":
        assert time.monotonic() < deadline, "the poll did not see the start in time"
        time.sleep(0.2)  # the start reaches Atoms; its answer is held back
        poll.refresh_one(draft.pk)
    assert "refused" not in outcome  # still waiting for Atoms' answer
    pressing.join()
    world.clear_faults()
    assert outcome["refused"].may_have_happened  # so the page adds no message
    entries = list(AuditEntry.objects.filter(campaign=draft, action="start")
                   .values_list("outcome", "message"))
    assert entries == [("ok", "Atoms did not answer in time, but Atoms shows the start "
                              "carried out")]


@pytest.mark.django_db(transaction=True)  # the request runs on a thread of its own
def test_a_pause_the_poll_confirms_while_its_answer_is_awaited_names_this_pause(
        world, users, settings):
    """The poll drew "Paused" before our request gave up and logged the pause: open pages
    said "Paused by admin 8 minutes ago", an earlier pause, until something else moved
    (probe). Logged, the pause is drawn again."""
    settings.ATOMS_READ_TIMEOUT = 3
    running = make_campaign(world, users["staff"], "running")
    earlier = AuditEntry.objects.create(actor=users["admin"], actor_name=users["admin"].username,
                                        action="pause", outcome="ok", campaign=running)
    AuditEntry.objects.filter(pk=earlier.pk).update(
        created_at=timezone.now() - timedelta(minutes=8))
    watch(running.pk)  # an open page
    world.faults(drop_response_rate=1, timeout_seconds=6,
                 fail_routes=["POST /campaign/{id}/pause"])
    pressing = threading.Thread(target=lambda: pause_quietly(users["admin"], running))
    pressing.start()
    deadline = time.monotonic() + 2.5  # before our request gives up
    while Campaign.objects.get(pk=running.pk).pending_action != "pause":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    while Campaign.objects.get(pk=running.pk).pending_action == "pause":
        assert time.monotonic() < deadline, "the poll did not see the pause in time"
        time.sleep(0.2)
        world.advance(5)  # Atoms' pause lands a few seconds after it is asked
        poll.refresh_one(running.pk)
    pressing.join()
    world.clear_faults()
    html = redis_client().get(publish.fragment_key(running.pk, "detail")).decode()
    paused = re.search(r'Paused by ada-admin <time data-relative datetime="([^"]+)"', html)
    assert timezone.now() - datetime.fromisoformat(paused.group(1)) < timedelta(minutes=1)


def pause_quietly(user, campaign) -> None:
    try:
        services.pause_campaign(user, campaign)
    except services.ActionRefused:
        pass  # its outcome is what the test reads
    finally:
        connection.close()


def test_a_pause_not_carried_out_says_who_may_ask_again(users):
    """Pausing is for admins: the notice told staff "You can ask again" and managers that
    "someone with the staff or admin role" could."""
    lapsed = campaign_row(users["staff"], "running", lapsed_action="pause")
    html = publish.render_fragment(lapsed, "detail", [])
    assert '<span class="if-may-not-pause">Someone with the admin role can ask again.' in html
    assert '<span class="if-may-pause">You can ask again.' in html
    assert "staff or admin role can ask again" not in html
