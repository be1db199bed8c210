"""Audiences and phone numbers: what campaigns are made from. Read from Atoms (cached
lists, on-demand member pages) since the dashboard does not mirror them."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from campaigns import atoms, audit
from campaigns.connections import atoms_client
from campaigns.forms import AudienceUploadForm
from campaigns.permissions import require_perm
from campaigns.pickers import forget_audiences, load_pickers

view_required = require_perm("campaigns.view_campaign", "Seeing audiences and numbers")
MEMBERS_PAGE_SIZE = 25


@require_GET
@view_required
def audience_list(request):
    pickers = load_pickers(refresh=request.GET.get("refresh") == "1")
    return render(request, "campaigns/audiences.html", {"nav": "audiences", "pickers": pickers})


@require_GET
@view_required
def audience_detail(request, audience_id: str):
    """One audience's members, a page at a time, straight from Atoms (a drill-down)."""
    try:
        page_number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page_number = 1
    context = {"nav": "audiences", "audience": None, "members": None, "error": ""}
    try:
        client = atoms_client()
        context["audience"] = client.get_audience(audience_id)
        context["members"] = client.list_audience_members(
            audience_id, page=page_number, page_size=MEMBERS_PAGE_SIZE)
    except ValueError:
        return render(request, "404.html", status=404)
    except atoms.AtomsNotFound:
        return render(request, "404.html", status=404)
    except atoms.AtomsError as error:
        context["error"] = error.user_message
    members = context["members"]
    if members is not None:
        columns = sorted({key for m in members.items for key in m.data})
        context["columns"] = columns
        context["rows"] = [[m.data.get(col, "") for col in columns] for m in members.items]
    return render(request, "campaigns/audience_detail.html", context)


@require_http_methods(["GET", "POST"])
@require_perm("campaigns.manage_audiences", "Uploading an audience")
def audience_new(request):
    form = AudienceUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            audience = atoms_client().create_audience(
                data["name"], data["phone_column"], form.csv_text.encode("utf-8"),
                filename=data["file"].name or "contacts.csv", description=data["description"],
            )
        except atoms.AtomsError as error:
            outcome = (audit.Outcome.REFUSED if isinstance(error, atoms.AtomsRejected)
                       else audit.Outcome.FAILED)
            audit.record(request.user, audit.Action.UPLOAD_AUDIENCE, outcome,
                         campaign_name=f"Audience: {data['name']}", message=error.user_message)
            form.add_error(None, f"Atoms did not accept the upload: {error.user_message} "
                                 "Choose the file again and retry.")
        else:
            audit.record(request.user, audit.Action.UPLOAD_AUDIENCE, audit.Outcome.OK,
                         campaign_name=f"Audience: {audience.name}", atoms_id=audience.id,
                         message=f"{data['contact_count']} contacts uploaded")
            forget_audiences()
            messages.success(request, f"Audience “{audience.name}” uploaded with "
                                      f"{data['contact_count']:,} contacts.")
            return redirect("audience_detail", audience_id=audience.id)
    status = 422 if request.method == "POST" else 200
    return render(request, "campaigns/audience_new.html", {"nav": "audiences", "form": form},
                  status=status)


@require_GET
@view_required
def phone_number_list(request):
    pickers = load_pickers(refresh=request.GET.get("refresh") == "1")
    return render(request, "campaigns/phone_numbers.html", {"nav": "numbers", "pickers": pickers})
