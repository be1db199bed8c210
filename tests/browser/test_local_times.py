"""Every time on a page reads in the person's own zone, the one "Start at" is typed in, and
the page says which: a page once showed "Starts at 8:52 PM (Asia/Kolkata)" above "Created
13:22", unlabelled UTC. Times that arrive later (the live fragments) are rewritten too."""

import re
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    assert_fits_width,
    collect_page_errors,
    let_the_numbers_move,
    sign_in,
)
from tests.campaign_factory import make_campaign

pytestmark = pytest.mark.django_db(transaction=True)

KOLKATA = ZoneInfo("Asia/Kolkata")  # UTC+05:30: no hour of it reads like UTC's
LIVE = 15_000


def shown_times(page) -> list[str]:
    return page.eval_on_selector_all("time[data-local]", "els => els.map(e => e.textContent)")


@pytest.mark.parametrize("width", [1280, 390])
def test_times_read_in_the_browsers_zone_on_the_page_and_after_live_updates(
        users, chromium, web_server, sim, celery_worker, server_settings, width):
    campaign = make_campaign(sim, users["staff"], "running", name="Zones",
                             audience_size=1000)
    context = chromium.new_context(base_url=web_server.url, timezone_id="Asia/Kolkata",
                                   locale="en-US", viewport={"width": width, "height": 900})
    try:
        page = sign_in(context.new_page(), users["manager"].username)
        errors = collect_page_errors(page)
        page.goto(f"/campaigns/{campaign.pk}/")
        created = campaign.created_at.astimezone(KOLKATA)
        expect(page.locator("dd", has_text="by ")).to_contain_text(
            f"{created:%b} {created.day}, {created.year}, {created:%I:%M %p}")
        expect(page.locator("#time-zone-note")).to_have_text(
            re.compile(r"Times are in your time zone, Asia/Kolkata\."))
        times = shown_times(page)
        assert times and not [text for text in times if "UTC" in text]

        # A live fragment swapped in later is rewritten as well.
        let_the_numbers_move(page, sim, timeout=LIVE)
        live_times = page.eval_on_selector_all(
            "#live-detail time[data-local]", "els => els.map(e => e.textContent)")
        assert live_times and not [text for text in live_times if "UTC" in text]
        # What a pointer resting on a time shows, and the chart's spoken span, as well
        # (a probe: both stayed in UTC).
        titles = page.eval_on_selector_all("time[data-local]", "els => els.map(e => e.title)")
        assert titles and all(title.endswith("GMT+5:30") for title in titles), titles
        chart = page.get_by_test_id("chart")
        expect(chart).to_have_attribute("aria-label", re.compile(
            r"^Contacts called and connected over time, \d\d:\d\d:\d\d [AP]M–"
            r"\d\d:\d\d:\d\d [AP]M, up to [\d,]+$"))
        start = campaign.snapshots.earliest("taken_at").taken_at.astimezone(KOLKATA)
        assert f"{start:%I:%M:%S %p}" in chart.get_attribute("aria-label")
        assert_fits_width(page)
        assert errors == []
    finally:
        context.close()
