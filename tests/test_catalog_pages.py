"""Audiences and phone numbers: listed from Atoms (cached), uploaded with clear errors."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campaigns.connections import atoms_client
from campaigns.models import AuditEntry

pytestmark = pytest.mark.django_db
UPLOAD = reverse("audience_new")


@pytest.fixture
def staff(login_as, sim, atoms_settings):
    return login_as("staff")


def csv_file(text: str, name: str = "contacts.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def upload(client, text: str, **fields):
    data = {"name": "Winter leads", "phone_column": "phoneNumber", "description": "",
            "file": csv_file(text), **fields}
    return client.post(UPLOAD, data)


def test_the_audience_list_shows_names_counts_and_users(staff):
    page = staff.get(reverse("audience_list")).content.decode()
    assert page.count('data-testid="audience-row"') == 3
    assert "1,000" in page


def test_phone_numbers_show_number_provider_and_country(staff):
    page = staff.get(reverse("phone_number_list")).content.decode()
    assert page.count('data-testid="phone-row"') >= 3
    assert "Plivo" in page and "Twilio" in page and "+91" in page and "+1" in page


def test_lists_are_cached_and_refresh_asks_atoms_again(staff, sim):
    staff.get(reverse("audience_list"))
    staff.get(reverse("phone_number_list"))
    assert sim.calls_to("GET /audience") == 1
    staff.get(reverse("audience_list"), {"refresh": "1"})
    assert sim.calls_to("GET /audience") == 2


def test_when_atoms_is_down_the_last_lists_are_shown_with_a_warning(staff, sim):
    staff.get(reverse("audience_list"), {"refresh": "1"})
    sim.faults(error_rate=1)
    page = staff.get(reverse("audience_list"), {"refresh": "1"}).content.decode()
    assert "may be out of date" in page
    assert page.count('data-testid="audience-row"') == 3


def test_when_atoms_is_down_with_nothing_cached_the_form_says_so(staff, sim):
    sim.faults(error_rate=1)
    response = staff.get(reverse("campaign_new"))
    assert response.status_code == 200
    assert "Could not load agents, audiences and numbers" in response.content.decode()


def test_an_upload_creates_the_audience_in_atoms(staff, sim):
    response = upload(staff, "firstName,phoneNumber\nAsha,+919800000001\nRavi,+919800000002\n")
    assert response.status_code == 302
    created = next(a for a in atoms_client().list_audiences() if a.name == "Winter leads")
    assert created.member_count == 2
    assert response["Location"] == reverse("audience_detail", args=[created.id])
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.outcome, entry.atoms_id) == ("upload_audience", "ok", created.id)


def test_a_new_audience_shows_in_the_create_form_at_once(staff, sim):
    staff.get(reverse("campaign_new"))  # caches the pickers
    upload(staff, "phoneNumber\n+15550001111\n", name="Fresh list")
    assert "Fresh list" in staff.get(reverse("campaign_new")).content.decode()


def test_the_audience_page_lists_its_members(staff, sim):
    audience = next(a for a in atoms_client().list_audiences() if a.member_count == 50)
    page = staff.get(reverse("audience_detail", args=[audience.id])).content.decode()
    assert page.count('data-testid="member-row"') == 25
    assert "Page 1 of 2 · 50 contacts" in page


@pytest.mark.parametrize("audience_id", ["000000000000000000000000", "not-an-id", "..%2F"])
def test_an_unknown_audience_is_a_404(staff, audience_id):
    assert staff.get(f"/audiences/{audience_id}/").status_code == 404


@pytest.mark.parametrize(("text", "field", "message"), [
    ("", "file", "The submitted file is empty."),
    ("firstName,phoneNumber\n", "file", "header row but no contacts"),
    ("firstName,phone\nAsha,+91980\n", "phone_column", "No column named “phoneNumber”"),
    ("firstName,phoneNumber\nAsha,\nRavi,+9198\n,\n", "file",
     "Rows without a phone number: line 2"),
])
def test_a_bad_csv_is_refused_beside_the_field_and_nothing_is_sent(staff, sim, text, field,
                                                                    message):
    response = upload(staff, text)
    assert response.status_code == 422
    errors = response.context["form"].errors[field]
    assert any(message in e for e in errors), errors
    assert 'value="Winter leads"' in response.content.decode()
    assert sim.calls_to("POST /audience") == 0


def test_a_binary_file_is_refused(staff, sim):
    response = staff.post(UPLOAD, {"name": "x", "phone_column": "phoneNumber",
                                   "file": SimpleUploadedFile("a.csv", b"\xff\xfe\x00\x01")})
    assert "CSV" in response.context["form"].errors["file"][0]
    assert sim.calls_to("POST /audience") == 0


def test_more_than_ten_thousand_contacts_is_refused(staff, sim):
    rows = "\n".join(f"+1555{n:07d}" for n in range(10_001))
    response = upload(staff, "phoneNumber\n" + rows)
    assert "at most 10,000 contacts" in response.context["form"].errors["file"][0]


def test_an_upload_atoms_refuses_shows_atoms_reason(staff, sim):
    sim.faults(fail_routes=["POST /audience"])
    response = upload(staff, "phoneNumber\n+15550001111\n")
    assert response.status_code == 422
    assert "Atoms did not accept the upload" in response.content.decode()
    assert AuditEntry.objects.get().outcome == "failed"


def test_managers_cannot_upload(login_as, sim, atoms_settings):
    response = upload(login_as("manager"), "phoneNumber\n+15550001111\n")
    assert response.status_code == 403
    assert sim.calls_to("POST /audience") == 0
