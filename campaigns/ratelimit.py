"""Per-user limits on what makes Atoms calls on demand, and refusals logged once a burst;
and the time a page may spend waiting on Atoms (AtomsDeadlineMiddleware).

Every POST of a signed-in user may call Atoms (create, start, pause, delete, uploads,
members, the do-not-call list), and so does `?refresh=1` on the catalog pages. One person
(or one stolen session) must not turn clicks into an Atoms request storm that the whole
organisation's key pays for: each user gets USER_ATOMS_REQUESTS_PER_MINUTE of them.
Over it, a POST is refused with a sentence (429) and a refresh shows the cached lists.

The counts live in Redis, shared by every web process: per user, the times of the requests
let through in the last minute (a sliding window). Fixed one-minute windows let twice the
limit through in a second astride a minute's turn (seen: six refreshes of five allowed).
"""

import logging
import os
import time

from django.conf import settings
from django.contrib import messages
from django.shortcuts import render
from redis.commands.core import Script
from redis.exceptions import RedisError

from campaigns import atoms, audit
from campaigns.connections import redis_client
from campaigns.kept_input import files_dropped, kept_fields

log = logging.getLogger(__name__)
WINDOW_SECONDS = 60
# Sign-in and sign-out never reach Atoms, and a lockout must not hide them.
EXEMPT_PATHS = ("/accounts/login/", "/accounts/logout/")


# KEYS[1]: one user's log, a sorted set of request times. ARGV: now, window, limit, a
# unique member. Forgets what left the window, then lets the request through and logs it
# only while fewer than `limit` remain: a refused request is not logged, so someone who
# keeps clicking gets through again a minute after their first, never later.
_TAKE = Script(None, b"""
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(window))
return 1
""")


def take(user, kind: str = "atoms", *, limit: int | None = None,
         now: float | None = None) -> bool:
    """Count one request of `kind` for `user`; False when `limit` (by default
    USER_ATOMS_REQUESTS_PER_MINUTE) were let through in the last WINDOW_SECONDS (`now`:
    epoch seconds, the clock's by default)."""
    now = time.time() if now is None else now
    limit = settings.USER_ATOMS_REQUESTS_PER_MINUTE if limit is None else limit
    try:
        return bool(_TAKE([f"ratelimit:{kind}:{user.pk}"],
                          [repr(now), WINDOW_SECONDS, limit, os.urandom(8).hex()],
                          client=redis_client()))
    except RedisError as error:
        # Redis down: pages and actions keep working from the database (issue 9); the
        # per-user limit is skipped rather than every click turned into a 500. Atoms' own
        # budget and 429s still bound the request rate.
        log.warning("Rate limit not counted, Redis unavailable (%s)", error)
        return True


def first_of_burst(user, what: str, seconds: int = WINDOW_SECONDS) -> bool:
    """True for the first refusal of `what` to `user` within `seconds`: the activity log
    gets one entry per burst of refused requests, not one per request."""
    key = f"ratelimit:burst:{what}:{getattr(user, 'pk', None) or 'anonymous'}"
    return bool(redis_client().set(key, "1", nx=True, ex=seconds))


def atoms_free(view):
    """Mark a view whose POST never reaches Atoms (people, alert routing, calling hours): it
    does not count against the person's Atoms requests. Counted, an admin adding people and
    webhooks was refused as "too many requests to Atoms", losing what they had typed."""
    view.atoms_free = True
    return view


def reads_atoms(view):
    """Mark a view whose GET reads Atoms on every request (a drill-down): it counts too."""
    view.reads_atoms = True
    return view


def shown_without_atoms_when_limited(view):
    """Mark a `reads_atoms` page that, over the limit, is shown without its Atoms part
    (`request.atoms_limited` tells it) instead of being refused: the do-not-call list
    after a quick run of additions ended on "Slow down" with no list and no word on
    whether the last number was added (each addition is a POST and the list's reload)."""
    view.shown_without_atoms_when_limited = True
    return view


def refuse(request, user):
    message = (f"Too many requests to Atoms in a minute (the limit is "
               f"{settings.USER_ATOMS_REQUESTS_PER_MINUTE} a person, to protect the Atoms "
               "account). Wait a minute, then try again.")
    if first_of_burst(user, "throttled"):
        audit.record(user, audit.Action.THROTTLED, audit.Outcome.REFUSED,
                     message=f"{message} First refused: {request.method} {request.path[:200]}")
    # A drill-down opened in place (the recording player) shows the sentence where its
    # answer would have gone; base.html lets htmx swap a 429 in.
    if request.headers.get("HX-Request"):
        return render(request, "429.html#reason", {"message": message}, status=429)
    # A refused form keeps what was typed, to send again once the minute has passed.
    return render(request, "429.html", {"message": message, "kept": kept_fields(request),
                                        "files_dropped": files_dropped(request),
                                        "resend_to": request.path}, status=429)


class AtomsRequestLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.path in EXEMPT_PATHS:
            return None
        counted = (getattr(view_func, "reads_atoms", False) if request.method in ("GET", "HEAD")
                   else request.method == "POST" and not getattr(view_func, "atoms_free", False))
        # A request the view will refuse for want of a role is answered by that refusal
        # (403 naming the role), whoever is over their limit, and costs them nothing.
        if counted and not all(map(user.has_perm, getattr(view_func, "required_perms", ()))):
            return None
        if counted and not take(user):
            if request.method in ("GET", "HEAD") and getattr(
                    view_func, "shown_without_atoms_when_limited", False):
                request.atoms_limited = True
                return None
            return refuse(request, user)
        return None

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.path in EXEMPT_PATHS:
            return self.get_response(request)
        if request.GET.get("refresh") == "1" and not take(user):
            request.GET = request.GET.copy()
            del request.GET["refresh"]
            request.GET._mutable = False
            messages.warning(request, "Refreshed from Atoms too often in the last minute: "
                                      "these are the saved lists. Try again in a minute.")
        return self.get_response(request)


class AtomsDeadlineMiddleware:
    """Every Atoms request a page makes gives up ATOMS_PAGE_DEADLINE_SECONDS after the page
    was asked for, retries included (atoms.deadline): under a hanging Atoms one action kept
    its person waiting 106 s (a fault probe), past any proxy's patience. What was cut
    short is said like any other timeout, and an action's outcome is still found out from
    Atoms (the poller, or the create form sent again). Streamed downloads read on after
    the view returns, outside the deadline."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with atoms.deadline(settings.ATOMS_PAGE_DEADLINE_SECONDS):
            return self.get_response(request)
