"""Browsers a person has signed in from: past a sign-in lockout someone else caused.

django-axes pauses a username after SIGNIN_FAILURE_LIMIT wrong passwords from anywhere,
and an address after as many for any names. Anyone could therefore keep a known person
out (five guesses at "admin" every cool-off, from a few addresses), or everyone behind
one office address (a security probe). A browser that signed in as that person, with
their current password, carries a signed cookie saying so: its sign-ins for that name
pass the lockout (`KnownDeviceHandler`, the AXES_HANDLER), as OWASP's "device cookies" do.

Its wrong passwords are recorded by axes like any others (admins see them on /users/; they
count for the name and the address) and also against the browser's own limit, counted
here for all of one person's known browsers together: at the limit it is held like any
browser until the cool-off has passed. Let through a lockout, a sign-in forgets no one's
wrong passwords (`passed_lockout`): they may be the guesser's. The cookie names the person
and a digest of their password's hash, so it is worth nothing once the password changes,
for any other name, or on the password-change page (a borrowed session is throttled there
as before).
"""

import contextlib

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.cache import cache
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from redis.exceptions import RedisError

COOKIE = "known_device"
_SALT = "campaigns.known_devices"


def remember(response, user) -> None:
    """After a sign-in: this browser is one `user` signed in from."""
    token = _token(user)
    response.set_cookie(
        COOKIE, signing.dumps({"u": user.get_username(), "t": token}, salt=_SALT),
        max_age=settings.KNOWN_DEVICE_DAYS * 86400, httponly=True,
        secure=settings.SESSION_COOKIE_SECURE, samesite="Lax")
    _forget_failures(token)


class KnownDeviceHandler(AxesDatabaseHandler):
    """axes' database handler, whose lockout a known browser under its own limit passes."""

    def is_locked(self, request, credentials=None) -> bool:
        if not super().is_locked(request, credentials):
            return False
        if _under_own_limit(request, credentials):
            request.known_device_passed_lockout = True
            return False
        return True

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request=request, **kwargs)
        if _count_failure(request, credentials) and getattr(request, "axes_locked_out", False):
            request.axes_locked_out = False  # the name is held, this browser not yet


def passed_lockout(request) -> bool:
    """Whether this sign-in was let through a lockout of its name or address."""
    return getattr(request, "known_device_passed_lockout", False)


def _under_own_limit(request, credentials) -> bool:
    token = _token_presented(request, credentials)
    if token is None:
        return False
    try:
        return (cache.get(_failures_key(token)) or 0) < settings.AXES_FAILURE_LIMIT
    except RedisError:
        return False  # uncounted, it would be unthrottled: the lockout applies


def _count_failure(request, credentials) -> bool:
    """Count a wrong password from a known browser; whether it is still under its limit."""
    token = _token_presented(request, credentials)
    if token is None:
        return False
    key = _failures_key(token)
    try:
        cache.add(key, 0, timeout=settings.AXES_COOLOFF_TIME.total_seconds())
        return cache.incr(key) < settings.AXES_FAILURE_LIMIT
    except (RedisError, ValueError):  # ValueError: expired in between
        return False  # uncounted: held as any browser is


def _token_presented(request, credentials) -> str | None:
    """The browser's token for the name being signed in as, if it is that person's current
    one and this is the sign-in page."""
    if request is None or request.path != reverse(settings.LOGIN_URL):
        return None
    username = (credentials or {}).get("username")
    raw = request.COOKIES.get(COOKIE)
    if not username or not raw:
        return None
    try:
        remembered = signing.loads(raw, salt=_SALT,
                                   max_age=settings.KNOWN_DEVICE_DAYS * 86400)
    except signing.BadSignature:
        return None
    if not isinstance(remembered, dict) or remembered.get("u") != username:
        return None
    user = get_user_model()._default_manager.filter(
        **{get_user_model().USERNAME_FIELD: username}, is_active=True).first()
    token = _token(user) if user is not None else ""
    return token if token and constant_time_compare(str(remembered.get("t")), token) else None


def _token(user) -> str:
    # The session auth hash changes with the password: a new password ends every pass.
    return salted_hmac(_SALT, f"{user.pk}:{user.get_session_auth_hash()}",
                       algorithm="sha256").hexdigest()


def _failures_key(token: str) -> str:
    return f"known-device:failures:{token}"


def _forget_failures(token: str) -> None:
    with contextlib.suppress(RedisError):
        cache.delete(_failures_key(token))
