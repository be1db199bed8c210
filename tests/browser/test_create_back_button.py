"""Back after a create, then Create again with the same fields: the page asks before a
second campaign calls the same people, at desktop and phone widths."""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from campaigns.models import Campaign
from tests.browser.conftest import collect_page_errors, sign_in
from tests.browser.test_campaign_lifecycle import fill_create_form

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("width", [1280, 390])
def test_going_back_and_creating_again_asks_first(users, new_page, sim, width):
    name = f"Back button {width}"
    page = sign_in(new_page(), users["staff"].username)
    page.set_viewport_size({"width": width, "height": 900})
    errors = collect_page_errors(page)
    fill_create_form(page, name)
    page.get_by_role("button", name="Create campaign").click()
    page.wait_for_url(re.compile(r"/campaigns/\d+/$"))
    first = page.url

    page.go_back()
    page.reload()  # a fresh form, as a browser gives after Back; the same fields again
    fill_create_form(page, name)
    page.get_by_role("button", name="Create campaign").click()

    warning = page.get_by_test_id("duplicate-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("This looks like a campaign you already made.")
    expect(page.get_by_label("Name", exact=True)).to_have_value(name)
    assert Campaign.objects.filter(name=name).count() == 1
    assert sim.calls_to("POST /campaign") == 1

    # Signed-in pages are no-store, so Back onto this answer would ask to resend the form:
    # the link is checked where it points, and the confirmation is given from here.
    expect(warning.get_by_role("link", name="Open the existing campaign")).to_have_attribute(
        "href", urlsplit(first).path)
    page.get_by_role("button", name="Create another anyway").click()
    page.wait_for_url(re.compile(r"/campaigns/\d+/$"))
    assert Campaign.objects.filter(name=name).count() == 2  # asked, and confirmed
    assert errors == []
