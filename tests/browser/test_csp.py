"""Every page works in Chromium under the Content-Security-Policy: no inline script, no
eval, no inline style (element or attribute), and nothing the browser refuses; the live
numbers still arrive. At phone width no page scrolls sideways."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_fits_width, collect_page_errors, sign_in_by_form
from tests.browser.test_live_board import wait_for_count_above
from tests.campaign_factory import make_campaign

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = ["/", "/campaigns/", "/campaigns/new/", "/board/", "/audiences/", "/audiences/new/",
         "/do-not-call/", "/phone-numbers/", "/activity/", "/users/", "/alerts/",
         "/alerts/routing/", "/accounts/password/"]


def tables_scrolling_sideways(page) -> list[str]:
    """The tables wider than their box (audience members may be: their columns are the
    uploaded file's own)."""
    return page.eval_on_selector_all(
        ".table-wrap:not([aria-label='Audience members'])",
        "els => els.filter(el => el.scrollWidth > el.clientWidth)"
        ".map(el => `${el.getAttribute('aria-label')}: ${el.scrollWidth - el.clientWidth}px`)")


def violations(page) -> list[str]:
    """Chromium reports each refusal on the console ("Refused to … Content Security Policy")."""
    found: list[str] = []
    page.on("console", lambda message: found.append(message.text)
            if "Content Security Policy" in message.text else None)
    return found


@pytest.mark.parametrize("width", [1280, 390])
def test_every_page_renders_under_the_policy_with_nothing_refused(
        users, new_page, sim, server_settings, width):
    # A long name, as people write them: the campaign list must still fit a phone.
    campaign = make_campaign(sim, users["staff"], "running",
                             name="Under CSP: renewals=HYPERLINK(\"http://example.com/q3\")",
                             audience_size=50)
    page = new_page()
    page.set_viewport_size({"width": width, "height": 900})
    refused = violations(page)
    errors = collect_page_errors(page)
    sign_in_by_form(page, users["admin"].username)
    for path in [*PAGES, f"/campaigns/{campaign.pk}/", f"/campaigns/{campaign.pk}/calls/",
                 f"/campaigns/{campaign.pk}/calling-hours/"]:
        answer = page.goto(path)
        assert answer.status == 200, path
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-eval" not in policy
        assert "unsafe-inline" not in policy  # neither scripts nor styles, not even attributes
        assert answer.headers["cache-control"] == "no-store"
        assert "camera=()" in answer.headers["permissions-policy"]
        expect(page.locator("h1").first).to_be_visible()
        shown = page.inner_text("body")
        assert not any(mark in shown for mark in ("{#", "#}", "{%", "{{")), path  # template text
        if width < 600:
            assert_fits_width(page)
            assert tables_scrolling_sideways(page) == [], path
    assert refused == []
    assert errors == []


def test_live_numbers_still_arrive_under_the_policy(
        users, new_page, sim, celery_worker, server_settings):
    campaign = make_campaign(sim, users["staff"], "running", name="Live under CSP",
                             audience_size=1000)
    page = new_page()
    refused = violations(page)
    errors = collect_page_errors(page)
    sign_in_by_form(page, users["manager"].username)
    page.goto(f"/campaigns/{campaign.pk}/")
    called = page.locator("[data-testid=metric-called]").first
    start = int(called.inner_text().replace(",", ""))
    # A function, not an expression: Playwright evals expressions in the page, which
    # the policy (rightly) refuses.
    page.wait_for_function("() => window.liveStreamUp === true")
    try:
        sim.set_speed(60)
        wait_for_count_above(page, "[data-testid=metric-called]", start)
    finally:
        sim.set_speed(0)
    assert refused == []
    assert errors == []
