"""Odd input and error paths end in a page that says what happened and keeps the input:
never a bare "Bad Request (400)", a blank 405, a 500 or an invisible refusal."""

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from campaigns import errors
from campaigns.models import Campaign
from tests.campaign_factory import field_errors, form_data

pytestmark = pytest.mark.django_db

URL = reverse("campaign_new")


# --- "Start at" ---------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata", "UTC"])
def test_a_start_time_in_the_year_9999_is_refused_beside_its_field(staff, zone):
    response = staff.post(URL, form_data(scheduled_at="9999-12-31T23:59", time_zone=zone))
    assert response.status_code == 422
    assert field_errors(response, "scheduled_at") == ["Choose a time within the next year."]
    assert not Campaign.objects.exists()


def test_start_at_is_read_in_the_browsers_time_zone(staff):
    zone = ZoneInfo("Asia/Kolkata")  # UTC+5:30: a server-zone reading would be 5.5 h off
    local = datetime.now(zone).replace(second=0, microsecond=0) + timedelta(minutes=10)
    response = staff.post(URL, form_data(scheduled_at=local.strftime("%Y-%m-%dT%H:%M"),
                                         time_zone="Asia/Kolkata"))
    assert response.status_code == 302, response.context and response.context["form"].errors
    campaign = Campaign.objects.get()
    assert campaign.status == "scheduled"
    assert abs((campaign.scheduled_at - local).total_seconds()) < 1


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "x" * 500, "\x00"])
def test_a_time_zone_that_is_no_zone_falls_back_to_the_servers(staff, zone):
    later = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")  # server: UTC
    response = staff.post(URL, form_data(scheduled_at=later, time_zone=zone))
    assert response.status_code == 302
    assert Campaign.objects.get().status == "scheduled"


def test_the_form_says_which_time_zone_start_at_is_in(staff):
    page = staff.get(URL).content.decode()
    assert "Times are in UTC." in page  # app.js rewrites it with the browser's zone
    assert 'name="time_zone"' in page


# --- names and numbers ----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "message"), [
    ("\u200b", "Give the campaign a name."),
    ("\u200b\u2060 \ufeff", "Give the campaign a name."),
    ("Spring \u202egnp.exe", "text-direction control characters"),
    ("\u2067Renewals\u2069", "text-direction control characters"),
])
def test_an_invisible_or_direction_tricking_name_is_refused(staff, sim, name, message):
    before = sim.calls_to("POST /campaign")
    response = staff.post(URL, form_data(name=name))
    assert response.status_code == 422
    assert any(message in error for error in field_errors(response, "name"))
    assert sim.calls_to("POST /campaign") == before


def test_the_same_phone_number_chosen_three_times_is_sent_once(staff, sim):
    data = form_data()
    number = data["phone_numbers"][0]
    response = staff.post(URL, {**data, "phone_numbers": [number, number, number]})
    assert response.status_code == 302
    assert Campaign.objects.get().phone_number_ids == [number]


def test_a_phone_value_that_is_no_number_is_refused(staff):
    response = staff.post(URL, {**form_data(), "phone_numbers": ["not-a-phone"]})
    assert response.status_code == 422
    assert field_errors(response, "phone_numbers")


def test_a_missing_form_token_says_so_and_gives_a_fresh_one(staff, sim):
    data = form_data("Keep me")
    del data["token"]
    response = staff.post(URL, data)
    assert response.status_code == 422
    page = response.content.decode()
    assert "missing its one-time token" in page and 'data-testid="form-error"' in page
    assert 'value="Keep me"' in page
    token = response.context["form"]["token"].value()
    uuid.UUID(token)  # a fresh, valid token: pressing the button again works
    assert staff.post(URL, {**data, "token": token}).status_code == 302


# --- error pages ----------------------------------------------------------------------------


def test_an_unknown_address_is_a_friendly_404_not_a_url_list(staff):
    response = staff.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "There is no page at this address." in page and "URLconf" not in page


def test_an_unknown_call_or_download_of_a_campaign_does_not_say_the_campaign_is_gone(staff):
    campaign = Campaign.objects.create(atoms_id="b" * 24, name="Still here", status="completed")
    for address in (f"/campaigns/{campaign.pk}/export/bogus.csv",
                    f"/campaigns/{campaign.pk}/nothing-here/"):
        response = staff.get(address)
        assert response.status_code == 404
        page = response.content.decode()
        assert "“Still here” has nothing at this address" in page
        assert "may have been deleted" not in page
        assert f'href="/campaigns/{campaign.pk}/"' in page
    gone = staff.get("/campaigns/999999/export/logs.csv").content.decode()
    assert "There is no such campaign here: it may have been deleted" in gone


def test_an_unknown_audience_is_not_called_a_campaign(staff):
    page = staff.get("/audiences/not-an-id/").content.decode()
    assert "There is no such audience" in page and "campaign" not in page.split("<main")[1]


def test_a_get_on_an_action_address_is_a_friendly_405(staff):
    campaign = Campaign.objects.create(atoms_id="a" * 24, name="Quiet", status="running")
    response = staff.get(reverse("campaign_pause", args=[campaign.pk]))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    page = response.content.decode()
    assert "Use the button on the page" in page
    assert f'href="/campaigns/{campaign.pk}/"' in page
    # A method no page takes is not told to use a button (OPTIONS, TRACE: scripts).
    options = staff.generic("OPTIONS", reverse("campaign_list"))
    assert options.status_code == 405
    assert "does not answer OPTIONS requests" in options.content.decode()
    assert "Use the button" not in options.content.decode()


@pytest.mark.parametrize("came_from", [{"HTTP_ORIGIN": "http://testserver"},
                                       {"HTTP_REFERER": "http://testserver/campaigns/new/"}])
def test_a_stale_form_token_keeps_what_was_typed(users, sim, atoms_settings, came_from):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["staff"])
    response = client.post(URL, {**form_data("Typed before lunch",
                                             scheduled_at="2026-12-08T09:00"),
                                 "csrfmiddlewaretoken": "stale"}, **came_from)
    assert response.status_code == 403
    page = response.content.decode()
    assert "This form had expired" in page
    assert 'value="Typed before lunch"' in page and "Send again" in page
    # The start time is listed as a person reads it, and sent again as the form sent it.
    assert "<dd>8 December 2026, 09:00<input" in page
    assert 'value="2026-12-08T09:00"' in page
    assert "stale" not in page  # the old token is not offered back
    # Nor any password field, however its name is written.
    again = client.post(URL, {**form_data("Typed"), "PassWord2": "leak-me",
                              "csrfmiddlewaretoken": "stale"}, **came_from)
    assert "leak-me" not in again.content.decode()
    assert 'data-testid="file-not-kept"' not in page  # no file was sent
    upload = client.post(reverse("audience_new"), {
        "name": "Winter leads", "csrfmiddlewaretoken": "stale",
        "file": SimpleUploadedFile("c.csv", b"phone\n+14155550100\n")}, **came_from)
    assert 'data-testid="file-not-kept"' in upload.content.decode()  # choose it again


@pytest.mark.parametrize("came_from", [{"HTTP_ORIGIN": "https://evil.example"},
                                       {"HTTP_ORIGIN": "null"},
                                       {"HTTP_REFERER": "https://evil.example/page"}, {}])
def test_a_form_from_another_site_is_never_offered_back_with_a_fresh_token(
        users, django_user_model, came_from):
    """Another site's page posts "make this person an admin" here: refused for its
    token, it must not come back as a form one click would send with a valid token."""
    victim = django_user_model.objects.create_user("newcomer", password="x-long-enough-1")
    forged = Client(enforce_csrf_checks=True)  # cross-site: no session cookie sent along
    response = forged.post(reverse("user_change", args=[victim.pk]), {"role": "admin"},
                           **came_from)
    assert response.status_code == 403
    page = response.content.decode()
    # Said as it is when the page says where it was: not "expired" (send it again).
    assert ("This form came from another site" if came_from else "This form had expired") in page
    assert "Send again" not in page and 'value="admin"' not in page
    assert "csrfmiddlewaretoken" not in page


def test_too_many_fields_is_a_friendly_400(staff, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    response = staff.post(URL, {f"f{i}": "x" for i in range(20)})
    assert response.status_code == 400
    page = response.content.decode()
    assert "The request could not be read" in page and "Back button" in page


def test_a_request_for_another_host_gets_the_friendly_400_page(client):
    # Refused before the sign-in middleware ran: the page has no user to look at.
    response = client.get("/campaigns/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "The request could not be read" in page
    # Said as it is, not "the form sent more than the dashboard accepts".
    assert "a host name this dashboard does not answer to" in page and "too many" not in page


def test_a_500_page_says_what_to_check(users):
    request = RequestFactory().get("/campaigns/")
    request.user = users["staff"]
    response = errors.handler500(request)
    assert response.status_code == 500
    assert b"check its page before trying again" in response.content


def test_a_far_future_start_time_never_reaches_the_overflow(staff):
    # Timestamps near datetime.max once overflowed in the time zone conversion (a 500).
    response = staff.post(URL, form_data(scheduled_at="9999-12-31T23:59",
                                         time_zone="Pacific/Kiritimati"))
    assert response.status_code == 422
    assert field_errors(response, "scheduled_at") == ["Choose a time within the next year."]


# Every page a person opens; the fragments pages fetch and the downloads are not pages.
PAGES = ["home", "campaign_list", "board", "activity", "phone_number_list", "audience_list",
         "suppression_list", "notification_list", "alert_routing", "user_list",
         "campaign_new", "audience_new", "password_change"]


@pytest.mark.parametrize("name", PAGES)
def test_a_head_request_is_answered_like_a_get(login_as, sim, atoms_settings, name):
    """Uptime monitors and link checkers ask with HEAD: it was a 405 on every page, then
    on the audience, do-not-call, alerts and users pages."""
    admin = login_as("admin")
    got = admin.get(reverse(name))
    head = admin.head(reverse(name))
    assert head.status_code == got.status_code and head.status_code in (200, 302)
    assert head.content == b""


def test_a_head_request_on_a_campaigns_and_an_audiences_pages(login_as, running):
    admin = login_as("admin")
    urls = [reverse("campaign_detail", args=[running.pk]),
            reverse("campaign_calls", args=[running.pk]),
            reverse("campaign_delete", args=[running.pk]),
            reverse("audience_detail", args=[running.audience_id])]
    for url in urls:
        assert admin.head(url).status_code == admin.get(url).status_code == 200, url
