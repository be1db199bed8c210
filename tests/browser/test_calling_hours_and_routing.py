"""In real Chromium at a desktop and a phone width: staff set a campaign's calling hours
(the zone starts as their browser's, a line that cannot be read is said beside the field and
kept), the campaign's page and its pre-launch check show them; an admin routes alerts and
adds a team webhook. Each page passes axe and does not scroll sideways."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaigns import calling_hours, services
from campaigns.models import AlertChoice, AlertWebhook
from tests.browser.conftest import (
    assert_accessible,
    assert_fits_width,
    collect_page_errors,
    sign_in,
)
from tests.campaign_factory import make_campaign

pytestmark = pytest.mark.django_db(transaction=True)

ZONE = "America/New_York"


def open_in_zone(chromium, web_server, user, width: int):
    context = chromium.new_context(base_url=web_server.url, timezone_id=ZONE,
                                   viewport={"width": width, "height": 900})
    context.set_default_timeout(15_000)
    return context, sign_in(context.new_page(), user.username)


@pytest.mark.parametrize("width", [1280, 390])
def test_staff_set_calling_hours_and_see_them_before_the_start(
        users, chromium, web_server, sim, server_settings, width):
    draft = make_campaign(sim, users["staff"], name="Evening calls")
    context, page = open_in_zone(chromium, web_server, users["staff"], width)
    errors = collect_page_errors(page)
    try:
        page.goto(f"/campaigns/{draft.pk}/")
        expect(page.get_by_test_id("calling-hours")).to_have_text("any time · Set calling hours")
        page.get_by_role("link", name="Set calling hours").click()
        expect(page.get_by_label("Time zone")).to_have_value(ZONE)  # the browser's own
        windows = page.get_by_label("Calling windows")
        windows.fill("Mon-Fri 09:00-17:00\nSat 18-20")
        page.get_by_role("button", name="Save calling hours").click()
        expect(page.get_by_text("Line 2 (“Sat 18-20”): write days, then from–to")).to_be_visible()
        expect(windows).to_have_value("Mon-Fri 09:00-17:00\nSat 18-20")
        assert_accessible(page)
        assert_fits_width(page)

        windows.fill("Mon-Fri 09:00-17:00\nSat 18:00-24:00")
        page.get_by_role("button", name="Save calling hours").click()
        expect(page.get_by_test_id("calling-hours")).to_contain_text(
            "Mon–Fri 09:00–17:00, Sat 18:00–24:00 (America/New_York)")
        expect(page.get_by_test_id("preflight-hours")).to_have_text(
            "Mon–Fri 09:00–17:00, Sat 18:00–24:00 (America/New_York)")
        assert_fits_width(page)
        assert errors == []
    finally:
        context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_a_start_outside_calling_hours_waits_and_can_be_called_off(
        users, chromium, web_server, sim, server_settings, width):
    draft = make_campaign(sim, users["staff"], name="Waits for its hours")
    day = timezone.now() + timedelta(days=3)  # a one-hour window, closed whatever today is
    services.set_calling_hours(users["staff"], draft, calling_hours.parse(
        f"{calling_hours.DAY_NAMES[day.weekday()]} 10:00-11:00", "UTC"))
    context, page = open_in_zone(chromium, web_server, users["staff"], width)
    errors = collect_page_errors(page)
    try:
        page.goto(f"/campaigns/{draft.pk}/")
        actions = page.get_by_test_id("actions")
        actions.get_by_role("button", name="Start", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("Outside its calling hours")
        # Not "Start" again, which would change nothing: it waits, and may be called off.
        expect(actions.get_by_test_id("held-start")).to_have_text(
            "Starts when its calling hours begin.")
        expect(actions.get_by_role("button", name="Start", exact=True)).to_have_count(0)
        assert_accessible(page)
        assert_fits_width(page)
        page.goto("/campaigns/")  # the list says it waits, and still fits a phone
        expect(page.locator(f"#campaign-{draft.pk}").get_by_test_id("held")).to_be_visible()
        assert_fits_width(page)
        assert page.eval_on_selector("#results .table-wrap",
                                     "el => el.scrollWidth <= el.clientWidth")
        page.goto(f"/campaigns/{draft.pk}/")
        actions.get_by_role("button", name="Don't start").click()
        expect(page.get_by_role("status")).to_have_text(
            "The start waiting for calling hours is cancelled: it stays draft.")
        expect(actions.get_by_role("button", name="Start", exact=True)).to_be_visible()
        assert errors == []
    finally:
        context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_an_admin_routes_alerts_and_adds_a_team_webhook(users, chromium, web_server, width):
    context, page = open_in_zone(chromium, web_server, users["admin"], width)
    errors = collect_page_errors(page)
    try:
        page.goto("/alerts/")
        page.get_by_test_id("alert-routing-link").click()
        expect(page.get_by_test_id("no-webhooks")).to_be_visible()
        assert_accessible(page)
        assert_fits_width(page)

        row = page.locator("tr[data-user=sam-staff]")
        row.get_by_label("By role").uncheck()
        row.get_by_label("Stalled").check()
        row.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Saved: sam-staff is told of Stalled.")).to_be_visible()
        assert AlertChoice.objects.get(user=users["staff"]).kinds == ["stalled"]

        page.get_by_label("Name").fill("Sales on Slack")
        page.get_by_label("Webhook URL").fill("http://hooks.example.com/x")
        page.get_by_role("button", name="Add webhook").click()
        expect(page.get_by_text("Use an https:// address")).to_be_visible()
        expect(page.get_by_label("Name")).to_have_value("Sales on Slack")
        long_url = "https://hooks.example.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXX"
        page.get_by_label("Webhook URL").fill(long_url)
        page.get_by_role("button", name="Add webhook").click()
        expect(page.locator("tr[data-webhook='Sales on Slack']")).to_be_visible()
        assert AlertWebhook.objects.get().url == long_url
        shown = page.locator("tr[data-webhook='Sales on Slack'] td:first-child span").bounding_box()
        assert shown["x"] + shown["width"] <= width, shown  # wraps within the screen
        assert_accessible(page)
        assert_fits_width(page)
        # Within the screen, not hidden in a table that scrolls sideways (it was at 390).
        remove = page.locator("tr[data-webhook='Sales on Slack'] summary")
        box = remove.bounding_box()
        assert box is not None and box["x"] + box["width"] <= width, box
        remove.click()
        page.get_by_role("button", name="Remove “Sales on Slack” for good").click()
        expect(page.get_by_test_id("no-webhooks")).to_be_visible()
        assert errors == []
    finally:
        context.close()
