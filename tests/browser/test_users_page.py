"""The users page asks before deactivating someone (it signs them out at once): one click
on "Deactivate…" only opens the question, at desktop and phone widths."""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

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
