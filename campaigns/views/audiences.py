"""Audiences: the cached list, one audience's members (a drill-down into Atoms), and the
CSV upload. Reads go through `catalog`, the upload through `services`."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from campaigns import catalog, services
from campaigns.forms import AudienceUploadForm
from campaigns.permissions import require_perm
from campaigns.views.shared import catalog_required, render_catalog

MEMBERS_PAGE_SIZE = 25


@require_GET
@catalog_required
def audience_list(request):
    return render_catalog(request, "campaigns/audiences.html", nav="audiences")


@require_GET
@catalog_required
def audience_detail(request, audience_id: str):
    """One audience's members, a page at a time, straight from Atoms."""
    try:
        page_number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page_number = 1
    found = catalog.audience_members(audience_id, page_number, MEMBERS_PAGE_SIZE)
    if found is None:
        return render(request, "404.html", status=404)
    context = {"nav": "audiences", "audience": found.audience, "members": found.members,
               "error": found.error}
    if found.members is not None:
        columns = sorted({key for m in found.members.items for key in m.data})
        context["columns"] = columns
        context["rows"] = [[m.data.get(col, "") for col in columns] for m in found.members.items]
    return render(request, "campaigns/audience_detail.html", context)


@require_http_methods(["GET", "POST"])
@require_perm("campaigns.manage_audiences", "Uploading an audience")
def audience_new(request):
    form = AudienceUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            audience = services.upload_audience(
                request.user, data["name"], data["phone_column"], form.csv_text,
                filename=data["file"].name, description=data["description"],
                contact_count=data["contact_count"],
            )
        except services.ActionRefused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(request, f"Audience “{audience.name}” uploaded with "
                                      f"{data['contact_count']:,} contacts.")
            return redirect("audience_detail", audience_id=audience.id)
    status = 422 if request.method == "POST" else 200
    return render(request, "campaigns/audience_new.html", {"nav": "audiences", "form": form},
                  status=status)
