"""A form the server refuses comes back with keyboard focus on the first field in error
(not left on the page's body for a keyboard or screen-reader user to hunt from), and a page
without errors does not have its focus moved, at desktop and phone widths."""

import pytest
from playwright.sync_api import expect

from campaigns.models import SuppressedNumber
from tests.browser.conftest import assert_fits_width, collect_page_errors, sign_in
from tests.campaign_factory import make_campaign

pytestmark = pytest.mark.django_db(transaction=True)


def assert_focused(page, locator) -> None:
    """`locator` is the focused element, and it is the first field in error on the page."""
    expect(locator).to_be_focused()
    assert locator.evaluate("el => el.getAttribute('aria-invalid')") == "true"
    assert page.evaluate(
        "() => document.activeElement === document.querySelector('[aria-invalid=true]')")


def focused_tag(page) -> str:
    return page.evaluate("() => document.activeElement.tagName")


@pytest.mark.parametrize("width", [1280, 390])
def test_focus_goes_to_the_first_field_in_error(users, new_page, sim, server_settings, width):
    draft = make_campaign(sim, users["staff"], name="Focus on errors")
    page = sign_in(new_page(), users["admin"].username)
    page.set_viewport_size({"width": width, "height": 900})
    errors = collect_page_errors(page)

    # Users: a username that cannot be used; the fields after it are fine.
    page.goto("/users/")
    assert focused_tag(page) == "BODY"  # no errors, no focus moved
    page.get_by_label("Username").fill("not a valid name!")
    page.get_by_label("First password").fill("a long enough password 123")
    page.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_load_state()
    assert_focused(page, page.get_by_label("Username"))
    assert_fits_width(page)

    # Webhook: the name is fine, the address is not: focus skips to the address.
    page.goto("/alerts/routing/")
    assert focused_tag(page) == "BODY"
    page.get_by_label("Name").fill("Sales on Slack")
    page.get_by_label("Webhook URL").fill("http://hooks.example.com/x")
    page.get_by_role("button", name="Add webhook").click()
    expect(page.get_by_text("Use an https:// address")).to_be_visible()
    assert_focused(page, page.get_by_label("Webhook URL"))
    assert_fits_width(page)

    # Calling hours: the zone is fine, a window line is not.
    page.goto(f"/campaigns/{draft.pk}/calling-hours/")
    assert focused_tag(page) == "BODY"
    page.get_by_label("Calling windows").fill("Mon-Fri 09:00-17:00\nSat 18-20")
    page.get_by_role("button", name="Save calling hours").click()
    expect(page.get_by_text("Line 2 (“Sat 18-20”)")).to_be_visible()
    assert_focused(page, page.get_by_label("Calling windows"))
    assert_fits_width(page)

    # Do-not-call: a number that is not one.
    page.goto("/do-not-call/")
    assert focused_tag(page) == "BODY"
    page.get_by_label("Phone number", exact=True).fill("call me maybe")
    page.get_by_role("button", name="Never call this number").click()
    page.wait_for_load_state()
    assert_focused(page, page.get_by_label("Phone number", exact=True))
    assert_fits_width(page)
    assert errors == []


@pytest.mark.parametrize("width", [1280, 390])
def test_a_form_refused_as_a_whole_focuses_its_error(users, new_page, width):
    page = new_page()
    page.set_viewport_size({"width": width, "height": 900})
    errors = collect_page_errors(page)
    page.goto("/accounts/login/")
    expect(page.get_by_label("Username")).to_be_focused()  # its autofocus, no error yet
    page.get_by_label("Username").fill(users["staff"].username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    message = page.locator("form .form-error")
    expect(message).to_contain_text("password")
    expect(message).to_be_focused()  # no field is in error: the form's own message
    assert_fits_width(page)
    assert errors == []


def test_on_a_phone_the_do_not_call_search_opens_at_what_it_found(users, new_page, sim,
                                                                 server_settings):
    """Find reloaded the page at its top: the results were two screens below the add
    forms, and the search seemed to do nothing (a probe)."""
    SuppressedNumber.objects.create(phone_number="+14155550177", note="asked twice")
    page = sign_in(new_page(has_touch=True), users["staff"].username)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/do-not-call/")
    page.get_by_label("Find a number or note").fill("0177")
    page.get_by_role("button", name="Find").tap()
    found = page.get_by_test_id("dnc-found")
    expect(found).to_contain_text("Found 1 added in this dashboard")
    expect(found).to_be_in_viewport()
    expect(page.get_by_test_id("dnc-local")).to_contain_text("+14155550177")


@pytest.mark.parametrize("width", [1280, 390])
def test_after_an_action_that_reloads_the_page_focus_is_on_what_it_says(users, new_page,
                                                                        width):
    """After a number was added (the page reloaded), focus went nowhere and a keyboard
    user started again from the top, not told it was done (a probe)."""
    page = sign_in(new_page(), users["staff"].username)
    page.set_viewport_size({"width": width, "height": 900})
    errors = collect_page_errors(page)
    page.goto("/do-not-call/")
    page.get_by_label("Phone number", exact=True).fill("+14155550188")
    page.get_by_role("button", name="Never call this number").click()
    page.wait_for_load_state()
    message = page.locator("#messages .flash").first
    expect(message).to_contain_text("+14155550188 is on the do-not-call list")
    expect(message).to_be_focused()
    page.keyboard.press("Tab")  # and from there on, the page's next control
    assert focused_tag(page) in ("A", "BUTTON", "INPUT", "SELECT", "TEXTAREA")
    # A page with no message keeps the browser's own focus.
    page.goto("/do-not-call/")
    assert focused_tag(page) == "BODY"
    assert errors == []
