"""Reading a campaign's calls from Atoms for the call-log tab and the one-call view.

These are drill-downs: read when someone opens them, never by the poller. Call-log pages,
one call's detail and its attempts are cached for CALL_LOG_CACHE_SECONDS (a call and its
attempts only once none is in progress), keyed by what was asked, so many people on the
same tab cost Atoms one request per key and period, not one each. A
recording link is the exception: presigned and short-lived, it is fetched per click and
never stored. A live call's events are read as Atoms streams them, for the relay.
"""

import queue
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from campaigns import atoms, suppression
from campaigns.connections import atoms_client
from campaigns.models import Campaign

PAGE_SIZES = (25, 50, 100, 500)  # 500 is Atoms' own page limit


@dataclass(frozen=True)
class LogFilters:
    statuses: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    attempts: str = "all"
    durations: tuple[str, ...] = ()
    page: int = 1
    page_size: int = 50
    search: str = ""  # as typed: a number written any way, or a call id

    def narrows(self) -> bool:
        """Whether any filter leaves calls out (paging and page size do not)."""
        return bool(self.statuses or self.reasons or self.durations or self.search
                    or self.attempts != "all")

    def key(self) -> str:
        parts = (",".join(self.statuses), ",".join(self.reasons), self.attempts,
                 ",".join(self.durations), self.page, self.page_size, self.atoms_search())
        return "|".join(map(str, parts))

    def atoms_search(self) -> str:
        """What Atoms' `search` (a call's id or numbers, as kept: "+919371192992") is sent
        for what was typed: a number as its digits, without the leading zeros of a trunk
        "0" or an international "00" and without an extension, full-width digits read as
        digits ("0091 93711 92992" and "９３７…" found nothing); anything else (a call id)
        as typed. Only Atoms gets it: the search box and the log's links keep what was
        typed (Back from a call showed the box holding "919371192992")."""
        digits = suppression.search_digits(_EXTENSION.sub("", self.search))
        return (digits.lstrip("0") or digits) if digits else self.search


# An extension after a number ("… ext. 5", "x5", "#5"): Atoms keeps none.
_EXTENSION = re.compile(r"\s*(?:ext\.?|extension|x|#)\s*\d*\s*$", re.IGNORECASE)


def call_page(campaign: Campaign, filters: LogFilters) -> atoms.Page[atoms.CallLog]:
    """One page of the campaign's calls, newest update first (Atoms' fast default order;
    never `sortBy=createdAt` or a date range, which can time out on a large account)."""
    found = cached_call_page(campaign, filters)
    if found is None:
        found = atoms_client().list_call_logs(
            campaign.atoms_id, page=filters.page, limit=filters.page_size,
            attempts=filters.attempts, statuses=filters.statuses, reasons=filters.reasons,
            durations=filters.durations, search=filters.atoms_search())
        cache.set(_page_key(campaign, filters), found, settings.CALL_LOG_CACHE_SECONDS)
    return found


def past_the_last_seen(calls: tuple | list, last_seen: str) -> list:
    """A later page's calls without those its reader saw on the page before, whose last
    call was `last_seen` (the "Older →" link carries it).

    Atoms lists calls newest update first, and while a campaign dials a call moves to the
    top as it changes: every call it passes shifts one place down, so the next page began
    with the previous page's last calls again, shown twice (a probe: 2 of 40). The last
    call seen marks how far the list moved: what comes up to it was seen. (If it moved
    itself, nothing below it did.) Should every call on the page be before it, the page
    is shown whole rather than empty."""
    ids = [call.call_id for call in calls]
    if last_seen and last_seen in ids[:-1]:
        return list(calls[ids.index(last_seen) + 1:])
    return list(calls)


def cached_call_page(campaign: Campaign, filters: LogFilters) -> atoms.Page[atoms.CallLog] | None:
    """The page if read from Atoms in the last CALL_LOG_CACHE_SECONDS, else None."""
    return cache.get(_page_key(campaign, filters))


def _page_key(campaign: Campaign, filters: LogFilters) -> str:
    return f"calls:page:v1:{campaign.atoms_id}:{filters.key()}"


def call_detail(call_id: str) -> atoms.CallDetail:
    key = f"calls:detail:v1:{call_id}"
    found = cache.get(key)
    if found is None:
        found = atoms_client().get_call(call_id)
        # A call in progress changes by the second; a finished one only rarely.
        if not found.call.is_live:
            cache.set(key, found, settings.CALL_LOG_CACHE_SECONDS)
    return found


def call_attempts(call_id: str) -> tuple[atoms.CallLog, ...]:
    key = f"calls:retries:v1:{call_id}"
    found = cache.get(key)
    if found is None:
        found = atoms_client().list_retries(call_id)
        # Like one call's detail: never kept while an attempt is in progress. Kept, it
        # said "In progress" beside the same call's fresh "Connected" once the call ended,
        # and the page, no longer live, never asked again.
        if not any(attempt.is_live for attempt in found):
            cache.set(key, found, settings.CALL_LOG_CACHE_SECONDS)
    return found


def recording_link(call_id: str) -> str:
    """A fresh presigned link for this one click: not cached, not stored."""
    return atoms_client().recording_url(call_id)


def read_live_events(call_id: str, events: queue.Queue) -> None:
    """Put each spoken line of a call in progress into `events` as Atoms streams it, then
    None at hang-up (or the AtomsError that stopped it). Blocks: run it in a thread."""
    try:
        with atoms_client().call_events(call_id, idle_timeout=settings.CALL_LIVE_IDLE_SECONDS
                                        ) as stream:
            for event in stream:
                if event.role:
                    events.put(event)
                elif event.ends_call:
                    break
        events.put(None)
    except atoms.AtomsError as error:
        events.put(error)


def belongs_to(campaign: Campaign, call: atoms.CallLog) -> bool:
    """A call shown under a campaign's URL must be that campaign's (Atoms sends the
    campaign id as an extra key; a call without one is taken on trust)."""
    return not call.campaign_id or call.campaign_id == campaign.atoms_id
