"""The Atoms endpoints the dashboard uses, each returning typed results.

    with AtomsClient.from_settings() as atoms:
        detail = atoms.get_campaign(campaign_id)

Only reads (GET) are retried. A create, start, pause or delete that fails half-way is
surfaced at once with `outcome_unknown` set when Atoms may have acted, because repeating
it blindly could start a campaign twice or make a second one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from campaigns.atoms.calls import (
    CallDetail,
    CallEvent,
    CallLog,
    parse_call_detail,
    parse_call_log,
    parse_retry_family,
    parse_sse,
)
from campaigns.atoms.coerce import as_int, as_mapping, as_text
from campaigns.atoms.responses import shape_error
from campaigns.atoms.transport import AtomsHttp, format_timestamp, safe_id
from campaigns.atoms.types import (
    Agent,
    Audience,
    AudienceMember,
    Campaign,
    CampaignContact,
    CampaignDetail,
    CampaignPage,
    DncEntry,
    Page,
    PhoneNumber,
    make_page,
    parse_agent,
    parse_audience,
    parse_audience_member,
    parse_campaign,
    parse_campaign_contact,
    parse_campaign_detail,
    parse_dnc_entry,
    parse_phone_number,
)


class AtomsClient(AtomsHttp):
    """The Atoms endpoints the dashboard uses, each returning typed results.

    Build it with `from_settings()` or with the arguments of `AtomsHttp.__init__`
    (timeouts, connection limit, retry policy, injectable transport and sleep).
    Thread-safe: the poller shares one instance across its pool.
    """

    # --- phone numbers and agents ------------------------------------------------------

    def list_phone_numbers(self) -> tuple[PhoneNumber, ...]:
        """GET /product/phone-numbers — the rented numbers whose ids a campaign dials from."""
        response, body = self._get("/product/phone-numbers")
        return tuple(parse_phone_number(o) for o in self._data_list(response, body))

    def list_agents(
        self, page: int = 1, page_size: int = 100, search: str | None = None
    ) -> Page[Agent]:
        """GET /agent?page=&offset=&search= — one page of active agents (`offset` is the
        page size in Atoms)."""
        params = {"page": page, "offset": page_size, "search": search or None}
        response, body = self._get("/agent", params=params)
        data = self._data_object(response, body)
        return self._page(response, data, "agents", parse_agent, counters=data,
                          requested=(page, page_size))

    def all_agents(self, search: str | None = None, page_size: int = 100) -> tuple[Agent, ...]:
        """Every active agent, walking GET /agent page by page."""
        return tuple(self._walk(
            lambda page: self.list_agents(page=page, page_size=page_size, search=search),
            key="id",
        ))

    def get_agent(self, agent_id: str) -> Agent:
        """GET /agent/{id}. Atoms reports an unknown agent as a 400 "No agent found",
        which is raised as AtomsNotFound."""
        response, body = self._get(f"/agent/{safe_id(agent_id, 'agent id')}", by_id=True)
        return parse_agent(self._data_object(response, body))

    # --- audiences ---------------------------------------------------------------------

    def list_audiences(self) -> tuple[Audience, ...]:
        """GET /audience — every audience, with member counts and the campaigns using it."""
        response, body = self._get("/audience")
        return tuple(parse_audience(o) for o in self._data_list(response, body))

    def get_audience(self, audience_id: str) -> Audience:
        """GET /audience/{id} (no member count in this shape)."""
        response, body = self._get(f"/audience/{safe_id(audience_id, 'audience id')}",
                                   by_id=True)
        return parse_audience(self._data_object(response, body))

    def create_audience(
        self,
        name: str,
        phone_column: str,
        csv_bytes: bytes,
        *,
        filename: str = "contacts.csv",
        description: str = "",
        identifier_column: str | None = None,
    ) -> Audience:
        """POST /audience, multipart: the CSV as `file` plus `name`,
        `phoneNumberColumnName` and the optional text parts. Never retried."""
        fields = {
            "name": name,
            "phoneNumberColumnName": phone_column,
            "description": description or None,
            "identifierColumnName": identifier_column or None,
        }
        response, body = self._send(
            "POST", "/audience",
            data={key: value for key, value in fields.items() if value is not None},
            files={"file": (filename, csv_bytes, "text/csv")},
        )
        return parse_audience(self._data_object(response, body))

    def delete_audience(self, audience_id: str) -> None:
        """DELETE /audience/{id}. Atoms refuses (400) while a campaign still uses it."""
        self._send("DELETE", f"/audience/{safe_id(audience_id, 'audience id')}", by_id=True)

    def list_audience_members(
        self, audience_id: str, page: int = 1, page_size: int = 50
    ) -> Page[AudienceMember]:
        """GET /audience/{id}/members?page=&offset= — one page of contacts."""
        path = f"/audience/{safe_id(audience_id, 'audience id')}/members"
        response, body = self._get(path, params={"page": page, "offset": page_size},
                                   by_id=True)
        data = self._data_object(response, body)
        return self._page(response, data, "members", parse_audience_member, counters=data,
                          requested=(page, page_size))

    def search_audience_members(self, audience_id: str, query: str) -> tuple[AudienceMember, ...]:
        """GET /audience/{id}/members/search?query= — every match, unpaginated."""
        path = f"/audience/{safe_id(audience_id, 'audience id')}/members/search"
        response, body = self._get(path, params={"query": query}, by_id=True)
        data = self._data_object(response, body)
        return tuple(parse_audience_member(o) for o in self._items(response, data, "members"))

    def all_audience_members(self, audience_id: str, page_size: int = 500
                             ) -> tuple[AudienceMember, ...]:
        """Every member, walking GET /audience/{id}/members page by page."""
        return tuple(self._walk(
            lambda page: self.list_audience_members(audience_id, page=page,
                                                    page_size=page_size),
            key="id",
        ))

    def add_audience_members(self, audience_id: str, members: Sequence[Mapping[str, str]]
                             ) -> tuple[int, int]:
        """POST /audience/{id}/members (JSON) — returns (added, skipped); Atoms skips a
        number already in the audience rather than failing. Never retried."""
        path = f"/audience/{safe_id(audience_id, 'audience id')}/members"
        response, body = self._send("POST", path, json={"members": list(members)}, by_id=True)
        added = skipped = 0
        for result in self._data_list(response, body):
            counts = as_mapping(result.get("data"))
            added += as_int(counts.get("added"))
            skipped += as_int(counts.get("skipped"))
        return added, skipped

    def remove_audience_members(self, audience_id: str, member_ids: Sequence[str]) -> int:
        """DELETE /audience/{id}/members with a JSON body — returns how many were deleted."""
        path = f"/audience/{safe_id(audience_id, 'audience id')}/members"
        ids = [safe_id(member_id, "member id") for member_id in member_ids]
        response, body = self._send("DELETE", path, json={"memberIds": ids}, by_id=True)
        return as_int(as_mapping(body.get("data") if isinstance(body, dict) else None)
                      .get("deletedCount"))

    # --- do-not-call -------------------------------------------------------------------

    def list_dnc(self, page: int = 1, page_size: int = 500) -> Page[DncEntry]:
        """GET /dnc?page=&offset= — one page of the organization's do-not-call entries
        (`offset` is the page size, clamped by Atoms to 1–500)."""
        response, body = self._get("/dnc", params={"page": page, "offset": page_size})
        data = self._data_object(response, body)
        return self._page(response, data, "entries", parse_dnc_entry,
                          counters=as_mapping(data.get("pagination")),
                          requested=(page, page_size))

    def all_dnc(self, page_size: int = 500) -> tuple[DncEntry, ...]:
        """Every do-not-call entry, walking GET /dnc page by page."""
        return tuple(self._walk(lambda page: self.list_dnc(page=page, page_size=page_size),
                                key="id"))

    # --- campaigns ---------------------------------------------------------------------

    def list_campaigns(
        self,
        page: int = 1,
        page_size: int = 100,
        status: str | None = None,
        search: str | None = None,
        sort_field: str = "createdAt",
        sort_order: str = "desc",
    ) -> CampaignPage[Campaign]:
        """GET /campaign?page=&offset=&status=&search=&sortField=&sortOrder=."""
        params = {
            "page": page, "offset": page_size, "status": status or None,
            "search": search or None, "sortField": sort_field, "sortOrder": sort_order,
        }
        response, body = self._get("/campaign", params=params)
        data = self._data_object(response, body)
        return self._page(response, data, "campaigns", parse_campaign,
                          counters=as_mapping(data.get("pagination")),
                          requested=(page, page_size), page_class=CampaignPage,
                          total_campaign_count=as_int(data.get("totalCampaignCount")))

    def iter_campaigns(self, **filters: Any) -> Iterator[Campaign]:
        """Every campaign matching `filters` (the keyword arguments of `list_campaigns`
        except `page`), walking GET /campaign page by page."""
        return self._walk(lambda page: self.list_campaigns(page=page, **filters), key="id")

    def lists_campaign(self, campaign_id: str, name: str) -> bool:
        """Whether Atoms' list still holds this campaign (GET /campaign searched by its
        name, which is what `search` matches): a deletion is believed only when a read of
        the campaign (404) and the list agree."""
        return any(campaign.id == campaign_id for campaign in self.iter_campaigns(search=name))

    def create_campaign(
        self,
        name: str,
        agent_id: str,
        audience_id: str,
        phone_number_ids: Sequence[str],
        *,
        description: str = "",
        max_retries: int = 3,
        retry_delay: int = 15,
        scheduled_at: datetime | None = None,
    ) -> Campaign:
        """POST /campaign (JSON). Answered 201 with the stored campaign in its flat shape.
        Never retried: on AtomsUnavailable with `outcome_unknown`, look for the campaign
        before creating it again."""
        payload: dict[str, Any] = {
            "name": name,
            "agentId": agent_id,
            "audienceId": audience_id,
            "description": description,
            "maxRetries": max_retries,
            "retryDelay": retry_delay,
        }
        # Like the Fern SDK, unset optional keys are left out rather than sent as null;
        # without numbers Atoms dials from the agent's own default number.
        if phone_number_ids:
            payload["phoneNumberIds"] = list(phone_number_ids)
        if scheduled_at is not None:
            payload["scheduledAt"] = format_timestamp(scheduled_at)
        response, body = self._send("POST", "/campaign", json=payload)
        return parse_campaign(self._data_object(response, body))

    def get_campaign(self, campaign_id: str) -> CampaignDetail:
        """GET /campaign/{id} — the campaign, its metrics, executions and events."""
        response, body = self._get(f"/campaign/{safe_id(campaign_id, 'campaign id')}",
                                   by_id=True)
        data = self._data_object(response, body)
        if not isinstance(data.get("campaign"), dict):
            raise shape_error(response, "data.campaign is missing", idempotent=True)
        return parse_campaign_detail(data)

    def start_campaign(self, campaign_id: str) -> None:
        """POST /campaign/{id}/start — starts or resumes. Atoms answers 202 once the job is
        queued; the status turns `running` later, so poll get_campaign to confirm."""
        self._send("POST", f"/campaign/{safe_id(campaign_id, 'campaign id')}/start",
                   by_id=True)

    def pause_campaign(self, campaign_id: str) -> None:
        """POST /campaign/{id}/pause — queues a pause; poll until the status is `paused`."""
        self._send("POST", f"/campaign/{safe_id(campaign_id, 'campaign id')}/pause",
                   by_id=True)

    def delete_campaign(self, campaign_id: str) -> None:
        """DELETE /campaign/{id} — removes the campaign and its history. Pause it first."""
        self._send("DELETE", f"/campaign/{safe_id(campaign_id, 'campaign id')}", by_id=True)

    # --- calls -------------------------------------------------------------------------

    def list_call_logs(
        self,
        campaign_id: str | Sequence[str],
        page: int = 1,
        limit: int = 50,
        attempts: str = "all",
        *,
        statuses: Sequence[str] = (),
        reasons: Sequence[str] = (),
        durations: Sequence[str] = (),
        search: str = "",
    ) -> Page[CallLog]:
        """GET /conversation?campaignIds=&page=&limit=&callAttemptFilter=&statusFilter=
        &disconnectReasonFilter=&durationFilter=&search= — one page of the calls of one
        campaign (or of several: `campaignIds` is comma-separated), newest update first.
        `attempts` is `initial`, `retry` or `all`; the other filters are lists of the
        values in `atoms.calls`; `search` matches a call's id or numbers. Never sorted by
        `createdAt` nor bounded by date: the reference warns both can scan a large
        account's history into a 504."""
        # Anything but a list or tuple is one id (a None or a blank is refused by safe_id).
        ids = list(campaign_id) if isinstance(campaign_id, list | tuple) else [campaign_id]
        params = {
            # Each validated like a path id: a stray comma would quietly add a campaign.
            "campaignIds": ",".join(safe_id(one, "campaign id") for one in ids) or None,
            "page": page, "limit": limit, "callAttemptFilter": attempts or None,
            "statusFilter": ",".join(statuses) or None,
            "disconnectReasonFilter": ",".join(reasons) or None,
            "durationFilter": ",".join(durations) or None,
            "search": search or None,
        }
        if params["campaignIds"] is None:
            raise ValueError("At least one campaign id is needed")
        response, body = self._get("/conversation", params=params)
        data = self._data_object(response, body)
        return self._page(response, data, "logs", parse_call_log,
                          counters=as_mapping(data.get("pagination")),
                          requested=(page, limit), size_key="limit")

    def get_call(self, call_id: str) -> CallDetail:
        """GET /conversation/{callId} — one call with its transcript (`callId` is CALL-…)."""
        response, body = self._get(f"/conversation/{safe_id(call_id, 'call id')}",
                                   by_id=True)
        return parse_call_detail(self._data_object(response, body))

    def list_retries(self, call_id: str) -> tuple[CallLog, ...]:
        """GET /conversation/{callId}/retries — every attempt on the same contact, first
        one first; any call of the family may be named."""
        path = f"/conversation/{safe_id(call_id, 'call id')}/retries"
        response, body = self._get(path, by_id=True)
        data = self._data_object(response, body)
        self._items(response, data, "retries")  # an absent list is an error, not "none"
        return parse_retry_family(data)

    def recording_url(self, call_id: str) -> str:
        """GET /conversation/{callId}/recording/download-url — a presigned link that
        expires within minutes: use it at once, never store it. AtomsNotFound when the
        call has no recording."""
        path = f"/conversation/{safe_id(call_id, 'call id')}/recording/download-url"
        response, body = self._get(path, by_id=True)
        url = as_text(self._data_object(response, body).get("presignedUrl"))
        if not url.startswith(("https://", "http://")):
            raise shape_error(response, "data.presignedUrl is not a URL", idempotent=True)
        return url

    @contextmanager
    def call_events(self, call_id: str, *, idle_timeout: float = 60.0
                    ) -> Iterator[Iterator[CallEvent]]:
        """GET /events?callId= — the live events of a call in progress, as they happen:

            with atoms.call_events(call_id) as events:
                for event in events: ...

        The iterator ends when Atoms closes the stream (after `sse_close`, at hang-up).
        Not retried: a reconnect is the caller's choice. A read waits at most
        `idle_timeout` seconds for the next bytes."""
        with self._stream("/events", params={"callId": safe_id(call_id, "call id")},
                          accept="text/event-stream", read_timeout=idle_timeout) as response:
            yield parse_sse(response.iter_lines())

    def campaign_contacts(self, campaign_id: str) -> tuple[CampaignContact, ...]:
        """GET /campaign/{id}/export/by-audience-member (JSON, no envelope) — the contacts
        Atoms calls for this campaign: its audience as it was when the campaign was made,
        with the calls made to each so far."""
        path = f"/campaign/{safe_id(campaign_id, 'campaign id')}/export/by-audience-member"
        response, body = self._get(path, by_id=True)
        return tuple(parse_campaign_contact(row) for row in self._data_list(response, body))

    @contextmanager
    def export_by_member_csv(self, campaign_id: str) -> Iterator[Iterator[bytes]]:
        """GET /campaign/{id}/export/by-audience-member?format=csv — one row per contact
        with every attempt's outcome, as raw CSV chunks while Atoms streams them."""
        path = f"/campaign/{safe_id(campaign_id, 'campaign id')}/export/by-audience-member"
        with self._stream(path, params={"format": "csv"}, accept="text/csv") as response:
            yield response.iter_bytes()

    @contextmanager
    def export_logs_csv(self, campaign_id: str) -> Iterator[Iterator[bytes]]:
        """GET /campaign/{id}/logs/export — one row per call attempt, raw CSV chunks."""
        path = f"/campaign/{safe_id(campaign_id, 'campaign id')}/logs/export"
        with self._stream(path, accept="text/csv") as response:
            yield response.iter_bytes()

    def _page(self, response, data, key: str, parse, *, counters, requested: tuple[int, int],
              size_key: str = "offset", page_class: type[Page] = Page, **extra: Any) -> Page:
        """One page of `data[key]`, counted from `counters`: the endpoints put their page
        counters beside the items or in a `pagination` object, and call the total
        `total` or `totalCount`, the size `offset` or `limit`."""
        return make_page(
            [parse(o) for o in self._items(response, data, key)],
            page=counters.get("page"), page_size=counters.get(size_key),
            total=counters.get("total", counters.get("totalCount")),
            total_pages=counters.get("totalPages"), has_more=counters.get("hasMore"),
            requested_page=requested[0], requested_size=requested[1], page_class=page_class,
            **extra,
        )
