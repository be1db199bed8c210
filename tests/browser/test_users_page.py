"""The users page asks before deactivating someone (it signs them out at once): one click
on "Deactivate…" only opens the question, at desktop and phone widths."""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from campaigns import audit
from tests.browser.conftest import (
    assert_accessible,
    assert_fits_width,
    collect_page_errors,
    sign_in,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("width", [1280, 390])
def test_deactivating_someone_is_asked_first(users, new_page, width):
    page = sign_in(new_page(), users["admin"].username)
    page.set_viewport_size({"width": width, "height": 900})
    errors = collect_page_errors(page)
    page.goto("/users/")
    row = page.locator("tr[data-user=sam-staff]")
    row.get_by_text("Deactivate…").click()
    users["staff"].refresh_from_db()
    assert users["staff"].is_active  # the first click only asks
    confirm = row.get_by_role("button", name="Deactivate sam-staff")
    expect(confirm).to_be_visible()
    assert_fits_width(page)
    assert_accessible(page)
    confirm.click()
    expect(row.get_by_role("cell", name="Deactivated")).to_be_visible()
    users["staff"].refresh_from_db()
    assert not users["staff"].is_active
    assert errors == []


@pytest.mark.parametrize("width", [1280, 390])
def test_a_very_long_name_wraps_instead_of_widening_the_page(users, new_page, width):
    """Django lets a username be 150 characters long; its row and its "Deactivate <name>"
    button made the page 1,467 px wide on a 390 px phone."""
    long_name = "priyanka." + "v" * 130 + "@example.in"
    User.objects.create_user(long_name, password="unused-Password-1")
    page = sign_in(new_page(), users["admin"].username)
    page.set_viewport_size({"width": width, "height": 844})
    page.goto("/users/")
    row = page.locator(f"tr[data-user='{long_name}']")
    row.get_by_text("Deactivate…").click()
    expect(row.get_by_role("button", name=f"Deactivate {long_name}")).to_be_visible()
    assert_fits_width(page)


ONE_LINE = ("el => { const r = document.createRange(); r.selectNodeContents(el);"
            " return new Set([...r.getClientRects()].map(rect => Math.round(rect.top))).size; }")


def test_short_names_and_ids_in_the_activity_log_stay_whole_on_a_desktop(users, new_page):
    """Wrapping any cell anywhere squeezed columns at 1280 px: "syste / m", and Atoms ids
    "8fe117bb945ed2720840f51 / e"."""
    for _ in range(3):
        audit.record(None, audit.Action.START, audit.Outcome.OK, atoms_id="8fe117bb945ed272"
                     "0840f51e", message="A message long enough to want the room of several "
                     "columns, and then some more words to make sure of it." * 2)
    page = sign_in(new_page(), users["admin"].username)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/activity/")
    whole = page.locator("table tbody tr td:nth-child(2), table tbody tr td code")
    expect(whole.first).to_be_visible()
    assert whole.count() == 6
    assert [whole.nth(i).evaluate(ONE_LINE) for i in range(6)] == [1] * 6


@pytest.mark.parametrize("width", [1280, 390])
def test_one_long_name_does_not_widen_the_alert_routing_table(users, new_page, width):
    """A 109-character name made the table 569 px wide in a 314 px box at 390: everyone's
    "By role" box sat off-screen."""
    User.objects.create_user("p9_" + "w" * 100 + ".example", password="unused-Password-1")
    page = sign_in(new_page(), users["admin"].username)
    page.set_viewport_size({"width": width, "height": 844})
    page.goto("/alerts/routing/")
    wrap = page.locator(".table-wrap", has=page.get_by_test_id("alert-people"))
    assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth")
    assert_fits_width(page)
