"""The managers' board: every active campaign as a live card."""

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_safe

from campaigns.live import publish
from campaigns.models import Campaign, active_q
from campaigns.views.shared import view_required, with_fetch_times


@require_safe
@view_required
def board(request):
    """The managers' home: every active campaign as a live card."""
    campaigns = list(Campaign.objects.filter(active_q()).order_by("-created_at")[:200])
    cards = publish.cached_fragments(campaigns, "card")
    context = {"nav": "board", "cards": [(c, cards[c.pk]) for c in campaigns],
               "poll_interval": settings.POLL_INTERVAL_SECONDS,
               "fetched": publish.fetched_times(c.pk for c in campaigns)}
    if request.htmx:
        response = render(request, "campaigns/board.html#grid", context)
        return with_fetch_times(response, [c.pk for c in campaigns])
    return render(request, "campaigns/board.html", context)
