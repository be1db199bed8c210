"""Audiences: the cached list, one audience's members (a drill-down into Atoms), the
two-step upload, delete, and the do-not-call list. Reads go through `catalog`; every
change goes through `audiences`, which checks each number before Atoms sees it."""

import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)
from django_htmx.http import HttpResponseStopPolling

from campaigns import atoms, audiences, catalog, contacts_csv, suppression
from campaigns.forms import (
    AudienceUploadForm,
    ColumnForm,
    MemberAddForm,
    SuppressionAddForm,
    SuppressionImportForm,
    SuppressionRemoveForm,
)
from campaigns.models import AudienceUpload, CallRecord, SuppressedNumber
from campaigns.permissions import require_perm
from campaigns.ratelimit import reads_atoms, shown_without_atoms_when_limited
from campaigns.services import ActionRefused
from campaigns.views.shared import catalog_required, form_page, page_of, render_catalog
from campaigns.wording import some_of

# A refused POST of each is written to the activity log (admins see who tried).
upload_required = require_perm("campaigns.manage_audiences", "Uploading an audience",
                               audit_as="upload_audience")
edit_required = require_perm("campaigns.manage_audiences", "Changing audiences",
                             audit_as="edit_audience")
delete_required = require_perm("campaigns.manage_audiences", "Changing audiences",
                               audit_as="delete_audience")
listing_required = require_perm("campaigns.manage_audiences", "Changing the do-not-call list",
                                audit_as="suppress")
MEMBERS_PAGE_SIZE = 25
DNC_PAGE_SIZE = 100
# The preview lists this many rejected rows; the download has all of them.
PREVIEW_ROWS = 50
# The check shows this many of the rows to be uploaded, as they will be sent.
SAMPLE_ROWS = 5


@require_safe
@catalog_required
def audience_list(request):
    return render_catalog(request, "campaigns/audiences.html", nav="audiences")


# --- the two-step upload -------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@upload_required
def audience_new(request):
    form = AudienceUploadForm(request.POST or None, request.FILES or None,
                              initial=_typed_for(request, request.GET.get("from", "")))
    if request.method == "POST" and form.is_valid() and not _name_taken(form):
        data = form.cleaned_data
        upload = audiences.start_upload(
            request.user, name=data["name"], description=data["description"],
            filename=data["file"].name or "contacts.csv", raw=form.raw,
            phone_column=data["phone_column"], region=data["region"])
        return redirect("audience_upload", token=upload.token)
    if request.method == "POST":
        form.ask_for_the_file_again()
    return form_page(request, "campaigns/audience_new.html", {"nav": "audiences", "form": form})


def _name_taken(form) -> bool:
    """Another audience has this name: the campaign form's picker told the two apart only
    by their counts (probe). Said beside the name; unknown while Atoms cannot list them."""
    same = catalog.audience_named(form.cleaned_data["name"])
    if same is not None:
        form.add_error("name", f"An audience called “{same.name}” exists already: give this "
                               "one a name of its own, so the campaign form can tell them apart.")
    return same is not None


def _typed_for(request, token: str) -> dict:
    """What was typed for an earlier file of this person's ("← Choose another file" on its
    check): it comes back with the form instead of a blank one (probe)."""
    try:
        upload = AudienceUpload.objects.filter(token=uuid.UUID(token),
                                               created_by=request.user).first()
    except ValueError:
        upload = None
    if upload is None:
        return {}
    return {"name": upload.name, "description": upload.description, "region": upload.region}


def _own_upload(request, token) -> AudienceUpload:
    # Someone else's file is not yours to see: a 404, not a 403, so tokens are not probed.
    return get_object_or_404(AudienceUpload, token=token, created_by=request.user)


@require_http_methods(["GET", "HEAD", "POST"])
@upload_required
def audience_upload(request, token):
    """The preview (and, once confirmed, the progress) of one kept file."""
    upload = _own_upload(request, token)
    if upload.state == AudienceUpload.State.DONE and upload.audience_id:
        # Not announced again: Back to a finished upload's page (announced as it finished).
        return redirect("audience_detail", audience_id=upload.audience_id)
    try:
        result = audiences.preview(upload) if upload.state != AudienceUpload.State.SENDING else None
    except contacts_csv.BadFile as bad:
        messages.error(request, bad.message)
        return redirect("audience_new")
    header = result.table.header if result else []
    column_form = ColumnForm(
        request.POST if request.method == "POST" else None, header=header,
        initial={"phone_column": upload.phone_column, "region": upload.region})
    if request.method == "POST" and column_form.is_valid():
        audiences.choose_column(upload, column_form.cleaned_data["phone_column"],
                                column_form.cleaned_data["region"])
        return redirect("audience_upload", token=upload.token)
    context = {"nav": "audiences", "upload": upload, "result": result,
               "column_form": column_form, "preview_rows": PREVIEW_ROWS}
    if result and result.check:
        context["counts"] = result.check.counts
        index = header.index(result.check.phone_column)

        def as_written(rows):  # the first rows, each beside its number as the file wrote it
            return [(row, row.cells[index]) for row in rows[:PREVIEW_ROWS]]

        context["rejected"] = as_written(result.check.rejected)
        from_letters = result.check.read_from_letters
        context["from_letters"] = as_written(from_letters)
        context["from_letters_count"] = len(from_letters)
        # A few rows as they will be sent: that the columns split where they should (a
        # semicolon file, an encoding) was seen only after the upload (probe).
        context["sample"] = [
            (row.line, [(column, row.phone if column == result.check.phone_column else cell)
                        for column, cell in zip(header, row.cells, strict=False)])
            for row in result.check.valid[:SAMPLE_ROWS]]
    return form_page(request, "campaigns/audience_upload.html", context)


@require_POST
@upload_required
def audience_upload_confirm(request, token):
    upload = _own_upload(request, token)
    promised = request.POST.get("promised", "")
    if promised.isascii() and promised.isdigit() and len(promised) < 10:
        # What the button said: fewer sent (numbers listed since the check) is explained.
        request.session[_promised_key(upload)] = int(promised)
    try:
        done = audiences.confirm_upload(request.user, upload)
    except ActionRefused as refused:
        upload.refresh_from_db()
        # A failed upload's page says its error itself: not twice (read out twice too).
        if (upload.state, upload.error) != (AudienceUpload.State.FAILED, refused.message):
            messages.error(request, refused.message)
        return redirect("audience_upload", token=upload.token)
    upload.refresh_from_db()
    if done:
        return redirect(_uploaded(request, upload))
    return redirect("audience_upload", token=upload.token)


def _uploaded(request, upload: AudienceUpload) -> str:
    """Say the upload is done, and where its audience is. One message whichever way it
    ended: sent at once (a small file), or in the background behind the progress page,
    whose last poll sends the browser on (it used to arrive there unannounced)."""
    promised = request.session.pop(_promised_key(upload), None)
    listed = promised - upload.sent_rows if promised else 0
    messages.success(request, f"Audience “{upload.name}” uploaded with "
                              f"{upload.sent_rows:,} contact{pluralize(upload.sent_rows)}."
                     + (f" {listed:,} more {'were' if listed != 1 else 'was'} added to the "
                        "do-not-call list since the file was checked, and left out."
                        if listed > 0 else ""))
    return reverse("audience_detail", args=[upload.audience_id])


def _promised_key(upload: AudienceUpload) -> str:
    """The session's note of how many contacts the upload's button promised (a number
    listed in another tab meanwhile was left out without a word: a probe)."""
    return f"upload-promised-{upload.token}"


@require_GET
@upload_required
def audience_upload_progress(request, token):
    """Polled while a large file is sent; stops polling (286) when it is done or failed."""
    upload = _own_upload(request, token)
    html = render(request, "campaigns/audience_upload.html#progress",
                  {"upload": upload}).content
    if upload.state == AudienceUpload.State.SENDING and not upload.stalled:
        return HttpResponse(html)
    response = HttpResponseStopPolling(html)
    if upload.state == AudienceUpload.State.DONE:
        # The message waits in the session for the audience page the browser goes to.
        response["HX-Redirect"] = _uploaded(request, upload)
    return response


@require_GET
@upload_required
def audience_upload_rejected(request, token):
    upload = _own_upload(request, token)
    try:
        result = audiences.preview(upload)
    except contacts_csv.BadFile:
        raise Http404("The file is no longer kept.") from None
    if result.check is None:
        raise Http404("Choose the phone column first.")
    rows = contacts_csv.rejected_csv(result.check)
    response = HttpResponse(contacts_csv.for_spreadsheets(rows),
                            content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="rejected-rows.csv"'
    return response


# --- one audience --------------------------------------------------------------------------


def _audience_or_404(audience_id: str, read=catalog.get_audience):
    """The audience, read from Atoms with `read` (find_audience where its count and
    campaigns are needed). Raises Http404 when Atoms has no such audience, and AtomsError
    when Atoms cannot be asked: each page then says `_unreachable` and keeps what was
    typed or ticked, with nothing sent (it was a 500 that lost them)."""
    audience = read(audience_id)
    if audience is None:
        raise Http404("No such audience.")
    return audience


def _unreachable(why: str) -> str:
    """The words of every audience page that could not ask Atoms (`why`: user_message)."""
    return f"Atoms could not be reached: {why}"


@reads_atoms
@require_safe
@catalog_required
def audience_detail(request, audience_id: str):
    """One audience's members, a page at a time or searched, straight from Atoms."""
    try:
        page_number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page_number = 1
    query = request.GET.get("q", "").strip()[:100]
    found = catalog.audience_members(audience_id, page_number, MEMBERS_PAGE_SIZE, query)
    if found is None:
        raise Http404  # the friendly page says there is no such audience

    audience = found.audience
    # Atoms answers a search with every match at once; they are shown a page at a time too.
    matches = (page_of(Paginator(found.matches, MEMBERS_PAGE_SIZE), page_number)
               if found.matches is not None else None)
    context = {"nav": "audiences", "audience": audience, "members": found.members,
               "matches": matches, "q": query,
               "error": _unreachable(found.error) if found.error else ""}
    if audience is not None:
        items = (matches.object_list if matches is not None
                 else found.members.items if found.members is not None else ())
        # The audience's columns, not those of the rows shown: the form must ask for a name
        # even after a search that matched no one. Never known (Atoms failing the first
        # time the audience is opened), there is no form: it would ask for the number alone.
        columns = found.columns or []
        context["columns"] = [audience.phone_column, *columns]
        # Each value with its column: a phone shows a contact as "city: Pune" lines.
        context["rows"] = [(m.id, [(col, m.data.get(col, "")) for col in context["columns"]])
                           for m in items]
        if found.columns is not None:
            context["add_form"] = MemberAddForm(columns=columns, initial=_region_of(audience_id))
    return render(request, "campaigns/audience_detail.html", context)


def _region_of(audience_id: str) -> dict:
    """The country its contacts were read as when uploaded here, for "Add a contact": it
    started at the default (US) for an audience of UK numbers (probe)."""
    region = (AudienceUpload.objects.filter(audience_id=audience_id)
              .order_by("-created_at").values_list("region", flat=True).first())
    return {"region": region} if region else {}


@require_POST
@edit_required
def audience_member_add(request, audience_id: str):
    posted = [key[4:] for key in request.POST if key.startswith("col_")]
    try:
        audience = _audience_or_404(audience_id)
        # Only the audience's own columns: posted ones it lacks (a crafted form) became
        # columns every viewer of the audience saw, a 5,000-character header among them.
        known = catalog.audience_columns(audience)
    except atoms.AtomsError as error:
        # Nothing is sent: the audience's phone column says where the number goes. The
        # form comes back as typed, to send again once Atoms answers.
        form = MemberAddForm(request.POST, columns=posted)
        form.add_error(None, _unreachable(error.user_message))
        return render(request, "campaigns/audience_member_add.html",
                      {"nav": "audiences", "audience": None, "audience_id": audience_id,
                       "form": form}, status=422)
    form = MemberAddForm(request.POST, columns=[column for column in posted if column in known])
    if form.is_valid():
        try:
            phone = audiences.add_member(request.user, audience,
                                         form.member_values(audience.phone_column),
                                         form.cleaned_data["region"])
        except contacts_csv.BadFile as bad:
            form.add_error("phone_number", bad.message)
        except ActionRefused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(request, f"{phone} added.")
            return redirect("audience_detail", audience_id=audience.id)
    return render(request, "campaigns/audience_member_add.html",
                  {"nav": "audiences", "audience": audience, "audience_id": audience.id,
                   "form": form}, status=422)


@reads_atoms
@require_http_methods(["GET", "HEAD", "POST"])
@edit_required
def audience_members_remove(request, audience_id: str):
    """"Remove selected": first a page that names the numbers and asks (as deleting the
    audience does), then, posted from it with confirm=1, the removal. The question is a
    GET, so Back and Forward around it do not ask to send a form again."""
    asked = request.POST if request.method == "POST" else request.GET
    member_ids = list(dict.fromkeys(asked.getlist("member")))
    if not member_ids:
        messages.error(request, "Tick the contacts to remove first.")
        return redirect("audience_detail", audience_id=audience_id)
    try:
        audience = _audience_or_404(audience_id)
    except atoms.AtomsError as error:
        # Nothing is removed unasked-about: the ticked contacts are kept for a "Try again"
        # that asks the question afresh. 422 for a confirmation that did not go through
        # (as `form_page`), 503 for a question that could not be shown.
        return render(request, "campaigns/audience_detail.html", {
            "nav": "audiences", "audience": None, "audience_id": audience_id,
            "error": _unreachable(error.user_message), "member_ids": member_ids,
        }, status=422 if request.method == "POST" else 503)
    numbers = audiences.member_numbers(audience, member_ids)
    if request.POST.get("confirm") != "1":
        if numbers == []:
            messages.error(request, "The contacts ticked are no longer in the audience.")
            return redirect("audience_detail", audience_id=audience.id)
        return render(request, "campaigns/audience_delete.html", {
            "nav": "audiences", "audience": audience, "removing": True,
            "member_ids": member_ids, "numbers": numbers,
            "count": len(numbers) if numbers is not None else len(member_ids)})
    try:
        removed = audiences.remove_members(request.user, audience, member_ids)
    except ActionRefused as refused:
        messages.error(request, refused.message)
    else:
        if not removed:  # another tab or person removed them meanwhile
            messages.info(request, "Nothing was removed: those contacts had already gone.")
            return redirect("audience_detail", audience_id=audience.id)
        said = f"{removed:,} contact{pluralize(removed)} removed"
        # The numbers when they are the ones removed (Atoms counts what it removed).
        if numbers and len(numbers) == removed:
            said += f": {some_of(numbers)}"
        messages.success(request, f"{said}.")
    return redirect("audience_detail", audience_id=audience.id)


@reads_atoms
@require_http_methods(["GET", "HEAD", "POST"])
@delete_required
def audience_delete(request, audience_id: str):
    try:
        audience = _audience_or_404(audience_id, catalog.find_audience)
    except atoms.AtomsError as error:
        messages.error(request, _unreachable(error.user_message))
        return redirect("audience_detail", audience_id=audience_id)
    error = ""
    if request.method == "POST":
        try:
            audiences.delete_audience(request.user, audience)
        except ActionRefused as refused:
            error = refused.message
        else:
            messages.success(request, f"Audience “{audience.name}” deleted.")
            return redirect("audience_list")
    using = audiences.campaigns_using(audience.id)
    return render(request, "campaigns/audience_delete.html",
                  {"nav": "audiences", "audience": audience, "error": error, "using": using},
                  status=422 if error else 200)


# --- the do-not-call list ------------------------------------------------------------------


@shown_without_atoms_when_limited
@reads_atoms
@require_safe
@catalog_required
def suppression_list(request):
    return _suppression_page(request)


def _suppression_page(request, add_form=None, import_form=None, status=200):
    limited = getattr(request, "atoms_limited", False)
    remote, remote_error = ((), "") if limited else suppression.atoms_dnc_entries()
    query = request.GET.get("q", "").strip()[:50]
    local = _dnc_page(request, suppression.find_local(query), "page")
    local.object_list = list(local.object_list)  # read once: the links are set on these
    _link_calls(local.object_list)
    # The search applies to both lists, by the same rule (suppression.find_*), and each
    # list is paged on its own, so the page of one does not move the other.
    return render(request, "campaigns/suppression.html", {
        "nav": "audiences", "q": query,
        "local": local,
        "local_count": SuppressedNumber.objects.count(),
        "atoms": _dnc_page(request, suppression.find_atoms(remote, query), "atoms_page"),
        "remote": remote, "remote_error": remote_error, "remote_limited": limited,
        "add_form": add_form or SuppressionAddForm(),
        "import_form": import_form or SuppressionImportForm(),
    }, status=status)


def _link_calls(entries) -> None:
    """Each entry listed from a call gets `call_campaign` (pk, name) when the dashboard
    knows the call's campaign, for a link to the call: the page showed a bare call id
    (a probe). One query for the page."""
    call_ids = [entry.call_id for entry in entries if entry.call_id]
    known = {call_id: (pk, name) for call_id, pk, name in CallRecord.objects.filter(
        call_id__in=call_ids).values_list("call_id", "campaign_id", "campaign__name")}
    for entry in entries:
        entry.call_campaign = known.get(entry.call_id)


def _dnc_page(request, entries, param: str):
    """One page of a do-not-call list, numbered by ?<param>=, with the links to the pages
    either side (other parameters kept) for the page's one pager partial. The links name
    the list's URL: the page is also shown at /add/ and /import/ after a refused form,
    and a link relative to those would GET a POST-only URL (a 405)."""
    page = page_of(Paginator(entries, DNC_PAGE_SIZE), request.GET.get(param))

    def link(number: int) -> str:
        query = request.GET.copy()
        query[param] = str(number)
        return f"{reverse('suppression_list')}?{query.urlencode()}"

    page.previous_link = link(page.previous_page_number()) if page.has_previous() else ""
    page.next_link = link(page.next_page_number()) if page.has_next() else ""
    return page


@require_POST
@listing_required
def suppression_add(request):
    form = SuppressionAddForm(request.POST)
    if form.is_valid():
        try:
            entry, created = suppression.add_suppressed(
                request.user, form.cleaned_data["phone_number"], form.cleaned_data["region"],
                note=form.cleaned_data["note"])
        except contacts_csv.BadFile as bad:
            form.add_error("phone_number", bad.message)
        else:
            if not created:
                said = f"{entry.phone_number} was already on the list."
                typed = form.cleaned_data["note"].strip()
                if typed and typed != entry.note:
                    # Dropped without a word before (probe): the list's note stays as it
                    # was, and the person knows theirs was not saved.
                    kept = f"“{entry.note}”" if entry.note else "none"
                    said += f" Its note is unchanged ({kept}): “{typed}” was not saved."
                messages.info(request, said)
            else:
                _say_listed(request, entry.phone_number)
            return redirect("suppression_list")
    return _suppression_page(request, add_form=form, status=422)


def _say_listed(request, number: str) -> None:
    """What listing a number does, and what it cannot: campaigns made before keep their
    contacts (it said "will not be called" while a running one retried the number)."""
    said = f"{number} is on the do-not-call list: no upload or start will include it."
    calling, unchecked = suppression.unfinished_campaigns_that_may_call(number)
    if calling:
        names = some_of([f"“{c.name}”" for c in calling], shown=3)
        said += (f" But {names} still {pluralize(len(calling), 'has,have')} it among "
                 "contacts to call or call again (campaigns keep the contacts they were made "
                 f"with): pause {pluralize(len(calling), 'it,them')} if it must not be.")
    if unchecked:
        said += (f" {unchecked} unfinished campaign{pluralize(unchecked)} could not be "
                 f"checked and may still call it if {pluralize(unchecked, 'its,their')} "
                 "contacts hold it.")
    if calling or unchecked:
        messages.warning(request, said)
    else:
        messages.success(request, said)


@require_http_methods(["GET", "HEAD", "POST"])
@require_perm("campaigns.delete_suppressednumber", "Taking a number off the do-not-call list",
              audit_as="suppress")
def suppression_remove(request, pk: int):
    """Asks first, with a reason the activity log keeps, then takes the number off."""
    entry = SuppressedNumber.objects.filter(pk=pk).first()
    if entry is None:  # taken off meanwhile (another tab or admin), or never there
        messages.info(request, "That number is not on the do-not-call list (any more).")
        return redirect("suppression_list")
    form = SuppressionRemoveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        suppression.remove_suppressed(request.user, entry, form.cleaned_data["reason"])
        messages.success(request, f"{entry.phone_number} is off the do-not-call list: it "
                                  "may be called again.")
        return redirect("suppression_list")
    return form_page(request, "campaigns/suppression_remove.html",
                     {"nav": "audiences", "entry": entry, "form": form})


@require_POST
@listing_required
def suppression_import(request):
    form = SuppressionImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            result = suppression.import_suppressed(
                request.user, form.raw, form.cleaned_data["phone_column"],
                form.cleaned_data["region"])
        except contacts_csv.BadFile as bad:
            form.add_error(bad.field if bad.field in form.fields else "file", bad.message)
        else:
            note = (f"{result.added:,} number{pluralize(result.added)} added, "
                    f"{result.already:,} already listed.")
            if result.repeated:
                note += (f" {result.repeated:,} row{pluralize(result.repeated)} repeated a "
                         "number earlier in the file.")
            if result.invalid:
                # Each with its value and reason: "(line 5)" alone left a person to guess
                # why a number they meant to list was not (probe: "00 44 …" under US).
                count = len(result.invalid)
                shown = some_of([f"line {line}, “{value[:40]}”: {reason}"
                                 for line, value, reason in result.invalid], 3, "; ")
                note += (f" {count:,} row{pluralize(count)} could not be read as numbers "
                         f"and {pluralize(count, 'was,were')} not added ({shown}).")
            messages.success(request, note)
            return redirect("suppression_list")
    form.ask_for_the_file_again()
    return _suppression_page(request, import_form=form, status=422)


@require_POST
@listing_required
def suppression_from_call(request):
    """"Remove this contact and never call again" from a call's page (the call view posts
    phone_number, call_id, audience_id and next)."""
    phone = request.POST.get("phone_number", "")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("suppression_list")
    try:
        removed = suppression.suppress_from_call(
            request.user, phone, call_id=request.POST.get("call_id", "")[:64],
            audience_id=request.POST.get("audience_id", ""))
    except contacts_csv.BadFile as bad:
        messages.error(request, f"“{phone}”: {bad.message}")
    except ActionRefused as refused:
        messages.warning(request, refused.message)
    else:
        messages.success(request, "On the do-not-call list: no campaign will be started with "
                         "this number" + (f"; its contact{pluralize(removed)} removed from "
                                          "the audience." if removed else "."))
    return redirect(back)
