"""Typed results of the Atoms API and the tolerant parsers that build them.

Atoms makes every response field optional, accepts unknown keys and keeps enums open, so
each parser here reads defensively: a missing, null or oddly typed value becomes a neutral
default instead of an exception, and an unknown status string is kept as it came.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from django.db.models import TextChoices

from campaigns.atoms.coerce import (
    as_bool,
    as_datetime,
    as_int,
    as_int_or_none,
    as_mapping,
    as_objects,
    as_text,
    reference_id,
    resource_id,
)

T = TypeVar("T")


class CampaignStatus(TextChoices):
    """Atoms' documented campaign statuses: the one status enum of the dashboard (the
    mirror's choices, the filters, the checks). `status` fields stay plain strings because
    Atoms may add values, and a member compares equal to its string."""

    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    PROCESSING = "processing", "Processing"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


# --- results ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    page: int
    page_size: int
    total: int
    total_pages: int
    has_more: bool


@dataclass(frozen=True, slots=True)
class CampaignPage(Page[T]):
    # Counts every campaign of the organisation, ignoring the filters of this listing.
    total_campaign_count: int = 0


def make_page(
    items: list[T],
    *,
    page: Any,
    page_size: Any,
    total: Any,
    total_pages: Any = None,
    has_more: Any = None,
    requested_page: int,
    requested_size: int,
    page_class: type[Page] = Page,
    **extra: Any,
) -> Page[T]:
    """A Page whose missing counters are derived from the ones that did arrive."""
    size = as_int(page_size) or requested_size
    current = as_int(page) or requested_page
    count = as_int_or_none(total)
    if count is None:
        count = (current - 1) * size + len(items)
    pages = as_int_or_none(total_pages)
    if pages is None:
        pages = math.ceil(count / size) if size else 0
    more = has_more if isinstance(has_more, bool) else current < pages
    return page_class(tuple(items), current, size, count, pages, more, **extra)


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    id: str
    number: str
    provider: str
    country_code: str
    is_active: bool
    agent_id: str


def parse_phone_number(obj: Mapping[str, Any]) -> PhoneNumber:
    attributes = as_mapping(obj.get("attributes"))
    return PhoneNumber(
        id=resource_id(obj),
        number=as_text(attributes.get("phoneNumber") or obj.get("phoneNumber")),
        provider=as_text(attributes.get("provider")),
        country_code=as_text(attributes.get("countryCode")),
        # A number Atoms does not say is inactive is offered; hiding it would be worse.
        is_active=as_bool(obj.get("isActive"), default=True),
        agent_id=reference_id(obj.get("agentId")),
    )


@dataclass(frozen=True, slots=True)
class Agent:
    id: str
    name: str
    description: str
    workflow_type: str
    archived: bool


def parse_agent(obj: Mapping[str, Any]) -> Agent:
    return Agent(
        id=resource_id(obj),
        name=as_text(obj.get("name")),
        description=as_text(obj.get("description")),
        workflow_type=as_text(obj.get("workflowType") or obj.get("type")),
        archived=as_bool(obj.get("archived")),
    )


@dataclass(frozen=True, slots=True)
class Audience:
    id: str
    name: str
    description: str
    phone_column: str
    # Only the list endpoint reports a count; None means "not reported", not zero.
    member_count: int | None
    has_campaigns: bool
    campaign_names: tuple[str, ...]
    created_at: datetime | None


def parse_audience(obj: Mapping[str, Any]) -> Audience:
    campaigns = as_objects(obj.get("campaigns"))
    return Audience(
        id=resource_id(obj),
        name=as_text(obj.get("name")),
        description=as_text(obj.get("description")),
        phone_column=as_text(obj.get("phoneNumberColumnName")),
        member_count=as_int_or_none(obj.get("memberCount")),
        has_campaigns=as_bool(obj.get("hasCampaigns"), default=bool(campaigns)),
        campaign_names=tuple(as_text(c.get("name")) for c in campaigns),
        created_at=as_datetime(obj.get("createdAt")),
    )


@dataclass(frozen=True, slots=True)
class AudienceMember:
    id: str
    data: Mapping[str, str]


def parse_audience_member(obj: Mapping[str, Any]) -> AudienceMember:
    columns = {str(key): as_text(value) for key, value in as_mapping(obj.get("data")).items()}
    return AudienceMember(id=resource_id(obj), data=MappingProxyType(columns))


@dataclass(frozen=True, slots=True)
class DncEntry:
    id: str
    phone_number: str
    # Empty for an organization-wide entry; else the one agent it blocks the number for.
    agent_id: str
    source: str
    created_at: datetime | None

    @property
    def source_words(self) -> str:
        """How Atoms says it came to the list, as words ("call_outcome": "Call outcome"):
        the reference leaves its values open, so none is turned into a sentence of ours."""
        return self.source.replace("_", " ").strip().capitalize()


def parse_dnc_entry(obj: Mapping[str, Any]) -> DncEntry:
    return DncEntry(
        id=resource_id(obj),
        phone_number=as_text(obj.get("phoneNumber")),
        agent_id=reference_id(obj.get("agentId")),
        source=as_text(obj.get("source")),
        created_at=as_datetime(obj.get("createdAt")),
    )


@dataclass(frozen=True, slots=True)
class CampaignContact:
    """One of a campaign's own contacts, as Atoms keeps them from the campaign's creation
    (a contact removed from the audience since is still one of them)."""
    phone_number: str
    attempts: int  # calls made to it so far, retries included


def parse_campaign_contact(obj: Mapping[str, Any]) -> CampaignContact:
    return CampaignContact(phone_number=as_text(obj.get("phoneNumber")),
                           attempts=as_int(obj.get("totalAttempts")))


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    name: str
    description: str
    status: str
    agent_id: str
    agent_name: str
    audience_id: str
    audience_name: str
    participants_count: int
    max_retries: int
    retry_delay: int
    retry_attempts: int
    scheduled_at: datetime | None
    paused_at: datetime | None
    failed_at: datetime | None
    error: str
    created_at: datetime | None
    updated_at: datetime | None
    phone_number_ids: tuple[str, ...]


def parse_campaign(obj: Mapping[str, Any]) -> Campaign:
    """One parser for both shapes: create answers flat `agentId`/`audienceId`, while list
    and get nest `agent`/`audience` objects."""
    agent = as_mapping(obj.get("agent"))
    audience = as_mapping(obj.get("audience"))
    phone_ids = obj.get("phoneNumberIds")
    return Campaign(
        id=resource_id(obj),
        name=as_text(obj.get("name")),
        description=as_text(obj.get("description")),
        status=as_text(obj.get("status")),
        agent_id=resource_id(agent) or reference_id(obj.get("agentId")),
        agent_name=as_text(agent.get("name")),
        audience_id=resource_id(audience) or reference_id(obj.get("audienceId")),
        audience_name=as_text(audience.get("name")),
        participants_count=as_int(obj.get("participantsCount")),
        max_retries=as_int(obj.get("maxRetries")),
        retry_delay=as_int(obj.get("retryDelay")),
        retry_attempts=as_int(obj.get("retryAttempts")),
        scheduled_at=as_datetime(obj.get("scheduledAt")),
        paused_at=as_datetime(obj.get("pausedAt")),
        failed_at=as_datetime(obj.get("failedAt")),
        error=as_text(obj.get("error")),
        created_at=as_datetime(obj.get("createdAt")),
        updated_at=as_datetime(obj.get("updatedAt")),
        phone_number_ids=tuple(
            reference_id(item) for item in (phone_ids if isinstance(phone_ids, list) else [])
        ),
    )


@dataclass(frozen=True, slots=True)
class Metrics:
    total_participants: int
    contacts_called: int
    contacts_connected: int


def parse_metrics(obj: Mapping[str, Any]) -> Metrics:
    # Atoms sends snake_case here, unlike everywhere else; camelCase is accepted in case
    # that is ever "fixed" upstream.
    return Metrics(
        total_participants=as_int(obj.get("total_participants", obj.get("totalParticipants"))),
        contacts_called=as_int(obj.get("contacts_called", obj.get("contactsCalled"))),
        contacts_connected=as_int(obj.get("contacts_connected", obj.get("contactsConnected"))),
    )


@dataclass(frozen=True, slots=True)
class Execution:
    number: int
    status: str
    total_members: int
    processed_members: int
    failed_members: int
    started_at: datetime | None
    completed_at: datetime | None
    trigger: str


def parse_execution(obj: Mapping[str, Any]) -> Execution:
    return Execution(
        number=as_int(obj.get("executionNumber")),
        status=as_text(obj.get("status")),
        total_members=as_int(obj.get("totalMembers")),
        processed_members=as_int(obj.get("processedMembers")),
        failed_members=as_int(obj.get("failedMembers")),
        started_at=as_datetime(obj.get("startedAt")),
        completed_at=as_datetime(obj.get("completedAt")),
        trigger=as_text(obj.get("trigger") or obj.get("triggerSource")),
    )


@dataclass(frozen=True, slots=True)
class CampaignEvent:
    id: str
    action: str
    trigger_source: str
    created_at: datetime | None


def parse_event(obj: Mapping[str, Any]) -> CampaignEvent:
    return CampaignEvent(
        id=resource_id(obj),
        action=as_text(obj.get("eventAction") or obj.get("action")),
        trigger_source=as_text(obj.get("triggerSource")),
        created_at=as_datetime(obj.get("createdAt")),
    )


@dataclass(frozen=True, slots=True)
class CampaignDetail:
    campaign: Campaign
    # None when Atoms sent no metrics: showing zeros instead would be a number that lies.
    metrics: Metrics | None
    executions: tuple[Execution, ...]
    events: tuple[CampaignEvent, ...]


def parse_campaign_detail(data: Mapping[str, Any]) -> CampaignDetail:
    campaign = as_mapping(data.get("campaign"))
    metrics = data.get("metrics")
    return CampaignDetail(
        campaign=parse_campaign(campaign),
        metrics=parse_metrics(metrics) if isinstance(metrics, dict) else None,
        # The seed shows executions inside `campaign`; accept them beside it as well.
        executions=tuple(
            parse_execution(item)
            for item in as_objects(campaign.get("executions") or data.get("executions"))
        ),
        events=tuple(parse_event(item) for item in as_objects(data.get("events"))),
    )
