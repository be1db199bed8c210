"""A campaign's calls: the call-log tab (loaded on demand), one call, its recording link.

Unlike the campaign pages these read Atoms, as drill-downs, through `call_logs` (cached
briefly; a recording link per click). Any role that sees the campaign sees its calls.
"""

import queue
import threading
from urllib.parse import urlencode, urlparse

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_safe

from campaigns import atoms, call_logs, exports, ratelimit, suppression
from campaigns.forms import REASON_CHOICES, CallLogFilterForm
from campaigns.models import Campaign
from campaigns.outcomes import OUTCOME_LABELS, outcome_of
from campaigns.ratelimit import reads_atoms
from campaigns.views.shared import view_required


@require_safe
@view_required
def campaign_calls(request, pk: int):
    """The call log: filters, one page of calls, and a link to each. Page one refreshes
    itself while the campaign is live, so new calls appear on it; any page that could not
    be read for now (a refusal, Atoms failing) tries again by itself until it is, so the
    table comes back by itself."""
    campaign = get_object_or_404(Campaign, pk=pk)
    query = request.GET.copy()
    if query and "size" not in query:
        # The page size listed, shown: a filtered address without one listed 50 calls
        # while "Calls per page" showed its first option, 25 (probe).
        query["size"] = "50"
    form = CallLogFilterForm(query or None)
    context = {"c": campaign, "form": form, "nav": "campaigns",
               "poll_interval": settings.POLL_INTERVAL_SECONDS}
    status = 200
    # A value the form refuses (an edited address: page=0, a status not offered) is said
    # above the table and left out of what it lists, as on the campaign list.
    filters = _filters(form)
    # (Only while live, a campaign that finished while Atoms failed left its log on the
    # error for good.)
    refreshes = campaign.is_active() and filters.page == 1
    context.update(filters=filters, query=_query(filters), filtered=filters.narrows())
    if not _may_read(request, campaign, filters):
        refusal = ratelimit.refuse(request, request.user)
        if not request.htmx:
            return refusal
        # Opened in place, the refusal's sentence (our own escaped template) goes
        # inside the table, which keeps refreshing itself: put in the table's place,
        # it never refreshed, and the table never came back.
        context["refused"] = mark_safe(refusal.content.decode())  # noqa: S308
        status, refreshes = refusal.status_code, True
    else:
        try:
            page = call_logs.call_page(campaign, filters)
            shown = page.items
            if filters.page > 1:
                shown = call_logs.past_the_last_seen(shown, request.GET.get(LAST_SEEN, ""))
            context.update(page=page, rows=[_row(log) for log in shown],
                           last_seen=shown[-1].call_id if shown else "")
        except atoms.AtomsError as error:
            context["error"] = _log_error(error)
            refreshes = refreshes or isinstance(error, atoms.AtomsUnavailable)
    context["refreshes"] = refreshes
    # In the tab on a campaign's page (whose address htmx names as the page asking) the
    # address bar gets the campaign page's address, with the log's filters and page
    # (`calls_tab_url`), not the log's own: Back from a call then came to a Call log page
    # never seen (a probe); now it comes to the campaign page with the log as it was.
    in_tab = bool(request.htmx) and urlparse(request.htmx.current_url or "").path != request.path
    context["push_url"] = "false" if in_tab else "true"
    # Each call's link carries the log as it is seen, for the call page's way back to it.
    context["call_query"] = (f"{context['query']}&page={filters.page}"
                             + (f"&{BACK_TO_TAB}" if in_tab else ""))
    if not request.htmx:
        template = "campaigns/calls.html"
    elif request.htmx.target == "calls-panel":  # the tab, opened on a campaign's page
        template = "campaigns/_calls_tab.html"
    else:  # the filters or the self-refresh swap the table alone
        template = "campaigns/_calls_tab.html#log"
    response = render(request, template, context, status=status)
    if in_tab and request.htmx.trigger != "call-log":  # not each self-refresh: one entry
        response["HX-Push-Url"] = calls_tab_url(campaign, request.GET)
    return response


CALLS_TAB_PARAM = "calls"
# On "Older →": the last call of the page it was on (`call_logs.past_the_last_seen`).
LAST_SEEN = "after"
# On a call's address: its log was seen in the tab of the campaign's page.
BACK_TO_TAB = "from=tab"


def _filters(form: CallLogFilterForm) -> call_logs.LogFilters:
    """The log's filters and page as the form reads them; values it refuses left out."""
    data = {}
    if form.is_bound:
        form.is_valid()  # what it refuses is said by the log's page, and left out here
        data = form.cleaned_data
    return call_logs.LogFilters(
        statuses=tuple(data.get("status") or ()), reasons=tuple(data.get("reason") or ()),
        attempts=data.get("attempt") or "all", durations=tuple(data.get("duration") or ()),
        page=data.get("page") or 1, page_size=data.get("size") or 50,
        search=data.get("q") or "")


def back_to_log(campaign: Campaign, query) -> str:
    """Where a call page's "← Call log" goes: the log as its link was seen (filters and
    page, in the campaign page's tab or on its own page). It went to the log's first page,
    unfiltered, off the campaign page (probe)."""
    if not query:
        return reverse("campaign_calls", args=[campaign.pk])
    filters = _filters(CallLogFilterForm(query))
    seen = f"{_query(filters)}&page={filters.page}"
    if query.get("from") == "tab":
        return calls_tab_url(campaign, QueryDict(seen))
    return f"{reverse('campaign_calls', args=[campaign.pk])}?{seen}"


def calls_tab_url(campaign: Campaign, query) -> str:
    """The campaign page with its call log open at `query` (filters and page)."""
    params = query.copy()
    params.pop(CALLS_TAB_PARAM, None)
    rest = params.urlencode()
    return (f"{reverse('campaign_detail', args=[campaign.pk])}?{CALLS_TAB_PARAM}=open"
            + (f"&{rest}" if rest else ""))


def _may_read(request, campaign: Campaign, filters: call_logs.LogFilters) -> bool:
    """Whether this view of the call log may go on. A page found cached costs nothing. The
    table refreshing itself (its own id in HX-Trigger) draws on an allowance of its own per
    person, USER_CALL_LOG_REFRESHES_PER_MINUTE: counted with the person's other Atoms
    requests, three idle tabs used up their limit in 40 s (the page's cache is no longer
    than the refresh interval, so most refreshes reach Atoms). Any other view (a new filter
    or page number) is counted with their other requests."""
    if call_logs.cached_call_page(campaign, filters) is not None:
        return True
    if request.htmx and request.htmx.trigger == "call-log":
        return ratelimit.take(request.user, "call-log-refresh",
                              limit=settings.USER_CALL_LOG_REFRESHES_PER_MINUTE)
    return ratelimit.take(request.user)


def _log_error(error: atoms.AtomsError) -> str:
    """What went wrong, with one instruction: for a failure that passes (the table then
    tries again by itself) that it does, else Atoms' own words."""
    if not isinstance(error, atoms.AtomsUnavailable):
        return error.user_message
    what = ("Atoms is busy right now" if isinstance(error, atoms.AtomsRateLimited)
            else error.what_happened)
    return (f"{what}. The table tries again by itself every "
            f"{atoms.seconds_text(settings.POLL_INTERVAL_SECONDS)}.")


@reads_atoms
@require_safe
@view_required
def campaign_call(request, pk: int, call_id: str):
    """One call: the conversation, its dispositions and variables, why it failed, its cost,
    the recording (a link fetched on click) and every attempt on the same contact."""
    campaign = get_object_or_404(Campaign, pk=pk)
    # Fetched by the page itself once its live transcript ended (htmx names the element
    # that asked): no second stream. Not a URL parameter, which a shared link would carry.
    context = {"c": campaign, "nav": "campaigns", "call_id": call_id,
               "live_ended": bool(request.htmx) and request.htmx.trigger in LIVE_ENDED_IDS,
               "back_to_log": back_to_log(campaign, request.GET),
               "log_query": request.GET.urlencode()}
    try:
        detail = call_logs.call_detail(call_id)
    except atoms.AtomsNotFound:
        raise Http404("No such call") from None
    except atoms.AtomsError as error:
        context.update(error=error.user_message, may_retry=not error.permanent)
        return render(request, "campaigns/call.html", context, status=502)
    if not call_logs.belongs_to(campaign, detail.call):
        raise Http404("This call is not one of this campaign's")
    try:
        attempts = call_logs.call_attempts(call_id)
    except atoms.AtomsError as error:
        attempts = ()
        context.update(attempts_error=error.user_message, may_retry=not error.permanent)
    context.update(detail=detail, call=_row(detail.call), attempts=[_row(a) for a in attempts],
                   listed=suppression.is_listed_here(detail.call.to_number))
    return render(request, "campaigns/call.html", context)


@reads_atoms
@require_GET
@view_required
def call_recording(request, pk: int, call_id: str):
    """The player, with a presigned link asked of Atoms for this click only: the link is
    short-lived and never stored, and the API key stays on the server."""
    campaign = get_object_or_404(Campaign, pk=pk)
    context = {"c": campaign, "call_id": call_id}
    try:
        call = call_logs.call_detail(call_id).call
        if not call_logs.belongs_to(campaign, call):
            raise Http404("This call is not one of this campaign's")
        try:
            context["url"] = call_logs.recording_link(call_id)
        except atoms.AtomsNotFound:
            context["error"] = "Atoms has no recording of this call."
    except atoms.AtomsNotFound:
        raise Http404("No such call") from None  # not "no recording": there is no call
    except atoms.AtomsError as error:
        context.update(error=f"The recording could not be fetched: {error.user_message}",
                       may_retry=not error.permanent)
    # In place in the call's page (htmx), or a page of its own when opened by itself.
    template = "campaigns/call.html#player" if request.htmx else "campaigns/call_recording.html"
    response = render(request, template, context)
    response["Cache-Control"] = "no-store"  # the link inside expires; never reuse it
    return response


_REASONS = dict(REASON_CHOICES)


def _row(log: atoms.CallLog) -> dict:
    outcome = outcome_of(log.status, log.failure_reason)
    reason = log.disconnection_reason
    return {"log": log, "outcome": outcome, "outcome_label": OUTCOME_LABELS[outcome],
            "reason_label": _REASONS.get(reason, reason.replace("_", " ")),
            "failure_label": log.failure_reason.replace("_", " ")}


def _query(filters: call_logs.LogFilters, **change) -> str:
    """The filters as a query string (for the table's self-refresh and the pager)."""
    pairs = [("status", s) for s in filters.statuses] + [("reason", r) for r in filters.reasons]
    pairs += [("duration", d) for d in filters.durations]
    pairs += [("attempt", filters.attempts), ("size", filters.page_size)]
    pairs += [("q", filters.search)] if filters.search else []
    return urlencode(pairs)


@reads_atoms
@require_GET
@view_required
def campaign_export(request, pk: int, kind: str):
    """One of Atoms' CSV exports, streamed through with formula-safe cells."""
    campaign = get_object_or_404(Campaign, pk=pk)
    if kind not in exports.KINDS:
        raise Http404("No such export")
    try:
        chunks, filename = exports.open_export(campaign, kind)
    except atoms.AtomsError as error:
        context = {"c": campaign, "nav": "campaigns", "error": error.user_message}
        return render(request, "campaigns/export_failed.html", context, status=502)
    response = StreamingHttpResponse(_streamed(request, chunks),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = exports.content_disposition(filename)
    response["X-Accel-Buffering"] = "no"  # let a proxy pass rows on as they come
    response["Cache-Control"] = "no-store"
    return response


@reads_atoms
@require_GET
@view_required
def call_live(request, pk: int, call_id: str):
    """A call in progress, live: Atoms' per-call event stream (which needs the API key,
    so the browser cannot open it) relayed as our own server-sent events, behind the same
    permission as the page. Each finished line of the conversation is sent as a ready
    list item (`line`); `status` and `end` say when the call is over."""
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        if not call_logs.belongs_to(campaign, call_logs.call_detail(call_id).call):
            raise Http404("This call is not one of this campaign's")
    except atoms.AtomsNotFound:
        raise Http404("No such call") from None
    except atoms.AtomsError:
        pass  # the stream itself will say whether the call can be followed
    page = reverse("campaign_call", args=[campaign.pk, call_id])
    response = StreamingHttpResponse(_streamed(request, _relay(call_id, page)),
                                     content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


# The elements of a call's page that fetch it again once its live transcript has ended.
LIVE_ENDED_IDS = ("live-ended", "call-details-pending")


def _relay(call_id: str, page: str):
    """Atoms' events read in a thread of their own, so that while Atoms is quiet (a
    contact's phone ringing) a comment still goes out every CALL_LIVE_KEEPALIVE_SECONDS:
    proxies cut or buffer a stream that stays silent. Once the call is over, the page
    fetches itself again (`page`), so its status, duration, cost and transcript follow."""
    yield ": relaying the call's events\n\n"  # first bytes at once: the page knows it is open
    events: queue.Queue = queue.Queue()
    threading.Thread(target=call_logs.read_live_events, args=(call_id, events), daemon=True,
                     name=f"call-live-{call_id}").start()
    ended, over = "The call has ended.", True
    while True:
        try:
            item = events.get(timeout=settings.CALL_LIVE_KEEPALIVE_SECONDS)
        except queue.Empty:
            yield ": keep-alive\n\n"
            continue
        if item is None:
            break
        if isinstance(item, atoms.AtomsRejected):
            ended = "This call is no longer in progress."
            break
        if isinstance(item, atoms.AtomsError):
            ended, over = f"The live transcript stopped: {item.user_message}", False
            break
        yield _sse("line", format_html(
            '<p class="turn turn-{}" data-testid="live-line"><span class="speaker">{}</span> '
            '<span class="said">{}</span></p>',
            item.role, "Agent" if item.role == "agent" else "Contact", item.text))
    refetch = format_html(' id="live-ended" hx-get="{}" hx-trigger="load delay:1s" '
                          'hx-select="#call-page" hx-target="#call-page" hx-swap="outerHTML"',
                          page) if over else ""
    yield _sse("status", format_html('<span data-testid="live-ended"{}>{}</span>', refetch,
                                     ended))
    yield _sse("end", "")


def _streamed(request, chunks):
    """What a StreamingHttpResponse should iterate. Under ASGI (uvicorn) Django would read
    a plain iterator to its end before sending a byte, so there each chunk is pulled in a
    worker thread as it comes; under WSGI the iterator is passed on as it is."""
    if not isinstance(request, ASGIRequest):
        return chunks
    return _pulled(iter(chunks))


async def _pulled(chunks):
    done = object()
    pull = sync_to_async(next, thread_sensitive=False)
    try:
        while (chunk := await pull(chunks, done)) is not done:
            yield chunk
    finally:
        # The browser left or the stream ended: close the Atoms connection behind it.
        close = getattr(chunks, "close", None)
        if close is not None:
            await sync_to_async(close, thread_sensitive=False)()


def _sse(event: str, html: str) -> str:
    data = "\n".join(f"data: {line}" for line in (html.splitlines() or [""]))
    return f"event: {event}\n{data}\n\n"
