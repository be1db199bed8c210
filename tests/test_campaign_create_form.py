"""The create form: every limit is checked on the server, beside its field, and nothing
the user typed is lost when the form or Atoms refuses."""

import html
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.connections import atoms_client
from campaigns.models import AuditEntry, Campaign
from tests.campaign_factory import field_errors, form_data

pytestmark = pytest.mark.django_db

URL = reverse("campaign_new")


def test_the_form_has_the_exact_labels_and_defaults(staff):
    page = staff.get(URL).content.decode()
    for label in ("Name", "Description", "Agent", "Audience", "Phone numbers", "Max retries",
                  "Retry delay (minutes)", "Start at"):
        assert f">{label}" in page, label
    assert 'name="max_retries" value="3"' in page
    assert 'name="retry_delay" value="15"' in page
    assert "Create campaign" in page and "Create and start" in page


def test_the_pickers_show_names_member_counts_and_providers(staff, sim):
    page = html.unescape(staff.get(URL).content.decode())
    assert "(2 contacts)" in page and "(1,000 contacts)" in page
    assert "· Plivo" in page and "· Twilio" in page


def test_the_pickers_list_agents_and_audiences_a_to_z(staff, sim):
    atoms_client().create_audience("aardvark leads", "phoneNumber",
                                   b"phoneNumber\n+14155550111\n")
    page = html.unescape(staff.get(URL, {"refresh": "1"}).content.decode())
    for field in ("agent", "audience"):
        select = page.split(f'name="{field}"')[1].split("</select>")[0]
        names = re.findall(r'<option value="[^"]+"[^>]*>([^<(]+)', select)
        assert len(names) > 2 and names == sorted(names, key=str.casefold), names
    assert "aardvark leads" in page


def test_an_empty_form_says_what_is_missing_beside_each_field(staff, sim):
    before = sim.calls_to("POST /campaign")
    response = staff.post(URL, {"token": form_data()["token"]})
    assert response.status_code == 422
    for field in ("name", "agent", "audience", "phone_numbers", "max_retries", "retry_delay"):
        assert field_errors(response, field), field
    assert field_errors(response, "phone_numbers") == ["Choose at least one number to call from."]
    # Each says what to do, in the form's words, not "This field is required."
    assert field_errors(response, "name") == ["Give the campaign a name."]
    assert field_errors(response, "agent") == ["Choose the agent that makes the calls."]
    assert field_errors(response, "audience") == ["Choose the contacts to call."]
    assert sim.calls_to("POST /campaign") == before
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", "x" * 201, "at most 200 characters"),
    ("name", "   ", "Give the campaign a name."),
    # In words, not Django's "Ensure this value is less than or equal to 10." (a probe).
    ("max_retries", "11", "At most 10 retries: type a number from 0 to 10."),
    ("max_retries", "-1", "Type a whole number from 0 to 10."),
    ("max_retries", "three", "Type a whole number from 0 to 10."),
    ("max_retries", "", "Say how many times to call again (0 for never)."),
    ("retry_delay", "0", "Wait at least 1 minute: type a number from 1 to 1440."),
    ("retry_delay", "1441", "At most 1440 minutes (a day): type a number from 1 to 1440."),
    ("retry_delay", "2.5", "Type a whole number of minutes, from 1 to 1440."),
    ("agent", "65f0c0ffee0000000000dead", "Select a valid choice"),
    ("audience", "../../etc/passwd", "Select a valid choice"),
    ("phone_numbers", "65f0c0ffee0000000000beef", "Select a valid choice"),
    ("scheduled_at", "yesterday", "Enter a valid date/time."),
    ("description", "d" * 1001, "at most 1000 characters"),
])
def test_a_bad_value_is_refused_beside_its_field_and_the_rest_is_kept(
        staff, sim, field, value, message):
    data = {**form_data("Keep me", max_retries="7"), field: value}
    response = staff.post(URL, data)
    assert response.status_code == 422
    assert any(message in error for error in field_errors(response, field)), \
        field_errors(response, field)
    page = response.content.decode()
    if field != "name":
        assert 'value="Keep me"' in page
    if field != "max_retries":
        assert 'name="max_retries" value="7"' in page
    assert f'value="{data["token"]}"' in page  # the same form token: a resubmit is safe
    assert not Campaign.objects.exists()


def test_a_start_time_in_the_past_is_refused(staff):
    past = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = staff.post(URL, form_data(scheduled_at=past))
    assert field_errors(response, "scheduled_at") == [
        "Choose a time in the future, or leave it empty."]


def test_a_start_time_with_create_and_start_asks_to_choose(staff):
    later = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = staff.post(URL, {**form_data(scheduled_at=later), "submit_action": "start"})
    assert "Leave Start at empty to start now" in field_errors(response, "scheduled_at")[0]


def test_create_makes_the_campaign_in_atoms_and_mirrors_it(staff, sim):
    response = staff.post(URL, form_data("January Outreach", max_retries="2", retry_delay="30"))
    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("campaign_detail", args=[campaign.pk])
    assert (campaign.name, campaign.status, campaign.max_retries, campaign.retry_delay) == (
        "January Outreach", "draft", 2, 30)
    assert len(campaign.atoms_id) == 24
    assert campaign.agent_name and campaign.audience_name
    assert sim.calls_to("POST /campaign") == 1
    entry = AuditEntry.objects.get(action="create")
    assert (entry.outcome, entry.campaign_id, entry.actor_name) == ("ok", campaign.pk,
                                                                    "sam-staff")


def test_a_future_start_time_schedules_the_campaign(staff):
    later = timezone.localtime() + timedelta(days=2)
    staff.post(URL, form_data(scheduled_at=later.strftime("%Y-%m-%dT%H:%M")))
    campaign = Campaign.objects.get()
    assert campaign.status == "scheduled"
    assert abs((campaign.scheduled_at - later).total_seconds()) < 60


def test_create_and_start_asks_atoms_to_start(staff, sim):
    response = staff.post(URL, {**form_data(), "submit_action": "start"})
    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert campaign.pending_action == "start"
    assert sim.calls_to("POST /campaign/{id}/start") == 1
    assert list(AuditEntry.objects.order_by("pk").values_list("action", "outcome")) == [
        ("create", "ok"), ("start", "ok")]


def test_resubmitting_the_same_form_makes_one_campaign(staff, sim):
    data = form_data()
    first = staff.post(URL, data)
    second = staff.post(URL, data)
    assert Campaign.objects.count() == 1
    assert sim.calls_to("POST /campaign") == 1
    assert first["Location"] == second["Location"]


SCRIPT_NAME = '<script>alert("x")</script><b>Bold</b>'


def test_a_name_with_html_is_shown_escaped_everywhere(staff, login_as, sim):
    staff.post(URL, form_data(SCRIPT_NAME))
    campaign = Campaign.objects.get()
    assert campaign.name == SCRIPT_NAME
    admin = login_as("admin")
    for url in (reverse("campaign_list"), reverse("campaign_detail", args=[campaign.pk]),
                reverse("activity"), reverse("campaign_delete", args=[campaign.pk])):
        page = admin.get(url).content.decode()
        assert SCRIPT_NAME not in page, url
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page, url


def next_time_the_clocks(zone: ZoneInfo, at: time, *, skip: bool) -> datetime:
    """The next `at` within the year that the clocks of `zone` skip (spring forward) or,
    not `skip`, live twice (fall back)."""
    day = timezone.now().astimezone(zone).date()
    for ahead in range(1, 366):
        typed = datetime.combine(day + timedelta(days=ahead), at)
        there = typed.replace(tzinfo=zone)
        skipped = there.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != typed
        repeated = not skipped and there.utcoffset() != there.replace(fold=1).utcoffset()
        if skipped if skip else repeated:
            return typed
    raise AssertionError(f"{zone.key} has no such {at} within a year")


def test_a_start_time_the_clocks_skip_is_refused_not_moved_an_hour(staff):
    """02:30 on the night Los Angeles goes forward was taken and shown as 03:30."""
    skipped = next_time_the_clocks(ZoneInfo("America/Los_Angeles"), time(2, 30), skip=True)
    data = form_data(scheduled_at=skipped.strftime("%Y-%m-%dT%H:%M"),
                     time_zone="America/Los_Angeles")
    response = staff.post(URL, data)
    assert response.status_code == 422
    assert field_errors(response, "scheduled_at") == [
        f"02:30 on {skipped:%d %B %Y} does not exist in America/Los_Angeles: the clocks go "
        "forward then. Choose another time."]
    assert not Campaign.objects.exists()
    an_hour_on = skipped + timedelta(hours=1)
    staff.post(URL, {**data, "scheduled_at": an_hour_on.strftime("%Y-%m-%dT%H:%M")})
    assert Campaign.objects.get().scheduled_at == an_hour_on.replace(
        tzinfo=ZoneInfo("America/Los_Angeles"))


def test_a_start_time_the_clocks_live_twice_is_refused_not_taken_as_either(staff):
    """A probe: 01:30 on the night Los Angeles goes back was taken as the first of the
    two without a word, and shown back without saying which."""
    repeated = next_time_the_clocks(ZoneInfo("America/Los_Angeles"), time(1, 30), skip=False)
    data = form_data(scheduled_at=repeated.strftime("%Y-%m-%dT%H:%M"),
                     time_zone="America/Los_Angeles")
    response = staff.post(URL, data)
    assert response.status_code == 422
    assert field_errors(response, "scheduled_at") == [
        f"01:30 on {repeated:%d %B %Y} happens twice in America/Los_Angeles: the clocks go "
        "back then. Choose a time outside that hour."]
    assert not Campaign.objects.exists()


def test_a_start_time_sent_with_its_offset_is_that_instant(staff):
    """A probe (a script's post: browsers send no offset): "…T09:00+05:30" sent with the
    Los Angeles zone was stored as 09:00 in Los Angeles."""
    day = (timezone.now() + timedelta(days=3)).date()
    for sent, instant in ((f"{day}T09:00+05:30", datetime.combine(day, time(3, 30), UTC)),
                          (f"{day}T09:00Z", datetime.combine(day, time(9), UTC))):
        response = staff.post(URL, form_data(sent, scheduled_at=sent,
                                             time_zone="America/Los_Angeles"))
        assert response.status_code == 302, field_errors(response, "scheduled_at")
        assert Campaign.objects.get(name=sent).scheduled_at == instant


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/Los_Angeles"])
def test_the_first_year_is_in_the_past_in_every_zone(staff, zone):
    """A probe: "0001-01-01T00:00" typed ahead of UTC was "not within the next year"."""
    response = staff.post(URL, form_data(scheduled_at="0001-01-01T00:00", time_zone=zone))
    assert field_errors(response, "scheduled_at") == [
        "Choose a time in the future, or leave it empty."]


def test_each_phone_number_box_names_the_error_and_ticked_ones_stay_ticked(staff, sim):
    """A probe with a screen reader: each box said "invalid" with no reason, the error
    being tied only to the group, which is not read when Tab enters a box."""
    empty = staff.post(URL, {"token": form_data()["token"]}).content.decode()
    boxes = re.findall(r'<input type="checkbox" name="phone_numbers"[^>]*>', empty)
    assert len(boxes) >= 2
    assert all('aria-invalid="true" aria-describedby="id_phone_numbers_error"' in box
               for box in boxes), boxes
    data = {**form_data("Keep me"), "max_retries": "11"}  # wrong elsewhere: boxes keep
    kept = staff.post(URL, data).content.decode()
    ticked = re.findall(r'<input type="checkbox" name="phone_numbers" value="([^"]+)"[^>]*'
                        r' checked', kept)
    assert ticked == data["phone_numbers"]
    assert 'aria-describedby="id_phone_numbers_error"' not in kept
