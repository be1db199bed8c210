"""The person's alerts (campaigns/alerts.py): the list, and the unread count in the top
bar, which the page refreshes every few seconds so a new alert shows without a reload."""

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_safe

from campaigns import alerts, webhooks
from campaigns.models import Notification, anchor_id
from campaigns.permissions import signed_in_user
from campaigns.views.shared import view_required

# The newest alerts the page lists.
SHOWN = 100


def unread(request) -> dict:
    """Context processor: the top bar's count, and how often it is refreshed."""
    user = signed_in_user(request)
    if user is None:
        return {}
    return {"unread_alerts": alerts.unread_count(user),
            "alert_interval": settings.ALERT_INTERVAL_SECONDS}


@require_safe
@view_required
def notification_list(request):
    """The list, and every few seconds (htmx) the list again when an alert came since the
    newest shown (`after`), else 204: it stayed as first drawn while the badge above it
    counted new ones (a probe)."""
    mine = Notification.objects.filter(user=request.user)
    # Parsed as a list's anchor is: "²" is a digit to str.isdigit, not to int() (a 500).
    after = anchor_id(request.GET.get("after"))
    if request.htmx and after is not None and not mine.filter(pk__gt=after).exists():
        return HttpResponse(status=204)
    shown = list(mine.select_related("alert", "alert__campaign")[:SHOWN])
    # Seen now, and before the page is drawn: the badge drawn with it said "2 unread" of
    # the alerts on screen (a probe). Those shown still stand out as new (read in memory
    # as they were); one arriving meanwhile stays unread.
    if shown:
        mine.filter(read_at__isnull=True, pk__lte=shown[0].pk).update(read_at=timezone.now())
    routing = request.user.has_perm("auth.change_user")
    context = {"nav": "alerts", "notifications": shown, "routing": routing,
               "failing_webhooks": webhooks.failing_count() if routing else 0}
    if request.htmx:
        return render(request, "campaigns/notifications.html#alert_list", context)
    return render(request, "campaigns/notifications.html", context)


@require_GET
@view_required
def notification_badge(request):
    return render(request, "campaigns/notifications.html#badge")
