"""Each role signs in through the browser and sees the navigation meant for it."""

import pytest

from tests.browser.conftest import sign_in

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
    page = sign_in(new_page(), users[role].username)
    assert page.url.endswith(LANDING[role])
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link").all_inner_texts() == EXPECTED_NAV[role]
    assert page.get_by_test_id("role").inner_text() == role.capitalize()
    assert page.get_by_test_id("signed-in-user").inner_text() == users[role].username


def test_signing_out_returns_to_sign_in(users, new_page):
    page = sign_in(new_page(), users["staff"].username)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/")
    page.goto("/campaigns/")
    assert "/accounts/login/" in page.url
