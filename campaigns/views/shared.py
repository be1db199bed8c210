"""What several pages share: the view permission, live-fragment freshness, form pages."""

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.shortcuts import render
from django_htmx.http import trigger_client_event

from campaigns.catalog import load_pickers
from campaigns.live import health, publish
from campaigns.permissions import require_perm, signed_in_user

view_required = require_perm("campaigns.view_campaign", "Seeing campaigns")
catalog_required = require_perm("campaigns.view_campaign", "Seeing audiences and numbers")



def page_of(paginator: Paginator, asked) -> Page:
    """The page `asked` for (a raw ?page= value). One that is not a number, or below 1, is
    page 1: Django's get_page gave the *last* page for page=0 and page=-1. One past the
    end is the last page, with `past_end` set to the number asked, for the page to say
    so (templates/_past_end.html); it is None otherwise."""
    try:
        number = max(1, int(asked))
    except (TypeError, ValueError):
        number = 1
    page = paginator.page(min(number, paginator.num_pages))
    page.past_end = number if number > paginator.num_pages else None
    return page


def form_page(request, template: str, context: dict):
    """A page with a form: 200 when first shown, 422 when it comes back refused (a POST
    that did not go through), so that scripts and tests can tell the two apart."""
    return render(request, template, context, status=422 if request.method == "POST" else 200)


def live_state(request) -> dict:
    """Context processor: pages say so when live updates are paused (Redis down), and
    their script gives a form back after BUSY_RELEASE_SECONDS of waiting."""
    if signed_in_user(request) is None:
        return {}
    return {"live_paused": health.live_updates_paused(),
            "busy_release_seconds": settings.BUSY_RELEASE_SECONDS}


def with_fetch_times(response, pks):
    """Tell the page when these campaigns were last fetched, as a stream tick would."""
    times = publish.fetched_times(pks)
    if times:
        # After the swap: the swapped-in fragment carries an older time than this.
        trigger_client_event(response, "live:fetched",
                             {str(pk): at for pk, at in times.items()}, after="settle")
    return response


def render_catalog(request, template: str, *, nav: str):
    """A page listing what campaigns are made from, from the cached catalog;
    `?refresh=1` asks Atoms again."""
    pickers = load_pickers(refresh=request.GET.get("refresh") == "1")
    return render(request, template, {"nav": nav, "pickers": pickers})
