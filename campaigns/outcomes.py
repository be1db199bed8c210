"""What happened to a campaign's calls: each attempt's outcome, the copy of Atoms' call
logs the poller keeps, and the breakdown the campaign page shows.

Atoms' campaign detail only counts contacts called and connected. Voicemail, busy,
cancelled, cost and retries pending live in the call logs, so the poller also reads
`GET /conversation?campaignIds=` for a campaign that is dialling, newest update first, and
only as far back as the last update it already copied (`Campaign.calls_synced_to`), or,
while the copy shows calls in progress, as far back as the oldest of them was made (see
`reach_back`). The breakdown is then counted here, once per change, and published with the
live fragments: the number of Atoms calls never depends on how many people watch.
"""

import logging
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Exists, F, Min, OuterRef, Sum

from campaigns import atoms
from campaigns.atoms.calls import LIVE_STATUSES
from campaigns.mirror import assign
from campaigns.models import PAUSABLE_STATUSES, TERMINAL_STATUSES, CallRecord, Campaign

log_ = logging.getLogger(__name__)

# The breakdown's categories, in the order the page lists them.
OUTCOMES = (
    ("connected", "Connected"),
    ("no_answer", "No answer"),
    ("voicemail", "Voicemail"),
    ("busy", "Busy"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
    ("in_progress", "In progress"),
)
OUTCOME_LABELS = dict(OUTCOMES)
# The first copy of a campaign's calls reads big pages; later polls see a few changes.
FIRST_PAGE_SIZE = 500
CHANGES_PAGE_SIZE = 500
MAX_PAGES_PER_POLL = 20
MAX_PAGES_FIRST_COPY = 200  # 100,000 calls
# Campaigns whose changed calls one request asks for (their ids share one URL).
BATCH_SIZE = 50
# How far behind its last copy a campaign's reading may reach for the calls the copy shows
# in progress (`reach_back`): a call still in progress after this long is not waited for.
READ_BACK_LIMIT = timedelta(hours=2)


def outcome_of(status: str, failure_reason: str) -> str:
    """One call's category. Atoms files voicemail under `no_answer` and busy under
    `failed`; `callFailureReason` tells them apart."""
    if status in LIVE_STATUSES:
        return "in_progress"
    if status == "completed":
        return "connected"
    if status == "cancelled":
        return "cancelled"
    if status == "no_answer":
        return "voicemail" if failure_reason == "voicemail_detected" else "no_answer"
    return "busy" if failure_reason == "busy" else "failed"


# --- fetching (poller threads) --------------------------------------------------------------


@dataclass(frozen=True)
class ChangedCalls:
    logs: list
    # False when the reading stopped at the page cap before reaching the last copy: the
    # calls read are still copied, but the watermark stays, so nothing older is skipped.
    complete: bool


def wants_calls(campaign: Campaign, detail: atoms.CampaignDetail) -> bool:
    """Whether this poll should read the call logs too: while the campaign dials, while a
    call is still in progress, and once more whenever its numbers moved. A quiet paused or
    finished campaign costs no extra request."""
    if detail.metrics is not None and detail.metrics.contacts_called == 0:
        return False  # nobody has been dialled yet
    if campaign.status in PAUSABLE_STATUSES or detail.campaign.status in PAUSABLE_STATUSES:
        return True
    if campaign.calls_synced_to is None or campaign.calls_shown_in_progress:
        return True
    metrics = detail.metrics
    return (
        detail.campaign.status != campaign.status
        or detail.campaign.retry_attempts != campaign.retry_attempts
        or (metrics is not None and (metrics.contacts_called, metrics.contacts_connected)
            != (campaign.contacts_called, campaign.contacts_connected))
    )


class CallJobs:
    """How to read the calls of campaigns as their details arrive: BATCH_SIZE per request
    (`campaignIds` takes several), so a poll costs one call-log request per batch rather
    than one per campaign. A batch is handed out as soon as it is full, so its calls are
    read while other details are still on their way. First copies (the whole history) are
    batched apart from the others, whose reading stops at their last copy."""

    def __init__(self) -> None:
        self._filling: dict[bool, list[Campaign]] = {True: [], False: []}

    def add(self, campaign: Campaign) -> list[Campaign] | None:
        """Take one campaign; return its batch if that is now full."""
        first = campaign.calls_synced_to is None
        self._filling[first].append(campaign)
        if len(self._filling[first]) < BATCH_SIZE:
            return None
        full, self._filling[first] = self._filling[first], []
        return full

    def rest(self) -> list[list[Campaign]]:
        """The batches not yet full, once every campaign has been added."""
        return [batch for batch in self._filling.values() if batch]


def reach_back(campaigns: list[Campaign]) -> dict[int, datetime]:
    """Where the next reading of changed calls must reach back to, by pk, for each campaign
    whose copy shows calls in progress made before its last copy (`calls_synced_to`): when
    the oldest of them was made. One query, none when no copy shows a call in progress;
    run where the poll runs, not in its threads. A call shown in progress for longer than
    READ_BACK_LIMIT (or without a `createdAt`) is not read back for.

    A reading stops at the last copy's newest `updatedAt`. A call's end written late under
    an older stamp lies behind that: the call stayed "in progress" here for good, and a
    finished campaign's "Final numbers" were short of Atoms' by the call and its cost. No
    update of a call is stamped before the call was made, so reading back to there finds
    it. The cost: the changes of about one call's length are read at each poll instead of
    one poll interval's, the same single page unless the campaigns of one request changed
    more than CHANGES_PAGE_SIZE calls in that time (one more request per page beyond).
    """
    marks = [c.pk for c in campaigns
             if c.calls_synced_to is not None and c.calls_shown_in_progress]
    if not marks:
        return {}
    last_copy = F("campaign__calls_synced_to")
    return dict(
        CallRecord.objects.filter(campaign_id__in=marks, outcome="in_progress",
                                  created_at__gte=last_copy - READ_BACK_LIMIT,
                                  created_at__lt=last_copy)
        .values("campaign_id").annotate(oldest=Min("created_at"))
        .values_list("campaign_id", "oldest"))


def fetch_changed(client: atoms.AtomsClient, job: list[Campaign],
                  acquire: Callable[[], None],
                  reach: dict[int, datetime] | None = None) -> dict[int, ChangedCalls]:
    """The calls of `job` updated since each campaign's last copy, or since the earlier
    time `reach` (from `reach_back`) gives for it, by campaign pk.

    Atoms lists by `updatedAt` descending by default (the index-backed order; `createdAt`
    or date filters can time out on large accounts), so reading stops at the first call
    older than the oldest of those times in the job. `acquire` takes the shared request
    budget.
    """
    reach = reach or {}
    by_atoms_id = {c.atoms_id: c for c in job}
    marks = [c.calls_synced_to for c in job]
    last_copy = None if None in marks else min(marks)
    floors = {c.pk: _floor(c, reach) for c in job}
    since = None if None in floors.values() else min(floors.values())
    size, cap = ((CHANGES_PAGE_SIZE, MAX_PAGES_PER_POLL) if since
                 else (FIRST_PAGE_SIZE, MAX_PAGES_FIRST_COPY))
    found: dict[int, dict[str, atoms.CallLog]] = {c.pk: {} for c in job}
    # Reached every last copy (or the end): what may be left at the page cap is only the
    # reading back, which must not hold the watermark.
    complete = False
    for number in range(1, cap + 1):
        acquire()
        page = client.list_call_logs([c.atoms_id for c in job], page=number, limit=size,
                                     attempts="all")
        for log in page.items:
            stamp = _updated(log)
            if last_copy is not None and stamp is not None and stamp < last_copy:
                complete = True
            if since is not None and stamp is not None and stamp < since:
                break
            owner = job[0] if len(job) == 1 else by_atoms_id.get(log.campaign_id)
            if owner is None:
                # `campaignId` is not a typed key of a call log: without it a shared
                # page cannot be split, so each campaign is read on its own instead.
                return _one_by_one(client, job, acquire, reach)
            mark = floors[owner.pk]
            if mark is None or stamp is None or stamp >= mark:
                # An update during paging moves a call up a page: keep its newest copy.
                found[owner.pk].setdefault(log.call_id, log)
        else:
            if not page.has_more or not page.items:
                complete = True
                break
            continue
        break
    if not complete:
        log_.warning("Read %d pages of call logs for %d campaign(s) without reaching the "
                     "last copy; the rest is read at the next poll", cap, len(job))
    return {pk: ChangedCalls(list(logs.values()), complete) for pk, logs in found.items()}


def _one_by_one(client, job, acquire, reach) -> dict[int, ChangedCalls]:
    found: dict[int, ChangedCalls] = {}
    for campaign in job:
        found.update(fetch_changed(client, [campaign], acquire, reach))
    return found


def _floor(campaign: Campaign, reach: dict[int, datetime]) -> datetime | None:
    """Where reading this campaign's changes may stop (None: its whole history)."""
    mark = campaign.calls_synced_to
    if mark is None:
        return None
    return min(mark, reach.get(campaign.pk, mark))


# --- applying (after the fetch, in the poller's process) ------------------------------------


def apply_calls(work: list[tuple[Campaign, ChangedCalls, bool]]) -> dict[int, set[str]]:
    """Copy the fetched calls of many campaigns and recount the breakdown of those whose
    calls or status changed, in a handful of queries whatever their number. `work` holds
    (campaign, changed calls, status changed); returns the campaign fields changed by pk."""
    # Reading starts at the last copy's newest update, so each poll sees that call again;
    # what is already stored as it is now is neither written nor recounted.
    incoming = [log.call_id for _c, changed, _s in work for log in changed.logs]
    stored = {
        call_id: (status, duration, cost)
        for call_id, status, duration, cost in CallRecord.objects.filter(
            call_id__in=incoming).values_list("call_id", "status", "duration", "cost")
    } if incoming else {}
    fresh: dict[int, list[atoms.CallLog]] = {
        campaign.pk: [log for log in changed.logs if log.call_id and stored.get(log.call_id)
                      != (log.status[:32], log.duration_seconds, log.cost)]
        for campaign, changed, _status in work
    }
    # By call id: one INSERT may not name a row twice (PostgreSQL refuses the whole
    # statement), and a call id Atoms gave to two campaigns' calls is one call here, kept
    # with the campaign that had it first.
    records: dict[str, CallRecord] = {}
    for campaign, _changed, _status in work:
        for log in fresh[campaign.pk]:
            known = records.get(log.call_id)
            if known is not None and known.campaign_id != campaign.pk:
                log_.warning("Call %s is in the call logs of two campaigns; kept with the "
                             "first", log.call_id)
                continue
            records[log.call_id] = CallRecord(
                campaign=campaign, call_id=log.call_id, to_number=log.to_number[:32],
                status=log.status[:32], outcome=outcome_of(log.status, log.failure_reason),
                attempt=min(log.attempt_number, 32767), duration=log.duration_seconds,
                cost=log.cost, created_at=log.created_at,
            )
    if records:
        CallRecord.objects.bulk_create(
            list(records.values()), batch_size=1000, update_conflicts=True,
            unique_fields=["call_id"], update_fields=["status", "outcome", "duration", "cost"])
    # Nothing new and the same status: the stored breakdown stands, without a recount.
    recount = [campaign for campaign, _changed, status_changed in work
               if fresh[campaign.pk] or status_changed or not campaign.call_summary]
    summaries = summarize(recount)
    fields: dict[int, set[str]] = {}
    for campaign, changed, _status in work:
        values: dict = {}
        if campaign.pk in summaries:
            values["call_summary"] = summaries[campaign.pk]
        if changed.complete and (mark := _synced_to(changed.logs)):
            values["calls_synced_to"] = max([mark, *_known(campaign.calls_synced_to)])
        fields[campaign.pk] = assign(campaign, values)
    return fields


def _synced_to(logs: list[atoms.CallLog]) -> datetime | None:
    """How far a reading of these changed calls copied: the newest update among them, but
    never past the newest call among them made, a time Atoms has surely reached.

    A change stamped ahead of Atoms' present (seen: a call cancelled by a pause, stamped
    with the end it had been scheduled for) would otherwise carry the next reading past
    calls made and ended before that stamp, which no copy had seen; a call made later than
    this is stamped later too. Only the calls changed since it are read again: those
    in flight then, within the one page a poll reads anyway."""
    stamps = [stamp for log in logs if (stamp := _updated(log))]
    if not stamps:
        return None
    made = [log.created_at for log in logs if log.created_at is not None]
    return min(max(stamps), max(made)) if made else max(stamps)


def summarize(campaigns: list[Campaign]) -> dict[int, dict]:
    """The breakdown of each campaign, JSON for `Campaign.call_summary`: calls by outcome,
    spend, contacts connected, and retries pending (contacts whose latest call did not
    connect and who have retries left). Three queries for any number of campaigns."""
    if not campaigns:
        return {}
    ids = [c.pk for c in campaigns]
    counts: dict[int, Counter] = {pk: Counter() for pk in ids}
    spend = dict.fromkeys(ids, 0.0)
    for row in (CallRecord.objects.filter(campaign_id__in=ids)
                .values("campaign_id", "outcome").annotate(n=Count("id"), cost=Sum("cost"))):
        counts[row["campaign_id"]][row["outcome"]] += row["n"]
        spend[row["campaign_id"]] += row["cost"] or 0.0
    connected = dict(
        CallRecord.objects.filter(campaign_id__in=ids, outcome="connected")
        .values("campaign_id").annotate(n=Count("to_number", distinct=True))
        .values_list("campaign_id", "n"))
    live = [c.pk for c in campaigns if c.status not in TERMINAL_STATUSES]
    pending = dict(awaiting_retry(live).values("campaign_id").annotate(n=Count("id"))
                   .values_list("campaign_id", "n"))
    return {
        pk: {
            "calls": sum(counts[pk].values()),
            "counts": {key: counts[pk][key] for key, _label in OUTCOMES if counts[pk][key]},
            "retries_pending": pending.get(pk, 0),
            "spend": round(spend[pk], 4),
            "connected_contacts": connected.get(pk, 0),
        }
        for pk in ids
    }


def awaiting_retry(campaign_ids):
    """Each contact's latest call that did not connect, while it has retries left: the
    calls Atoms will make again."""
    later = CallRecord.objects.filter(campaign_id=OuterRef("campaign_id"),
                                      to_number=OuterRef("to_number"),
                                      attempt__gt=OuterRef("attempt"))
    return (CallRecord.objects
            .filter(campaign_id__in=campaign_ids, attempt__lt=F("campaign__max_retries"))
            .exclude(outcome__in=("connected", "in_progress")).filter(~Exists(later)))


def whole_percents(counts: list[int], total: int) -> list[int]:
    """Each count's share of `total` in whole percent, adding up to what the exact shares
    add up to (100 for the whole): each share rounded down, then the points still missing
    to the largest remainders, ties to the first. Rounded one by one, the shares of a
    campaign's outcomes read 47 + 22 + 14 + 6 + 12 = 101 % (a probe)."""
    if not total:
        return [0] * len(counts)
    exact = [100 * count / total for count in counts]
    shares = [math.floor(share) for share in exact]
    missing = round(sum(exact)) - sum(shares)
    by_remainder = sorted(range(len(exact)), key=lambda i: shares[i] - exact[i])
    for i in by_remainder[:missing]:
        shares[i] += 1
    return shares


def breakdown(summary: dict) -> dict:
    """What the page shows from a stored summary: rows with counts and shares, spend."""
    total = summary.get("calls", 0)
    counts = summary.get("counts", {})
    shown = [counts.get(key, 0) for key, _label in OUTCOMES]
    rows = [
        {"key": key, "label": label, "count": count, "percent": percent}
        for (key, label), count, percent in zip(OUTCOMES, shown, whole_percents(shown, total),
                                                strict=True)
    ]
    spend = summary.get("spend", 0.0)
    connected = summary.get("connected_contacts", 0)
    return {
        "calls": total,
        "rows": rows,
        "retries_pending": summary.get("retries_pending", 0),
        "spend": spend,
        # Atoms reports no cost for unbilled calls; until one is billed there is nothing
        # to divide, and "$0.00 per contact" would claim the calls were free.
        "cost_reported": spend > 0,
        "per_connected": round(spend / connected, 4) if connected and spend else None,
    }


def _updated(log: atoms.CallLog) -> datetime | None:
    """When Atoms last changed the call. `updatedAt` is not a typed log key; without it,
    a call ended when its duration ran out, and one in progress last changed when made."""
    if log.updated_at is not None or log.created_at is None:
        return log.updated_at
    return log.created_at + timedelta(seconds=log.duration_seconds)


def _known(stamp: datetime | None) -> list[datetime]:
    return [stamp] if stamp is not None else []
