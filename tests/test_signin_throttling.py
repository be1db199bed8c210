"""Sign-in throttling (django-axes): wrong passwords lock a username and an address out,
the person is told so in words, and the lockout ends after the cool-off."""

import html
import time
from datetime import timedelta

import httpx
import pytest
from axes.models import AccessAttempt
from django.db.models import Sum
from django.test import Client, override_settings
from django.urls import reverse

from dashboard.processes import start_web_server
from tests.conftest import PASSWORD

LIMIT = 3


def attempt(client, url, username, password, address="10.0.0.1"):
    return client.post(url, {"username": username, "password": password, "next": "/"},
                       REMOTE_ADDR=address)


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=LIMIT, AXES_COOLOFF_TIME=timedelta(seconds=2))
def test_wrong_passwords_lock_the_username_out_then_the_cool_off_releases_it(admin_user):
    # The one sign-in page: Django's admin sends people to it (test_sign_in_required.py).
    url = "/accounts/login/"
    client = Client()
    answers = [attempt(client, url, admin_user.username, "wrong").status_code
               for _ in range(LIMIT)]
    # The form answers the first wrong guesses; the one reaching the limit locks out.
    assert answers == [200] * (LIMIT - 1) + [429]
    # The right password during the lockout is refused too, with a sentence that says why;
    # and from another address (per username).
    for address in ("10.0.0.1", "10.0.0.2"):
        locked = attempt(client, url, admin_user.username, PASSWORD, address)
        assert locked.status_code == 429
        assert "Too many wrong passwords" in locked.content.decode()
        assert "_auth_user_id" not in client.session
    time.sleep(2.2)
    released = attempt(client, url, admin_user.username, PASSWORD)
    assert released.status_code == 302, released.content.decode()[:500]
    assert client.session["_auth_user_id"] == str(admin_user.pk)


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=LIMIT, AXES_COOLOFF_TIME=timedelta(seconds=60))
def test_one_address_guessing_many_usernames_is_locked_out(staff_user, manager_user):
    client = Client()
    for n in range(LIMIT):
        attempt(client, "/accounts/login/", f"nobody-{n}", "wrong", "10.9.9.9")
    # Another (real) account from the same address: refused for the address.
    locked = attempt(client, "/accounts/login/", staff_user.username, PASSWORD, "10.9.9.9")
    assert locked.status_code == 429
    assert "paused for a minute" in locked.content.decode()
    # The same account from elsewhere is not affected.
    other = attempt(Client(), "/accounts/login/", staff_user.username, PASSWORD, "10.1.1.1")
    assert other.status_code == 302


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=LIMIT, AXES_COOLOFF_TIME=timedelta(seconds=60))
def test_wrong_old_passwords_count_as_wrong_sign_ins(staff_user):
    """A borrowed session must not try passwords on the password-change page at the rate
    limit's pace: wrong old passwords lock the name out like wrong sign-ins."""
    client = Client()
    client.force_login(staff_user)
    new = "a-fresh-long-passphrase"

    def change(old):
        return client.post(reverse("password_change"), {
            "old_password": old, "new_password1": new, "new_password2": new},
            REMOTE_ADDR="10.0.0.7")

    answers = [change("wrong").status_code for _ in range(LIMIT)]
    assert answers == [422] * (LIMIT - 1) + [429]
    refused = change(PASSWORD)  # the right one, during the lockout
    assert refused.status_code == 429
    assert "Too many wrong passwords" in refused.content.decode()
    staff_user.refresh_from_db()
    assert staff_user.check_password(PASSWORD)
    assert attempt(Client(), "/accounts/login/", staff_user.username, PASSWORD,
                   "10.1.1.1").status_code == 429  # and signing in, from anywhere


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=LIMIT, AXES_COOLOFF_TIME=timedelta(seconds=60))
def test_someone_elses_sign_in_from_the_address_does_not_forget_the_guesses(
        staff_user, manager_user):
    """Signing in between guesses at another's password (from the same address) wiped the
    guesses: the lockout never came. Only one's own wrong passwords are forgotten."""
    guesser = Client()
    for _ in range(LIMIT - 1):
        assert attempt(guesser, "/accounts/login/", staff_user.username, "wrong").status_code == 200
        assert attempt(Client(), "/accounts/login/", manager_user.username,
                       PASSWORD).status_code == 302  # the guesser's own account
    assert attempt(guesser, "/accounts/login/", staff_user.username, "wrong").status_code == 429
    assert attempt(Client(), "/accounts/login/", staff_user.username, PASSWORD,
                   "10.1.1.1").status_code == 429


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=LIMIT, AXES_COOLOFF_TIME=timedelta(seconds=60))
def test_signing_in_forgets_ones_own_wrong_passwords(staff_user):
    client = Client()
    for _ in range(LIMIT - 1):
        attempt(client, "/accounts/login/", staff_user.username, "wrong")
    assert attempt(client, "/accounts/login/", staff_user.username, PASSWORD).status_code == 302
    client.logout()
    for _ in range(LIMIT - 1):  # as many again: still under the limit
        assert attempt(client, "/accounts/login/", staff_user.username, "wrong").status_code == 200
    assert attempt(client, "/accounts/login/", staff_user.username, PASSWORD).status_code == 302


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_a_forged_forwarded_address_does_not_escape_the_address_lockout(
        simulator_process, staff_user):
    """The demo's uvicorn believed X-Forwarded-For from 127.0.0.1 (its default): anyone on
    the machine picked the address counted for throttling, and a locked-out address signed
    in with a made-up one. Served as the demo and the tests serve it, nobody's is believed."""
    server = start_web_server(simulator_process, SIGNIN_FAILURE_LIMIT=str(LIMIT))

    def sign_in(username: str, password: str, forged: str) -> int:
        with httpx.Client(base_url=server.url) as http:
            http.get("/accounts/login/")
            return http.post("/accounts/login/", headers={"X-Forwarded-For": forged}, data={
                "username": username, "password": password,
                "csrfmiddlewaretoken": http.cookies["csrftoken"]}).status_code

    try:
        for n in range(LIMIT):
            sign_in(f"nobody-{n}", "wrong", forged=f"10.0.0.{n}")
        assert sign_in(staff_user.username, PASSWORD, forged="10.0.0.99") == 429
    finally:
        server.stop()


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=LIMIT, AXES_COOLOFF_TIME=timedelta(minutes=15))
def test_a_new_password_from_an_admin_lifts_the_lockout_of_that_name_only(
        staff_user, manager_user, admin_user):
    """Locked out, the person signed in with the admin's new password and got 429 for the
    whole cool-off: nobody on the site could lift it."""
    for person, address in ((staff_user, "10.0.0.1"), (manager_user, "10.0.0.2")):
        answers = [attempt(Client(), "/accounts/login/", person.username, "wrong",
                           address).status_code for _ in range(LIMIT)]
        assert answers[-1] == 429
    admin = Client()
    admin.force_login(admin_user)
    new = "a-new-long-one-7"
    done = admin.post(reverse("user_password", args=[staff_user.pk]),
                      {"new_password1": new, "new_password2": new}, follow=True)
    # From where the wrong ones came, and from anywhere else.
    assert attempt(Client(), "/accounts/login/", staff_user.username, new,
                   "10.0.0.1").status_code == 302
    assert attempt(Client(), "/accounts/login/", staff_user.username, new,
                   "10.3.3.3").status_code == 302
    assert "They can sign in with it at once" in done.content.decode()
    # Someone else's lockout stays.
    assert attempt(Client(), "/accounts/login/", manager_user.username, PASSWORD,
                   "10.3.3.3").status_code == 429


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=LIMIT, AXES_COOLOFF_TIME=timedelta(minutes=15))
def test_admins_see_whose_sign_in_is_paused_until_when_and_can_lift_it(
        staff_user, manager_user, admin_user):
    """The lockout page says "ask an admin to check the account"; the Users page showed
    nothing to check, and only a new password lifted it."""
    from axes.models import AccessAttempt

    from campaigns import accounts
    from campaigns.models import AuditEntry

    # The staff member's name guessed from two addresses: counted together, as axes does.
    for address in ("10.0.0.1", "10.0.0.1", "10.0.0.5"):
        attempt(Client(), "/accounts/login/", staff_user.username, "wrong", address)
    for _ in range(LIMIT):
        attempt(Client(), "/accounts/login/", manager_user.username, "wrong", "10.0.0.2")
    first = AccessAttempt.objects.filter(username=staff_user.username).order_by(
        "attempt_time").first()
    paused = accounts.sign_in_paused_until([staff_user.username, admin_user.username])
    # Lifted once the first address's two guesses age out: one left, under the limit.
    assert paused == {staff_user.username: first.attempt_time + timedelta(minutes=15)}

    admin = Client()
    admin.force_login(admin_user)
    page = admin.get(reverse("user_list")).content.decode()
    assert page.count('data-testid="sign-in-paused"') == 2
    assert reverse("user_let_sign_in", args=[staff_user.pk]) in page
    assert reverse("user_let_sign_in", args=[admin_user.pk]) not in page

    nobody = Client()
    nobody.force_login(manager_user)
    refused = nobody.post(reverse("user_let_sign_in", args=[staff_user.pk]))
    assert refused.status_code == 403
    assert AuditEntry.objects.get(outcome="refused").action == "manage_user"
    assert attempt(Client(), "/accounts/login/", staff_user.username, PASSWORD,
                   "10.0.0.1").status_code == 429

    done = admin.post(reverse("user_let_sign_in", args=[staff_user.pk]), follow=True)
    assert done.redirect_chain[0][0] == f"{reverse('user_list')}#user-{staff_user.pk}"
    assert f"{staff_user.username} can sign in again" in done.content.decode()
    assert attempt(Client(), "/accounts/login/", staff_user.username, PASSWORD,
                   "10.0.0.1").status_code == 302
    assert attempt(Client(), "/accounts/login/", manager_user.username, PASSWORD,
                   "10.3.3.3").status_code == 429  # someone else's pause stays
    assert AuditEntry.objects.filter(outcome="ok", action="manage_user",
                                     message__startswith=f"Let {staff_user.username}").exists()


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=LIMIT, AXES_COOLOFF_TIME=timedelta(minutes=15))
def test_admins_see_an_address_paused_for_everyone_behind_it_and_can_lift_it(
        staff_user, manager_user, admin_user):
    """A probe: wrong passwords for a few names from one office address refused everyone
    there, right passwords too, and the Users page showed nobody paused."""
    from campaigns.models import AuditEntry

    for name in ("typo-one", "typo-two", "typo-three"):
        attempt(Client(), "/accounts/login/", name, "wrong", "10.0.0.7")
    assert attempt(Client(), "/accounts/login/", staff_user.username, PASSWORD,
                   "10.0.0.7").status_code == 429

    admin = Client()
    admin.force_login(admin_user)
    page = html.unescape(admin.get(reverse("user_list")).content.decode())
    assert 'data-address="10.0.0.7"' in page
    assert "typo-one, typo-three, typo-two" in page
    assert page.count('data-testid="sign-in-paused"') == 0  # no one name is paused

    manager = Client()
    manager.force_login(manager_user)
    url = reverse("address_let_sign_in")
    assert manager.post(url, {"address": "10.0.0.7"}).status_code == 403
    assert AuditEntry.objects.get(outcome="refused").action == "manage_user"
    unreadable = admin.post(url, {"address": "10.0.0.7; DROP"}, follow=True)
    assert "Choose one of the paused addresses listed." in unreadable.content.decode()
    assert attempt(Client(), "/accounts/login/", staff_user.username, PASSWORD,
                   "10.0.0.7").status_code == 429

    done = admin.post(url, {"address": "10.0.0.7"}, follow=True)
    assert done.redirect_chain[0][0] == f"{reverse('user_list')}#paused-addresses"
    assert "Signing in from 10.0.0.7 works again" in done.content.decode()
    assert 'data-address="10.0.0.7"' not in done.content.decode()
    assert attempt(Client(), "/accounts/login/", staff_user.username, PASSWORD,
                   "10.0.0.7").status_code == 302


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=LIMIT, AXES_COOLOFF_TIME=timedelta(minutes=15))
def test_a_browser_that_signed_in_before_gets_past_a_lockout_someone_else_caused(
        admin_user, staff_user):
    """A security probe kept "admin" out with a few wrong guesses from other addresses
    every cool-off, and everyone behind one address with junk names. The person's own
    browser (it signed in as them before) still signs in; a new browser does not, nor the
    old one once the password changed, and its own wrong passwords are limited too."""
    own = Client()
    assert attempt(own, "/accounts/login/", admin_user.username, PASSWORD).status_code == 302
    own.post(reverse("logout"))
    for n in range(LIMIT):  # someone else, from addresses of their own
        attempt(Client(), "/accounts/login/", admin_user.username, "wrong", f"10.6.6.{n}")
    for n in range(LIMIT):  # and the address they share with the person, with junk names
        attempt(Client(), "/accounts/login/", f"nobody-{n}", "wrong")
    assert attempt(Client(), "/accounts/login/", admin_user.username,
                   PASSWORD).status_code == 429  # a browser never signed in from
    assert attempt(own, "/accounts/login/", admin_user.username, PASSWORD).status_code == 302
    own.post(reverse("logout"))
    # Let through, it forgot no one's guesses: the name and address stay paused for others
    # (it gave a guesser at the same address a fresh start: a probe).
    assert attempt(Client(), "/accounts/login/", admin_user.username,
                   PASSWORD).status_code == 429
    # For another name, the browser is as any other.
    assert attempt(own, "/accounts/login/", staff_user.username, PASSWORD).status_code == 429
    # On the password-change page it passes nothing: wrong old passwords still lock.
    own.force_login(admin_user)
    answers = [own.post(reverse("password_change"), {
        "old_password": "wrong", "new_password1": "x-new-long-pass-1",
        "new_password2": "x-new-long-pass-1"}, REMOTE_ADDR="10.0.0.8").status_code
        for _ in range(LIMIT)]
    assert answers[-1] == 429
    own.post(reverse("logout"))
    # Its own wrong passwords: as many as the limit, then it is held like any browser; and
    # recorded like anyone's, for admins to see (they were not: a probe).
    before = AccessAttempt.objects.filter(username=admin_user.username).aggregate(
        n=Sum("failures_since_start"))["n"]
    answers = [attempt(own, "/accounts/login/", admin_user.username, "wrong").status_code
               for _ in range(LIMIT)]
    assert answers == [200] * (LIMIT - 1) + [429]
    assert AccessAttempt.objects.filter(username=admin_user.username).aggregate(
        n=Sum("failures_since_start"))["n"] == before + LIMIT
    assert attempt(own, "/accounts/login/", admin_user.username, PASSWORD).status_code == 429


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=LIMIT, AXES_COOLOFF_TIME=timedelta(minutes=15))
def test_a_known_browser_is_worth_nothing_once_the_password_changed(admin_user):
    own = Client()
    assert attempt(own, "/accounts/login/", admin_user.username, PASSWORD).status_code == 302
    own.post(reverse("logout"))
    admin_user.set_password("x-changed-long-pass-2")
    admin_user.save()
    for n in range(LIMIT):
        attempt(Client(), "/accounts/login/", admin_user.username, "wrong", f"10.6.7.{n}")
    assert attempt(own, "/accounts/login/", admin_user.username,
                   "x-changed-long-pass-2").status_code == 429


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=LIMIT, AXES_COOLOFF_TIME=timedelta(minutes=15))
def test_a_new_password_from_an_admin_says_a_paused_address_stays_paused(admin_user,
                                                                        staff_user):
    """"They can sign in with it at once" was untrue from a paused address (probe)."""
    for n in range(LIMIT):
        attempt(Client(), "/accounts/login/", f"nobody-{n}", "wrong", "10.4.4.4")
    admin = Client()
    admin.force_login(admin_user)
    done = admin.post(reverse("user_password", args=[staff_user.pk]),
                      {"new_password1": "a-new-long-one-8", "new_password2": "a-new-long-one-8"},
                      follow=True)
    assert ("even if wrong passwords had paused their name, except from the address paused "
            "for wrong passwords (listed on this page).") in html.unescape(
        done.content.decode())
    assert attempt(Client(), "/accounts/login/", staff_user.username, "a-new-long-one-8",
                   "10.4.4.4").status_code == 429
