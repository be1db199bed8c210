"""A create whose outcome is unknown is reconciled with Atoms before anything is created
again: whether the orphan was mirrored meanwhile, and whether our database connection died
between Atoms' answer and our write."""

import threading
import time

import psycopg
import psycopg.sql
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from campaigns.connections import atoms_client
from campaigns.live import sync
from campaigns.models import Campaign, CreateRequest
from dashboard import processes
from tests.campaign_factory import form_data

URL = reverse("campaign_new")


def in_atoms(name: str) -> list[str]:
    return [c.id for c in atoms_client().iter_campaigns(search=name) if c.name == name]


@pytest.mark.django_db
def test_a_resubmit_after_the_sync_mirrored_the_orphan_adopts_it(staff, sim, settings, users):
    settings.ATOMS_READ_TIMEOUT = 1
    data = form_data("Mirrored orphan")
    # The create lands but its answer is lost, and the follow-up lookup fails too.
    sim.faults(drop_response_rate=1, timeout_seconds=2,
               fail_routes=["POST /campaign", "GET /campaign"])
    response = staff.post(URL, data)
    assert response.status_code == 422
    assert CreateRequest.objects.get().state == "uncertain"
    sim.clear_faults()
    sync.sync_campaign_list()  # the periodic sync imports the orphan
    orphan = Campaign.objects.get(name="Mirrored orphan")

    response = staff.post(URL, data)  # the same form, sent again

    assert response.status_code == 302
    assert len(in_atoms("Mirrored orphan")) == 1
    assert Campaign.objects.filter(name="Mirrored orphan").count() == 1
    orphan.refresh_from_db()
    assert orphan.created_by == users["staff"]
    request = CreateRequest.objects.get()
    assert (request.state, request.campaign_id) == ("created", orphan.pk)
    assert response["Location"] == reverse("campaign_detail", args=[orphan.pk])


def kill_backend_while_atoms_works(pid: int) -> threading.Thread:
    """End our database session while the create waits for Atoms' (slow) answer.

    The create commits its request before it calls Atoms, so the session is ended once that
    row shows up (plus a moment for the call to leave), however slowly the form before it
    was handled: a fixed sleep killed it before the call on a busy machine."""
    recorded = psycopg.sql.SQL("SELECT count(*) FROM {}").format(
        psycopg.sql.Identifier(CreateRequest._meta.db_table))

    def kill():
        with psycopg.connect(processes.database_url(), autocommit=True) as admin:
            deadline = time.monotonic() + 30
            while (not admin.execute(recorded).fetchone()[0]
                   and time.monotonic() < deadline):
                time.sleep(0.05)
            time.sleep(0.3)  # Atoms answers after 1.5 s of latency
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])

    thread = threading.Thread(target=kill)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_losing_the_database_mid_create_leaves_no_duplicate_and_no_false_wait(staff, sim):
    data = form_data("Lost connection")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    sim.faults(latency_ms=1500, fail_routes=["POST /campaign"])
    killer = kill_backend_while_atoms_works(pid)
    staff.raise_request_exception = False
    first = staff.post(URL, data)
    killer.join()
    connection.close()  # ended for sure: later queries (and the teardown) open a new one
    sim.clear_faults()
    assert first.status_code != 302
    assert len(in_atoms("Lost connection")) == 1  # Atoms made it
    sync.sync_campaign_list()  # and the sync may mirror it before the resubmit

    started = time.monotonic()
    again = staff.post(URL, data)  # at once, not two minutes later

    assert time.monotonic() - started < 10  # no wait for a submit that no longer runs
    assert again.status_code == 302
    assert len(in_atoms("Lost connection")) == 1
    campaign = Campaign.objects.get(name="Lost connection")
    assert again["Location"] == reverse("campaign_detail", args=[campaign.pk])
    assert CreateRequest.objects.get().state == "created"
    assert sim.calls_to("POST /campaign") == 1


@pytest.mark.django_db
def test_a_back_button_resubmit_asks_before_making_a_second_campaign(staff, sim):
    data = form_data("Back again")
    assert staff.post(URL, data).status_code == 302
    # Back, then Create again: the browser refills the fields, the page has a new token.
    again = {**data, "token": form_data("Back again")["token"]}
    response = staff.post(URL, again)
    assert response.status_code == 409
    page = response.content.decode()
    assert "This looks like a campaign you already made." in page
    assert 'value="Back again"' in page  # nothing the user typed is lost
    assert sim.calls_to("POST /campaign") == 1
    assert Campaign.objects.filter(name="Back again").count() == 1

    confirmed = staff.post(URL, {**again, "confirm_duplicate": "1"})  # "another anyway"
    assert confirmed.status_code == 302
    assert len(in_atoms("Back again")) == 2


@pytest.mark.django_db(transaction=True)
def test_three_forms_sent_at_once_make_one_campaign_and_the_others_are_asked(
        sim, atoms_settings, users):
    """Three people (or tabs) press "Create and start" for the same campaign on three forms
    at the same moment, while Atoms is slow (its do-not-call list, read before a start, and
    the create): the first is made, the other two get the question."""
    sim.faults(latency_ms=800, fail_routes=["POST /campaign", "GET /dnc"])
    forms = [{**form_data("All at once"), "submit_action": "start"} for _ in range(3)]
    answers: list[int] = []
    together = threading.Barrier(3)

    def send(form):
        client = Client()
        client.force_login(users["staff"])
        together.wait(timeout=10)
        try:
            answers.append(client.post(URL, form).status_code)
        finally:
            connection.close()  # this thread's own database session

    senders = [threading.Thread(target=send, args=(form,)) for form in forms]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(timeout=30)
    sim.clear_faults()
    assert sorted(answers) == [302, 409, 409]
    assert sim.calls_to("POST /campaign") == 1
    assert len(in_atoms("All at once")) == 1


@pytest.mark.django_db(transaction=True)
def test_a_submit_while_the_same_form_is_still_being_sent_keeps_what_was_typed(
        sim, atoms_settings, users):
    """The second of two submits of one form (another tab, a click before) gave up waiting
    and said "it will show here in a moment" on the campaign list, the typed form gone;
    the first then failed, and nothing ever showed."""
    atoms_settings.DUPLICATE_SUBMIT_WAIT_SECONDS = 1
    data = form_data("Sent twice")
    clients = [Client(), Client()]
    for client in clients:
        client.force_login(users["staff"])
    sim.faults(latency_ms=4000, fail_routes=["POST /campaign"])
    first = threading.Thread(target=clients[0].post, args=(URL, data))
    first.start()
    try:
        deadline = time.monotonic() + 10
        while not CreateRequest.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # the first submit owns the form and waits for Atoms
        second = clients[1].post(URL, data)
    finally:
        first.join()
        sim.clear_faults()
    assert second.status_code == 409
    page = second.content.decode()
    assert "This same form is still being sent to Atoms" in page
    assert 'value="Sent twice"' in page  # nothing typed is lost
    assert sim.calls_to("POST /campaign") == 1
