"""Each role signs in through the browser and sees the navigation meant for it."""

import pytest
from playwright.sync_api import expect

from campaigns import accounts
from tests.browser.conftest import sign_in, sign_in_by_form
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

EXPECTED_NAV = {
    "staff": ["Campaigns", "Board", "Audiences", "Phone numbers"],
    "manager": ["Board", "Campaigns", "Audiences", "Phone numbers"],
    # Users, not Django's admin: that is for superusers only.
    "admin": ["Campaigns", "Board", "Audiences", "Phone numbers", "Activity", "Users"],
}
LANDING = {"staff": "/campaigns/", "manager": "/board/", "admin": "/campaigns/"}


@pytest.mark.parametrize("role", ["staff", "manager", "admin"])
def test_each_role_sees_its_navigation(role, users, new_page):
    page = sign_in_by_form(new_page(), users[role].username)
    assert page.url.endswith(LANDING[role])
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link").all_inner_texts() == EXPECTED_NAV[role]
    assert page.get_by_test_id("role").inner_text() == role.capitalize()
    assert page.get_by_test_id("signed-in-user").inner_text() == users[role].username


def test_signing_out_returns_to_sign_in(users, new_page):
    page = sign_in_by_form(new_page(), users["staff"].username)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/")
    page.goto("/campaigns/")
    assert "/accounts/login/" in page.url


@pytest.mark.parametrize("width", [1280, 390])
def test_signed_out_elsewhere_the_next_badge_refresh_opens_sign_in_and_returns(
        users, new_page, width):
    page = sign_in(new_page(), users["manager"].username)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/campaigns/?status=running")
    accounts.end_sessions(users["manager"])  # e.g. a password changed in another browser
    # What the badge's own timer does every ALERT_POLL_SECONDS, now:
    page.evaluate("htmx.ajax('GET', '/alerts/badge/', "
                  "{target: '#alert-badge', swap: 'outerHTML'})")
    page.wait_for_url("**/accounts/login/?next=/campaigns/%3Fstatus%3Drunning")
    expect(page.get_by_role("heading", name="Sign in")).to_have_count(1)
    page.get_by_label("Username").fill(users["manager"].username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/campaigns/?status=running")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_first_tab_offers_to_skip_the_menu(users, new_page, width):
    """Keyboard users tabbed through 8 to 10 menu links on every page before its content."""
    page = sign_in(new_page(), users["staff"].username)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/campaigns/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()  # seen once focused, not only read out
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="New campaign")).to_be_focused()


@pytest.mark.parametrize("width", [1280, 600, 390])
def test_tab_goes_through_the_header_in_the_order_it_is_seen(users, new_page, width):
    """At phone width the menu row sat under the row of Alerts, name and Sign out, but Tab
    reached it first: focus jumped down a row, then back up (a probe)."""
    page = sign_in(new_page(), users["admin"].username)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/campaigns/")
    page.keyboard.press("Tab")  # "Skip to content"
    stops = []
    while True:
        page.keyboard.press("Tab")
        where = page.evaluate("""() => { const e = document.activeElement;
            if (!e.closest('header')) return null;
            const r = e.getBoundingClientRect();
            return [Math.round(r.top + r.height / 2), Math.round(r.left)]; }""")
        if where is None:
            break
        stops.append(where)
    assert len(stops) >= 8, stops  # the brand, six menu links, the header's own controls
    for (middle, left), (next_middle, next_left) in zip(stops, stops[1:], strict=False):
        if abs(next_middle - middle) <= 12:  # the same row: on to the right
            assert next_left > left, stops
        else:  # the next row down, never back up
            assert next_middle > middle, stops
