"""The person's alerts (campaigns/alerts.py): the list, and the unread count in the top
bar, which the page refreshes every few seconds so a new alert shows without a reload."""

from django.conf import settings
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_safe

from campaigns import alerts, webhooks
from campaigns.models import Notification
from campaigns.permissions import signed_in_user
from campaigns.views.shared import view_required


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
    mine = (Notification.objects.filter(user=request.user)
            .select_related("alert", "alert__campaign")[:100])
    routing = request.user.has_perm("auth.change_user")
    page = render(request, "campaigns/notifications.html", {
        "nav": "alerts", "notifications": list(mine), "routing": routing,
        "failing_webhooks": webhooks.failing_count() if routing else 0})
    # Seen now: the count goes back to zero (after drawing, so new ones still stand out).
    Notification.objects.filter(user=request.user, read_at__isnull=True).update(
        read_at=timezone.now())
    return page


@require_GET
@view_required
def notification_badge(request):
    return render(request, "campaigns/notifications.html#badge")
