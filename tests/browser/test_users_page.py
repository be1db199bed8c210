"""The users page asks before deactivating someone (it signs them out at once): one click
on "Deactivate…" only opens the question, at desktop and phone widths."""

import pytest
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
