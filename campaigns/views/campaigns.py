"""Campaign pages and actions. Pages read the mirror (and the live cache), never Atoms;
actions go through `services`. Every view states its method and permission."""

from functools import partial
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Max
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.utils.safestring import mark_safe
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)
from django_htmx.http import HttpResponseStopPolling

from campaigns import audiences, calling_hours, preflight, services, suppression
from campaigns.atoms import CampaignStatus
from campaigns.catalog import load_pickers
from campaigns.forms import CallingHoursForm, CampaignFilterForm, CampaignForm, DeleteForm
from campaigns.live import publish
from campaigns.models import Campaign, anchor_id
from campaigns.permissions import MANAGER, needed_role, require_perm, role_of
from campaigns.ratelimit import atoms_free, reads_atoms
from campaigns.views.calls import CALLS_TAB_PARAM
from campaigns.views.shared import form_page, page_of, view_required, with_fetch_times

PAGE_SIZE = 25
IN_PROGRESS_MESSAGE = (
    "This same form is still being sent to Atoms (from another tab, or a click before this "
    "one), and its answer has not come yet. Look for the campaign in the list in a minute; "
    "if it is not there, send this form again: the dashboard checks Atoms first, so it is "
    "never made twice.")
# A message's extra tag: true of the campaign's state when said, so the page drops it once
# that state moves on (static/js/app.js).
TRANSIENT = "transient"
# A message's extra tag: what was asked ("Pause requested."), dropped once the campaign has
# settled in a state other than the one the page was drawn in (no action pending).
UNTIL_SETTLED = "until-settled"



@require_safe
def home(request):
    if role_of(request.user) == MANAGER:
        return redirect("board")
    return redirect("campaign_list")


@require_safe
@view_required
def campaign_list(request):
    """25 a page. The pages after the first are those of the list as it was when the first
    was drawn (`upto`, the newest campaign then): campaigns added meanwhile pushed the rows
    along, and "Next" showed five of page 1's again and never the five new ones (a probe).
    The page says they were added, with a way to see them (the stream counts them)."""
    filters = CampaignFilterForm(request.GET)
    campaigns = Campaign.objects.all()
    upto = anchor_id(request.GET.get("upto"))
    if upto is None:
        upto = campaigns.aggregate(newest=Max("pk"))["newest"] or 0
    page = page_of(Paginator(filters.filter(campaigns.filter(pk__lte=upto)), PAGE_SIZE),
                   request.GET.get("page"))
    live_ids = [c.pk for c in page if c.is_watched]
    shown = filters.cleaned_data  # the filters applied (an edited, invalid one is left out)
    context = {
        "nav": "campaigns", "filters": filters, "page": page, "upto": upto,
        "filtered": any(request.GET.get(k) for k in ("q", "status")),
        "live_ids": ",".join(map(str, live_ids)),
        # The stream tells this list of campaigns added that it would show, since `upto`.
        "list_filter": urlencode({"q": (shown.get("q") or "").strip(),
                                  "status": shown.get("status") or "", "upto": upto}),
        "poll_interval": settings.POLL_INTERVAL_SECONDS,
        "fetched": publish.fetched_times(live_ids),
        "new_ones_lead": (shown.get("sort") or "created") == "created",
    }
    if request.htmx:
        return with_fetch_times(render(request, "campaigns/list.html#results", context),
                                 live_ids)
    return render(request, "campaigns/list.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@require_perm("campaigns.add_campaign", "Creating campaigns", audit_as="create")
def campaign_new(request):
    pickers = load_pickers(refresh=request.GET.get("refresh") == "1")
    if request.method != "POST":  # GET, or HEAD (answered as GET)
        form = CampaignForm(pickers=pickers, initial=_picker_initial(request.GET))
        if request.htmx:
            return render(request, "campaigns/new.html#pickers", {"form": form, "pickers": pickers})
        return render(request, "campaigns/new.html", {"form": form, "pickers": pickers,
                                                      "nav": "campaigns"})

    starting = request.POST.get("submit_action") == "start"
    form = CampaignForm(request.POST, pickers=pickers, starting=starting)
    if form.is_valid() and form.cleaned_data.get("scheduled_at"):
        refusal = _schedule_refused(form.cleaned_data["audience"])
        if refusal:
            form.add_error("scheduled_at", refusal)
    if form.is_valid():
        data = services.CampaignInput(**form.campaign_fields())
        held = _start_held(form.cleaned_data["audience"]) if starting else ""
        try:
            outcome = services.create_campaign(
                request.user, form.cleaned_data["token"], data, start=starting and not held,
                ask_about_twins=not form.cleaned_data["confirm_duplicate"])
        except services.ActionRefused as refused:
            form.add_errors(refused.field_errors)
            form.add_error(None, refused.message)
        else:
            if outcome.in_progress:
                # Not "it will show here in a moment": that other submit may yet fail,
                # and this one's typed input would be gone with the page.
                form.add_error(None, IN_PROGRESS_MESSAGE)
                return render(request, "campaigns/new.html", {
                    "form": form, "pickers": pickers, "nav": "campaigns"}, status=409)
            if outcome.twin is not None:
                # Ask before a second campaign dials the same people (a Back-button
                # resubmit, a second tab, a colleague at the same moment).
                twin = outcome.twin
                return render(request, "campaigns/new.html", {
                    "form": form, "pickers": pickers, "nav": "campaigns", "twin": twin,
                    "twin_campaign": twin if isinstance(twin, Campaign) else twin.campaign,
                }, status=409)
            if held and outcome.campaign is not None and not outcome.duplicate:
                messages.warning(request, f"Campaign created, not started: {held}")
                return redirect("campaign_detail", pk=outcome.campaign.pk)
            return _after_create(request, outcome, started=starting)
    return render(request, "campaigns/new.html", {"form": form, "pickers": pickers,
                                                  "nav": "campaigns"}, status=422)


def _listed_in_audience(audience_id: str) -> tuple[int, str]:
    """(how many of the audience's contacts are on the do-not-call list, "") or, when it
    could not be checked, (0, why)."""
    try:
        _keep, suppressed = suppression.suppressed_members(audience_id)
    except services.ActionRefused as refused:
        return 0, refused.message
    return len(suppressed), ""


def _start_held(audience_id: str) -> str:
    """Why "Create and start" must only create: do-not-call numbers in the audience (the
    Start button then offers to leave them out), or the list could not be checked."""
    count, unchecked = _listed_in_audience(audience_id)
    if unchecked:
        return unchecked
    if count:
        return (f"{count} of its contacts {pluralize(count, 'is,are')} on the do-not-call "
                f"list. Press Start: it offers to start without {pluralize(count, 'it,them')}.")
    return ""


def _schedule_refused(audience_id: str) -> str:
    """Why a campaign on this audience may not be scheduled: Atoms starts a scheduled one
    by itself, with no check of ours before, so it would call the do-not-call numbers."""
    count, unchecked = _listed_in_audience(audience_id)
    if unchecked:
        return ("The audience could not be checked against the do-not-call list, so nothing "
                "was scheduled. Try again in a moment.")
    if count:
        return (f"{count} of its contacts {pluralize(count, 'is,are')} on the do-not-call "
                "list, and Atoms starts a scheduled campaign by itself: it would call "
                f"{pluralize(count, 'that number,them')}. Leave Start at empty and create it: "
                f"Start then offers to leave {pluralize(count, 'it,them')} out.")
    return ""


def _picker_initial(params) -> dict:
    """Keep what the user already chose when the pickers are refreshed."""
    initial = {key: params.get(key) for key in ("agent", "audience") if params.get(key)}
    if params.getlist("phone_numbers"):
        initial["phone_numbers"] = params.getlist("phone_numbers")
    return initial


def _after_create(request, outcome: services.CreateOutcome, *, started: bool = False):
    campaign = outcome.campaign
    if outcome.duplicate:
        messages.info(request, "This form was already submitted: here is the campaign it made.")
    elif outcome.start_error:
        messages.warning(request, f"Campaign created, but not started: {outcome.start_error}")
    elif outcome.start_unknown:
        # Whether it started is said by the page's live note, which follows Atoms: a
        # message here would stay on the page after it stopped being true.
        messages.success(request, "Campaign created.")
    elif started or campaign.pending_action:
        messages.success(request, "Campaign created and started. The status changes when "
                                  "Atoms confirms.")
    else:
        messages.success(request, "Campaign created." if not campaign.scheduled_at
                         else "Campaign created and scheduled.")
    return redirect("campaign_detail", pk=campaign.pk)


@require_safe
@view_required
def campaign_detail(request, pk: int):
    campaign = get_object_or_404(Campaign, pk=pk)
    counting = services.count_outcomes_once(campaign)
    context = {
        "nav": "campaigns", "c": campaign,
        "detail_html": publish.cached_fragments([campaign], "detail")[campaign.pk],
        "activity": campaign_activity_entries(campaign),
        "poll_interval": settings.POLL_INTERVAL_SECONDS,
        "fetched": publish.fetched_times([campaign.pk]),
        "counting_outcomes": counting,
        "hours": calling_hours.of(campaign),
        "may_set_hours": may_set_calling_hours(request.user, campaign),
        "copy": audiences.copy_without_listed(campaign),
    }
    if CALLS_TAB_PARAM in request.GET:  # come back to (Back, a reload): the log as it was
        query = request.GET.copy()
        del query[CALLS_TAB_PARAM]
        context["calls_query"] = query.urlencode()
    return render(request, "campaigns/detail.html", context)


def campaign_activity_entries(campaign: Campaign):
    return campaign.audit_entries.all()[:20]


@require_GET
@view_required
def campaign_activity(request, pk: int):
    """The campaign's activity, re-fetched by its page when its buttons were redrawn (the
    status moved): "Start · Failed · checking with Atoms" stayed beside a status already
    reading Running, and the entry saying the start was carried out after all came only
    with a reload."""
    campaign = Campaign.objects.filter(pk=pk).first()
    if campaign is None and request.htmx:
        return HttpResponse("")  # deleted since the page was drawn: no 404 for htmx
    if campaign is None:
        raise Http404
    return render(request, "campaigns/detail.html#activity", {
        "c": campaign, "activity": campaign_activity_entries(campaign)})


@require_GET
@view_required
def campaign_actions(request, pk: int):
    """The role-dependent buttons, re-fetched by the page when the status changes."""
    campaign = Campaign.objects.filter(pk=pk).first()
    if campaign is None and request.htmx:
        # Deleted since the page was drawn: no buttons left to offer, and no 404 for htmx.
        return render(request, "campaigns/detail.html#actions_deleted")
    if campaign is None:
        raise Http404  # typed by hand: there may never have been such a campaign

    return render(request, "campaigns/detail.html#actions", {"c": campaign})


@require_GET
@view_required
def campaign_fragment(request, pk: int, kind: str):
    """Polling fallback when the stream cannot connect: the cached fragment.

    Answers 286 once the campaign will not change any more (`is_watched`, as the list's
    rows), which stops htmx polling: a draft's page stopped at once, and never showed the
    start made in another tab (a probe).
    """
    if kind not in publish.KINDS:
        return HttpResponse(status=404)
    campaign = Campaign.objects.filter(pk=pk).first()
    if campaign is None:
        return HttpResponseStopPolling(render(request, "campaigns/live.html#removed").content)
    html = publish.cached_fragments([campaign], kind)[campaign.pk]
    response = HttpResponse(html) if campaign.is_watched else HttpResponseStopPolling(html)
    return with_fetch_times(response, [campaign.pk])


@require_GET
@view_required
def campaign_rows(request):
    """Polling fallback of a campaign list (its `rows_poll`): every live row of the list in
    one request, as out-of-band swaps, and the poller again naming those still live (a
    draft or a paused campaign may still be started elsewhere). 286 once none is, which
    stops htmx polling."""
    pks = [int(pk) for pk in request.GET.get("ids", "").split(",")[:PAGE_SIZE]
           if pk.isascii() and pk.isdigit() and len(pk) < 10]
    campaigns = Campaign.objects.filter(pk__in=pks).in_bulk()
    fragments = publish.cached_fragments(list(campaigns.values()), "row")
    removed = publish.removed_fragments()["row"]
    still = [pk for pk in pks if pk in campaigns and campaigns[pk].is_watched]
    html = render(request, "campaigns/live.html#rows_answer", {
        # Our own rendering, from the cache or just now: not a person's input.
        "rows": [(pk, mark_safe(fragments.get(pk, removed))) for pk in pks],  # noqa: S308
        "ids": ",".join(map(str, still)), "poll_interval": settings.POLL_INTERVAL_SECONDS,
    }).content
    response = HttpResponse(html) if still else HttpResponseStopPolling(html)
    return with_fetch_times(response, list(campaigns))


@reads_atoms
@require_GET
@require_perm("campaigns.start_campaign", "Checking a campaign before its start")
def campaign_preflight(request, pk: int):
    """The check before Start, asked for by the campaign's page once it is drawn."""
    campaign = Campaign.objects.filter(pk=pk).first()
    if request.htmx and (campaign is None or not campaign.awaits_first_start):
        # Started (or deleted) since the page was drawn: the card goes. A 404 here was an
        # error in the console of a page whose campaign was deleted in another tab.
        return HttpResponse("")
    if campaign is None:
        raise Http404
    context = {"c": campaign, "check": preflight.check(campaign),
               "preflight_again_seconds": preflight.CHECK_AGAIN_SECONDS}
    if request.htmx:
        return render(request, "campaigns/detail.html#preflight_card", context)
    return render(request, "campaigns/preflight.html", {**context, "nav": "campaigns"})


PAUSE_PERM = "campaigns.pause_campaign"


def may_set_calling_hours(user, campaign) -> bool:
    """Staff set them before a campaign starts; after that they pause it, so only those
    who may pause may change them; a finished campaign has none to change."""
    if campaign.is_final:
        return False
    not_started = campaign.status in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)
    return user.has_perm(PAUSE_PERM) or (not_started and user.has_perm("campaigns.start_campaign"))


# Saving writes only our database; the beat asks Atoms at the windows' edges. Counted, a
# person adjusting their hours was refused as "too many requests to Atoms" (a probe).
@atoms_free
@require_http_methods(["GET", "HEAD", "POST"])
@require_perm("campaigns.start_campaign", "Setting calling hours", audit_as="calling_hours")
def campaign_calling_hours(request, pk: int):
    campaign = get_object_or_404(Campaign, pk=pk)
    if not may_set_calling_hours(request.user, campaign):
        # Calling hours pause a campaign that has started, and pausing is the admin's.
        raise PermissionDenied(
            "Changing the calling hours of a campaign that has started needs the "
            f"{needed_role(PAUSE_PERM)} role, as pausing it does." if not campaign.is_final
            else "This campaign has finished: calling hours no longer apply.")
    hours = calling_hours.of(campaign)
    form = CallingHoursForm(request.POST or None, initial={
        "zone": calling_hours.current_name(hours.zone) if hours else "",
        "windows": hours.as_text() if hours else ""})
    if request.method == "POST" and form.is_valid():
        messages.success(request, services.set_calling_hours(
            request.user, campaign, form.cleaned_data["hours"]))
        return redirect("campaign_detail", pk=campaign.pk)
    return render(request, "campaigns/calling_hours.html",
                  {"nav": "campaigns", "c": campaign, "form": form,
                   "zones": calling_hours.zones()},
                  status=422 if form.is_bound else 200)


@reads_atoms
@require_http_methods(["GET", "HEAD", "POST"])
@require_perm("campaigns.start_campaign", "Starting a campaign", audit_as="start")
def campaign_start(request, pk: int):
    """POST: start or resume. GET: the question a start with do-not-call numbers asks, a
    page of its own: drawn as the POST's answer, Back to it (from Cancel, or from the copy
    "Start without them" made) showed the browser's "Confirm Form Resubmission" (probe)."""
    campaign = get_object_or_404(Campaign, pk=pk)
    verb = "Resume" if campaign.status == "paused" else "Start"
    # Do-not-call numbers are never dialled: with any in the audience, ask first. A first
    # start may leave them out (a copy without them); a resume cannot (Atoms keeps the
    # contacts it started with), so it names them and asks. (A campaign that cannot start
    # now is left to the service to refuse, without the check.)
    suppressed, retrying, agreed = [], [], []
    if campaign.can_start:
        try:
            listed = suppression.listed_to_call(campaign, suppression.suppressed_numbers())
            if campaign.status == "paused":
                retrying = listed
            else:
                suppressed = listed
        except services.ActionRefused as refused:
            messages.error(request, refused.message)
            return redirect("campaign_detail", pk=campaign.pk)
        # "Resume anyway" agrees to the numbers the page named: one listed since is asked
        # about again. Kept with a resume held for calling hours (keep_hours).
        if (retrying and request.method == "POST" and request.POST.get("confirm") == RESUME_ANYWAY
                and set(retrying) <= set(request.POST.getlist("agreed"))):
            retrying, agreed = [], retrying
    if (suppressed or retrying) and request.method == "POST":
        return redirect("campaign_start", pk=campaign.pk)  # nothing sent: asked first
    if suppressed:
        # Named, as the resume page names them: a count alone left a person unable to check
        # the list before choosing (probe).
        return render(request, "campaigns/start_suppressed.html",
                      {"nav": "campaigns", "c": campaign, "suppressed": len(suppressed),
                       "shown": suppressed[:LISTED_SHOWN],
                       "more": max(0, len(suppressed) - LISTED_SHOWN)})
    if retrying:
        return render(request, "campaigns/resume_listed.html",
                      {"nav": "campaigns", "c": campaign, "numbers": retrying,
                       "confirm": RESUME_ANYWAY})
    if request.method != "POST":  # nothing to ask (any more): the campaign and its button
        return redirect("campaign_detail", pk=campaign.pk)
    return _act(request, campaign, partial(services.start_campaign, listed_accepted=agreed),
                f"{verb} requested.")


# How many listed numbers the start page names; the rest are counted.
LISTED_SHOWN = 20
# What the "Resume anyway" button sends, after being told of the listed numbers it may call.
RESUME_ANYWAY = "resume-with-listed-numbers"


@require_POST
@require_perm("campaigns.start_campaign", "Starting a campaign", audit_as="start")
def campaign_cancel_held_start(request, pk: int):
    """"Don't start": a start held for calling hours is dropped."""
    campaign = get_object_or_404(Campaign, pk=pk)
    if campaign.status == CampaignStatus.PAUSED and not request.user.has_perm(PAUSE_PERM):
        # A resume dropped keeps it paused past its hours: a pause, which is the admin's.
        raise PermissionDenied(
            "Keeping a campaign paused past its calling hours needs the "
            f"{needed_role(PAUSE_PERM)} role, as pausing it does.")
    try:
        messages.success(request, services.cancel_held_start(request.user, campaign))
    except services.ActionRefused as refused:
        messages.error(request, refused.message)
    return redirect("campaign_detail", pk=campaign.pk)


@require_POST
@require_perm("campaigns.start_campaign", "Starting a campaign", audit_as="start")
def campaign_start_filtered(request, pk: int):
    """"Start without them": a copy of the campaign on an audience without those numbers."""
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        outcome = audiences.start_without_suppressed(request.user, campaign)
    except services.ActionRefused as refused:
        messages.error(request, refused.message)
        return redirect("campaign_detail", pk=campaign.pk)
    copy = outcome.campaign
    if outcome.start_error:
        messages.warning(request, f"“{copy.name}” was made without the do-not-call numbers, "
                                  f"but it did not start: {outcome.start_error}")
    elif outcome.duplicate:
        messages.info(request, f"“{copy.name}” was already made without the do-not-call "
                               "numbers: this is it.")
    elif outcome.start_unknown:
        # Whether it started is said by its page's live note, which follows Atoms.
        messages.success(request, f"“{copy.name}” was made without the do-not-call numbers.")
    elif outcome.start_held:
        messages.info(request, f"“{copy.name}” was made without the do-not-call numbers, "
                               f"with the same calling hours. {outcome.start_held}")
    else:
        messages.success(request, f"Started “{copy.name}”, without the do-not-call numbers. "
                                  "The status changes when Atoms confirms.",
                         extra_tags=UNTIL_SETTLED)
    return redirect("campaign_detail", pk=copy.pk)


@require_POST
@require_perm("campaigns.pause_campaign", "Pausing a campaign", audit_as="pause")
def campaign_pause(request, pk: int):
    campaign = get_object_or_404(Campaign, pk=pk)
    return _act(request, campaign, services.pause_campaign, "Pause requested.")


def _act(request, campaign, action, done_message):
    try:
        held = action(request.user, campaign)
    except services.ActionRefused as refused:
        # An outcome still unknown is said by the page's own live note ("Pausing…, not
        # confirmed: checking"), which follows Atoms' answer; a message here would stay
        # on the page, contradicting it, once that answer came.
        if not refused.may_have_happened:
            # Said of the campaign as it was ("Already starting."): the page drops it when
            # the campaign's state moves on (app.js), so it never stays once untrue.
            messages.error(request, refused.message, extra_tags=TRANSIENT)
    else:
        # Past tense only: the page's live status says what happens next; and gone once
        # that status moves on ("Start requested" under "Completed" read as stale).
        messages.success(request, held or f"{done_message} Atoms accepted it.",
                         extra_tags=UNTIL_SETTLED)
    return redirect("campaign_detail", pk=campaign.pk)


@require_http_methods(["GET", "HEAD", "POST"])
@require_perm("campaigns.delete_campaign", "Deleting a campaign", audit_as="delete")
def campaign_delete(request, pk: int):
    campaign = get_object_or_404(Campaign, pk=pk)
    form = DeleteForm(request.POST or None)
    context = {"c": campaign, "form": form, "nav": "campaigns",
               "poll_interval": settings.POLL_INTERVAL_SECONDS}
    if request.method == "POST" and form.is_valid():
        name = campaign.name
        try:
            services.delete_campaign(request.user, campaign, form.cleaned_data["confirm_name"])
        except services.ActionRefused as refused:
            for field, errors in refused.field_errors.items():
                for error in errors:
                    form.add_error(field, error)
            if not refused.field_errors:
                form.add_error(None, refused.message)
            # Atoms may yet carry it out: the page looks again by itself, and says.
            context["looking_again"] = refused.may_have_happened
        else:
            messages.success(request, f"Campaign “{name}” deleted.")
            return redirect("campaign_list")
    return form_page(request, "campaigns/delete.html", context)


@reads_atoms
@require_GET
@require_perm("campaigns.delete_campaign", "Deleting a campaign")
def campaign_delete_outcome(request, pk: int):
    """What came of a delete Atoms did not answer, asked by its page until it is known
    (204 until then: the page stays as it is)."""
    campaign = Campaign.objects.filter(pk=pk).first()
    context = {"c": campaign, "poll_interval": settings.POLL_INTERVAL_SECONDS}
    if campaign is None:  # taken off meanwhile (another tab, another admin)
        context["deleted"] = True
    elif not services.delete_unanswered(campaign):  # known already, or none was sent
        context["form"] = DeleteForm()
    else:
        found = services.look_again_after_delete(request.user, campaign)
        if found is None:  # nothing to change on the page (nor to say again)
            return HttpResponse(status=204)
        if found:
            context["deleted"] = True
        else:
            context.update(not_deleted=True, form=DeleteForm(initial={
                "confirm_name": campaign.name}))
    return render(request, "campaigns/delete.html#zone", context)

