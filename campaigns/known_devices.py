"""Browsers a person has signed in from: past a sign-in lockout someone else caused.

django-axes pauses a username after SIGNIN_FAILURE_LIMIT wrong passwords from anywhere,
and an address after as many for any names. Anyone could therefore keep a known person
out (five guesses at "admin" every cool-off, from a few addresses), or everyone behind
one office address (a security probe). A browser that signed in as that person, with
their current password, carries a signed cookie saying so: its sign-ins for that name
are let through the lockout (AXES_WHITELIST_CALLABLE), as OWASP's "device cookies" do.

Such browsers are still throttled on their own: their wrong passwords for that name are
counted here (axes records none for an attempt it lets through; all of one person's known
browsers together), and after as many as the limit the cookie no longer helps until the
cool-off has passed. The cookie names the person and a digest of their password's hash,
so it is worth nothing once the password changes, for any other name, or on the
password-change page (a borrowed session is throttled there as before).
"""

import contextlib

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
    response.set_cookie(
        COOKIE, signing.dumps({"u": user.get_username(), "t": _token(user)}, salt=_SALT),
        max_age=settings.KNOWN_DEVICE_DAYS * 86400, httponly=True,
        secure=settings.SESSION_COOKIE_SECURE, samesite="Lax")
    _forget_failures(_token(user))


def let_through(request, credentials) -> bool:
    """AXES_WHITELIST_CALLABLE: a sign-in for the name this browser signed in as, with
    fewer wrong passwords from it than the limit, is not held by the lockout."""
    token = _token_presented(request, credentials)
    if token is None:
        return False
    try:
        return (cache.get(_failures_key(token)) or 0) < settings.AXES_FAILURE_LIMIT
    except RedisError:
        return False  # uncounted, it would be unthrottled: the lockout applies


def count_failure(sender, credentials, request=None, **kwargs) -> None:
    """user_login_failed: a wrong password from a known browser counts against it."""
    token = _token_presented(request, credentials)
    if token is None:
        return
    key = _failures_key(token)
    # With Redis down the count is lost, and let_through fails closed: the lockout applies.
    with contextlib.suppress(RedisError, ValueError):  # ValueError: expired in between
        cache.add(key, 0, timeout=settings.AXES_COOLOFF_TIME.total_seconds())
        cache.incr(key)


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
