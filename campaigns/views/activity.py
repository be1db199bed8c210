"""The activity log: every action and refusal, for admins."""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_safe

from campaigns.forms import ActivityFilterForm
from campaigns.models import AuditEntry
from campaigns.permissions import require_perm


@require_safe
@require_perm("campaigns.view_auditentry", "Seeing the activity log")
def activity(request):
    filters = ActivityFilterForm(request.GET)
    entries = filters.filter(AuditEntry.objects.all())
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "campaigns/activity.html",
                  {"nav": "activity", "page": page, "filters": filters})
