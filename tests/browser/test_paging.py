"""Every paging link in the browser reaches the next page and back, keeping the filters
(Django's {% querystring %} already writes the leading "?"; doubling it gave `??page=2`)."""

import pytest

from campaigns.models import AuditEntry
from tests.browser.conftest import sign_in
from tests.campaign_factory import campaign_rows

pytestmark = pytest.mark.django_db(transaction=True)


def campaign_list(new_page, user, width: int, rows: int, address: str):
    """`rows` campaigns, and `user`'s browser `width` wide at the list's `address`."""
    campaign_rows(rows)
    page = sign_in(new_page(), user.username)
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(address)
    return page


@pytest.mark.parametrize("width", [1280, 390])
def test_campaign_list_next_and_previous_keep_the_search(width, users, new_page):
    page = campaign_list(new_page, users["staff"], width, 30, "/campaigns/?q=Campaign&sort=name")
    assert page.get_by_text("Page 1 of 2").is_visible()
    page.get_by_role("link", name="Next →").click()
    page.get_by_text("Page 2 of 2").wait_for()
    assert "??" not in page.url and "page=2" in page.url and "q=Campaign" in page.url
    assert page.get_by_test_id("campaign-row").count() == 5
    page.get_by_role("link", name="← Previous").click()
    page.get_by_text("Page 1 of 2").wait_for()
    assert page.get_by_test_id("campaign-row").count() == 25


@pytest.mark.parametrize("width", [1280, 390])
def test_campaign_list_first_and_last_fit_the_screen(width, users, new_page):
    page = campaign_list(new_page, users["manager"], width, 130, "/campaigns/?page=3")
    page.get_by_role("link", name="Last »").click()
    page.get_by_text("Page 6 of 6").wait_for()
    assert page.get_by_test_id("campaign-row").count() == 5
    page.get_by_role("link", name="« First").click()
    page.get_by_text("Page 1 of 6").wait_for()
    page.goto("/campaigns/?page=3")  # all four links beside the count: none off the screen
    nav = page.get_by_role("navigation", name="Pages")
    assert nav.evaluate("el => el.scrollWidth <= el.clientWidth")
    assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")


def test_activity_older_and_newer(users, new_page):
    AuditEntry.objects.bulk_create([
        AuditEntry(actor_name="sam-staff", action="create", outcome="ok",
                   campaign_name=f"Entry {i}") for i in range(60)
    ])
    page = sign_in(new_page(), users["admin"].username)
    page.goto("/activity/?outcome=ok")
    page.get_by_role("link", name="Older →").click()
    page.get_by_text("Page 2 of 2").wait_for()
    assert "??" not in page.url and "outcome=ok" in page.url
    assert page.get_by_test_id("activity-row").count() == 10
    page.get_by_role("link", name="← Newer").click()
    page.get_by_text("Page 1 of 2").wait_for()
