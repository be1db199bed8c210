"""What a person typed into a form the site could not take (its security token had expired,
or they sent too many requests to Atoms): offered back in a fresh form with "Send again",
but only for a form of this site's own, so that nothing typed is lost to either refusal."""

import re
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.utils.formats import date_format

# Never offered back: the stale token itself, and passwords (not echoed into a page).
_NOT_KEPT = {"csrfmiddlewaretoken"}


# Sent again but not listed: the forms' own hidden fields, nothing a person typed.
_NOT_SHOWN = {"token", "time_zone", "submit_action", "confirm", "confirm_duplicate"}
# A choice from a list goes as an id (an agent's, an audience's): listed as such, not as
# the id, which says nothing to the person.
_ID = re.compile(r"[0-9a-f]{24}|[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")
# A date and time as the browser's date-and-time box sends it ("2026-12-08T09:00"): listed
# as a person reads it, in the time zone it was typed in (it was listed as sent).
_TYPED_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?")


def kept_fields(request) -> list[tuple[str, str, str | None]]:
    """The posted fields to offer back, as (name, value, what the page shows of it: None
    for a hidden one), or none when the POST did not come from this site."""
    if request.method != "POST" or not from_this_site(request):
        return []
    return [(name, value, _shown(name, value)) for name, values in request.POST.lists()
            if name not in _NOT_KEPT and "password" not in name.lower() for value in values]


def _shown(name: str, value: str) -> str | None:
    if name in _NOT_SHOWN:
        return None
    if _ID.fullmatch(value):
        return "(as chosen in the form)"
    if _TYPED_DATETIME.fullmatch(value):
        try:
            return date_format(datetime.fromisoformat(value), "j F Y, H:i")
        except ValueError:  # "2026-13-45T99:00": shown as typed
            return value
    return value


def files_dropped(request) -> bool:
    """Whether the refused form carried a file: a page cannot hand a file back, so it says
    to choose it again (it was dropped without a word, and "Send again" then asked for it)."""
    return request.method == "POST" and bool(request.FILES) and from_this_site(request)


def from_this_site(request) -> bool:
    """Whether a refused POST came from one of this site's pages, by its Origin (browsers
    send it with every POST) or, lacking one, its Referer. A form posted from another site
    must never come back as a working form with a fresh token: one click on "Send again"
    would send that site's values (a new admin, a webhook of theirs) as the person."""
    try:
        own = {f"{request.scheme}://{request.get_host()}", *settings.CSRF_TRUSTED_ORIGINS}
    except DisallowedHost:
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        referer = urlsplit(request.headers.get("Referer", ""))
        origin = f"{referer.scheme}://{referer.netloc}"
    return origin in own
