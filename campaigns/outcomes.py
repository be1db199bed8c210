"""What happened to a campaign's calls: each attempt's outcome, the copy of Atoms' call
logs the poller keeps, and the breakdown the campaign page shows.

Atoms' campaign detail only counts contacts called and connected. Voicemail, busy,
cancelled, cost and retries pending live in the call logs, so the poller also reads
`GET /conversation?campaignIds=` for a campaign that is dialling, newest update first, and
only as far back as the last update it already copied (`Campaign.calls_synced_to`). The
breakdown is then counted here, once per change, and published with the live fragments:
the number of Atoms calls never depends on how many people watch.
"""

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from campaigns import atoms
from campaigns.atoms.calls import LIVE_STATUSES
from campaigns.mirror import assign
from campaigns.models import PAUSABLE_STATUSES, TERMINAL_STATUSES, CallRecord, Campaign

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
CHANGES_PAGE_SIZE = 100
MAX_PAGES_PER_POLL = 20


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


def wants_calls(campaign: Campaign, detail: atoms.CampaignDetail) -> bool:
    """Whether this poll should read the call logs too: while the campaign dials, while a
    call is still in progress, and once more whenever its numbers moved. A quiet paused or
    finished campaign costs no extra request."""
    if detail.metrics is not None and detail.metrics.contacts_called == 0:
        return False  # nobody has been dialled yet
    if campaign.status in PAUSABLE_STATUSES or detail.campaign.status in PAUSABLE_STATUSES:
        return True
    if campaign.calls_synced_to is None or _counts(campaign).get("in_progress"):
        return True
    metrics = detail.metrics
    return (
        detail.campaign.status != campaign.status
        or detail.campaign.retry_attempts != campaign.retry_attempts
        or (metrics is not None and (metrics.contacts_called, metrics.contacts_connected)
            != (campaign.contacts_called, campaign.contacts_connected))
    )


def fetch_changed(client: atoms.AtomsClient, campaign: Campaign,
                  acquire: Callable[[], None]) -> list[atoms.CallLog]:
    """The campaign's calls updated since the last copy, newest update first.

    Atoms lists by `updatedAt` descending by default (the index-backed order; `createdAt`
    or date filters can time out on large accounts), so reading stops at the first call
    older than what is already copied. `acquire` takes the shared request budget.
    """
    since = campaign.calls_synced_to
    size = CHANGES_PAGE_SIZE if since else FIRST_PAGE_SIZE
    changed: dict[str, atoms.CallLog] = {}
    for number in range(1, MAX_PAGES_PER_POLL + 1):
        acquire()
        page = client.list_call_logs(campaign.atoms_id, page=number, limit=size, attempts="all")
        for log in page.items:
            stamp = _updated(log)
            if since is not None and stamp is not None and stamp < since:
                return list(changed.values())
            # An update during paging moves a call up a page: keep its first (newest) copy.
            changed.setdefault(log.call_id, log)
        if not page.has_more or not page.items:
            break
    return list(changed.values())


# --- applying (after the fetch, in the poller's process) ------------------------------------


def apply_calls(campaign: Campaign, logs: list[atoms.CallLog]) -> set[str]:
    """Copy the fetched calls, recount the breakdown; return the campaign fields changed."""
    if logs:
        CallRecord.objects.bulk_create(
            [
                CallRecord(
                    campaign=campaign, call_id=log.call_id, to_number=log.to_number[:32],
                    status=log.status[:32], outcome=outcome_of(log.status, log.failure_reason),
                    attempt=min(log.attempt_number, 32767), duration=log.duration_seconds,
                    cost=log.cost, created_at=log.created_at,
                )
                for log in logs if log.call_id
            ],
            update_conflicts=True, unique_fields=["call_id"],
            update_fields=["status", "outcome", "duration", "cost"],
        )
    stamps = [stamp for log in logs if (stamp := _updated(log))]
    values: dict = {"call_summary": summarize(campaign)}
    if stamps:
        values["calls_synced_to"] = max([*stamps, *_known(campaign.calls_synced_to)])
    return assign(campaign, values)


def summarize(campaign: Campaign) -> dict:
    """Counts by outcome, retries pending, spend: JSON for `Campaign.call_summary`."""
    counts: Counter = Counter()
    spend = 0.0
    latest: dict[str, tuple[int, str]] = {}  # contact -> (attempt, outcome) of its last call
    connected_contacts = set()
    rows = CallRecord.objects.filter(campaign=campaign).values_list(
        "to_number", "attempt", "outcome", "cost")
    for contact, attempt, outcome, cost in rows.iterator(chunk_size=2000):
        counts[outcome] += 1
        spend += cost
        if outcome == "connected":
            connected_contacts.add(contact)
        if contact not in latest or attempt >= latest[contact][0]:
            latest[contact] = (attempt, outcome)
    pending = 0
    if campaign.status not in TERMINAL_STATUSES:
        pending = sum(
            1 for attempt, outcome in latest.values()
            if outcome not in ("connected", "in_progress") and attempt < campaign.max_retries
        )
    return {
        "calls": sum(counts.values()),
        "counts": {key: counts[key] for key, _label in OUTCOMES if counts[key]},
        "retries_pending": pending,
        "spend": round(spend, 4),
        "connected_contacts": len(connected_contacts),
    }


def breakdown(summary: dict) -> dict:
    """What the page shows from a stored summary: rows with counts and shares, spend."""
    total = summary.get("calls", 0)
    counts = summary.get("counts", {})
    rows = [
        {"key": key, "label": label, "count": counts.get(key, 0),
         "percent": round(100 * counts.get(key, 0) / total) if total else 0}
        for key, label in OUTCOMES
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


def _counts(campaign: Campaign) -> dict:
    return (campaign.call_summary or {}).get("counts", {})


def _known(stamp: datetime | None) -> list[datetime]:
    return [stamp] if stamp is not None else []
