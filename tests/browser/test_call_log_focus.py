"""A call log that refreshes itself while a call is running keeps a keyboard user's place:
the link they were on is focused again after the refresh (it was the page's body), at
desktop and phone widths."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import collect_page_errors, sign_in
from tests.campaign_factory import make_campaign

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("width", [1280, 390])
def test_the_focused_call_stays_focused_when_the_log_refreshes(users, new_page, sim,
                                                               server_settings, width):
    campaign = make_campaign(sim, users["staff"], "running", name="Keyboard",
                             audience_size=50)
    sim.advance(120)
    page = sign_in(new_page(), users["manager"].username)
    page.set_viewport_size({"width": width, "height": 900})
    errors = collect_page_errors(page)
    page.goto(f"/campaigns/{campaign.pk}/calls/")
    first = page.get_by_test_id("call-link").first
    expect(first).to_be_visible()
    href = first.get_attribute("href")
    first.focus()
    # The next refresh of the log (it swaps the whole table), while calls go on.
    page.evaluate("""() => { window.refreshed = false;
        document.body.addEventListener("htmx:afterSettle", () => { window.refreshed = true; },
                                       {once: true}); }""")
    sim.advance(60)
    page.wait_for_function("() => window.refreshed", timeout=15_000)
    assert page.evaluate("() => document.activeElement.getAttribute('href')") == href
    assert errors == []
