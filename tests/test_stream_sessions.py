"""The live stream's admission reads who is signed in for many sessions at once, and says
exactly what Django's `get_user` says for each, whatever state the session is in."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, get_user
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from campaigns.live.sessions import MODEL_BACKEND, _SessionRequest, signed_in_users

pytestmark = pytest.mark.django_db


def session_key_of(user) -> str:
    client = Client()
    client.force_login(user, backend=MODEL_BACKEND)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def edit_session(key: str, **changes) -> None:
    store = _SessionRequest(key).session
    for name, value in changes.items():
        if value is None:
            del store[name]
        else:
            store[name] = value
    store.save()


def who(users) -> list[tuple[bool, int | None]]:
    return [(user.is_authenticated, user.pk) for user in users]


def test_every_kind_of_session_gets_the_answer_djangos_get_user_gives(users,
                                                                      django_user_model):
    password = "a-long-password-1"
    inactive = django_user_model.objects.create_user("ines-inactive", password=password)
    moved_on = django_user_model.objects.create_user("paul-new-password", password=password)
    keys = {name: session_key_of(person) for name, person in users.items()}
    keys["inactive"] = session_key_of(inactive)
    inactive.is_active = False
    inactive.save()
    keys["password changed since"] = session_key_of(moved_on)
    moved_on.set_password("another-long-password-2")
    moved_on.save()
    keys["expired"] = session_key_of(users["manager"])
    Session.objects.filter(session_key=keys["expired"]).update(
        expire_date=timezone.now() - timedelta(seconds=1))
    keys["signed out"] = session_key_of(users["manager"])
    Session.objects.filter(session_key=keys["signed out"]).delete()
    keys["tampered"] = session_key_of(users["admin"])
    Session.objects.filter(session_key=keys["tampered"]).update(session_data="forged:data")
    keys["no hash"] = session_key_of(users["staff"])
    edit_session(keys["no hash"], **{HASH_SESSION_KEY: None})
    keys["unknown backend"] = session_key_of(users["admin"])
    edit_session(keys["unknown backend"], **{BACKEND_SESSION_KEY: "somewhere.Else"})
    keys["never issued"] = "k" * 32
    keys["no cookie"] = None
    names = list(keys)

    # Ours first: Django's get_user ends a session it refuses (a changed password), and
    # must not have done so before ours looks.
    ours = who(signed_in_users([keys[name] for name in names]))
    django = who(get_user(_SessionRequest(keys[name])) for name in names)

    assert dict(zip(names, ours, strict=True)) == dict(zip(names, django, strict=True))
    signed_in = {name for name, (authenticated, _) in zip(names, ours, strict=True)
                 if authenticated}
    assert signed_in == {"staff", "manager", "admin"}


def test_a_crowd_of_sessions_is_read_in_two_queries(users, django_assert_num_queries):
    keys = [session_key_of(users[role]) for role in ("staff", "manager", "admin") * 20]

    with django_assert_num_queries(2):  # the sessions, then their users
        signed_in = signed_in_users(keys)

    assert [user.username for user in signed_in] == [
        users[role].username for role in ("staff", "manager", "admin") * 20]


def test_a_session_only_an_old_secret_key_verifies_is_admitted_and_left_as_it_is(
        users, settings):
    """get_user would move it to a new session key, which a page's response gives the
    browser; a stream cannot, so moving it there would sign the person out."""
    key = session_key_of(users["manager"])
    stored = Session.objects.get(session_key=key).session_data
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40

    [user] = signed_in_users([key])

    assert user.pk == users["manager"].pk
    assert Session.objects.get(session_key=key).session_data == stored
    # Without the old key among the fallbacks, it is refused.
    settings.SECRET_KEY_FALLBACKS = []
    assert not signed_in_users([key])[0].is_authenticated
