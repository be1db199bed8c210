"""The two-step upload: a preview computed here, then only the valid rows sent to Atoms."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from campaigns import audiences
from campaigns.connections import atoms_client
from campaigns.models import AudienceUpload, AuditEntry, SuppressedNumber
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db
NEW = reverse("audience_new")

CRAFTED = (
    "firstName,phoneNumber\n"
    "Intl,+1 415 555 0100\n"        # valid (international)
    "National,(415) 555-0101\n"      # valid (national, US)
    "Short,12345\n"                  # invalid
    "Words,not-a-number\n"           # invalid
    "Again,+14155550100\n"           # duplicate of line 2
    "Ours,415-555-0198\n"            # suppressed here
    "Theirs,+44 20 7946 0000\n"      # suppressed in Atoms' GET /dnc (seeded)
    "India,+91 98765 43210\n"        # valid (another country)
)


def choose(client, text: str | bytes, **fields):
    content = text.encode() if isinstance(text, str) else text
    data = {"name": "Winter leads", "description": "", "phone_column": "", "region": "US",
            "file": SimpleUploadedFile("contacts.csv", content, content_type="text/csv"),
            **fields}
    return client.post(NEW, data)


def preview_of(client, response):
    assert response.status_code == 302, response.content.decode()[:2000]
    return client.get(response["Location"])


def members_in_atoms(name: str) -> list[dict]:
    client = atoms_client()
    audience = next(a for a in client.list_audiences() if a.name == name)
    return [dict(m.data) for m in client.all_audience_members(audience.id)]


def test_preview_counts_match_what_reaches_atoms(staff, sim):
    SuppressedNumber.objects.create(phone_number="+14155550198")
    page = preview_of(staff, choose(staff, CRAFTED))
    assert page.context["counts"] == {"valid": 3, "invalid": 2, "duplicate": 1,
                                      "suppressed": 2}
    html = page.content.decode()
    assert "Upload 3 contacts" in html and html.count('data-testid="rejected-row"') == 5
    assert sim.calls_to("POST /audience") == 0  # nothing sent by the preview

    upload = AudienceUpload.objects.get()
    response = staff.post(reverse("audience_upload_confirm", args=[upload.token]))
    members = members_in_atoms("Winter leads")
    assert sorted(m["phoneNumber"] for m in members) == [
        "+14155550100", "+14155550101", "+919876543210"]
    assert {m["firstName"] for m in members} == {"Intl", "National", "India"}
    audience_id = AudienceUpload.objects.get().audience_id
    assert response["Location"] == reverse("audience_detail", args=[audience_id])
    entry = AuditEntry.objects.get(action="upload_audience")
    assert (entry.outcome, entry.atoms_id) == ("ok", audience_id)
    assert "3 contacts uploaded, 5 rows left out" in entry.message


def test_a_number_listed_since_the_check_is_left_out_and_the_upload_says_so(staff, sim):
    """A probe: the button said "Upload 3 contacts", a number was listed in another tab,
    and the upload said "uploaded with 2 contacts" without a word of why."""
    page = preview_of(staff, choose(staff, "phone\n+1 415 555 0171\n+1 415 555 0172\n"
                                           "+1 415 555 0173\n"))
    html = page.content.decode()
    assert "Upload 3 contacts" in html and 'name="promised" value="3"' in html
    SuppressedNumber.objects.create(phone_number="+14155550172")  # listed meanwhile
    upload = AudienceUpload.objects.get()
    done = staff.post(reverse("audience_upload_confirm", args=[upload.token]),
                      {"promised": "3"}, follow=True)
    assert [str(m) for m in done.context["messages"]] == [
        "Audience “Winter leads” uploaded with 2 contacts. 1 more was added to the "
        "do-not-call list since the file was checked, and left out."]
    assert sorted(m["phone"] for m in members_in_atoms("Winter leads")) == [
        "+14155550171", "+14155550173"]


def test_the_audience_names_its_phone_column_once_stopped(staff, sim):
    """A probe: a column named "Tel." read "in the column Tel.."."""
    preview_of(staff, choose(staff, "Name,Tel.\nAda,+1 415 555 0181\n"))
    upload = AudienceUpload.objects.get()
    staff.post(reverse("audience_upload_confirm", args=[upload.token]))
    upload.refresh_from_db()
    page = staff.get(reverse("audience_detail", args=[upload.audience_id])).content.decode()
    assert "Phone numbers are in the <code>Tel.</code> column." in page


def test_the_check_shows_the_first_rows_as_they_will_be_uploaded(staff, sim):
    """Only counts and rejected rows were shown: whether a semicolon file's columns split
    where they should was seen only in the audience (probe)."""
    rows = "".join(f"Name {i};Pune;(415) 555-01{i:02d}\n" for i in range(7))
    page = preview_of(staff, choose(staff, "name;city;phone\n" + rows))
    assert page.context["sample"] == [
        (line, [("name", f"Name {i}"), ("city", "Pune"), ("phone", f"+14155550{100 + i}")])
        for i, line in zip(range(5), range(2, 7), strict=True)]
    html = page.content.decode()
    assert "The first 5 contacts as they will be uploaded" in html
    assert html.count('data-testid="sample-row"') == 5


def test_the_file_is_kept_between_the_steps_and_a_second_confirm_sends_nothing(staff, sim):
    preview_of(staff, choose(staff, "phoneNumber\n+14155550100\n"))
    upload = AudienceUpload.objects.get()
    assert bytes(upload.content) == b"phoneNumber\n+14155550100\n"
    confirm = reverse("audience_upload_confirm", args=[upload.token])
    staff.post(confirm)
    again = staff.post(confirm)
    assert sim.calls_to("POST /audience") == 1
    assert again.status_code == 302  # back to the audience, not a second upload
    assert bytes(AudienceUpload.objects.get().content) == b""  # not kept once sent


def test_an_unsure_phone_column_is_asked_for_and_the_answer_kept(staff, sim):
    page = preview_of(staff, choose(staff, "home,mobile\n+14155550100,+14155550101\n"))
    assert 'data-testid="ask-column"' in page.content.decode()
    assert "counts" not in page.context
    upload = AudienceUpload.objects.get()
    url = reverse("audience_upload", args=[upload.token])
    staff.post(url, {"phone_column": "mobile", "region": "US"})
    page = staff.get(url)
    assert page.context["counts"]["valid"] == 1
    assert AudienceUpload.objects.get().phone_column == "mobile"


def test_the_region_setting_reads_national_numbers_of_that_country(staff, sim, settings):
    settings.AUDIENCE_DEFAULT_REGION = "GB"
    form = staff.get(NEW).context["form"]
    assert form["region"].value() == "GB"
    page = preview_of(staff, choose(staff, "phone\n020 7946 0002\n", region="GB"))
    assert page.context["counts"]["valid"] == 1
    assert "1 row below the header" in page.content.decode()


def test_countries_are_offered_by_name_not_by_code(staff):
    """A person looks for "United Kingdom", not "GB"; codes phonenumbers leaves unnamed
    get a name of ours."""
    choices = dict(staff.get(NEW).context["form"].fields["region"].choices)
    assert choices["GB"] == "United Kingdom (+44)" and choices["AC"] == "Ascension Island (+247)"
    assert all(not label.startswith(f"{code} (") for code, label in choices.items())
    labels = list(choices.values())
    # As a person reads the alphabet: "Åland Islands" among the A's, not after "Zimbabwe".
    assert labels.index("Åland Islands (+358)") < labels.index("Albania (+355)")
    assert labels[-1].startswith("Zimbabwe")


def test_the_rejected_rows_download_is_the_rows_left_out(staff, sim):
    preview_of(staff, choose(staff, "name,phone\n=cmd(),12345\nOk,+14155550100\n"))
    upload = AudienceUpload.objects.get()
    response = staff.get(reverse("audience_upload_rejected", args=[upload.token]))
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [["line", "reason", "name", "phone"],
                    ["2", "Too short to be a phone number.", "'=cmd()", "12345"]]


def test_someone_elses_upload_is_not_found(staff, sim, login_as, users):
    preview_of(staff, choose(staff, "phone\n+14155550100\n"))
    upload = AudienceUpload.objects.get()
    other = login_as("admin")
    missing = other.get(reverse("audience_upload", args=[upload.token]))
    assert missing.status_code == 404
    # An upload, said as one: not "There is no such audience in Atoms".
    assert "There is no such upload of yours" in missing.content.decode()
    assert other.post(reverse("audience_upload_confirm", args=[upload.token])
                      ).status_code == 404


@pytest.mark.parametrize(("content", "fields", "field", "words"), [
    (b"", {}, "file", "The file is empty: choose a CSV file"),  # Django's own words before
    (b"\n\n", {}, "file", "The file is empty"),
    (b"name,phone\n", {}, "file", "header row but no contacts"),
    (b"Asha,+14155550100\n", {}, "file", "holds contacts, not column names"),
    (b"name,phone\nAsha,\"+1415\nRavi,1\n", {}, "file", "Line 2 has a quote"),
    (b"PK\x03\x04\x00\x00junk", {}, "file", "Excel workbook"),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00", {}, "file", "not a text file"),
    (b"name,phone\nAsha,+14155550100\n", {"phone_column": "mobile"}, "phone_column",
     "There is no column “mobile”"),
])
def test_a_bad_file_gets_one_sentence_beside_the_field_and_nothing_is_kept_or_sent(
        staff, sim, content, fields, field, words):
    response = choose(staff, content, **fields)
    assert response.status_code == 422
    assert any(words in e for e in response.context["form"].errors[field])
    assert 'value="Winter leads"' in response.content.decode()  # what was typed is kept
    assert not AudienceUpload.objects.exists()
    assert sim.calls_to("POST /audience") == 0


def test_choosing_another_file_from_the_check_keeps_what_was_typed(staff, sim, login_as):
    """"← Choose another file" opened a blank form: name, description and country were
    lost (probe). Someone else's file gives nothing away."""
    check = preview_of(staff, choose(staff, "phone\n+442079460000\n", name="p3 leads",
                                     description="typed description", region="GB"))
    upload = AudienceUpload.objects.get()
    link = f"{NEW}?from={upload.token}"
    assert f'href="{link}"' in check.content.decode()
    form = staff.get(link).context["form"]
    assert {name: form[name].value() for name in ("name", "description", "region")} == {
        "name": "p3 leads", "description": "typed description", "region": "GB"}
    assert login_as("admin").get(link).context["form"]["name"].value() is None
    assert staff.get(f"{NEW}?from=not-a-token").status_code == 200


@pytest.mark.parametrize(("name", "error"), [
    ("P3 \u202eevil\u202c name", "Remove the text-direction control characters"),
    ("\u200b\u200b \u200b", "Give the audience a name."),
    ("", "Give the audience a name."),  # not Django's "This field is required."
])
def test_an_audience_name_that_shows_as_something_else_or_nothing_is_refused(
        staff, sim, name, error):
    # The same rule as campaign names: a reversed or empty-looking name misleads in lists.
    response = choose(staff, "phone\n+14155550100\n", name=name)
    assert response.status_code == 422
    assert any(error in e for e in response.context["form"].errors["name"])
    assert not AudienceUpload.objects.exists()


def test_a_name_another_audience_has_is_refused_beside_the_name(staff, sim):
    """Two "Pilot testers" in the campaign form's picker, told apart only by their counts
    (probe). Any case and spacing is the same name."""
    response = choose(staff, "phone\n+14155550100\n", name="  pilot TESTERS ")
    assert response.status_code == 422
    assert response.context["form"].errors["name"] == [
        "An audience called “Pilot testers” exists already: give this one a name of its own, "
        "so the campaign form can tell them apart."]
    assert not AudienceUpload.objects.exists()
    assert choose(staff, "phone\n+14155550100\n", name="Pilot testers 2").status_code == 302


def test_the_same_name_checked_twice_is_uploaded_once(staff, sim):
    """The same file checked twice under one name (two check pages), then Upload pressed on
    each: two audiences called "Probe dup" (probe). The second is refused before sending."""
    preview_of(staff, choose(staff, "phone\n+14155550100\n", name="Probe dup"))
    preview_of(staff, choose(staff, "phone\n+14155550100\n", name="Probe dup"))
    first, second = AudienceUpload.objects.order_by("pk")
    staff.post(reverse("audience_upload_confirm", args=[first.token]))
    refused = staff.post(reverse("audience_upload_confirm", args=[second.token]), follow=True)
    assert ("An audience called “Probe dup” was made since this file was checked: choose the "
            "file again with a name of its own.") in refused.content.decode()
    assert [a.name for a in atoms_client().list_audiences()].count("Probe dup") == 1
    assert sim.calls_to("POST /audience") == 1


def test_cancel_on_the_check_leaves_for_the_audiences_not_a_blank_form(staff, sim):
    page = preview_of(staff, choose(staff, "phone\n+14155550100\n")).content.decode()
    assert f'<a href="{reverse("audience_list")}">Cancel</a>' in page


def test_a_form_refused_for_another_field_asks_for_the_file_again(staff, sim):
    response = choose(staff, "phone\n+14155550100\n", name="")
    assert response.status_code == 422
    form = response.context["form"]
    assert form.errors["file"] == [
        "Choose the file again: a browser does not keep a chosen file when the form comes "
        "back."]
    assert "Choose the file again" in response.content.decode()
    # A file refused for itself has its own sentence, not this one; no file, no sentence.
    bad = choose(staff, b"\x7fELF\x02\x01", name="").context["form"].errors["file"]
    assert len(bad) == 1 and "Choose the file again" not in bad[0]
    unchosen = staff.post(NEW, {"name": "", "region": "US"}).context["form"].errors["file"]
    assert unchosen == ["Choose the CSV file of contacts to upload."]  # not Django's words


@pytest.mark.parametrize(("content", "encoding"), [
    ("name,phone\rJosé,+14155550100\rZoë,12\r".encode("cp1252"), "Windows-1252"),
    (b"name,phone\r\nAsha,+14155550100\nRavi,12\r", "UTF-8"),
    ("\ufeffname,phone\r\nJosé,+14155550100\r\nZoë,12\r\n".encode(), "UTF-8"),
])
def test_excel_encodings_and_line_endings_are_read_row_by_row(staff, sim, content, encoding):
    page = preview_of(staff, choose(staff, content))
    assert page.context["counts"] == {"valid": 1, "invalid": 1, "duplicate": 0,
                                      "suppressed": 0}
    assert f"read as {encoding}" in page.content.decode()
    assert [row.line for row, _ in page.context["rejected"]] == [3]


def test_more_than_ten_thousand_rows_is_refused(staff, sim):
    rows = "".join(f"+1415555{n % 10000:04d}\n" for n in range(10_001))
    response = choose(staff, "phone\n" + rows)
    assert "at most 10,000 contacts" in response.context["form"].errors["file"][0]


def test_over_five_megabytes_is_refused(staff, sim):
    response = choose(staff, b"phone\n" + b"+14155550100\n" * 420_000)
    assert "the limit is 5 MB" in response.context["form"].errors["file"][0]


def test_a_file_with_no_callable_number_cannot_be_confirmed(staff, sim):
    page = preview_of(staff, choose(staff, "phone\n12345\n"))
    assert "nothing to upload" in page.content.decode()
    upload = AudienceUpload.objects.get()
    staff.post(reverse("audience_upload_confirm", args=[upload.token]))
    assert sim.calls_to("POST /audience") == 0


def test_when_atoms_dnc_cannot_be_read_the_preview_says_so_and_nothing_is_sent(staff, sim):
    preview_of(staff, choose(staff, "phone\n+14155550100\n"))
    sim.faults(error_rate=1, fail_routes=["GET /dnc"])
    upload = AudienceUpload.objects.get()
    page = staff.get(reverse("audience_upload", args=[upload.token])).content.decode()
    assert "do-not-call list could not be read" in page
    # No button that can only be refused (it was, and said the same sentence twice).
    assert 'data-testid="upload-waits"' in page and "Upload 1 contact</button>" not in page
    response = staff.post(reverse("audience_upload_confirm", args=[upload.token]),
                          follow=True)
    assert "do-not-call list could not be read" in response.content.decode()
    assert sim.calls_to("POST /audience") == 0
    assert AudienceUpload.objects.get().state == "preview"  # can be confirmed again


def test_a_large_file_is_sent_in_batches_with_progress(staff, sim, settings):
    settings.AUDIENCE_UPLOAD_BATCH = 10
    rows = "".join(f"+1415555{n:04d}\n" for n in range(25))
    preview_of(staff, choose(staff, "phone\n" + rows))
    upload = AudienceUpload.objects.get()
    staff.post(reverse("audience_upload_confirm", args=[upload.token]))
    upload.refresh_from_db()
    assert (upload.state, upload.total_rows) == ("sending", 25)  # queued for a worker
    progress = staff.get(reverse("audience_upload_progress", args=[upload.token]))
    assert progress.status_code == 200 and "0 of 25 contacts sent" in progress.content.decode()
    page = staff.get(reverse("audience_upload", args=[upload.token])).content.decode()
    assert 'data-testid="upload-progress"' in page and "hx-get" in page

    audiences.send_upload(upload.pk)  # what the worker's task runs
    upload.refresh_from_db()
    assert (upload.state, upload.sent_rows) == ("done", 25)
    assert sim.calls_to("POST /audience") == 1
    assert sim.calls_to("POST /audience/{id}/members") == 2
    assert len(members_in_atoms("Winter leads")) == 25
    done = staff.get(reverse("audience_upload_progress", args=[upload.token]))
    assert done.status_code == 286  # polling stops
    assert done["HX-Redirect"] == reverse("audience_detail", args=[upload.audience_id])


def test_a_failure_part_way_leaves_no_half_uploaded_audience(staff, sim, settings):
    settings.AUDIENCE_UPLOAD_BATCH = 10
    rows = "".join(f"+1415555{n:04d}\n" for n in range(25))
    preview_of(staff, choose(staff, "phone\n" + rows))
    upload = AudienceUpload.objects.get()
    staff.post(reverse("audience_upload_confirm", args=[upload.token]))
    sim.faults(error_rate=1, fail_routes=["POST /audience/{id}/members"])
    audiences.send_upload(upload.pk)
    upload.refresh_from_db()
    assert upload.state == "failed"
    assert "The part already sent was deleted, so nothing is left half-made" in upload.error
    assert sim.calls_to("DELETE /audience/{id}") == 1
    assert "Winter leads" not in {a.name for a in atoms_client().list_audiences()}
    audiences.send_upload(upload.pk)  # a redelivered task does nothing
    assert sim.calls_to("POST /audience") == 1


def test_a_create_whose_answer_is_lost_is_found_in_atoms_not_made_twice(staff, sim):
    preview_of(staff, choose(staff, "phone\n+14155550100\n+14155550101\n"))
    upload = AudienceUpload.objects.get()
    sim.faults(drop_response_rate=1, timeout_seconds=1, fail_routes=["POST /audience"])
    response = staff.post(reverse("audience_upload_confirm", args=[upload.token]))
    sim.clear_faults()
    upload.refresh_from_db()
    made = [a for a in atoms_client().list_audiences() if a.name == "Winter leads"]
    assert [a.id for a in made] == [upload.audience_id] and upload.state == "done"
    assert response["Location"] == reverse("audience_detail", args=[upload.audience_id])
    assert sim.calls_to("POST /audience") == 1
    assert len(members_in_atoms("Winter leads")) == 2


def test_a_retry_after_an_unchecked_lost_answer_looks_before_creating(staff, sim):
    """The first create landed, but its answer was lost and Atoms could not be asked (or
    the process died there): the upload failed with its known audiences recorded. Pressing
    Upload again finds the audience instead of making a second."""
    preview_of(staff, choose(staff, "phone\n+14155550100\n"))
    upload = AudienceUpload.objects.get()
    # One of that name made before the confirm (a name taken is refused before the check).
    earlier = atoms_client().create_audience("Winter leads", "phone", b"phone\n+14155550100\n")
    landed = atoms_client().create_audience("Winter leads", "phone", b"phone\n+14155550100\n")
    AudienceUpload.objects.filter(pk=upload.pk).update(state="failed",
                                                       known_audience_ids=[earlier.id])
    staff.post(reverse("audience_upload_confirm", args=[upload.token]))
    upload.refresh_from_db()
    assert (upload.state, upload.audience_id) == ("done", landed.id)
    assert sim.calls_to("POST /audience") == 2  # the two made above, none by the retry


def test_a_lost_answer_atoms_shows_nothing_of_is_retried_once_it_can_no_longer_land(
        staff, sim):
    """No answer, and nothing in Atoms yet: not "did not go through" (it may still land),
    and pressing Upload again sends nothing until it could no longer land."""
    preview_of(staff, choose(staff, "phone\n+14155550100\n"))
    upload = AudienceUpload.objects.get()
    confirm = reverse("audience_upload_confirm", args=[upload.token])
    sim.faults(timeout_rate=1, timeout_seconds=1, fail_routes=["POST /audience"])
    page = staff.post(confirm, follow=True).content.decode()
    sim.clear_faults()
    assert "No audience was made" not in page  # the engineer's summary stays in the logs
    assert "did not go through" not in page
    assert "no new audience shows up there yet, but it may still be making it" in page
    assert "Winter leads" not in {a.name for a in atoms_client().list_audiences()}
    staff.post(confirm)  # pressed again at once
    assert sim.calls_to("POST /audience") == 1
    AudienceUpload.objects.update(may_land_until=timezone.now() - timedelta(seconds=1))
    staff.post(confirm)
    assert [a.name for a in atoms_client().list_audiences()].count("Winter leads") == 1
    assert AudienceUpload.objects.get().state == "done"


def test_an_upload_that_lands_after_the_dashboard_gave_up_is_found_not_doubled(
        staff, sim, settings):
    """A probe, Atoms 20 s slow: "The upload did not go through" was said with Upload
    offered again, and pressing it made a second audience beside the slow one."""
    settings.ATOMS_READ_TIMEOUT = 1
    preview_of(staff, choose(staff, "phone\n+14155550100\n"))
    upload = AudienceUpload.objects.get()
    confirm = reverse("audience_upload_confirm", args=[upload.token])
    sim.faults(latency_ms=2500, fail_routes=["POST /audience"])
    page = staff.post(confirm, follow=True).content.decode()
    sim.clear_faults()  # the slow create is on its way all the same
    assert "did not go through" not in page and "may still be making it" in page
    staff.post(confirm)  # pressed again at once: nothing more is sent

    wait_until(lambda: "Winter leads" in {a.name for a in atoms_client().list_audiences()},
               timeout=10, what="the slow upload landing")
    staff.post(confirm)  # pressed again: it is found, not made again
    upload.refresh_from_db()
    assert upload.state == "done"
    assert [a.name for a in atoms_client().list_audiences()].count("Winter leads") == 1
    assert sim.calls_to("POST /audience") == 1


def half_made_upload(staff, sim, settings) -> AudienceUpload:
    """A 25-row upload Atoms failed part-way (batches of 10), its clean-up failing too."""
    settings.AUDIENCE_UPLOAD_BATCH = 10
    rows = "".join(f"+1415555{n:04d}\n" for n in range(25))
    preview_of(staff, choose(staff, "phone\n" + rows))
    upload = AudienceUpload.objects.get()
    staff.post(reverse("audience_upload_confirm", args=[upload.token]))
    sim.faults(error_rate=1, fail_routes=["POST /audience/{id}/members",
                                          "DELETE /audience/{id}"])
    audiences.send_upload(upload.pk)
    sim.clear_faults()
    upload.refresh_from_db()
    return upload


def test_a_half_made_audience_that_could_not_be_deleted_is_replaced_on_retry_not_topped_up(
        staff, sim, settings):
    """Atoms fails part-way and the clean-up fails too: the half-made audience is kept on
    record, and pressing Upload again deletes it before sending the whole file once more
    (taken as the upload's own, it would get batches it already has)."""
    upload = half_made_upload(staff, sim, settings)
    half_made = upload.audience_id
    assert upload.state == "failed" and half_made
    assert "could not be deleted" in upload.error
    staff.post(reverse("audience_upload_confirm", args=[upload.token]))
    audiences.send_upload(upload.pk)
    upload.refresh_from_db()
    assert upload.state == "done" and upload.audience_id != half_made
    assert [a.id for a in atoms_client().list_audiences() if a.name == "Winter leads"] == [
        upload.audience_id]
    assert len(members_in_atoms("Winter leads")) == 25


def test_a_half_made_audience_already_gone_is_no_reason_to_refuse_the_retry(
        staff, sim, settings):
    """Its clean-up delete landed but the answer was lost: the record kept it as left in
    Atoms, and every Upload after was refused ("could not be deleted"), as Atoms answered
    the delete with a 404. Gone is what the retry wants."""
    upload = half_made_upload(staff, sim, settings)
    atoms_client().delete_audience(upload.audience_id)  # as the lost-answer delete did
    response = staff.post(reverse("audience_upload_confirm", args=[upload.token]),
                          follow=True)
    assert "could not be deleted" not in response.content.decode()
    audiences.send_upload(upload.pk)
    upload.refresh_from_db()
    assert upload.state == "done"
    assert len(members_in_atoms("Winter leads")) == 25


def test_an_upload_atoms_refuses_shows_why_and_can_be_retried(staff, sim):
    preview_of(staff, choose(staff, "phone\n+14155550100\n"))
    upload = AudienceUpload.objects.get()
    sim.faults(error_rate=1, fail_routes=["POST /audience"])
    response = staff.post(reverse("audience_upload_confirm", args=[upload.token]),
                          follow=True)
    page = response.content.decode()
    # An error of Atoms' own is no refusal, and the page says it once (not also as a flash).
    said = "The upload did not go through: Atoms answered with an error of its own (HTTP 500)"
    assert page.count(said) == 1 and "did not accept" not in page
    assert AuditEntry.objects.get(action="upload_audience").outcome == "failed"
    sim.clear_faults()
    staff.post(reverse("audience_upload_confirm", args=[upload.token]))
    assert AudienceUpload.objects.get().state == "done"


def test_an_upload_of_one_contact_says_contact_not_contacts(staff, sim):
    preview_of(staff, choose(staff, "phone\n+14155550100\n", name="Only one"))
    response = staff.post(reverse("audience_upload_confirm",
                                  args=[AudienceUpload.objects.get().token]))
    assert [str(m) for m in response.wsgi_request._messages] == [
        "Audience “Only one” uploaded with 1 contact."]


def test_managers_cannot_upload(login_as, sim, atoms_settings):
    response = choose(login_as("manager"), "phone\n+14155550100\n")
    assert response.status_code == 403
    assert not AudienceUpload.objects.exists()


def test_a_new_audience_shows_in_the_create_form_at_once(staff, sim):
    staff.get(reverse("campaign_new"))  # caches the pickers
    preview_of(staff, choose(staff, "phone\n+14155550100\n", name="Fresh list"))
    staff.post(reverse("audience_upload_confirm",
                       args=[AudienceUpload.objects.get().token]))
    assert "Fresh list" in staff.get(reverse("campaign_new")).content.decode()


def test_numbers_written_with_letters_are_listed_with_what_will_be_dialled(staff, sim):
    """A probe: "415 555 O1OO", a letter O for each zero, was read as a keypad's letters
    and uploaded as +14155556166, someone else's line, without a word."""
    page = preview_of(staff, choose(staff, "name,phone\n"
                                           "Vanity,1-800-FLOWERS\n"
                                           "Typo,415 555 O1OO\n"
                                           "Plain,(415) 555-0101\n"
                                           "Labelled,Tel: +1 415 555 0102\n"))
    assert page.context["counts"]["valid"] == 4  # uploaded as read, once checked
    assert [(row.line, written, row.phone) for row, written in page.context["from_letters"]] \
        == [(2, "1-800-FLOWERS", "+18003569377"), (3, "415 555 O1OO", "+14155556166")]
    html = page.content.decode()
    assert "Numbers written with letters: check them" in html
    assert html.count('data-testid="from-letters-row"') == 2


def test_no_letters_no_list(staff, sim):
    page = preview_of(staff, choose(staff, "phone\n+1 415 555 0100\n020 7946 0958\n",
                                    region="GB"))
    assert page.context["counts"]["valid"] == 2
    assert page.context["from_letters"] == []
    assert 'data-testid="from-letters"' not in page.content.decode()
