"""When Atoms refuses, fails or times out, the create leaves no local campaign, keeps the
input, logs the attempt; and however often the form is sent, one campaign is made."""

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.connections import atoms_client
from campaigns.models import AuditEntry, Campaign, CreateRequest
from tests.campaign_factory import form_data
from tests.published import Published
from tests.waiting import wait_until

URL = reverse("campaign_new")


def assert_refused_and_kept(response, name: str) -> None:
    assert response.status_code == 422
    page = response.content.decode()
    assert f'value="{name}"' in page
    assert response.context["form"].non_field_errors()
    assert not Campaign.objects.exists()


@pytest.mark.django_db
def test_a_400_from_atoms_shows_its_reason_and_keeps_the_input(staff, sim):
    temporary = atoms_client().create_audience(
        "Temporary", "phoneNumber", b"firstName,phoneNumber\nAsha,+919800000001\n")
    data = form_data("Vanishing audience", audience=temporary.id)  # caches the pickers
    # The audience is in the cached picker list, but gone from Atoms when the form is sent.
    atoms_client().delete_audience(temporary.id)
    response = staff.post(URL, data)
    assert_refused_and_kept(response, "Vanishing audience")
    assert sim.calls_to("POST /campaign") == 1
    entry = AuditEntry.objects.get(action="create")
    assert entry.outcome == "refused"
    assert entry.campaign_name == "Vanishing audience"
    assert "udience" in entry.message  # Atoms' own words about the audience


@pytest.mark.django_db
def test_a_500_from_atoms_is_a_failure_that_can_be_retried(staff, sim):
    data = form_data("Try again later")
    sim.faults(fail_routes=["POST /campaign"])
    response = staff.post(URL, data)
    assert_refused_and_kept(response, "Try again later")
    assert "no new campaign shows up there yet" in response.content.decode()  # it looked
    assert sim.calls_to("POST /campaign") == 1  # a create is never retried blindly
    assert AuditEntry.objects.get(action="create").outcome == "failed"

    sim.clear_faults()
    retry = staff.post(URL, data)  # the same form, sent again
    assert retry.status_code == 302
    assert Campaign.objects.count() == 1


@pytest.mark.django_db
def test_a_timeout_that_created_nothing_leaves_nothing_and_a_resubmit_creates_once(
        staff, sim, settings):
    settings.ATOMS_READ_TIMEOUT = 1
    data = form_data("Slow day")
    sim.faults(timeout_rate=1, timeout_seconds=3, fail_routes=["POST /campaign"])
    response = staff.post(URL, data)
    assert_refused_and_kept(response, "Slow day")
    assert "it may still be making it. Send it again in a minute: the dashboard looks" in (
        response.context["form"].non_field_errors()[0])
    request = CreateRequest.objects.get()
    assert request.state == "uncertain" and request.may_land_until > timezone.now()
    assert AuditEntry.objects.get(action="create").outcome == "failed"

    sim.clear_faults()
    # Sent again at once: nothing shows up yet, and the first try may still land.
    again = staff.post(URL, data)
    assert_refused_and_kept(again, "Slow day")
    assert "may still be making it, so nothing new was created" in (
        again.context["form"].non_field_errors()[0])
    assert sim.calls_to("POST /campaign") == 1
    # Once it can no longer land, the same form creates it, once.
    CreateRequest.objects.update(may_land_until=timezone.now() - timedelta(seconds=1))
    assert staff.post(URL, data).status_code == 302
    assert Campaign.objects.count() == 1
    assert sim.calls_to("POST /campaign") == 2


@pytest.mark.django_db
def test_a_create_that_lands_after_the_dashboard_gave_up_is_found_not_doubled(
        staff, sim, settings):
    """A probe: Atoms 20 s slow, the dashboard gave up after 15 s, looked, found nothing
    and said "send it again"; sent again at once, it made a second campaign, and the slow
    one landed beside it a few seconds later."""
    settings.ATOMS_READ_TIMEOUT = 1
    data = form_data("Lands late")
    sim.faults(latency_ms=2500, fail_routes=["POST /campaign"])
    assert_refused_and_kept(staff.post(URL, data), "Lands late")
    sim.clear_faults()  # the slow create is on its way all the same
    assert_refused_and_kept(staff.post(URL, data), "Lands late")  # sent again at once

    wait_until(lambda: list(atoms_client().iter_campaigns(search="Lands late")),
               timeout=10, what="the slow create landing")
    assert staff.post(URL, data).status_code == 302  # found, and taken as this form's
    listed = list(atoms_client().iter_campaigns(search="Lands late"))
    assert [c.id for c in listed] == [Campaign.objects.get().atoms_id]
    assert sim.calls_to("POST /campaign") == 1


@pytest.mark.django_db
def test_a_timeout_after_atoms_created_it_is_reconciled_not_doubled(staff, sim, settings):
    settings.ATOMS_READ_TIMEOUT = 1
    data = form_data("Lost answer")
    # Atoms makes the campaign but the answer never arrives.
    sim.faults(drop_response_rate=1, timeout_seconds=3, fail_routes=["POST /campaign"])
    response = staff.post(URL, data)
    sim.clear_faults()
    # The dashboard looked for it in Atoms at once and adopted it.
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.name == "Lost answer"
    assert sim.calls_to("POST /campaign") == 1
    listed = [c for c in atoms_client().iter_campaigns(search="Lost answer")]
    assert [c.id for c in listed] == [campaign.atoms_id]


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_identical_posts_make_one_campaign(sim, atoms_settings, users):
    data = form_data("Double clicked")
    results = []

    def submit():
        client = Client()
        client.force_login(users["staff"])
        try:
            results.append(client.post(URL, data))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(results) == 10
    assert Campaign.objects.count() == 1
    assert sim.calls_to("POST /campaign") == 1
    campaign = Campaign.objects.get()
    detail = reverse("campaign_detail", args=[campaign.pk])
    assert {r["Location"] for r in results if r.status_code == 302} == {detail}
    assert AuditEntry.objects.filter(action="create", outcome="ok").count() == 1


@pytest.mark.django_db
def test_a_create_abandoned_by_a_dead_process_is_taken_over_without_doubling(staff, sim):
    from datetime import timedelta

    from django.utils import timezone

    data = form_data("Orphaned")
    assert staff.post(URL, data).status_code == 302  # Atoms made it...
    request = CreateRequest.objects.get()
    Campaign.objects.all().delete()  # ...but the process died before mirroring it
    CreateRequest.objects.filter(pk=request.pk).update(
        state="pending", campaign=None, updated_at=timezone.now() - timedelta(minutes=5))

    response = staff.post(URL, data)

    assert response.status_code == 302
    assert Campaign.objects.get().name == "Orphaned"
    assert sim.calls_to("POST /campaign") == 1  # found in Atoms, not created again


@pytest.mark.django_db
def test_create_and_start_whose_start_answer_is_lost_leaves_no_message_that_goes_stale(
        staff, sim, settings):
    """"Campaign created, but not started: ... checking whether the start was carried out"
    stayed on the page while the campaign ran and finished; the live note says it and
    follows Atoms."""
    settings.ATOMS_READ_TIMEOUT = 1
    sim.faults(drop_response_rate=1, timeout_seconds=3,
               fail_routes=["POST /campaign/{id}/start"])
    response = staff.post(URL, {**form_data("Start unanswered"), "submit_action": "start"},
                          follow=True)
    sim.clear_faults()
    assert [str(m) for m in response.context["messages"]] == ["Campaign created."]
    assert "checking whether it was carried out" in response.content.decode()
    assert sim.calls_to("POST /campaign/{id}/start") == 1


@pytest.mark.django_db
def test_create_and_start_whose_start_atoms_refuses_says_created_but_not_started(staff, sim):
    """A 4xx to the start: Atoms did not start it. The campaign is there, a draft with
    nothing pending, and the message says it was created and why it did not start."""
    sim.faults(error_status=400, fail_routes=["POST /campaign/{id}/start"])
    response = staff.post(URL, {**form_data("Start refused"), "submit_action": "start"},
                          follow=True)
    (said,) = [str(m) for m in response.context["messages"]]
    assert said.startswith("Campaign created, but not started: Atoms did not accept")
    campaign = Campaign.objects.get(name="Start refused")
    assert campaign.status == "draft" and campaign.pending_action == ""
    assert "checking whether it was carried out" not in response.content.decode()
    assert AuditEntry.objects.get(action="start").outcome == "refused"


@pytest.mark.django_db
def test_a_failed_create_that_could_not_be_looked_for_does_not_say_nothing_shows_up(
        staff, sim):
    """Both the create and the look for it failed: the page said "no new campaign shows
    up there yet", a look that never happened."""
    sim.faults(fail_routes=["POST /campaign", "GET /campaign"])
    response = staff.post(URL, form_data("Unseen"))
    assert_refused_and_kept(response, "Unseen")
    page = response.content.decode()
    assert "Atoms could not be asked whether it made the campaign" in page
    assert "shows up there" not in page


@pytest.mark.django_db
def test_a_fresh_form_after_an_unknown_create_says_what_is_known_of_the_first(staff, sim):
    """A create Atoms answered with a 500 (it may have made it): a fresh form of the same
    campaign was told the first "is being created right now", though nothing was."""
    sim.faults(fail_routes=["POST /campaign"])
    staff.post(URL, form_data("Maybe made"))
    sim.clear_faults()
    assert CreateRequest.objects.get().state == "uncertain"
    again = staff.post(URL, form_data("Maybe made"))  # a new token: another form
    assert again.status_code == 409
    page = again.content.decode()
    assert "whether Atoms made it is not known yet" in page
    assert "is being created right now" not in page


@pytest.mark.django_db
def test_a_campaign_made_here_tells_open_campaign_lists_once(
        staff, sim, django_capture_on_commit_callbacks):
    published = Published()
    data = form_data("Said once")
    with django_capture_on_commit_callbacks(execute=True):
        first = staff.post(URL, data)
        again = staff.post(URL, data)  # the same form sent twice: one campaign, said once
    assert first.status_code == again.status_code == 302
    assert Campaign.objects.count() == 1
    assert [m for m in published.messages() if "added" in m] == [
        {"added": [{"name": "Said once", "status": "draft"}]}]
