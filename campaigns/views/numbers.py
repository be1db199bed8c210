"""Phone numbers: the outbound numbers campaigns call from (the cached list)."""

from django.views.decorators.http import require_safe

from campaigns.views.shared import catalog_required, render_catalog


@require_safe
@catalog_required
def phone_number_list(request):
    return render_catalog(request, "campaigns/phone_numbers.html", nav="numbers")
