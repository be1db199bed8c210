"""Typed call results: call-log items, one call's detail, its retry family, live events.

`GET /conversation`, `/conversation/{callId}`, `/conversation/{callId}/retries` and
`GET /events?callId=` (server-sent events) all describe calls; their parsers live here,
read as tolerantly as the rest of the package (a missing value becomes a neutral default,
unknown statuses and event types are kept as they came).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from campaigns.atoms.coerce import (
    as_datetime,
    as_float,
    as_int,
    as_mapping,
    as_objects,
    as_text,
    reference_id,
    resource_id,
)

# What the call-log filters accept (atoms-api.md §7.1); anything else is refused by Atoms.
CALL_STATUSES = (
    "pending", "in_progress", "in_queue", "processing", "active", "completed", "failed",
    "no_answer", "cancelled",
)
DISCONNECT_REASONS = (
    "user_hangup", "agent_hangup", "connection_error", "timeout", "system_error",
    "transfer_complete",
)
ATTEMPT_FILTERS = ("initial", "retry", "all")
DURATION_BUCKETS = ("0-30", "30-60", "1-5", "5+")
# Mappings here are plain dicts, not read-only proxies: results are cached (pickled).
# Statuses of a call still going on; a log in one of them has no outcome yet.
LIVE_STATUSES = frozenset({"pending", "in_progress", "in_queue", "processing", "active"})


@dataclass(frozen=True, slots=True)
class CallLog:
    call_id: str
    campaign_id: str
    status: str
    duration_seconds: float
    from_number: str
    to_number: str
    # 0 is the first attempt, 1 the first retry, and so on.
    attempt_number: int
    disconnection_reason: str
    failure_reason: str
    cost: float
    created_at: datetime | None
    recording_url: str = ""
    retry_call_id: str = ""
    updated_at: datetime | None = None
    # Post-call dispositions, identifier -> value (e.g. {"interested": "yes"}).
    dispositions: Mapping[str, str] = field(default_factory=dict)
    summary: str = ""

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def is_retry(self) -> bool:
        return self.attempt_number > 0


def _dispositions(obj: Mapping[str, Any]) -> Mapping[str, str]:
    """`dispositionMetrics` (an object) on list items; the analytics' list form as well."""
    values = {str(k): as_text(v) for k, v in as_mapping(obj.get("dispositionMetrics")).items()}
    analytics = as_mapping(obj.get("postCallAnalytics"))
    for item in as_objects(analytics.get("dispositionMetrics")):
        identifier = as_text(item.get("identifier"))
        if identifier and identifier not in values:
            values[identifier] = as_text(item.get("value"))
    return values


def parse_call_log(obj: Mapping[str, Any]) -> CallLog:
    return CallLog(
        call_id=as_text(obj.get("callId")),
        campaign_id=reference_id(obj.get("campaignId")),
        status=as_text(obj.get("status")),
        duration_seconds=as_float(obj.get("duration")),
        from_number=as_text(obj.get("from")),
        to_number=as_text(obj.get("to")),
        attempt_number=as_int(obj.get("retryAttemptNumber")),
        disconnection_reason=as_text(obj.get("disconnectionReason")),
        failure_reason=as_text(obj.get("callFailureReason")),
        cost=as_float(obj.get("callCost")),
        created_at=as_datetime(obj.get("createdAt")),
        recording_url=as_text(obj.get("recordingUrl")),
        retry_call_id=as_text(obj.get("retryCallId")),
        updated_at=as_datetime(obj.get("updatedAt")),
        dispositions=_dispositions(obj),
        summary=as_text(as_mapping(obj.get("postCallAnalytics")).get("summary")),
    )


@dataclass(frozen=True, slots=True)
class TranscriptTurn:
    role: str
    content: str
    timestamp: datetime | None


@dataclass(frozen=True, slots=True)
class CallDetail:
    call: CallLog
    agent_name: str
    transcript: tuple[TranscriptTurn, ...]
    # The contact's own fields the agent had (CSV columns), name -> value.
    variables: Mapping[str, str] = field(default_factory=dict)
    database_id: str = ""


def parse_call_detail(data: Mapping[str, Any]) -> CallDetail:
    variables = {str(k): as_text(v) for k, v in as_mapping(data.get("variables")).items()}
    return CallDetail(
        call=parse_call_log(data),
        agent_name=as_text(as_mapping(data.get("agent")).get("name")),
        transcript=tuple(
            TranscriptTurn(
                role=as_text(turn.get("role")),
                content=as_text(turn.get("content")),
                timestamp=as_datetime(turn.get("timestamp")),
            )
            for turn in as_objects(data.get("transcript"))
        ),
        variables=variables,
        database_id=resource_id(data),
    )


def parse_retry_family(data: Mapping[str, Any]) -> tuple[CallLog, ...]:
    """`data.retries`: the parent first, then each retry; sorted again in case Atoms did not."""
    family = [parse_call_log(item) for item in as_objects(data.get("retries"))]
    return tuple(sorted(family, key=lambda log: log.attempt_number))


# --- live events -----------------------------------------------------------------------

# Event types that carry a line of the conversation, and who said it.
_SPEAKERS = {"tts_completed": "agent", "user_transcription": "user"}
_TEXT_KEYS = {
    "tts_completed": "tts_text",
    "user_transcription": "user_transcription_text",
    "user_interim_transcription": "interim_transcription_text",
}
# The call is over after these: nothing else will come.
CLOSING_EVENTS = frozenset({"call_end", "sse_close", "call_cancelled"})


@dataclass(frozen=True, slots=True)
class CallEvent:
    kind: str  # Atoms' `event_type`, kept as sent
    call_id: str
    at: datetime | None
    text: str = ""

    @property
    def role(self) -> str:
        """`agent` or `user` for a final line of the conversation, else empty."""
        return _SPEAKERS.get(self.kind, "")

    @property
    def ends_call(self) -> bool:
        return self.kind in CLOSING_EVENTS


def parse_call_event(obj: Mapping[str, Any]) -> CallEvent:
    kind = as_text(obj.get("event_type"))
    return CallEvent(
        kind=kind,
        call_id=as_text(obj.get("call_id")),
        at=as_datetime(obj.get("timestamp") or obj.get("event_time")),
        text=as_text(obj.get(_TEXT_KEYS.get(kind, ""))),
    )


def parse_sse(lines: Iterable[str]) -> Iterator[CallEvent]:
    """Server-sent events as `CallEvent`s: `data:` lines up to a blank line make one event
    (several `data:` lines join with newlines); comments and non-JSON payloads are skipped."""
    data: list[str] = []
    for line in lines:
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
            continue
        if line.strip() or not data:
            continue  # a comment, an `event:`/`id:` field, or a keep-alive blank line
        payload, data = "\n".join(data), []
        try:
            obj = json.loads(payload)
        except ValueError:
            continue
        if isinstance(obj, dict):
            yield parse_call_event(obj)
