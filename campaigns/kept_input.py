"""What a person typed into a form the site could not take (its security token had expired,
or they sent too many requests to Atoms): offered back in a fresh form with "Send again",
but only for a form of this site's own, so that nothing typed is lost to either refusal."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost

# Never offered back: the stale token itself, and passwords (not echoed into a page).
_NOT_KEPT = {"csrfmiddlewaretoken"}


def kept_fields(request) -> list[tuple[str, str]]:
    """The posted fields to offer back, or none when the POST did not come from this site."""
    if request.method != "POST" or not from_this_site(request):
        return []
    return [(name, value) for name, values in request.POST.lists()
            if name not in _NOT_KEPT and "password" not in name.lower() for value in values]


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
