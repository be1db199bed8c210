"""The do-not-call list: kept here, merged with Atoms' GET /dnc, honoured before a start."""

import re
import time
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from campaigns import atoms, calling_hours, outcomes, preflight, services
from campaigns.connections import atoms_client
from campaigns.live import poll
from campaigns.models import AuditEntry, CallRecord, Campaign, SuppressedNumber
from tests.campaign_factory import (
    campaign_input,
    campaign_row,
    form_data,
    list_a_number_awaiting_retry,
    make_campaign,
    wait_for_status,
)

pytestmark = pytest.mark.django_db
LIST = reverse("suppression_list")


@pytest.fixture
def world(sim, atoms_settings, users):
    return sim


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def pilot_members():
    client = atoms_client()
    pilot = next(a for a in client.list_audiences() if a.name == "Pilot testers")
    return pilot, client.all_audience_members(pilot.id)


def draft_with_a_listed_contact(world, users):
    """A draft on Pilot testers, the first of whom is on the do-not-call list."""
    draft = make_campaign(world, users["staff"])
    _, members = pilot_members()
    SuppressedNumber.objects.create(phone_number=members[0].data["phoneNumber"])
    return draft


def test_a_number_added_by_hand_is_stored_in_e164(login_as, world):
    staff = login_as("staff")
    response = staff.post(reverse("suppression_add"),
                          {"phone_number": "(415) 555-0142", "region": "US", "note": "asked"})
    assert ("+14155550142 is on the do-not-call list: no upload or start will include it."
            in messages_of(response))
    entry = SuppressedNumber.objects.get()
    assert (entry.phone_number, entry.source, entry.note) == ("+14155550142", "manual", "asked")
    again = staff.post(reverse("suppression_add"), {"phone_number": "+1 415 555 0142",
                                                    "region": "US"})
    assert "already on the list" in messages_of(again)[-1]
    assert AuditEntry.objects.filter(action="suppress").count() == 1


def test_a_number_that_cannot_be_read_is_refused_beside_the_field(login_as, world):
    response = login_as("staff").post(reverse("suppression_add"),
                                      {"phone_number": "12345", "region": "US", "note": "x"})
    assert response.status_code == 422
    assert response.context["add_form"].errors["phone_number"] == [
        "Too short to be a phone number."]
    assert 'value="12345"' in response.content.decode()
    assert not SuppressedNumber.objects.exists()
    empty = login_as("staff").post(reverse("suppression_add"), {"region": "US", "note": "x"})
    assert empty.context["add_form"].errors["phone_number"] == [
        "Type the number that must not be called."]  # not "This field is required."


def test_numbers_added_from_a_csv_count_added_already_and_unreadable(login_as, world):
    SuppressedNumber.objects.create(phone_number="+14155550100")
    content = b"name,mobile\nA,+14155550100\nB,(415) 555-0101\nC,nope\nD,415 555 0102\n"
    response = login_as("staff").post(reverse("suppression_import"), {
        "file": SimpleUploadedFile("dnc.csv", content), "phone_column": "", "region": "US"})
    assert messages_of(response) == [
        "2 numbers added, 1 already listed. 1 row could not be read as numbers and was not "
        "added (line 4, “nope”: Not a phone number.)."]
    assert set(SuppressedNumber.objects.values_list("phone_number", flat=True)) == {
        "+14155550100", "+14155550101", "+14155550102"}
    assert SuppressedNumber.objects.get(phone_number="+14155550101").source == "csv"


def test_a_files_note_column_gives_each_number_its_note_and_the_log_names_them(
        login_as, world):
    """Notes in the file were dropped, and the log said only "Added 3 numbers" (probe)."""
    content = ("\ufeffNumber;Note\n+14155550170;asked by email\n"
               "+14155550171;\n+14155550172;court order\n").encode()
    login_as("staff").post(reverse("suppression_import"), {
        "file": SimpleUploadedFile("dnc.csv", content), "phone_column": "", "region": "US"})
    assert dict(SuppressedNumber.objects.values_list("phone_number", "note")) == {
        "+14155550170": "asked by email", "+14155550171": "", "+14155550172": "court order"}
    assert AuditEntry.objects.get(action="suppress").message == (
        "Added 3 numbers from a CSV file: +14155550170, +14155550171, +14155550172")


def test_a_do_not_call_file_of_bare_numbers_is_listed_with_its_notes(login_as, world):
    content = b"+14155550605\n(415) 555-0606,asked by letter\n"
    login_as("staff").post(reverse("suppression_import"), {
        "file": SimpleUploadedFile("dnc.csv", content), "phone_column": "", "region": "US"})
    assert dict(SuppressedNumber.objects.values_list("phone_number", "note")) == {
        "+14155550605": "", "+14155550606": "asked by letter"}


def test_a_long_note_in_a_do_not_call_file_never_keeps_its_number_off_the_list(
        login_as, world):
    content = f"number,note\n+14155550173,{'n' * 800}\n".encode()
    login_as("staff").post(reverse("suppression_import"), {
        "file": SimpleUploadedFile("dnc.csv", content), "phone_column": "", "region": "US"})
    entry = SuppressedNumber.objects.get()
    assert entry.phone_number == "+14155550173" and entry.note == "n" * 200


def test_a_note_typed_for_a_number_already_listed_is_said_not_saved(login_as, world):
    """It was dropped without a word (probe)."""
    SuppressedNumber.objects.create(phone_number="+14155550142", note="asked on the phone")
    staff = login_as("staff")
    response = staff.post(reverse("suppression_add"), {
        "phone_number": "(415) 555-0142", "region": "US", "note": "asked by email"})
    assert messages_of(response) == [
        "+14155550142 was already on the list. Its note is unchanged (“asked on the phone”): "
        "“asked by email” was not saved."]
    assert SuppressedNumber.objects.get().note == "asked on the phone"
    again = staff.post(reverse("suppression_add"), {
        "phone_number": "+14155550142", "region": "US", "note": ""})
    assert messages_of(again)[-1] == "+14155550142 was already on the list."  # no note


def test_a_file_with_many_unreadable_rows_names_the_first_three_with_their_reasons(
        login_as, world):
    content = b"phone\n" + b"".join(f"bad {n}\n".encode() for n in range(5))
    response = login_as("staff").post(reverse("suppression_import"), {
        "file": SimpleUploadedFile("dnc.csv", content), "phone_column": "", "region": "US"})
    assert messages_of(response) == [
        "0 numbers added, 0 already listed. 5 rows could not be read as numbers and were not "
        "added (line 2, “bad 0”: Not a phone number.; line 3, “bad 1”: Not a phone number.; "
        "line 4, “bad 2”: Not a phone number.; and 2 more)."]


def test_a_do_not_call_file_may_be_longer_than_an_audience_and_says_its_repeats(
        login_as, world):
    rows = "".join(f"+4420794{n:05d}\n" for n in range(12_000))
    content = ("phone\n" + rows + "+442079400001\n").encode()
    response = login_as("staff").post(reverse("suppression_import"), {
        "file": SimpleUploadedFile("dnc.csv", content), "phone_column": "", "region": "GB"})
    assert messages_of(response) == ["12,000 numbers added, 0 already listed. 1 row "
                                     "repeated a number earlier in the file."]
    assert SuppressedNumber.objects.count() == 12_000


def test_a_bad_csv_of_numbers_gets_its_sentence_beside_the_field(login_as, world):
    response = login_as("staff").post(reverse("suppression_import"), {
        "file": SimpleUploadedFile("dnc.csv", b"\x00\x01\x02\x03"), "phone_column": "",
        "region": "US"})
    assert response.status_code == 422
    assert "not a text file" in response.context["import_form"].errors["file"][0]


@pytest.mark.parametrize("refused", ["suppression_add", "suppression_import"])
def test_after_a_refused_form_the_search_and_pager_still_lead_to_the_list(login_as, world,
                                                                          refused):
    # The refused form comes back at /add/ or /import/, which take POSTs only: a search
    # or pager link relative to them was a GET there, a 405.
    SuppressedNumber.objects.bulk_create(
        SuppressedNumber(phone_number=f"+4420794{n:05d}") for n in range(150))
    admin = login_as("admin")
    response = admin.post(reverse(refused), {
        "phone_number": "12345", "region": "US",
        "file": SimpleUploadedFile("dnc.csv", b"\x00\x01"), "phone_column": ""})
    assert response.status_code == 422
    page = response.content.decode()
    search = re.search(r'<form method="get"[^>]*role="search"', page).group()
    assert f'action="{LIST}#dnc-search"' in search
    assert f'href="{LIST}?page=2"' in page
    assert admin.get(f"{LIST}?page=2").status_code == 200


def test_the_two_forms_of_the_list_page_have_ids_of_their_own(login_as, world):
    SuppressedNumber.objects.create(phone_number="+14155550100")
    admin = login_as("admin")
    for page in (admin.get(LIST).content.decode(),
                 admin.post(reverse("suppression_import"), {
                     "file": SimpleUploadedFile("dnc.csv", b"\x00\x01"), "region": "US",
                     "phone_column": ""}).content.decode()):
        ids = Counter(re.findall(r'\sid="([^"]+)"', page))
        assert [i for i, n in ids.items() if n > 1] == []
        # Each "Country" label names its own form's select.
        assert 'for="id_region"' in page and 'for="id_import_region"' in page
        assert re.search(r'<select name="region"[^>]* id="id_import_region"', page)


@pytest.mark.parametrize("column", ["mobile", ""])
def test_an_import_refused_for_its_column_asks_for_the_file_again(login_as, world, column):
    # "mobile" is refused by the form, an empty one by the import (no column looks like
    # numbers): either way the page comes back without the file.
    response = login_as("staff").post(reverse("suppression_import"), {
        "file": SimpleUploadedFile("dnc.csv", b"name,note\nAsha,hi\n"),
        "phone_column": column, "region": "US"})
    assert response.status_code == 422
    form = response.context["import_form"]
    assert form.errors["phone_column"]
    assert form.errors["file"] == [
        "Choose the file again: a browser does not keep a chosen file when the form comes "
        "back."]
    assert not SuppressedNumber.objects.exists()


def test_the_list_page_shows_ours_and_atoms_entries(login_as, world):
    SuppressedNumber.objects.create(phone_number="+14155550100")
    page = login_as("manager").get(LIST).content.decode()
    assert page.count('data-testid="dnc-local"') == 1
    assert page.count('data-testid="dnc-remote"') == 2
    assert "+442079460000" in page and "+14155550100" in page
    # How Atoms says each came there, in words, not its enum ("manual_upload").
    assert "<td>Manual upload</td>" in page and "manual_upload" not in page
    assert "Never call this number" not in page  # managers only read it


def test_managers_cannot_change_the_list(login_as, world):
    response = login_as("manager").post(reverse("suppression_add"),
                                        {"phone_number": "+14155550100", "region": "US"})
    assert response.status_code == 403
    assert not SuppressedNumber.objects.exists()


def test_start_with_a_suppressed_contact_warns_with_the_count_and_sends_nothing(
        login_as, world, users):
    draft = make_campaign(world, users["staff"])
    _, members = pilot_members()
    SuppressedNumber.objects.create(phone_number=members[0].data["phoneNumber"])
    response = login_as("staff").post(reverse("campaign_start", args=[draft.pk]), follow=True)
    assert response.redirect_chain == [(reverse("campaign_start", args=[draft.pk]), 302)]
    listed = members[0].data["phoneNumber"]
    assert (f"1 of this campaign's contacts is on the do-not-call list and must not be "
            f'called: <span data-testid="listed-numbers">{listed}</span>.'
            in response.content.decode())
    assert world.calls_to("POST /campaign/{id}/start") == 0
    draft.refresh_from_db()
    assert draft.pending_action == ""


def test_atoms_own_dnc_entries_are_honoured_too(login_as, world, users):
    draft = make_campaign(world, users["staff"])
    _, members = pilot_members()
    world.add_dnc(members[1].data["phoneNumber"])
    response = login_as("staff").post(reverse("campaign_start", args=[draft.pk]), follow=True)
    assert response.redirect_chain == [(reverse("campaign_start", args=[draft.pk]), 302)]
    assert world.calls_to("POST /campaign/{id}/start") == 0


def test_a_contact_written_as_at_home_is_found_on_the_list_by_its_country(login_as, world,
                                                                         users):
    """An audience made in Atoms itself held "020 7946 0001" while Atoms' list held
    +442079460001: read as a US number it matched nothing, the check said "none", and the
    start called it (probe). Found now; "Start without them" leaves it out."""
    audience = atoms_client().create_audience(
        "Made in Atoms", "phoneNumber",
        b"phoneNumber\n020 7946 0001\n+14155550901\n44 20 7946 0002\n")
    world.add_dnc("+442079460001")
    SuppressedNumber.objects.create(phone_number="+442079460002")
    draft = services.create_campaign(
        users["staff"], uuid.uuid4(),
        campaign_input("UK leads", audience_id=audience.id, audience_name="Made in Atoms"),
        start=False).campaign
    staff = login_as("staff")
    response = staff.post(reverse("campaign_start", args=[draft.pk]), follow=True)
    assert response.redirect_chain == [(reverse("campaign_start", args=[draft.pk]), 302)]
    assert ('<span data-testid="listed-numbers">+442079460001, +442079460002</span>'
            in response.content.decode())
    assert world.calls_to("POST /campaign/{id}/start") == 0

    staff.post(reverse("campaign_start_filtered", args=[draft.pk]))
    copy = Campaign.objects.exclude(pk=draft.pk).get()
    kept = atoms_client().all_audience_members(copy.audience_id)
    assert [m.data["phoneNumber"] for m in kept] == ["+14155550901"]


def test_start_without_them_makes_a_filtered_audience_and_starts_a_copy(
        login_as, world, users):
    draft = make_campaign(world, users["staff"])
    pilot, members = pilot_members()
    blocked = members[0].data["phoneNumber"]
    SuppressedNumber.objects.create(phone_number=blocked)
    response = login_as("staff").post(reverse("campaign_start_filtered", args=[draft.pk]))
    copy = Campaign.objects.exclude(pk=draft.pk).get()
    assert response["Location"] == reverse("campaign_detail", args=[copy.pk])
    assert copy.name == "Spring renewals (without do-not-call)"
    assert copy.audience_name == "Pilot testers (without do-not-call, for “Spring renewals”)"
    assert copy.pending_action == "start"
    assert (copy.agent_id, copy.max_retries) == (draft.agent_id, draft.max_retries)
    filtered = atoms_client().all_audience_members(copy.audience_id)
    assert [m.data["phoneNumber"] for m in filtered] == [members[1].data["phoneNumber"]]
    assert world.calls_to("POST /campaign/{id}/start") == 1
    draft.refresh_from_db()
    assert (draft.status, draft.audience_id, draft.pending_action) == ("draft", pilot.id, "")
    assert AuditEntry.objects.filter(campaign=draft, action="start").get().message.endswith(
        "without 1 do-not-call number")
    # The original, still a draft, names its copy (it offered Start as if nothing was done).
    page = login_as("staff").get(reverse("campaign_detail", args=[draft.pk])).content.decode()
    named = page.split('data-testid="copy-made"')[1].split("</dd>")[0]
    assert f'href="{reverse("campaign_detail", args=[copy.pk])}"' in named
    assert "made from it without the do-not-call numbers: this one stays as it is" in named


def test_start_without_them_twice_makes_one_copy(login_as, world, users):
    draft = make_campaign(world, users["staff"])
    _, members = pilot_members()
    SuppressedNumber.objects.create(phone_number=members[0].data["phoneNumber"])
    staff = login_as("staff")
    first = staff.post(reverse("campaign_start_filtered", args=[draft.pk]))
    second = staff.post(reverse("campaign_start_filtered", args=[draft.pk]))
    assert first["Location"] == second["Location"]
    assert Campaign.objects.count() == 2
    assert world.calls_to("POST /audience") == 1
    assert world.calls_to("POST /campaign/{id}/start") == 1


def test_start_without_them_whose_start_answer_is_lost_says_only_what_is_known(
        login_as, world, users):
    """A 5xx to the copy's start: it may have started. Neither "did not start" nor
    "Started": the copy's page says which once Atoms shows it."""
    draft = draft_with_a_listed_contact(world, users)
    world.faults(error_rate=1, fail_routes=["POST /campaign/{id}/start"])
    response = login_as("staff").post(reverse("campaign_start_filtered", args=[draft.pk]),
                                      follow=True)
    copy = Campaign.objects.exclude(pk=draft.pk).get()
    assert messages_of(response) == [
        f"“{copy.name}” was made without the do-not-call numbers."]
    assert "checking whether it was carried out" in response.content.decode()
    assert copy.pending_action == "start"


def test_start_without_them_whose_copy_create_is_unknown_asks_to_press_again_not_submit(
        login_as, world, users, settings):
    """"Your input is kept: submit again" was said on the campaign's page, which has no
    input; pressing again finds the copy, never a second one."""
    settings.ATOMS_READ_TIMEOUT = 1
    draft = draft_with_a_listed_contact(world, users)
    world.faults(drop_response_rate=1, timeout_seconds=2,
                 fail_routes=["POST /campaign", "GET /campaign"])
    response = login_as("staff").post(reverse("campaign_start_filtered", args=[draft.pk]),
                                      follow=True)
    world.clear_faults()
    (said,) = messages_of(response)
    assert "Send it again in a minute: the dashboard looks first" in said
    assert "input" not in said and "submit" not in said
    again = login_as("staff").post(reverse("campaign_start_filtered", args=[draft.pk]))
    assert again.status_code == 302
    copies = [c for c in atoms_client().iter_campaigns()
              if c.name == f"{draft.name} (without do-not-call)"]
    assert len(copies) == 1  # found, not made twice
    assert again["Location"] == reverse("campaign_detail",
                                        args=[Campaign.objects.get(atoms_id=copies[0].id).pk])


def test_start_without_them_whose_audience_create_is_unknown_says_so_and_leaves_one(
        login_as, world, users, settings):
    """"The filtered audience could not be made: ... we cannot tell whether the request was
    carried out" was said of an audience Atoms had made, and left there (probe). It says
    what is known; pressing again ends with one filtered audience, used by one copy."""
    draft = draft_with_a_listed_contact(world, users)
    staff = login_as("staff")
    # Atoms makes it after 3 s; the page gives up at 2 s, with no time left to look.
    settings.ATOMS_PAGE_DEADLINE_SECONDS = 2
    world.faults(latency_ms=3000, fail_routes=["POST /audience"])
    response = staff.post(reverse("campaign_start_filtered", args=[draft.pk]), follow=True)
    settings.ATOMS_PAGE_DEADLINE_SECONDS = 30
    world.clear_faults()
    time.sleep(1.5)  # Atoms finishes making it
    (said,) = messages_of(response)
    assert said == ("Atoms did not answer in time, and could not be asked whether it made the "
                    "filtered audience. Press “Start without them” again in a moment: the "
                    "dashboard looks for it first, so you will not be left with two.")
    name = f"{draft.audience_name} (without do-not-call, for “{draft.name}”)"
    assert [a.name for a in atoms_client().list_audiences()].count(name) == 1  # made
    again = staff.post(reverse("campaign_start_filtered", args=[draft.pk]))
    assert again.status_code == 302
    (copy,) = [c for c in atoms_client().iter_campaigns()
               if c.name == f"{draft.name} (without do-not-call)"]
    filtered = [a for a in atoms_client().list_audiences() if a.name == name]
    assert [a.id for a in filtered] == [copy.audience_id]


def test_start_without_them_whose_copy_atoms_refuses_to_start_says_so(login_as, world, users):
    """A 4xx to the copy's start: Atoms did not start it. The copy stays, a draft the
    person can start from its page, and the message says both things."""
    draft = draft_with_a_listed_contact(world, users)
    world.faults(error_status=400, fail_routes=["POST /campaign/{id}/start"])
    response = login_as("staff").post(reverse("campaign_start_filtered", args=[draft.pk]),
                                      follow=True)
    copy = Campaign.objects.exclude(pk=draft.pk).get()
    (said,) = messages_of(response)
    assert said.startswith(f"“{copy.name}” was made without the do-not-call numbers, but it "
                           "did not start: ")
    assert copy.status == "draft" and copy.pending_action == ""
    assert world.calls_to("POST /campaign/{id}/start") == 1
    assert "checking whether it was carried out" not in response.content.decode()


def test_start_without_them_keeps_the_calling_hours_and_waits_for_them(login_as, world,
                                                                        users):
    draft = make_campaign(world, users["staff"])
    _, members = pilot_members()
    SuppressedNumber.objects.create(phone_number=members[0].data["phoneNumber"])
    tomorrow = (timezone.now() + timedelta(days=1)).strftime("%a")
    services.set_calling_hours(users["staff"], draft,
                               calling_hours.parse(f"{tomorrow} 09:00-10:00", "UTC"))
    draft.refresh_from_db()
    response = login_as("staff").post(reverse("campaign_start_filtered", args=[draft.pk]),
                                      follow=True)
    copy = Campaign.objects.exclude(pk=draft.pk).get()
    assert copy.calling_hours == draft.calling_hours
    assert copy.start_waits_for_hours and copy.status == "draft"
    assert world.calls_to("POST /campaign/{id}/start") == 0
    (said,) = messages_of(response)
    assert said.startswith("“Spring renewals (without do-not-call)” was made without the "
                           "do-not-call numbers, with the same calling hours.")


def test_start_without_them_finds_the_audience_whose_answer_was_lost(login_as, world, users):
    draft = draft_with_a_listed_contact(world, users)
    world.faults(drop_response_rate=1, timeout_seconds=1, fail_routes=["POST /audience"])
    response = login_as("staff").post(reverse("campaign_start_filtered", args=[draft.pk]))
    world.clear_faults()
    copy = Campaign.objects.exclude(pk=draft.pk).get()
    assert response["Location"] == reverse("campaign_detail", args=[copy.pk])
    made = [a.id for a in atoms_client().list_audiences()
            if a.name == "Pilot testers (without do-not-call, for “Spring renewals”)"]
    assert made == [copy.audience_id]
    assert world.calls_to("POST /audience") == 1


def test_start_without_them_again_opens_the_copy_it_made(login_as, world, users):
    draft = make_campaign(world, users["staff"])
    _, members = pilot_members()
    SuppressedNumber.objects.create(phone_number=members[0].data["phoneNumber"])
    staff = login_as("staff")
    staff.post(reverse("campaign_start_filtered", args=[draft.pk]), follow=True)
    again = staff.post(reverse("campaign_start_filtered", args=[draft.pk]), follow=True)
    assert messages_of(again) == ["“Spring renewals (without do-not-call)” was already made "
                                  "without the do-not-call numbers: this is it."]


def test_a_clean_audience_starts_as_before(login_as, world, users):
    draft = make_campaign(world, users["staff"])
    staff = login_as("staff")
    # The question's own address, with nothing to ask (Back to it once the list changed):
    # the campaign's page, and nothing started.
    shown = staff.get(reverse("campaign_start", args=[draft.pk]))
    assert shown["Location"] == reverse("campaign_detail", args=[draft.pk])
    assert world.calls_to("POST /campaign/{id}/start") == 0
    response = staff.post(reverse("campaign_start", args=[draft.pk]))
    assert response["Location"] == reverse("campaign_detail", args=[draft.pk])
    assert world.calls_to("POST /campaign/{id}/start") == 1


def test_when_the_dnc_list_cannot_be_read_the_start_is_refused_and_nothing_sent(
        login_as, world, users):
    draft = make_campaign(world, users["staff"])
    world.faults(error_rate=1, fail_routes=["GET /dnc"])
    response = login_as("staff").post(reverse("campaign_start", args=[draft.pk]), follow=True)
    assert "do-not-call list could not be read" in messages_of(response)[0]
    assert messages_of(response)[0].lower().count("try again") == 1  # said once
    page = login_as("admin").get(LIST).content.decode()
    assert "Atoms' list could not be read" in page and "From Atoms (0)" not in page
    assert world.calls_to("POST /campaign/{id}/start") == 0


def test_create_and_start_with_suppressed_contacts_only_creates(login_as, world, users):
    _, members = pilot_members()
    SuppressedNumber.objects.create(phone_number=members[0].data["phoneNumber"])
    data = form_data("Careful", submit_action="start")
    response = login_as("staff").post(reverse("campaign_new"), data, follow=True)
    assert "Campaign created, not started: 1 of its contacts" in messages_of(response)[0]
    assert Campaign.objects.get().pending_action == ""


def test_create_and_start_when_the_dnc_list_cannot_be_read_says_it_was_made_not_started(
        login_as, world, users):
    """It said "Campaign created, not started: … could not be read, so nothing was sent"."""
    world.faults(error_rate=1, fail_routes=["GET /dnc"])
    data = form_data("Unread list", submit_action="start")
    response = login_as("staff").post(reverse("campaign_new"), data, follow=True)
    (said,) = messages_of(response)
    assert said.startswith("Campaign created, not started: Atoms' do-not-call list could not "
                           "be read, and nothing is sent or started without it: ")
    assert "nothing was sent" not in said
    assert Campaign.objects.get().status == "draft"
    assert world.calls_to("POST /campaign/{id}/start") == 0
    assert world.calls_to("POST /campaign/{id}/start") == 0


def test_never_call_again_from_a_call_lists_the_number_and_removes_the_contact(
        login_as, world):
    pilot, members = pilot_members()
    phone = members[0].data["phoneNumber"]
    back = reverse("campaign_list")
    response = login_as("staff").post(reverse("suppression_from_call"), {
        "phone_number": phone, "call_id": "CALL-1737000000000-abc123",
        "audience_id": pilot.id, "next": back})
    assert response["Location"] == back
    entry = SuppressedNumber.objects.get()
    assert (entry.phone_number, entry.source, entry.call_id) == (
        phone, "call", "CALL-1737000000000-abc123")
    left = atoms_client().all_audience_members(pilot.id)
    assert [m.data["phoneNumber"] for m in left] == [members[1].data["phoneNumber"]]
    # In words, not "removed from the audience (1)" (probe).
    assert messages_of(response) == ["On the do-not-call list: no campaign will be started "
                                     "with this number; its contact removed from the audience."]


def test_never_call_again_refuses_an_outside_next_url(login_as, world):
    response = login_as("staff").post(reverse("suppression_from_call"), {
        "phone_number": "+14155550100", "next": "https://evil.example/"})
    assert response["Location"] == LIST
    assert SuppressedNumber.objects.filter(phone_number="+14155550100").exists()


def test_a_listed_number_is_said_on_its_call_and_a_running_campaign_may_still_call_it(
        login_as, world, users):
    running = make_campaign(world, users["staff"], "running", audience_size=50)
    world.advance(60)
    staff = login_as("staff")
    log = staff.get(reverse("campaign_calls", args=[running.pk])).content.decode()
    call_id = "CALL-" + log.split("/calls/CALL-")[1].split("/")[0]
    call_url = reverse("campaign_call", args=[running.pk, call_id])
    before = staff.get(call_url)
    assert "Remove this contact and never call again" in before.content.decode()
    phone = before.context["detail"].call.to_number
    # Asked first: the button sits behind "Never call … again…", closed until opened.
    assert (f'<details data-testid="never-call-again"><summary>Never call {phone} again…'
            '</summary>') in before.content.decode()
    staff.post(reverse("suppression_from_call"), {"phone_number": phone, "call_id": call_id,
                                                  "audience_id": running.audience_id,
                                                  "next": call_url})
    after = staff.get(call_url).content.decode()
    assert "Remove this contact and never call again" not in after
    assert f"{phone} is on the do-not-call list: no campaign is started with it." in after
    assert "it may still call the number again (a retry) while it runs" in after


def test_a_long_list_is_paged_and_searchable_by_digits_or_note(login_as, world):
    SuppressedNumber.objects.bulk_create(
        SuppressedNumber(phone_number=f"+4420794{n:05d}") for n in range(250))
    SuppressedNumber.objects.create(phone_number="+14155550132", note="asked not to be called")
    admin = login_as("admin")
    first = admin.get(LIST).content.decode()
    assert first.count('data-testid="dnc-local"') == 100
    assert "Page 1 of 3 · 251 numbers" in first and "?page=2" in first
    last = admin.get(LIST, {"page": 3}).content.decode()
    assert last.count('data-testid="dnc-local"') == 51
    for query in ("415 555 0132", "asked not"):
        found = admin.get(LIST, {"q": query}).content.decode()
        assert found.count('data-testid="dnc-local"') == 1 and "+14155550132" in found
        assert "1 number found" in found
    assert "No number or note matches “zzz”" in admin.get(LIST, {"q": "zzz"}).content.decode()


def test_a_resume_asks_first_when_a_listed_number_waits_for_a_retry(login_as, world, users):
    """Listed after the campaign was made (and so gone from its audience), the number is
    still among the campaign's own contacts: resuming would retry it. Ask first."""
    campaign = make_campaign(world, users["staff"], "running", audience_size=50,
                             max_retries=2)
    number = list_a_number_awaiting_retry(world, campaign, users["staff"])
    services.pause_campaign(users["admin"], campaign)
    campaign = wait_for_status(world, campaign, "paused", step=1)
    staff = login_as("staff")
    starts = world.calls_to("POST /campaign/{id}/start")
    asked = staff.post(reverse("campaign_start", args=[campaign.pk]), follow=True)
    page = asked.content.decode()
    assert asked.redirect_chain == [(reverse("campaign_start", args=[campaign.pk]), 302)]
    assert (f"1 number on the do-not-call list is still to be called by this campaign (not "
            f"reached yet, or waiting for a retry): {number}.") in page
    assert world.calls_to("POST /campaign/{id}/start") == starts  # nothing sent
    # "Resume anyway" agrees to the numbers the page named, not to one it did not show.
    unnamed = staff.post(reverse("campaign_start", args=[campaign.pk]),
                         {"confirm": asked.context["confirm"]})
    assert unnamed["Location"] == reverse("campaign_start", args=[campaign.pk])  # asked again
    assert world.calls_to("POST /campaign/{id}/start") == starts
    anyway = staff.post(reverse("campaign_start", args=[campaign.pk]),
                        {"confirm": asked.context["confirm"], "agreed": [number]})
    assert anyway["Location"] == reverse("campaign_detail", args=[campaign.pk])
    assert world.calls_to("POST /campaign/{id}/start") == starts + 1
    # The override is in the activity log, with the number (it left no trace).
    assert AuditEntry.objects.filter(campaign=campaign, action="start", message=(
        f"Resumed knowing it may call 1 number on the do-not-call list (agreed to be "
        f"called): {number}")).exists()


def test_a_do_not_call_file_over_50000_numbers_is_refused_up_front_and_adds_nothing(
        login_as, world):
    content = b"phone\n" + b"not a number\n" * 73_214
    response = login_as("staff").post(reverse("suppression_import"), {
        "file": SimpleUploadedFile("dnc.csv", content), "phone_column": "", "region": "US"})
    assert response.status_code == 422
    assert response.context["import_form"].errors["file"] == [
        "A do-not-call file holds at most 50,000 numbers and this one has 73,214: split it "
        "into smaller files."]
    assert not SuppressedNumber.objects.exists()
    assert not AuditEntry.objects.filter(action="suppress").exists()


def test_the_search_finds_atoms_entries_too_and_counts_each_list(login_as, world):
    world.add_dnc("+12025557777")
    SuppressedNumber.objects.create(phone_number="+14155550132", note="asked not to be called")
    admin = login_as("admin")
    found = admin.get(LIST, {"q": "7777"}).content.decode()
    assert "No number or note matches" not in found
    assert found.count('data-testid="dnc-remote"') == 1 and "+12025557777" in found
    assert found.count('data-testid="dnc-local"') == 0
    assert "Found 0 added in this dashboard and 1 from Atoms." in found
    # The headings count each list in all, and say so while searching.
    assert "From Atoms (3 in all)" in found and "Added in this dashboard (1 in all)" in found
    # Digits match Atoms' numbers the way they match ours: however they are spaced.
    spaced = admin.get(LIST, {"q": "202 555-7777"}).content.decode()
    assert spaced.count('data-testid="dnc-remote"') == 1
    # A note matches ours only; Atoms' entries have none.
    noted = admin.get(LIST, {"q": "asked not"}).content.decode()
    assert "Found 1 added in this dashboard and 0 from Atoms." in noted
    assert noted.count('data-testid="dnc-remote"') == 0
    # Words with digits are a note's words: "ticket 4155" once matched every number
    # holding 4155 (here both lists' +1415... and none of the notes).
    SuppressedNumber.objects.create(phone_number="+14155550199", note="ticket 4155")
    ticket = admin.get(LIST, {"q": "ticket 4155"}).content.decode()
    assert "Found 1 added in this dashboard and 0 from Atoms." in ticket
    assert "+14155550199" in ticket and "+14155550132" not in ticket
    plus = admin.get(LIST, {"q": "+1 (415) 555-0132"}).content.decode()
    assert plus.count('data-testid="dnc-local"') == 1 and "+14155550132" in plus
    nothing = admin.get(LIST, {"q": "zzz"}).content.decode()
    assert "No number or note matches “zzz”." in nothing
    assert nothing.count('data-testid="dnc-remote"') == 0


def test_atoms_entries_are_paged_apart_from_ours(login_as, world):
    for n in range(148):  # with the world's 2: 150, so two pages of 100
        world.add_dnc(f"+1202555{n:04d}")
    SuppressedNumber.objects.bulk_create(
        SuppressedNumber(phone_number=f"+4420794{n:05d}") for n in range(150))
    admin = login_as("admin")
    first = admin.get(LIST).content.decode()
    assert first.count('data-testid="dnc-remote"') == 100
    assert "From Atoms (150)" in first and "?atoms_page=2" in first
    # Atoms' second page keeps ours where it was, and the other way round.
    second = admin.get(LIST, {"page": 2, "atoms_page": 2}).content.decode()
    assert second.count('data-testid="dnc-remote"') == 50
    assert second.count('data-testid="dnc-local"') == 50
    assert "?page=2&amp;atoms_page=1" in second and "?page=1&amp;atoms_page=2" in second
    # Searched, the matches are paged and counted the same way.
    searched = admin.get(LIST, {"q": "+1 202 555"}).content.decode()
    assert searched.count('data-testid="dnc-remote"') == 100
    assert "Page 1 of 2 · 148 numbers found" in searched


def test_a_resume_with_a_listed_number_still_in_the_audience_asks_and_never_offers_a_copy(
        login_as, world, users):
    """A number listed since the campaign was made and not called yet is still among its
    contacts: resuming calls it. The page asked as for a first start and offered "Start
    without them", a fresh copy that would call again everyone already reached."""
    paused = make_campaign(world, users["staff"], "paused")
    _, members = pilot_members()
    listed = members[0].data["phoneNumber"]
    SuppressedNumber.objects.create(phone_number=listed)
    staff = login_as("staff")
    asked = staff.post(reverse("campaign_start", args=[paused.pk]), follow=True)
    page = asked.content.decode()
    assert asked.redirect_chain == [(reverse("campaign_start", args=[paused.pk]), 302)]
    assert f"still to be called by this campaign (not reached yet, or waiting for a retry): " \
           f"{listed}." in page
    assert "Start without them" not in page and "Resume anyway" in page
    assert world.calls_to("POST /campaign/{id}/start") == 1  # make_campaign's own
    staff.post(reverse("campaign_start", args=[paused.pk]),
               {"confirm": asked.context["confirm"], "agreed": [listed]})
    assert world.calls_to("POST /campaign/{id}/start") == 2


@pytest.mark.parametrize("status", ["paused", "completed"])
def test_start_without_them_is_refused_for_a_campaign_already_started(login_as, world, users,
                                                                       status):
    """A copy would call everyone reached again; a finished one cannot start at all."""
    started = make_campaign(world, users["staff"], "paused")
    if status == "completed":
        started = wait_for_status(world, started, "paused")
        atoms_client().start_campaign(started.atoms_id)
        started = wait_for_status(world, started, "completed", step=600)
    _, members = pilot_members()
    SuppressedNumber.objects.create(phone_number=members[0].data["phoneNumber"])
    response = login_as("staff").post(reverse("campaign_start_filtered", args=[started.pk]),
                                      follow=True)
    assert ("Starting a copy without the do-not-call numbers is only for a draft campaign."
            in response.content.decode())
    assert Campaign.objects.count() == 1
    assert world.calls_to("POST /audience") == 0


def test_an_admin_takes_a_mistyped_number_off_the_list_with_a_reason_the_log_keeps(
        login_as, world, users):
    """A mistyped number blocked every upload and start that held it, for good."""
    entry = SuppressedNumber.objects.create(phone_number="+14155550142", note="typo?")
    admin = login_as("admin")
    listing = admin.get(reverse("suppression_list")).content.decode()
    remove = reverse("suppression_remove", args=[entry.pk])
    assert f'href="{remove}"' in listing
    asked = admin.get(remove)
    assert "Take +14155550142 off the do-not-call list?" in asked.content.decode()
    refused = admin.post(remove, {"reason": "  "})
    assert refused.status_code == 422
    assert "Say why: it is kept in the activity log." in refused.content.decode()
    assert SuppressedNumber.objects.filter(pk=entry.pk).exists()
    done = admin.post(remove, {"reason": "mistyped: ends in 42"}, follow=True)
    assert "+14155550142 is off the do-not-call list" in done.content.decode()
    assert not SuppressedNumber.objects.filter(pk=entry.pk).exists()
    # The same page sent again from a second tab: no 404, it says the number is off.
    again = admin.post(remove, {"reason": "also mistyped"}, follow=True)
    assert "That number is not on the do-not-call list (any more)." in again.content.decode()
    logged = AuditEntry.objects.filter(action="suppress").latest("pk")
    assert (logged.actor_name, logged.message) == (
        users["admin"].username, "Removed +14155550142 from the list: mistyped: ends in 42")


@pytest.mark.parametrize("role", ["staff", "manager"])
def test_only_admins_may_take_a_number_off_the_list(login_as, world, role):
    entry = SuppressedNumber.objects.create(phone_number="+14155550143")
    client = login_as(role)
    assert "dnc-remove" not in client.get(reverse("suppression_list")).content.decode()
    refused = client.post(reverse("suppression_remove", args=[entry.pk]), {"reason": "x"})
    assert refused.status_code == 403
    assert SuppressedNumber.objects.filter(pk=entry.pk).exists()


def test_a_refused_add_keeps_the_search_and_page_the_list_was_at(login_as, world):
    for n in range(3):
        SuppressedNumber.objects.create(phone_number=f"+1415555017{n}", note=f"kept {n}")
    SuppressedNumber.objects.create(phone_number="+14155550299", note="other")
    staff = login_as("staff")
    listing = staff.get(reverse("suppression_list"), {"q": "555017"}).content.decode()
    assert f'action="{reverse("suppression_add")}?q=555017"' in listing
    refused = staff.post(f'{reverse("suppression_add")}?q=555017', {"phone_number": "12"})
    page = refused.content.decode()
    assert refused.status_code == 422
    assert 'value="555017"' in page  # the search box
    assert "+14155550170" in page and "+14155550299" not in page


@pytest.mark.parametrize("reason", ["a\x1b[31mred", "\u3164", "bell\x07"])
def test_a_reason_with_control_or_blank_looking_characters_is_refused(login_as, world,
                                                                      reason):
    entry = SuppressedNumber.objects.create(phone_number="+14155550144")
    refused = login_as("admin").post(reverse("suppression_remove", args=[entry.pk]),
                                     {"reason": reason})
    assert refused.status_code == 422
    assert SuppressedNumber.objects.filter(pk=entry.pk).exists()


def list_and_remove_from_pilot(users) -> str:
    """A Pilot testers contact put on the list and taken out of the audience, as a person
    asked not to be called would be: the number, as the list keeps it."""
    pilot, members = pilot_members()
    number = members[0].data["phoneNumber"]
    SuppressedNumber.objects.create(phone_number=number)
    atoms_client().remove_audience_members(pilot.id, [members[0].id])
    return number


def test_a_draft_made_before_a_number_was_listed_and_removed_does_not_call_it(
        login_as, world, users):
    """Atoms keeps a campaign's contacts as they were when it was made: the start checked
    the audience as it is now, found nothing, and the draft called the number."""
    draft = make_campaign(world, users["staff"])
    number = list_and_remove_from_pilot(users)
    staff = login_as("staff")
    asked = staff.post(reverse("campaign_start", args=[draft.pk]), follow=True)
    assert asked.redirect_chain == [(reverse("campaign_start", args=[draft.pk]), 302)]
    assert "1 of this campaign's contacts is on the do-not-call list" in asked.content.decode()
    assert world.calls_to("POST /campaign/{id}/start") == 0
    card = staff.get(reverse("campaign_preflight", args=[draft.pk])).content.decode()
    assert 'data-testid="preflight-suppressed">1: Start offers to leave it out' in card
    # Without them: a copy on the audience as it is now, started; the number is not in it.
    staff.post(reverse("campaign_start_filtered", args=[draft.pk]))
    copy = Campaign.objects.exclude(pk=draft.pk).get()
    called = {c.phone_number for c in atoms_client().campaign_contacts(copy.atoms_id)}
    assert number not in called and called
    assert world.calls_to("POST /campaign/{id}/start") == 1


def test_a_campaign_on_an_audience_with_listed_numbers_is_not_scheduled(login_as, world):
    """Atoms starts a scheduled campaign by itself, with no check of ours: it called the
    listed number at its time while the page said they would not be called."""
    _, members = pilot_members()
    SuppressedNumber.objects.create(phone_number=members[0].data["phoneNumber"])
    start_at = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    data = form_data("Tomorrow's calls", scheduled_at=start_at, time_zone="UTC")
    response = login_as("staff").post(reverse("campaign_new"), data)
    assert response.status_code == 422
    (error,) = response.context["form"].errors["scheduled_at"]
    assert error.startswith("1 of its contacts is on the do-not-call list, and Atoms starts a "
                            "scheduled campaign by itself")
    assert 'value="Tomorrow&#x27;s calls"' in response.content.decode()  # typed, kept
    assert world.calls_to("POST /campaign") == 0


def test_a_scheduled_campaign_with_a_number_listed_since_says_atoms_would_call_it(
        login_as, world, users):
    start_at = timezone.now() + timedelta(days=1)
    scheduled = make_campaign(world, users["staff"], scheduled_at=start_at)
    assert scheduled.status == "scheduled"
    list_and_remove_from_pilot(users)
    staff = login_as("staff")
    card = staff.get(reverse("campaign_preflight", args=[scheduled.pk])).content.decode()
    assert ("Atoms starts it by itself at its time, and it would call 1 number on the "
            "do-not-call list") in card
    assert "Starting will not work yet" not in card  # it will start: that is the trouble
    assert 'data-testid="preflight-ok"' not in card
    asked = staff.post(reverse("campaign_start", args=[scheduled.pk]), follow=True)
    assert asked.redirect_chain == [(reverse("campaign_start", args=[scheduled.pk]), 302)]
    page = asked.content.decode()
    assert 'data-testid="scheduled-listed"' in page and "Start without them" not in page
    assert world.calls_to("POST /campaign/{id}/start") == 0


def test_the_check_before_start_gives_no_all_clear_when_the_list_cannot_be_read(
        login_as, world, users):
    draft = make_campaign(world, users["staff"])
    staff = login_as("staff")
    for route in ("GET /dnc", "GET /campaign/{id}/export/by-audience-member"):
        world.faults(error_rate=1, fail_routes=[route])
        card = staff.get(reverse("campaign_preflight", args=[draft.pk])).content.decode()
        assert "not checked" in card
        assert ("Its contacts could not be checked against the do-not-call list just now "
                "(Atoms answered with an error of its own (HTTP 500)): Start checks them "
                "again.") in card
        assert "not started" not in card and "nothing was sent" not in card  # no start
        assert 'data-testid="preflight-ok"' not in card


def test_a_check_atoms_could_not_answer_is_asked_for_again_until_it_is_read(
        login_as, world, users):
    """A probe: the card saying the contacts could not be checked stayed until a reload,
    long after Atoms answered again; and under a 429 it said "an answer the dashboard
    could not read (HTTP 429)"."""
    draft = make_campaign(world, users["staff"])
    staff = login_as("staff")
    url = reverse("campaign_preflight", args=[draft.pk])

    def card() -> tuple[str, str]:
        html = staff.get(url, headers={"HX-Request": "true"}).content.decode()
        return html, re.search(r'hx-trigger="([^"]+)"', html)[1]

    world.faults(error_rate=1, fail_routes=["GET /dnc"])
    failed, asks = card()
    world.clear_faults()
    assert "could not be checked against the do-not-call list just now" in failed
    assert asks.endswith(f", every {preflight.CHECK_AGAIN_SECONDS}s")
    answered, asks = card()
    assert "could not be checked" not in answered and 'data-testid="preflight-ok"' in answered
    assert "every" not in asks
    busy = atoms.AtomsRateLimited(status=429, retry_after=1)
    assert busy.what_happened == "Atoms was busy and asked the dashboard to wait"


def test_listing_a_number_names_the_unfinished_campaigns_that_would_still_call_it(
        login_as, world, users):
    """"will not be called." was said while a running campaign retried the number; then
    "2 unfinished campaigns may still call it" of campaigns whose contacts never held it.
    Each unfinished campaign's own contacts are read: it is named when the number is among
    those not reached yet or awaiting a retry."""
    campaign = make_campaign(world, users["staff"], "running", audience_size=50,
                             max_retries=2)
    world.advance(300)
    poll.refresh_one(campaign.pk)  # copies its calls
    retried = outcomes.awaiting_retry([campaign.pk]).values_list("to_number", flat=True)[0]
    response = login_as("staff").post(reverse("suppression_add"),
                                      {"phone_number": retried, "region": "US"})
    (said,) = messages_of(response)
    assert said == (f"{retried} is on the do-not-call list: no upload or start will include "
                    f"it. But “{campaign.name}” still has it among contacts to call or call "
                    "again (campaigns keep the contacts they were made with): pause it if it "
                    "must not be.")
    # A number none of them holds: nothing to pause, said as such.
    other = login_as("staff").post(reverse("suppression_add"),
                                   {"phone_number": "+14155550199", "region": "US"})
    assert messages_of(other)[-1] == ("+14155550199 is on the do-not-call list: no upload or "
                                      "start will include it.")
    # Atoms cannot be asked: not "nothing to pause".
    world.faults(fail_routes=["GET /campaign/{id}/export/by-audience-member"])
    unread = login_as("staff").post(reverse("suppression_add"),
                                    {"phone_number": "+14155550198", "region": "US"})
    assert messages_of(unread)[-1].endswith(
        "1 unfinished campaign could not be checked and may still call it if its contacts "
        "hold it.")
    # Every contact dialled once: only its retries could call a number, and the copy of its
    # calls knows them; Atoms is not read (one export per such campaign, per listing).
    world.clear_faults()
    Campaign.objects.filter(pk=campaign.pk).update(contacts_called=campaign.total_participants)
    exports = world.calls_to("GET /campaign/{id}/export/by-audience-member")
    after = login_as("staff").post(reverse("suppression_add"),
                                   {"phone_number": "+14155550197", "region": "US"})
    assert messages_of(after)[-1] == ("+14155550197 is on the do-not-call list: no upload or "
                                      "start will include it.")
    assert world.calls_to("GET /campaign/{id}/export/by-audience-member") == exports


def test_taking_a_number_off_clears_a_start_held_back_over_it(login_as, world, users):
    draft = make_campaign(world, users["staff"])
    entry = SuppressedNumber.objects.create(phone_number="+14155550123")
    Campaign.objects.filter(pk=draft.pk).update(resume_withheld_for=["+14155550123"])
    login_as("admin").post(reverse("suppression_remove", args=[entry.pk]),
                           {"reason": "Typed by mistake"})
    draft.refresh_from_db()
    assert draft.resume_withheld_for == []


def test_a_number_searched_as_dialled_at_home_or_from_abroad_is_found(login_as, world):
    """"020 7946 0958" and "0044 20 7946 0958" found nothing though +44 20 7946 0958 was
    listed, here and in Atoms (probe)."""
    SuppressedNumber.objects.create(phone_number="+442079460958")
    world.add_dnc("+442079461234")
    admin = login_as("admin")
    for query in ("020 7946 0958", "0044 20 7946 0958", "00442079460958"):
        found = admin.get(LIST, {"q": query}).content.decode()
        assert found.count('data-testid="dnc-local"') == 1 and "+442079460958" in found, query
    assert login_as("admin").get(LIST, {"q": "020 7946 1234"}).content.decode().count(
        'data-testid="dnc-remote"') == 1
    # A short fragment is searched as typed only: "0102" is not "102" anywhere.
    SuppressedNumber.objects.create(phone_number="+14155551029")
    fragment = admin.get(LIST, {"q": "0102"}).content.decode()
    assert "+14155551029" not in fragment


def test_the_search_reads_full_width_digits_as_the_add_form_does(login_as, world):
    SuppressedNumber.objects.create(phone_number="+13125550946")
    for query in ("３１２５５５０９４６", "(３１２) ５５５-０９４６", "（312）555 0946"):
        found = login_as("admin").get(LIST, {"q": query}).content.decode()
        assert "+13125550946" in found, query


def test_a_number_listed_from_a_call_links_to_that_call(login_as, world, users):
    """A probe: the list showed "From a call CALL-1796621401747-3bd191", a bare id."""
    campaign = campaign_row(users["staff"], "completed", name="Spring renewals")
    CallRecord.objects.create(campaign=campaign, call_id="CALL-1796621401747-3bd191",
                              to_number="+14155550100", status="completed", outcome="connected")
    SuppressedNumber.objects.create(phone_number="+14155550100", source="call",
                                    call_id="CALL-1796621401747-3bd191")
    SuppressedNumber.objects.create(phone_number="+14155550101", source="call",
                                    call_id="CALL-1796621409999-aaaaaa")  # not known here
    page = login_as("staff").get(LIST).content.decode()
    call_url = reverse("campaign_call", args=[campaign.pk, "CALL-1796621401747-3bd191"])
    assert (f'<a href="{call_url}" data-testid="dnc-call">From a call of '
            f'“Spring renewals”</a>') in page
    assert '<code class="small">CALL-1796621409999-aaaaaa</code>' in page
