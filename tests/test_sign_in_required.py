"""Every page requires sign-in: an anonymous visitor is sent to the sign-in page."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from campaigns import known_devices

pytestmark = pytest.mark.django_db

SAMPLE_KWARGS = {"pk": 1, "kind": "row", "audience_id": "65f0c0ffee0000000000b001",
                 "token": "00000000-0000-0000-0000-000000000000",
                 "call_id": "CALL-1737000000000-abc123"}
PUBLIC = {"login"}


def all_named_urls(resolver=None, namespace=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue  # Django's admin has its own sign-in, checked separately
            yield from all_named_urls(pattern, pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern) and pattern.name and pattern.name not in PUBLIC:
            kwargs = {k: SAMPLE_KWARGS[k] for k in pattern.pattern.converters}
            yield reverse(pattern.name, kwargs=kwargs)


URLS = sorted(set(all_named_urls()))


def test_the_url_list_covers_the_product():
    assert {"/", "/campaigns/", "/campaigns/new/", "/board/", "/activity/", "/live/"} <= set(URLS)


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_anonymous_visitor_is_redirected_to_sign_in(client, url, method):
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_admin_site_also_requires_sign_in(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_the_admin_site_signs_in_on_the_one_sign_in_page(client, django_user_model):
    """Django's admin had a sign-in page of its own, which did not remember the browser
    (known_devices.py): it sends people to the product's, and back afterwards."""
    root = django_user_model.objects.create_superuser("root", password="x-long-enough-1")
    page = client.get("/admin/", follow=True)
    assert page.redirect_chain[-1][0] == f"{reverse('login')}?next=/admin/"
    assert page.resolver_match.url_name == "login" and b'name="password"' in page.content
    # A password sent to the admin's old sign-in address signs nobody in.
    sent = client.post("/admin/login/?next=/admin/auth/user/",
                       {"username": "root", "password": "x-long-enough-1"})
    assert sent["Location"] == f"{reverse('login')}?next=/admin/auth/user/"
    assert "_auth_user_id" not in client.session
    signed_in = client.post(f"{reverse('login')}?next=/admin/auth/user/",
                            {"username": "root", "password": "x-long-enough-1"})
    assert signed_in["Location"] == "/admin/auth/user/"
    assert known_devices.COOKIE in signed_in.cookies
    assert client.get("/admin/login/")["Location"] == "/admin/"
    client.force_login(root)
    assert client.get("/admin/auth/user/").status_code == 200


def test_someone_signed_in_without_superuser_rights_is_told_so_by_the_admin_site(login_as):
    """Not asked to sign in again: the sign-in page would send them straight back."""
    manager = login_as("manager")
    refused = manager.get("/admin/", follow=True)
    assert refused.status_code == 403
    assert "for superusers only" in refused.content.decode()


def test_the_sign_in_page_itself_is_open(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_signing_in_lands_on_the_dashboard(client, staff_user):
    from tests.conftest import PASSWORD

    response = client.post(reverse("login"), {"username": staff_user.username,
                                              "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_a_wrong_password_says_so_and_keeps_the_username(client, staff_user):
    response = client.post(reverse("login"), {"username": staff_user.username,
                                              "password": "wrong"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert staff_user.username.encode() in response.content


@pytest.mark.parametrize(("page", "back"), [
    ("http://testserver/campaigns/?status=running", "/campaigns/%3Fstatus%3Drunning"),
    ("https://evil.example/phish", "/"),
    ("", "/"),
])
def test_a_background_request_after_the_session_ended_moves_the_whole_page_to_sign_in(
        client, page, back):
    """The alerts badge refreshes itself: once signed out elsewhere, its next refresh must
    not swap the sign-in page into the page's corner, nor return there after signing in."""
    response = client.get(reverse("notification_badge"),
                          headers={"HX-Request": "true", "HX-Current-URL": page})
    assert response.status_code == 200 and response.content == b""
    assert response["HX-Redirect"] == f"{reverse('login')}?next={back}"
