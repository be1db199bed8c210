"""The managers' board: every active campaign as a live card."""

from datetime import timedelta

from django.conf import settings
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from campaigns.forms import BoardSearchForm
from campaigns.live import publish
from campaigns.models import TERMINAL_STATUSES, Campaign, active_q, listed_q
from campaigns.views.shared import view_required, with_fetch_times

# A campaign that finished left the board seconds after "Completed", and the board said
# "Nothing is dialling right now" with no final numbers (probe): those finished this long
# ago are listed under the cards, this many at most.
FINISHED_WITHIN = timedelta(hours=24)
FINISHED_SHOWN = 10
# Cards at most: past this many active campaigns the board names how many it leaves out.
CARDS_SHOWN = 200


@require_safe
@view_required
def board(request):
    """The managers' home: every active campaign as a live card."""
    # Both lists are cut short, and say by how many: without a word, the oldest active
    # campaigns were simply not on the board, and the 11th finished one left the list as
    # if it had never finished.
    # A name search narrows both (61 running cards were 29 screens on a phone, with no way
    # to the one wanted but scrolling: a probe). In the URL, so a wall screen can keep one.
    search = BoardSearchForm(request.GET)
    q = search.search_for
    campaigns, cards_more = _at_most(
        Campaign.objects.filter(active_q(), listed_q(q)).order_by("-created_at"), CARDS_SHOWN)
    cards = publish.cached_fragments(campaigns, "card")
    finished, finished_more = _at_most(
        Campaign.objects.filter(listed_q(q), status__in=TERMINAL_STATUSES,
                                deleted_remotely_at__isnull=True,
                                remote_updated_at__gte=timezone.now() - FINISHED_WITHIN)
        .order_by("-remote_updated_at"), FINISHED_SHOWN)
    context = {"nav": "board", "cards": [(c, cards[c.pk]) for c in campaigns],
               "cards_more": cards_more, "finished": finished, "finished_more": finished_more,
               "q": q, "search": search, "matched": len(campaigns) + cards_more,
               "active_count": Campaign.objects.filter(active_q()).count() if q else None,
               "poll_interval": settings.POLL_INTERVAL_SECONDS,
               "fetched": publish.fetched_times(c.pk for c in campaigns)}
    if request.htmx:
        response = render(request, "campaigns/board.html#grid", context)
        return with_fetch_times(response, [c.pk for c in campaigns])
    return render(request, "campaigns/board.html", context)


def _at_most(rows, limit: int) -> tuple[list, int]:
    """The first `limit` of `rows` and how many more there are (counted only if any)."""
    first = list(rows[:limit + 1])
    return first[:limit], (rows.count() - limit if len(first) > limit else 0)
