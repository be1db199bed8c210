"""Roles managed inside the product (/users/): admins add people, set roles, deactivate;
nobody but a superuser reaches Django's admin, so no role can make itself superuser or
rewrite what a role may do. Every change is in the activity log."""

import html
import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from campaigns.models import AlertWebhook, AuditEntry, SuppressedNumber
from campaigns.permissions import ROLE_PERMISSIONS
from tests.campaign_factory import campaign_row
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NEW = {"username": "nina", "email": "nina@example.com", "role": "staff",
       "password": "a-long-enough-passphrase"}


def perms_of(group: Group) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


def test_an_admin_adds_someone_with_a_role_and_the_log_says_so(login_as, django_user_model):
    admin = login_as("admin")
    response = admin.post(reverse("user_list"), NEW, follow=True)
    assert "nina can now sign in as Staff." in response.content.decode()
    nina = django_user_model.objects.get(username="nina")
    assert nina.check_password(NEW["password"]) and nina.has_perm("campaigns.add_campaign")
    assert not nina.is_staff and not nina.is_superuser
    entry = AuditEntry.objects.get(action="manage_user")
    assert (entry.actor_name, entry.outcome, entry.message) == (
        "ada-admin", "ok", "Added nina as Staff.")


def test_an_admin_is_not_added_with_a_password_another_admin_chose(login_as,
                                                                   django_user_model):
    """A probe: adding someone as Admin was allowed, their creator knowing the password,
    as setting it afterwards was not (see test_an_admin_cannot_take_over_another...)."""
    response = login_as("admin").post(reverse("user_list"), {**NEW, "role": "admin"})
    assert response.status_code == 403
    form = response.context["form"]
    assert form.errors["role"][0].startswith(
        "Not added: an admin's password is theirs alone, and you would know this one.")
    assert "python manage.py changepassword nina" in form.errors["role"][0]
    assert 'value="nina"' in response.content.decode()  # what was typed is kept
    assert not django_user_model.objects.filter(username="nina").exists()
    assert AuditEntry.objects.get().outcome == "refused"


def test_someone_added_here_is_not_made_an_admin_even_after_changing_their_password(
        login_as, django_user_model):
    """The probe's other way: add them as Staff, sign in as them with the first password,
    change it "as them", then have them made an admin."""
    admin = login_as("admin")
    admin.post(reverse("user_list"), NEW)
    nina = django_user_model.objects.get(username="nina")
    theirs = Client()
    theirs.force_login(nina)
    mine = "only-i-know-this-1"
    changed = theirs.post(reverse("password_change"), {
        "old_password": NEW["password"], "new_password1": mine, "new_password2": mine})
    assert changed["Location"] == reverse("home")
    promoted = admin.post(reverse("user_change", args=[nina.pk]), {"role": "admin"})
    assert promoted.status_code == 403
    assert "nina&#x27;s password was set by an admin on this site" in promoted.content.decode()
    assert [g.name for g in nina.groups.all()] == ["staff"]


def test_the_add_form_is_not_taken_for_the_admins_own_sign_in(login_as):
    """A probe: with no autocomplete hints, the browser took Username and First password
    for a sign-in form and offered the admin's own name and password."""
    page = login_as("admin").get(reverse("user_list")).content.decode()
    assert re.search(r'<input type="text" name="username"[^>]*autocomplete="off"', page)
    assert re.search(r'<input type="password" name="password"[^>]*autocomplete="new-password"',
                     page)


def test_bad_input_is_told_beside_the_field_and_nothing_is_made(login_as, django_user_model):
    admin = login_as("admin")
    response = admin.post(reverse("user_list"), {**NEW, "username": "sam-staff",
                                                 "password": "123"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Someone already has this username." in page
    assert "This password is too short" in page
    assert not AuditEntry.objects.exists()


def test_a_good_password_sent_back_empty_beside_another_error_says_to_type_it_again(
        login_as, django_user_model):
    """The password box came back empty after an email error, with nothing said, and the
    next Add failed on it (a probe). A password is never written back into the page."""
    admin = login_as("admin")
    response = admin.post(reverse("user_list"), {**NEW, "email": "not-an-email"})
    assert response.status_code == 400
    assert response.context["form"].errors["password"] == [
        "Type it again: a password is never shown back on the page."]
    assert NEW["password"] not in response.content.decode()
    assert not django_user_model.objects.filter(username=NEW["username"]).exists()


@pytest.mark.parametrize("look_alike", ["sаm-staff", "paul-rоss", "admın", "ada-аdmin"])
def test_a_name_in_other_letters_that_reads_as_another_is_refused(login_as, users, look_alike,
                                                                  django_user_model):
    """A Cyrillic "а" or "о" (and a dotless "ı") passed the look-alike check: the
    activity log then showed "Added ada-аdmin as Staff", read as ada-admin."""
    response = login_as("admin").post(reverse("user_list"), {**NEW, "username": look_alike})
    assert response.status_code == 400
    (error,) = response.context["form"].errors["username"]
    assert error.startswith("Use letters without accents (a to z), digits and @ . + - _")
    assert not django_user_model.objects.filter(username=look_alike).exists()


@pytest.mark.parametrize("look_alike", ["ｓam-staff", "Ｓam-staff", "SAM-STAFF"])
def test_a_look_alike_of_a_username_is_told_beside_the_field(login_as, users, look_alike,
                                                            django_user_model):
    """Stored names are NFKC-normalised: a full-width "ｓ" is an "s". Checked as stored,
    the look-alike is refused beside its field instead of a 500 (or a second account)."""
    response = login_as("admin").post(reverse("user_list"), {**NEW, "username": look_alike})
    assert response.status_code == 400
    assert response.context["form"].errors["username"] == ["Someone already has this username."]
    assert django_user_model.objects.filter(username__iexact="sam-staff").count() == 1


def test_an_admin_changes_a_role_and_deactivates(login_as, users):
    admin = login_as("admin")
    staff = users["staff"]
    admin.post(reverse("user_change", args=[staff.pk]), {"role": "manager"})
    staff.refresh_from_db()
    assert [g.name for g in staff.groups.all()] == ["manager"]
    admin.post(reverse("user_change", args=[staff.pk]), {"active": "0"})
    staff.refresh_from_db()
    assert not staff.is_active
    assert list(AuditEntry.objects.order_by("pk").values_list("message", flat=True)) == [
        "Gave sam-staff the Manager role.", "Deactivated sam-staff."]


def test_the_same_role_again_is_said_and_not_logged_as_a_change(login_as, users):
    admin = login_as("admin")
    staff = users["staff"]
    response = admin.post(reverse("user_change", args=[staff.pk]), {"role": "staff"})
    assert [str(m) for m in response.wsgi_request._messages] == [
        "sam-staff already has the Staff role."]
    assert not AuditEntry.objects.exists()
    # With a change of account in the same post, only that change is logged.
    admin.post(reverse("user_change", args=[staff.pk]), {"role": "staff", "active": "0"})
    assert list(AuditEntry.objects.values_list("message", flat=True)) == [
        "Deactivated sam-staff."]


def test_the_list_is_in_alphabetical_order_whatever_the_case(login_as, users,
                                                             django_user_model):
    for name in ("P3_alice", "bob", "Zed"):
        django_user_model.objects.create_user(username=name, password=PASSWORD)
    page = login_as("admin").get(reverse("user_list"))
    names = [p["user"].username for p in page.context["people"]]
    assert names == ["ada-admin", "bob", "mia-manager", "P3_alice", "sam-staff", "Zed"]


def test_an_admin_cannot_change_their_own_role_even_with_another_change(login_as, users):
    admin = login_as("admin")
    me = users["admin"]
    alone = admin.post(reverse("user_change", args=[me.pk]), {"role": "staff"})
    both = admin.post(reverse("user_change", args=[me.pk]), {"role": "staff", "active": "0"})
    assert (alone.status_code, both.status_code) == (403, 403)
    me.refresh_from_db()
    assert [g.name for g in me.groups.all()] == ["admin"] and me.is_active
    page = admin.get(reverse("user_list")).content.decode()
    assert reverse("user_change", args=[me.pk]) not in page
    # The only admin is not told another admin changes their role: there is none.
    assert "You: the only admin; only another admin could change your role." in page
    assert reverse("user_change", args=[users["staff"].pk]) in page
    second = get_user_model().objects.create_user("second-admin", password="x-" * 8)
    second.groups.add(Group.objects.get(name="admin"))
    assert "You: another admin changes your role." in admin.get(
        reverse("user_list")).content.decode()
    assert list(AuditEntry.objects.order_by("pk").values_list("outcome", flat=True)) == [
        "refused", "refused"]


def test_a_change_that_names_nothing_to_change_says_so(login_as, users):
    admin = login_as("admin")
    response = admin.post(reverse("user_change", args=[users["staff"].pk]), {}, follow=True)
    assert "Choose one of the roles, or active or deactivated." in response.content.decode()
    users["staff"].refresh_from_db()
    assert users["staff"].is_active and [g.name for g in users["staff"].groups.all()] == [
        "staff"]


def test_nobody_can_pick_superuser_or_a_made_up_role(login_as, users):
    admin = login_as("admin")
    for role in ("superuser", "boss", ""):
        admin.post(reverse("user_change", args=[users["staff"].pk]),
                   {"role": role, "is_superuser": "on"})
    users["staff"].refresh_from_db()
    assert not users["staff"].is_superuser
    assert [g.name for g in users["staff"].groups.all()] == ["staff"]


def test_an_admin_cannot_touch_a_superuser(login_as, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="x-long-enough-1")
    admin = login_as("admin")
    response = admin.post(reverse("user_change", args=[root.pk]), {"active": "0"})
    assert response.status_code == 403
    # Said on the Users page, beside everyone's rows, not on a page with only a way out.
    page = response.content.decode()
    assert "Only a superuser can change a superuser&#x27;s account." in page
    assert "<h1>Users</h1>" in page and "Everyone (" in page
    root.refresh_from_db()
    assert root.is_active
    assert AuditEntry.objects.get().outcome == "refused"


@pytest.mark.parametrize("role", ["staff", "manager"])
def test_other_roles_are_refused_on_the_server(login_as, role, django_user_model):
    client = login_as(role)
    assert client.get(reverse("user_list")).status_code == 403
    response = client.post(reverse("user_list"), {**NEW, "role": "admin"})
    assert response.status_code == 403
    assert not django_user_model.objects.filter(username="nina").exists()


def test_the_admin_role_cannot_escalate_through_djangos_admin(login_as, users):
    admin = login_as("admin")
    me = users["admin"]
    # Even with is_staff set (as older versions did), Django's admin is closed to the role.
    me.is_staff = True
    me.save()
    assert admin.get("/admin/").status_code == 302
    change = f"/admin/auth/user/{me.pk}/change/"
    admin.post(change, {"username": me.username, "is_superuser": "on", "is_staff": "on",
                        "is_active": "on"})
    me.refresh_from_db()
    assert not me.is_superuser
    group = Group.objects.get(name="manager")
    admin.post(f"/admin/auth/group/{group.pk}/change/", {"name": "manager", "permissions": []})
    assert perms_of(group) == set(ROLE_PERMISSIONS["manager"])


def test_a_superuser_still_has_djangos_admin(client, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="x-long-enough-1")
    client.force_login(root)
    assert client.get("/admin/").status_code == 200


def test_deactivating_signs_the_person_out_everywhere(login_as, users):
    theirs = Client()
    theirs.force_login(users["staff"])
    assert theirs.get(reverse("campaign_list")).status_code == 200
    session_key = theirs.cookies[settings.SESSION_COOKIE_NAME].value
    admin = login_as("admin")
    admin.post(reverse("user_change", args=[users["staff"].pk]), {"active": "0"})
    # The session itself is gone, so their open live streams end within a heartbeat.
    assert not Session.objects.filter(session_key=session_key).exists()
    assert theirs.get(reverse("campaign_list")).status_code == 302  # to sign-in
    assert admin.get(reverse("user_list")).status_code == 200  # the admin stays signed in


def test_anyone_changes_their_own_password_after_giving_the_old_one(login_as, users):
    manager = login_as("manager")
    elsewhere = Client()
    elsewhere.force_login(users["manager"])
    url = reverse("password_change")
    assert reverse("password_change") in manager.get(reverse("board")).content.decode()
    new = "a-fresh-long-passphrase"
    wrong = manager.post(url, {"old_password": "not-it", "new_password1": new,
                               "new_password2": new})
    assert wrong.status_code == 422
    assert wrong.context["form"].errors["old_password"] == [
        "Your old password was entered incorrectly. Please enter it again."]
    short = manager.post(url, {"old_password": PASSWORD, "new_password1": "abc",
                               "new_password2": "abc"})
    assert short.status_code == 422 and short.context["form"].errors["new_password2"]
    same = manager.post(url, {"old_password": PASSWORD, "new_password1": PASSWORD,
                              "new_password2": PASSWORD})
    assert same.status_code == 422
    assert same.context["form"].errors["new_password1"] == [
        "Choose a password different from your current one."]
    assert "Choose a password different from your current one." in same.content.decode()
    users["manager"].refresh_from_db()
    assert users["manager"].check_password(PASSWORD)

    done = manager.post(url, {"old_password": PASSWORD, "new_password1": new,
                              "new_password2": new}, follow=True)
    assert done.redirect_chain[0][0] == reverse("home")
    assert "Your password is changed." in done.content.decode()
    users["manager"].refresh_from_db()
    assert users["manager"].check_password(new)
    assert manager.get(reverse("board")).status_code == 200  # still signed in here
    # Signed out elsewhere, and that session is gone (so its live stream ends too).
    assert not Session.objects.filter(session_key=elsewhere.session.session_key).exists()
    assert elsewhere.get(reverse("board")).status_code == 302
    assert AuditEntry.objects.get().message == "mia-manager changed their own password."


def test_a_deactivated_person_with_the_right_password_is_told_so_and_not_signed_in(
        login_as, users):
    login_as("admin").post(reverse("user_change", args=[users["staff"].pk]), {"active": "0"})
    theirs = Client()
    right = theirs.post("/accounts/login/", {"username": users["staff"].username,
                                             "password": PASSWORD})
    assert right.status_code == 200 and "This account is inactive." in right.content.decode()
    assert "_auth_user_id" not in theirs.session
    wrong = theirs.post("/accounts/login/", {"username": users["staff"].username,
                                             "password": "not it"})
    assert "This account is inactive." not in wrong.content.decode()
    # A session made before cannot come back through the backend.
    theirs.force_login(users["staff"])
    assert theirs.get(reverse("campaign_list")).status_code == 302


def test_an_admin_sets_a_new_password_for_someone_who_forgot_theirs(login_as, users):
    theirs = Client()
    theirs.force_login(users["staff"])
    admin = login_as("admin")
    url = reverse("user_password", args=[users["staff"].pk])
    assert f'href="{url}"' in admin.get(reverse("user_list")).content.decode()
    page = admin.get(url).content.decode()
    assert "Their new password" in page and "The same again" in page
    mismatch = admin.post(url, {"new_password1": "a-new-long-one-7",
                                "new_password2": "another-one-7"})
    assert mismatch.status_code == 422
    assert "didn’t match" in mismatch.content.decode()
    done = admin.post(url, {"new_password1": "a-new-long-one-7",
                            "new_password2": "a-new-long-one-7"}, follow=True)
    assert "has a new password and was signed out everywhere" in done.content.decode()
    assert "They can sign in with it at once" in done.content.decode()
    assert theirs.get(reverse("campaign_list")).status_code == 302  # signed out
    signed_in = Client().post("/accounts/login/", {"username": users["staff"].username,
                                                   "password": "a-new-long-one-7"})
    assert signed_in.status_code == 302
    assert AuditEntry.objects.filter(
        message=f"Set a new password for {users['staff'].username}.").exists()


def test_a_new_password_is_for_someone_else_and_set_by_admins_only(login_as, users):
    data = {"new_password1": "a-new-long-one-7", "new_password2": "a-new-long-one-7"}
    own = login_as("admin").post(reverse("user_password", args=[users["admin"].pk]), data)
    assert own["Location"] == reverse("password_change")  # asks for the old one first
    users["admin"].refresh_from_db()
    assert not users["admin"].check_password("a-new-long-one-7")
    staff = login_as("staff").post(reverse("user_password", args=[users["manager"].pk]), data)
    assert staff.status_code == 403
    users["manager"].refresh_from_db()
    assert not users["manager"].check_password("a-new-long-one-7")


def test_an_admin_cannot_set_another_admins_password(login_as, users, django_user_model):
    """It would let one admin sign in as another, whose name then goes on what they do."""
    other = django_user_model.objects.create_user("second-admin", password="x-long-enough-1")
    login_as("admin").post(reverse("user_change", args=[other.pk]), {"role": "admin"})
    data = {"new_password1": "a-new-long-one-7", "new_password2": "a-new-long-one-7"}
    listing = login_as("admin").get(reverse("user_list")).content.decode()
    assert reverse("user_password", args=[other.pk]) not in listing
    refused = login_as("admin").post(reverse("user_password", args=[other.pk]), data)
    assert refused.status_code == 403
    assert "password is theirs to change" in refused.content.decode()
    other.refresh_from_db()
    assert other.check_password("x-long-enough-1")


def test_the_new_password_form_of_another_admin_is_refused_before_anything_is_typed(
        login_as, users, django_user_model):
    other = django_user_model.objects.create_user("second-admin", password="x-long-enough-1")
    admin = login_as("admin")
    admin.post(reverse("user_change", args=[other.pk]), {"role": "admin"})
    shown = admin.get(reverse("user_password", args=[other.pk]))
    assert shown.status_code == 403
    page = shown.content.decode()
    assert "second-admin is another admin, whose password is theirs to change" in page
    assert "Ask an admin if you need a different role" not in page  # they are one
    assert not AuditEntry.objects.filter(outcome="refused").exists()  # only looked
    admin.post(reverse("user_password", args=[other.pk]),
               {"new_password1": "a-new-long-one-7", "new_password2": "a-new-long-one-7"})
    assert AuditEntry.objects.get(outcome="refused").message.startswith(
        "Not allowed: second-admin is another admin")
    # Someone without the role is still told to ask for one.
    assert "Ask an admin if you need a different role" in login_as("staff").get(
        reverse("user_list")).content.decode()


def test_an_admin_cannot_take_over_another_by_demoting_resetting_and_promoting_them(
        login_as, users, django_user_model):
    """Demote the other admin, set their password, make them admin again: one admin then
    signed in as another. Also with a step more: sign in as them with the password set and
    change it "themselves" before another admin promotes them. Nobody whose password
    descends, through changes on the site, from one an admin set is made an admin on the
    site. (Someone who was an admin no longer has their password set on the site at all:
    test_admin_takeover.py, which also has the reset on the server that ends this.)"""
    other = django_user_model.objects.create_user("second-admin", password="x-long-enough-1")
    third = django_user_model.objects.create_user("third-admin", password="x-long-enough-3")
    admin = login_as("admin")
    change = reverse("user_change", args=[other.pk])
    admin.post(change, {"role": "staff"})
    admin.post(reverse("user_change", args=[third.pk]), {"role": "admin"})
    third_client = Client()
    third_client.force_login(third)
    known = "takeover-pass-99"
    assert admin.post(reverse("user_password", args=[other.pk]),
                      {"new_password1": known, "new_password2": known}).status_code == 302

    def promoted_by(client) -> str:
        answer = client.post(change, {"role": "admin"})
        return "" if answer.status_code == 302 else html.unescape(answer.content.decode())

    refusal = "second-admin's password was set by an admin on this site"
    assert refusal in promoted_by(admin)
    assert refusal in promoted_by(third_client)
    assert [g.name for g in other.groups.all()] == ["staff"]
    # Changed with the password that was set: by them, or by the admin who knew it.
    theirs = Client()
    other.refresh_from_db()  # signed in with the password set for them
    theirs.force_login(other)
    mine = "only-i-know-this-1"
    changed = theirs.post(reverse("password_change"), {
        "old_password": known, "new_password1": mine, "new_password2": mine})
    assert changed["Location"] == reverse("home")
    assert refusal in promoted_by(admin)
    assert refusal in promoted_by(third_client)  # was accepted: the takeover
    assert [g.name for g in other.groups.all()] == ["staff"]


REFUSED_POSTS = [  # (URL name, its arguments, the activity log's action)
    ("user_list", lambda t: [], "manage_user"),
    ("user_change", lambda t: [t["person"]], "manage_user"),
    ("webhook_remove", lambda t: [t["webhook"]], "alert_routing"),
    ("suppression_add", lambda t: [], "suppress"),
    ("suppression_remove", lambda t: [t["listed"]], "suppress"),
    ("audience_new", lambda t: [], "upload_audience"),
    ("audience_member_add", lambda t: ["a" * 24], "edit_audience"),
    ("audience_delete", lambda t: ["a" * 24], "delete_audience"),
]


@pytest.mark.parametrize(("url", "arguments", "action"), REFUSED_POSTS,
                         ids=[url for url, _, _ in REFUSED_POSTS])
def test_a_refused_attempt_on_people_alerts_audiences_or_the_list_is_in_the_activity_log(
        login_as, users, url, arguments, action):
    """A probe: a manager's POSTs to make themselves admin, remove a webhook or take a
    number off the do-not-call list were refused but left no trace; refused campaign
    actions did. Never filed under a campaign whose pk the target's happens to share."""
    targets = {
        "person": users["manager"].pk,
        "webhook": AlertWebhook.objects.create(name="Team", url="https://hooks.example.com/a").pk,
        "listed": SuppressedNumber.objects.create(phone_number="+14155550100").pk,
    }
    for pk in set(targets.values()):
        campaign_row(pk=pk, name=f"Campaign {pk}")
    manager = login_as("manager")
    assert manager.post(reverse(url, args=arguments(targets)), {"role": "admin"}).status_code == 403
    entry = AuditEntry.objects.get(outcome="refused")
    assert (entry.action, entry.actor_name, entry.campaign) == (
        action, users["manager"].username, None)
    assert entry.message.startswith("Not allowed: ") and "needs the" in entry.message
    assert AlertWebhook.objects.count() == SuppressedNumber.objects.count() == 1
    assert Group.objects.get(name="admin").user_set.filter(pk=users["manager"].pk).count() == 0


def control_names(html: str) -> list[str]:
    """Each button's and disclosure's name as read out (hidden words included)."""
    return [" ".join(re.sub(r"<[^>]+>", " ", inner).split()) for inner in re.findall(
        r"<(?:button|summary)\b[^>]*>(.*?)</(?:button|summary)>", html, re.S)]


@pytest.mark.parametrize("url", ["user_list", "alert_routing"])
def test_each_persons_controls_are_named_for_them(login_as, users, url):
    """A probe with a screen reader: two "Set role" buttons, two "Deactivate…" and three
    "Save", which the list of controls could not tell apart."""
    names = control_names(login_as("admin").get(reverse(url)).content.decode())
    assert len(names) > 3
    repeated = {name for name in names if names.count(name) > 1}
    assert repeated == set(), repeated


def test_the_name_at_the_top_says_it_changes_the_password(login_as, users):
    page = login_as("staff").get(reverse("campaign_list")).content.decode()
    assert ('<span data-testid="signed-in-user">sam-staff</span><span class="sr-only">: '
            "change your password</span>") in page
