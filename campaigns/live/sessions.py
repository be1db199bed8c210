"""Who is signed in behind many session cookies at once: the live stream's admission.

Django's `get_user` reads one session and then one user per call, two queries each: most
of the CPU of admitting a thousand viewers who open the board together (a shift starting,
a web process restarting). `signed_in_users` reads all the sessions in one query and their
users in another, and accepts on its own only what `get_user` accepts: an unexpired
session of the database engine, signed in through our ModelBackend, by an active user whose
session hash matches (see `_hash_verified` for the one thing it then leaves undone). Every
other key (none, unknown, expired, tampered with, another backend, a changed password) is
handed to `get_user` itself, so its answer and what it does stay Django's own.
"""

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user,
    get_user_model,
)
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core import signing
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.module_loading import import_string

# The backend whose `get_user` (the user by pk, if active: ModelBackend's) is done here in
# bulk: accounts.SaysDeactivatedBackend, the one sign-in goes through.
MODEL_BACKEND = "campaigns.accounts.SaysDeactivatedBackend"


class _SessionRequest:
    """Just enough of a request for Django's `get_user`: the session from the cookie."""

    def __init__(self, session_key: str | None):
        self.session = _session_store()(session_key)


def _session_store():
    return import_string(settings.SESSION_ENGINE).SessionStore


def signed_in_users(session_keys: list[str | None]) -> list:
    """The user each session key is signed in as (AnonymousUser if none), as
    `django.contrib.auth.get_user` says, in two queries for all the keys it can vouch
    for and Django's own call for each of the rest."""
    vouched = _vouched_users(session_keys)
    return [vouched.get(key) or get_user(_SessionRequest(key)) for key in session_keys]


def _vouched_users(session_keys: list[str | None]) -> dict[str, object]:
    store = _session_store()
    if store is not DatabaseSessionStore or MODEL_BACKEND not in settings.AUTHENTICATION_BACKENDS:
        return {}
    rows = _unexpired(store, session_keys).values_list("session_key", "session_data")
    codec = store()  # decodes as SessionStore.decode does (its salt is per instance)
    claims = {key: claim for key, data in rows if (claim := _claim(data, codec)) is not None}
    users = get_user_model()._default_manager.in_bulk(
        {user_id for user_id, _ in claims.values()})
    vouched = {}
    for key, (user_id, session_hash) in claims.items():
        user = users.get(user_id)
        # ModelBackend.user_can_authenticate, then get_user's check of the session hash.
        if (user is not None and getattr(user, "is_active", True) and session_hash
                and _hash_verified(user, session_hash)):
            vouched[key] = user
    return vouched


def _hash_verified(user, session_hash: str) -> bool:
    """The session hash matches the user's under SECRET_KEY or one of its fallbacks.

    `get_user` accepts a fallback's hash too, and then moves the session to a new key,
    which a page's response hands the browser in its cookie. A stream cannot set a
    cookie: that move would leave the browser holding a deleted key, signed out on its
    next page. So here it is accepted as it stands; the next page moves it.
    """
    return constant_time_compare(session_hash, user.get_session_auth_hash()) or any(
        constant_time_compare(session_hash, fallback)
        for fallback in user.get_session_auth_fallback_hash())


def _claim(session_data: str, codec) -> tuple[object, str] | None:
    """(user id, session hash) of a session signed in through MODEL_BACKEND; None for any
    other, tampered with or malformed: `get_user` judges (and logs) those itself."""
    try:
        session = signing.loads(session_data, salt=codec.key_salt, serializer=codec.serializer)
        if session.get(BACKEND_SESSION_KEY) != MODEL_BACKEND:
            return None
        return (get_user_model()._meta.pk.to_python(session[SESSION_KEY]),
                session.get(HASH_SESSION_KEY) or "")
    except Exception:  # noqa: BLE001 - whatever it is, Django's own code decides
        return None


def live_sessions(keys: set[str | None]) -> set[str]:
    """Which of these session keys still sign an active person in, as `get_user` says.
    Not only whether the session exists: someone deactivated in Django's admin or a shell
    (the Users page also deletes their sessions) must not keep their open streams."""
    keys = [key for key in keys if key]
    return {key for key, user in zip(keys, signed_in_users(keys), strict=True)
            if user.is_authenticated}


def _unexpired(store, keys):
    """The stored sessions among these keys that have not expired (database engines)."""
    return store.get_model_class().objects.filter(
        session_key__in={key for key in keys if key}, expire_date__gt=timezone.now())
