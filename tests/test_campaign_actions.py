"""Start, resume, pause and delete through the pages: the right people, one request per
intention, the pending state until Atoms confirms, and the activity log of every try."""

import json
import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import atoms, services
from campaigns.connections import atoms_client, redis_client
from campaigns.live import poll, publish
from campaigns.models import AuditEntry, Campaign
from tests.campaign_factory import campaign_input, campaign_row, make_campaign, wait_for_status
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(sim, atoms_settings, users):
    return sim


def detail_page(client, campaign) -> str:
    return client.get(reverse("campaign_detail", args=[campaign.pk])).content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def test_staff_start_a_draft_and_it_shows_starting_until_atoms_confirms(login_as, world, users):
    draft = make_campaign(world, users["staff"])
    poll.refresh_one(draft.pk)  # read from Atoms: still a draft, no numbers to date
    assert "numbers as of" not in detail_page(login_as("manager"), draft)
    response = login_as("staff").post(reverse("campaign_start", args=[draft.pk]), follow=True)
    draft.refresh_from_db()
    assert draft.pending_action == "start"
    assert "Start requested." in messages_of(response)[0]
    page = response.content.decode()
    assert "Starting…" in page
    assert world.calls_to("POST /campaign/{id}/start") == 1

    running = wait_for_status(world, draft, "running", step=1)
    assert running.pending_action == ""
    assert AuditEntry.objects.filter(action="start", outcome="ok").count() == 1


def test_a_second_start_while_starting_sends_nothing_to_atoms(login_as, world, users):
    draft = make_campaign(world, users["staff"])
    client = login_as("staff")
    client.post(reverse("campaign_start", args=[draft.pk]))
    response = client.post(reverse("campaign_start", args=[draft.pk]), follow=True)
    assert "Already starting." in messages_of(response)
    assert world.calls_to("POST /campaign/{id}/start") == 1
    assert list(AuditEntry.objects.filter(action="start").values_list("outcome", flat=True)
                .order_by("pk")) == ["ok", "refused"]


def test_start_on_a_running_campaign_is_refused_without_asking_atoms(login_as, world, users):
    running = make_campaign(world, users["staff"], "running")
    before = world.calls_to("POST /campaign/{id}/start")
    response = login_as("admin").post(reverse("campaign_start", args=[running.pk]), follow=True)
    # From a second tab after the first resumed it: what is true, not "only possible for".
    assert messages_of(response) == ["It is already running."]
    assert world.calls_to("POST /campaign/{id}/start") == before


def test_a_pause_of_a_paused_campaign_says_it_is_paused_and_a_finished_one_cannot_start(
        login_as, users):
    admin = login_as("admin")
    paused = campaign_row(users["staff"], "paused")
    response = admin.post(reverse("campaign_pause", args=[paused.pk]), follow=True)
    assert messages_of(response) == ["It is already paused."]
    done = campaign_row(users["staff"], "completed")
    response = admin.post(reverse("campaign_start", args=[done.pk]), follow=True)
    assert "only possible for draft, scheduled or paused" in messages_of(response)[0]


def test_an_admin_pauses_then_resumes(login_as, world, users):
    running = make_campaign(world, users["staff"], "running")
    admin = login_as("admin")
    response = admin.post(reverse("campaign_pause", args=[running.pk]), follow=True)
    assert "Pausing…" in response.content.decode()
    paused = wait_for_status(world, running, "paused", step=1)
    assert paused.paused_at is not None

    page = admin.get(reverse("campaign_detail", args=[paused.pk])).content.decode()
    assert ">Resume<" in page
    admin.post(reverse("campaign_start", args=[paused.pk]))
    resumed = wait_for_status(world, paused, "running", step=1)
    assert len(resumed.executions) == 2  # one execution per start or resume
    # The log says what happened then, nothing that stays "waiting" once it is done.
    assert [e.message for e in AuditEntry.objects.filter(campaign=running).order_by("pk")
            if e.action in ("pause", "start")][-2:] == [
        "Atoms accepted the pause.", "Atoms accepted the resume."]


def test_when_atoms_refuses_a_start_its_reason_is_shown_and_the_button_returns(
        login_as, world, users):
    draft = make_campaign(world, users["staff"])
    atoms_client().start_campaign(draft.atoms_id)  # started elsewhere, mirror not yet polled
    response = login_as("staff").post(reverse("campaign_start", args=[draft.pk]), follow=True)
    draft.refresh_from_db()
    assert draft.pending_action == ""
    entry = AuditEntry.objects.get(action="start")
    assert entry.outcome == "refused"
    assert entry.message in messages_of(response)[0]


def test_an_unconfirmed_start_can_be_retried_after_the_warning_time(login_as, world, users):
    draft = make_campaign(world, users["staff"])
    Campaign.objects.filter(pk=draft.pk).update(
        pending_action="start", pending_since=timezone.now() - timedelta(minutes=5))
    page = login_as("staff").get(reverse("campaign_detail", args=[draft.pk])).content.decode()
    assert "has not confirmed it after a minute" in page
    assert ">Start<" in page


def test_delete_needs_the_exact_name_typed(login_as, world, users):
    draft = make_campaign(world, users["staff"], name="Winter list")
    response = login_as("admin").post(reverse("campaign_delete", args=[draft.pk]),
                                      {"confirm_name": "winter list"})
    assert response.status_code == 422
    assert response.context["form"].errors["confirm_name"] == [
        "That is not the campaign's name."]
    assert 'value="winter list"' in response.content.decode()
    assert Campaign.objects.filter(pk=draft.pk).exists()
    assert world.calls_to("DELETE /campaign/{id}") == 0


def test_back_after_a_delete_says_the_campaign_was_deleted_and_when(login_as, world, users):
    """Back after deleting a campaign showed "There is no such campaign here: it may have
    been deleted, or the address is mistyped" (a probe): it was, and the page says so."""
    draft = make_campaign(world, users["staff"], name="Winter list")
    admin = login_as("admin")
    response = admin.post(reverse("campaign_delete", args=[draft.pk]),
                          {"confirm_name": "Winter list"})
    assert response.status_code == 302
    # A delete that failed leaves nothing to say once the campaign goes some other way.
    kept = make_campaign(world, users["staff"], name="Summer list")
    world.faults(fail_routes=["DELETE /campaign/{id}"], error_status=400)
    admin.post(reverse("campaign_delete", args=[kept.pk]), {"confirm_name": "Summer list"})
    world.clear_faults()
    assert Campaign.objects.filter(pk=kept.pk).exists()
    Campaign.objects.filter(pk=kept.pk).delete()
    pages = [admin.get(reverse(name, args=[draft.pk]))
             for name in ("campaign_delete", "campaign_detail")]
    gone_otherwise = admin.get(reverse("campaign_detail", args=[kept.pk])).content.decode()
    never_was = admin.get(reverse("campaign_detail", args=[draft.pk + 1000])).content.decode()
    manager = login_as("manager")  # following an old link
    pages += [manager.get(reverse(name, args=[draft.pk]))
              for name in ("campaign_detail", "campaign_calls")]
    said = "it is no longer in Atoms or on this dashboard."
    for page in pages[:2]:  # who deleted it: the activity log's to say, to admins
        assert page.status_code == 404
        assert f"“Winter list” was deleted just now by ada-admin: {said}" in page.content.decode()
    for page in pages[2:]:
        assert page.status_code == 404
        assert f"“Winter list” was deleted just now: {said}" in page.content.decode()
    AuditEntry.objects.filter(campaign_pk=draft.pk).update(
        created_at=timezone.now() - timedelta(hours=3))
    assert "was deleted 3\xa0hours ago:" in manager.get(
        reverse("campaign_detail", args=[draft.pk])).content.decode()
    assert "There is no such campaign here" in gone_otherwise
    assert "There is no such campaign here" in never_was


def test_the_delete_page_of_a_resuming_campaign_reads_as_one_sentence(login_as, users):
    resuming = campaign_row(users["staff"], "processing", paused_at=timezone.now())
    page = login_as("admin").get(reverse("campaign_delete", args=[resuming.pk])).content.decode()
    assert "This campaign is resuming. Pause it first, then delete it." in page


def test_a_pause_answered_not_found_is_believed_only_when_the_list_agrees(
        login_as, world, users):
    """A 404 to a pause marked a campaign "Deleted in Atoms" at once: a passing fault of
    Atoms' then took its Pause away while it went on dialling (probe). The poll asks the
    list first; a campaign really gone is still marked."""
    running = make_campaign(world, users["staff"], "running")
    gone = make_campaign(world, users["staff"], "paused", name="Gone")
    admin = login_as("admin")
    world.faults(fail_routes=["POST /campaign/{id}/pause"], error_status=404)
    response = admin.post(reverse("campaign_pause", args=[running.pk]), follow=True)
    assert ("Atoms could not find this campaign, so the pause was not carried out. The "
            "dashboard is checking with Atoms whether it was deleted") in response.content.decode()
    poll.refresh_one(running.pk)
    running.refresh_from_db()
    assert running.deleted_remotely_at is None and running.button_state == "running:::"
    assert ">Pause<" in detail_page(admin, running)
    world.clear_faults()
    world.advance(100_000)
    atoms_client().delete_campaign(gone.atoms_id)  # deleted elsewhere, then resumed here
    admin.post(reverse("campaign_start", args=[gone.pk]))
    poll.refresh_one(gone.pk)
    gone.refresh_from_db()
    assert gone.deleted_remotely_at is not None


def test_a_running_campaign_cannot_be_deleted_the_page_offers_pause(login_as, world, users):
    running = make_campaign(world, users["staff"], "running")
    admin = login_as("admin")
    detail = admin.get(reverse("campaign_detail", args=[running.pk])).content.decode()
    assert "pause it first" in detail and ">Pause<" in detail and ">Delete<" not in detail
    page = admin.get(reverse("campaign_delete", args=[running.pk])).content.decode()
    assert "Pause it first" in page and "Pause it</button>" in page
    response = admin.post(reverse("campaign_delete", args=[running.pk]),
                          {"confirm_name": running.name})
    assert response.status_code == 422
    assert world.calls_to("DELETE /campaign/{id}") == 0
    assert AuditEntry.objects.get(action="delete").outcome == "refused"


def test_deleting_removes_it_from_atoms_and_here_and_the_log_keeps_its_name(
        login_as, world, users):
    paused = make_campaign(world, users["staff"], "paused", name="Old list")
    atoms_id = paused.atoms_id
    response = login_as("admin").post(reverse("campaign_delete", args=[paused.pk]),
                                      {"confirm_name": "Old list"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("campaign_list")
    assert "Campaign “Old list” deleted." in messages_of(response)
    assert not Campaign.objects.filter(pk=paused.pk).exists()
    with pytest.raises(atoms.AtomsNotFound):
        atoms_client().get_campaign(atoms_id)
    entry = AuditEntry.objects.get(action="delete")
    assert (entry.outcome, entry.campaign_name, entry.atoms_id, entry.campaign_id) == (
        "ok", "Old list", atoms_id, None)


def test_a_delete_whose_answer_was_lost_is_checked_with_atoms_and_done(login_as, world, users):
    """Atoms deleted it and the answer was lost: asked, Atoms no longer has it, so it is
    removed here too, instead of "cannot tell" beside a Delete button for a campaign gone."""
    paused = make_campaign(world, users["staff"], "paused", name="Old list")
    world.faults(drop_response_rate=1, timeout_seconds=1, fail_routes=["DELETE /campaign/{id}"])
    response = login_as("admin").post(reverse("campaign_delete", args=[paused.pk]),
                                      {"confirm_name": "Old list"}, follow=True)
    world.clear_faults()
    assert response.redirect_chain[-1][0] == reverse("campaign_list")
    assert "Campaign “Old list” deleted." in messages_of(response)
    assert not Campaign.objects.filter(pk=paused.pk).exists()
    assert world.calls_to("DELETE /campaign/{id}") == 1
    assert "answer was lost" in AuditEntry.objects.get(action="delete", outcome="ok").message


def test_a_delete_that_failed_is_said_and_the_campaign_kept(login_as, world, users):
    paused = make_campaign(world, users["staff"], "paused", name="Old list")
    world.faults(error_rate=1, fail_routes=["DELETE /campaign/{id}"])  # not carried out
    response = login_as("admin").post(reverse("campaign_delete", args=[paused.pk]),
                                      {"confirm_name": "Old list"})
    world.clear_faults()
    assert response.status_code == 422
    page = response.content.decode()
    assert "and Atoms still has it: nothing was deleted." in page  # looked, not "cannot tell"
    assert Campaign.objects.filter(pk=paused.pk).exists()
    assert atoms_client().get_campaign(paused.atoms_id).campaign.status == "paused"


def test_a_delete_whose_answer_never_came_does_not_say_nothing_was_deleted(
        login_as, world, users, settings):
    """A probe, Atoms 20 s slow: the page said "Atoms still has it: nothing was deleted"
    and Atoms deleted it 4 s later. Still there is not never deleted."""
    settings.ATOMS_READ_TIMEOUT = 1
    paused = make_campaign(world, users["staff"], "paused", name="Slow to go")
    world.faults(latency_ms=2500, fail_routes=["DELETE /campaign/{id}"])
    response = login_as("admin").post(reverse("campaign_delete", args=[paused.pk]),
                                      {"confirm_name": "Slow to go"})
    world.clear_faults()
    assert response.status_code == 422
    page = response.content.decode()
    assert "nothing was deleted" not in page
    assert "did not answer in time and still shows it, but may yet delete it" in page
    wait_until(lambda: services.gone_from_atoms(  # and Atoms did delete it
        lambda: atoms_client().get_campaign(paused.atoms_id)), timeout=10,
        what="the slow delete landing")
    # The page looked again by itself, and says so (a probe: it said "look again in a
    # minute" for good, and had to be left to find out).
    outcome = reverse("campaign_delete_outcome", args=[paused.pk])
    assert f'hx-get="{outcome}" hx-trigger="every ' in page and "<form" not in page.split(
        'id="delete-zone"')[1]
    found = login_as("admin").get(outcome, HTTP_HX_REQUEST="true").content.decode()
    assert "Atoms has deleted “Slow to go”, and it is off the dashboard too." in found
    assert "hx-trigger" not in found
    assert not Campaign.objects.filter(pk=paused.pk).exists()
    assert AuditEntry.objects.filter(
        action="delete", outcome="ok", campaign_pk=paused.pk,
        message__contains="found deleted on looking again").count() == 1


def test_a_delete_atoms_never_answered_nor_did_is_said_not_done_once_it_cannot_be(
        login_as, world, users, settings):
    settings.ATOMS_READ_TIMEOUT = 1
    paused = make_campaign(world, users["staff"], "paused", name="Never went")
    admin = login_as("admin")
    world.faults(timeout_rate=1, timeout_seconds=3, fail_routes=["DELETE /campaign/{id}"])
    response = admin.post(reverse("campaign_delete", args=[paused.pk]),
                          {"confirm_name": "Never went"})
    world.clear_faults()
    assert "but may yet delete it" in response.content.decode()
    outcome = reverse("campaign_delete_outcome", args=[paused.pk])
    assert "Looking in Atoms again every" in response.content.decode()
    assert admin.get(outcome, HTTP_HX_REQUEST="true").status_code == 204  # not known yet
    settled = wait_until(lambda: admin.get(outcome, HTTP_HX_REQUEST="true").content.decode(),
                         timeout=10, what="the time Atoms could still be at work on it to pass")
    assert "Atoms did not delete it" in settled and "You can delete it again." in settled
    assert "hx-trigger" not in settled
    assert 'value="Never went"' in settled  # the name typed before, for the second try
    assert Campaign.objects.filter(pk=paused.pk).exists()
    assert atoms_client().get_campaign(paused.atoms_id).campaign.status == "paused"
    # And the second try goes through.
    again = admin.post(reverse("campaign_delete", args=[paused.pk]), {"confirm_name": "Never went"})
    assert again.status_code == 302 and not Campaign.objects.filter(pk=paused.pk).exists()


def test_asking_what_came_of_a_delete_nobody_sent_changes_nothing(login_as, world, users):
    """The address the page asks is no way to delete: without a delete left unanswered it
    shows the form, even of a campaign Atoms no longer has."""
    paused = make_campaign(world, users["staff"], "paused", name="Not asked")
    atoms_client().delete_campaign(paused.atoms_id)  # gone from Atoms, by someone else
    page = login_as("admin").get(reverse("campaign_delete_outcome", args=[paused.pk]),
                                 HTTP_HX_REQUEST="true").content.decode()
    assert 'name="confirm_name"' in page and "hx-trigger" not in page
    assert "did not delete it" not in page and "has deleted" not in page
    assert Campaign.objects.filter(pk=paused.pk).exists()
    refused = login_as("manager").get(reverse("campaign_delete_outcome", args=[paused.pk]))
    assert refused.status_code == 403


def test_activity_filters_that_match_nothing_say_so_not_no_activity_yet(login_as, world, users):
    make_campaign(world, users["staff"], name="Logged")  # some activity, none failed
    page = login_as("admin").get(reverse("activity"), {"outcome": "failed"}).content.decode()
    assert "Nothing matches these filters" in page and "No activity yet" not in page


def test_the_activity_page_lists_every_try_with_who_and_atoms_message(login_as, world, users):
    draft = make_campaign(world, users["staff"], name="Logged")
    login_as("manager").post(reverse("campaign_pause", args=[draft.pk]))
    page = login_as("admin").get(reverse("activity")).content.decode()
    assert page.count('data-testid="activity-row"') == 2
    assert "sam-staff" in page and "mia-manager" in page
    assert "Not allowed: Pausing a campaign needs the admin role." in page
    refused_only = login_as("admin").get(reverse("activity"), {"outcome": "refused"})
    assert refused_only.content.decode().count('data-testid="activity-row"') == 1
    # A bad action (an edited address) is left out on its own, and said.
    edited = login_as("admin").get(reverse("activity"), {"outcome": "refused",
                                                          "action": "bogus"}).content.decode()
    assert edited.count('data-testid="activity-row"') == 1
    assert "Action: Select a valid choice." in edited and 'id="id_action_error"' in edited
    # A resume is found under its name: the filter and the rows said "Start" (a probe).
    starts = login_as("admin").get(reverse("activity"), {"action": "start"}).content.decode()
    assert '<option value="start" selected>Start or resume</option>' in starts


def test_a_pause_during_an_outage_shows_one_live_note_not_a_message_that_stays(
        login_as, world, users):
    """The outcome is unknown: the page's live note says so and follows Atoms' answer. A
    message beside it would stay on the page, saying "checking", after the answer came."""
    running = make_campaign(world, users["staff"], "running")
    world.faults(fail_routes=["POST /campaign/{id}/pause"])  # Atoms answers 500
    response = login_as("admin").post(reverse("campaign_pause", args=[running.pk]),
                                      follow=True)
    page = response.content.decode()
    assert list(response.wsgi_request._messages) == []
    assert "flash-error" not in page
    assert "Pausing…" in page  # it may still land: the page waits for Atoms to say
    # The pending note (rendered once for all viewers) does not claim Atoms accepted it.
    running.refresh_from_db()
    note = publish.render_fragment(running, "detail", [])
    assert "Atoms has not confirmed it" in note and "accepted" not in note


def test_a_confirmed_pause_that_only_clears_the_pending_action_tells_pages(
        login_as, world, users):
    """The status was already "paused" in the mirror (seen by a sync) while the pause was
    still pending: confirming it changes only the pending action, but the buttons change,
    so open pages must be told as for a status change."""
    paused = make_campaign(world, users["staff"], "paused")
    Campaign.objects.filter(pk=paused.pk).update(pending_action="pause",
                                                 pending_since=timezone.now())
    pubsub = redis_client().pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(publish.channel())
    try:
        poll.refresh_one(paused.pk)
        message = None
        for _ in range(20):
            message = pubsub.get_message(timeout=0.5)
            if message and b'"campaign"' in message["data"]:
                break
        change = json.loads(message["data"])
    finally:
        pubsub.close()
    assert change["campaign"] == paused.pk and change["status_changed"] is True


def test_words_for_processing_and_pending_resume(world, users):
    paused = make_campaign(world, users["staff"], "paused")
    paused.pending_action = "start"
    assert paused.pending_label == "Resuming"
    paused.status = "processing"
    assert paused.status_label == "Resuming…"
    fresh = Campaign(status="processing")
    assert fresh.status_label == "Starting…"
    assert Campaign(status="paused").is_final is False
    assert Campaign(status="completed").is_final is True


def test_a_scheduled_campaign_offers_start_now_and_once_started_says_it_was_scheduled(
        login_as, world, users):
    """Its Start starts it at once, so the button says so; its page then no longer says
    it starts at a time that is past or never came."""
    scheduled = services.create_campaign(
        users["staff"], uuid.uuid4(),
        campaign_input("Later", scheduled_at=timezone.now() + timedelta(days=1)),
        start=False).campaign
    staff = login_as("staff")
    page = staff.get(reverse("campaign_detail", args=[scheduled.pk])).content.decode()
    assert ">Start now<" in page and "<dt>Starts at</dt>" in page
    staff.post(reverse("campaign_start", args=[scheduled.pk]))
    started = wait_for_status(world, scheduled, "processing", step=1)
    page = staff.get(reverse("campaign_detail", args=[started.pk])).content.decode()
    assert "<dt>Was scheduled for</dt>" in page and "<dt>Starts at</dt>" not in page
