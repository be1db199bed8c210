"""Audiences and phone numbers: listed from Atoms (cached); the upload is in
test_audience_upload.py."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campaigns.connections import atoms_client

pytestmark = pytest.mark.django_db
UPLOAD = reverse("audience_new")


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
    # Stacked at phone width without the headers, each figure says what it is (a probe
    # read "4 · —").
    assert '1,000<span class="narrow-only"> contacts</span>' in page
    assert page.count('<span class="narrow-only">used by </span>') == 3


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
    # An error answer is an answer: not "could not be reached".
    assert ("The lists could not be refreshed from Atoms (Atoms answered with an error of its "
            "own (HTTP 500)") in page and "could not be reached" not in page
    assert "may be out of date" in page
    assert page.count('data-testid="audience-row"') == 3


def test_when_atoms_is_down_with_nothing_cached_the_form_says_so(staff, sim):
    sim.faults(error_rate=1)
    response = staff.get(reverse("campaign_new"))
    assert response.status_code == 200
    assert "Could not load agents, audiences and numbers" in response.content.decode()


def test_when_atoms_hangs_the_form_says_so_within_the_pages_deadline(staff, sim, settings):
    """Each picker read may take its timeout three times over (about 47 s with the
    defaults): the page's deadline bounds them all."""
    settings.ATOMS_PAGE_DEADLINE_SECONDS = 1
    sim.faults(latency_ms=4000, fail_routes=["GET /agent"])
    started = time.monotonic()
    response = staff.get(reverse("campaign_new"))
    took = time.monotonic() - started
    assert took < 2.5, took  # the deadline, not the 4 s Atoms takes
    assert "Could not load agents, audiences and numbers" in response.content.decode()
    assert "Atoms did not answer in time" in response.content.decode()


def test_the_audience_page_lists_its_members(staff, sim):
    audience = next(a for a in atoms_client().list_audiences() if a.member_count == 50)
    page = staff.get(reverse("audience_detail", args=[audience.id])).content.decode()
    assert page.count('data-testid="member-row"') == 25
    assert "Page 1 of 2 · 50 contacts" in page


@pytest.mark.parametrize("audience_id", ["000000000000000000000000", "not-an-id", "..%2F"])
def test_an_unknown_audience_is_a_404(staff, audience_id):
    response = staff.get(f"/audiences/{audience_id}/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "There is no such audience" in page and "campaign may have" not in page
