"""The activity log: every action and refusal, for admins."""

from django.core.paginator import Paginator
from django.db.models import Max
from django.shortcuts import render
from django.views.decorators.http import require_safe

from campaigns.forms import ActivityFilterForm
from campaigns.models import AuditEntry, anchor_id
from campaigns.permissions import require_perm
from campaigns.views.shared import page_of

PAGE_SIZE = 50


@require_safe
@require_perm("campaigns.view_auditentry", "Seeing the activity log")
def activity(request):
    """Newest first, 50 a page. The pages after the first are those of the log as it was
    when the first was drawn (`upto`, its newest entry): entries come all the time, and
    each pushed the rows along, so "Older →" showed the last row of page 1 again (a
    probe). Those written since are counted above, with a way to see them."""
    filters = ActivityFilterForm(request.GET)
    entries = filters.filter(AuditEntry.objects.all())
    upto = anchor_id(request.GET.get("upto"))
    if upto is None:
        upto = entries.aggregate(newest=Max("pk"))["newest"]
        newer = 0
    else:
        newer = entries.filter(pk__gt=upto).count()
    shown = entries if upto is None else entries.filter(pk__lte=upto)
    page = page_of(Paginator(shown, PAGE_SIZE), request.GET.get("page"))
    return render(request, "campaigns/activity.html",
                  {"nav": "activity", "page": page, "filters": filters, "upto": upto,
                   "newer": newer})

