"""Error pages that read like the rest of the dashboard: 400, 403, 404, 405, 500 and a
failed form token. Django's own are bare ("Bad Request (400)") or, with DEBUG, list every
URL; a person needs to hear what happened, whether anything was done, and what to do now.

Where the request still holds what was typed (a form whose token expired), the page
offers it back in a form that sends it again; otherwise it says how to get it back (the
browser's Back button keeps a form's fields).
"""

import logging

from django.core.exceptions import (
    DisallowedHost,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse

from campaigns.kept_input import files_dropped, from_this_site, kept_fields
from campaigns.models import AuditEntry, Campaign
from campaigns.permissions import ADMIN, role_of, signed_in_user
from campaigns.templatetags.when import ago

TOO_MUCH = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)
log = logging.getLogger(__name__)


def _page(request, status: int, title: str, message: str, *, kept=None, hint: str = "",
          links=(), files_dropped: bool = False) -> HttpResponse:
    context = {"status": status, "title": title, "message": message, "kept": kept or [],
               "files_dropped": files_dropped, "hint": hint, "links": links,
               "resend_to": request.path}
    try:
        return render(request, "error.html", context, status=status)
    except Exception:  # noqa: BLE001 - the error page must not fail in turn
        log.exception("Error page %s could not be rendered", status)
        return HttpResponse(f"{title}. {message}", status=status,
                            content_type="text/plain; charset=utf-8")


def _home_links(request):
    return [(reverse("campaign_list"), "See all campaigns")]


def handler400(request, exception=None):
    # Refused before the body was read, so nothing of it can be offered back here. Said
    # by its cause: a bad Host or a broken form was told "too many fields, too large".
    if isinstance(exception, DisallowedHost):
        what = ("It was sent to a host name this dashboard does not answer to. Nothing was "
                "saved or sent to Atoms.")
        hint = "Open the dashboard at its own address."
    elif isinstance(exception, TOO_MUCH):
        what = ("The form sent more than the dashboard accepts (too many fields, too large, "
                "or a file name that is too long). Nothing was saved or sent to Atoms.")
        hint = ("Go back with your browser's Back button: what you typed is still in the "
                "form. Send a smaller file, or fewer fields at once.")
    else:
        what = "Its form could not be read as sent. Nothing was saved or sent to Atoms."
        hint = ("Go back with your browser's Back button, reload the page and send the form "
                "again.")
    return _page(request, 400, "The request could not be read", what, hint=hint,
                 links=_home_links(request))


def handler403(request, exception=None):
    reason = str(exception) if exception and str(exception) else ""
    user = signed_in_user(request)
    # An admin refused has every role already: what they lack is not one to ask for.
    admin = user is not None and role_of(user) == ADMIN
    # Nor when no role would do ("This campaign has finished: calling hours no longer apply").
    about_a_role = not reason or " role" in reason
    return _page(request, 403, "You can't do that",
                 reason or "Your role does not allow this.",
                 hint="Ask an admin if you need a different role."
                 if about_a_role and not admin else "",
                 links=[(reverse("home"), "Back to the dashboard")])


def _not_found_words(request) -> tuple[str, list[tuple[str, str]]]:
    """Say what is missing in the words of the part of the site the address points into."""
    path = request.path
    if path.startswith("/audiences/uploads/"):
        # An upload is yours alone, and kept here, not in Atoms.
        return ("There is no such upload of yours: it may have been finished or discarded, "
                "or the address is mistyped.", [(reverse("audience_new"), "Upload a file"),
                                                 (reverse("audience_list"), "See all audiences")])
    if path.startswith("/audiences/"):
        return ("There is no such audience in Atoms: it may have been deleted, or the address "
                "is mistyped.", [(reverse("audience_list"), "See all audiences")])
    if path.startswith("/campaigns/"):
        campaign = _campaign_in(path)
        if campaign is not None:  # it exists: what is missing is a call or a download of it
            return (f"“{campaign.name}” has nothing at this address: the call or download may "
                    "not exist, or the address is mistyped.",
                    [(reverse("campaign_detail", args=[campaign.pk]), "Back to the campaign"),
                     (reverse("campaign_list"), "See all campaigns")])
        deleted = _deletion_of(path)
        if deleted is not None:  # Back after deleting it, or an old link (a probe)
            # Who did it is the activity log's to say: only to those who may read it.
            user = signed_in_user(request)
            by = (f" by {deleted.actor_name}"
                  if user is not None and user.has_perm("campaigns.view_auditentry") else "")
            return (f"“{deleted.campaign_name}” was deleted {ago(deleted.created_at)}{by}: "
                    "it is no longer in Atoms or on this dashboard.",
                    [(reverse("campaign_list"), "See all campaigns")])
        return ("There is no such campaign here: it may have been deleted, or the address is "
                "mistyped.", [(reverse("campaign_list"), "See all campaigns")])
    return ("There is no page at this address.", [(reverse("home"), "Back to the dashboard")])


def _campaign_in(path: str):
    """The campaign a longer /campaigns/<pk>/… address points into, if there is one."""
    pk = _campaign_pk(path)
    if pk is None or len(path.strip("/").split("/")) < 3:
        return None
    return Campaign.objects.filter(pk=pk).only("pk", "name").first()


def _deletion_of(path: str):
    """The audit entry of the deletion of the campaign /campaigns/<pk>/… points at."""
    pk = _campaign_pk(path)
    if pk is None:
        return None
    return (AuditEntry.objects.filter(campaign_pk=pk, action=AuditEntry.Action.DELETE,
                                      outcome=AuditEntry.Outcome.OK)
            .only("campaign_name", "created_at", "actor_name").first())


def _campaign_pk(path: str) -> int | None:
    parts = path.strip("/").split("/")
    if len(parts) < 2 or not parts[1].isascii() or not parts[1].isdigit() or len(parts[1]) > 18:
        return None
    return int(parts[1])


def handler404(request, exception=None):
    message, links = _not_found_words(request)
    return _page(request, 404, "Not found", message, links=links)


def handler500(request):
    return _page(
        request, 500, "Something went wrong on our side",
        "The dashboard hit an error it did not expect; it has been logged. If you were "
        "starting, pausing or deleting a campaign, check its page before trying again: "
        "Atoms may have carried it out.",
        hint="Go back with your browser's Back button: what you typed is still in the form.",
        links=_home_links(request))


def csrf_failure(request, reason: str = ""):
    """The form's security token was missing or stale (an old tab, cookies cleared, a
    session that ended). Offer the typed fields back in a fresh form with a new token,
    if the form was one of this site's own."""
    kept = kept_fields(request)
    dropped = files_dropped(request)
    get_token(request)  # the fresh form below needs a new token cookie
    said_where = request.headers.get("Origin") or request.headers.get("Referer")
    if said_where and not from_this_site(request):
        # Not "expired": a page elsewhere sent it (with a valid token, even), and the person
        # must not be told to send it again.
        return _page(
            request, 403, "This form came from another site",
            "It was sent from a page that is not this dashboard's, so it was refused. "
            "Nothing was saved or sent to Atoms.",
            hint="If you meant to do this, open the dashboard yourself and do it there.",
            links=_home_links(request))
    return _page(
        request, 403, "This form had expired",
        "The page was open too long, or you signed in again elsewhere, so the form's "
        "security check failed. Nothing was saved or sent to Atoms.",
        kept=kept, files_dropped=dropped,
        hint=("Press “Send again” to send what you typed once more." if kept else
              "Go back, reload the page and send the form again."),
        links=_home_links(request))


def method_not_allowed(request, response):
    """A GET on an address that only takes a button press (start, pause, …); or a method
    no page of the dashboard takes (OPTIONS, PUT, TRACE: a script's, never a person's)."""
    if request.method in ("GET", "HEAD", "POST"):
        title, message = ("Use the button on the page",
                          "This address only does something when its button is pressed; "
                          "opening it does nothing.")
    else:
        title, message = ("Not something this address does",
                          f"This address does not answer {request.method[:20]} requests.")
    page = _page(request, 405, title, message,
                 links=[(_back_to(request.path), "Back to the page")])
    if response.has_header("Allow"):
        page["Allow"] = response["Allow"]
    return page


def _back_to(path: str) -> str:
    parts = [part for part in path.split("/") if part]
    if len(parts) >= 2 and parts[0] in ("campaigns", "audiences") and parts[1] != "new":
        return f"/{parts[0]}/{parts[1]}/"
    return reverse("home")


class FriendlyErrorsMiddleware:
    """Views answer a bare 405 (require_POST); show the friendly page instead, for
    people. htmx requests keep the bare answer: they swap fragments, not pages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (response.status_code == 405 and not response.content
                and not request.headers.get("HX-Request")):
            return method_not_allowed(request, response)
        return response

