"""`/campaign` routes: list, create, get, delete, start, pause and the two exports."""

import csv
import io

from . import calls, dialer
from .wire import (
    CSV_TYPE,
    ApiError,
    Response,
    is_object_id,
    js_time,
    json_response,
    ok,
    ordered,
    paginate,
    parse_time,
)

STATUSES = ("draft", "scheduled", "processing", "running", "paused", "completed", "failed")
_TIME_KEYS = ("scheduledAt", "pausedAt", "failedAt", "createdAt", "updatedAt")


# --- shapes ----------------------------------------------------------------------------


def _document(campaign: dict) -> dict:
    """Keys every campaign shape shares; unset optional datetimes are left out."""
    doc = {
        key: campaign[key]
        for key in ("_id", "name", "description", "organization", "createdBy")
        + ("participantsCount", "status", "maxRetries", "retryDelay", "retryAttempts")
        + ("cancelledCallsCount",)
    }
    doc.update({key: js_time(campaign[key]) for key in _TIME_KEYS if campaign.get(key)})
    if campaign.get("error"):  # only a failed campaign carries it
        doc["error"] = campaign["error"]
    if campaign["phoneNumberIds"] is not None:
        doc["phoneNumberIds"] = list(campaign["phoneNumberIds"])
    return doc


def _nested(world, campaign: dict) -> dict:
    agent = world.agents[campaign["agentId"]]
    audience = world.audiences[campaign["audienceId"]]
    return {
        **_document(campaign),
        "agent": {
            "_id": agent["_id"],
            "name": agent["name"],
            "workflowType": agent["workflowType"],
        },
        "audience": {"_id": audience["_id"], "name": audience["name"]},
    }


def _execution(execution: dict) -> dict:
    shaped = {key: value for key, value in execution.items() if value is not None}
    for key in ("startedAt", "completedAt"):
        if key in shaped:
            shaped[key] = js_time(shaped[key])
    return shaped


def _event(event: dict) -> dict:
    stamp = js_time(event["createdAt"])
    return {**event, "createdAt": stamp, "updatedAt": stamp}


# --- creation (shared with the seeded world) --------------------------------------------


def _bounded_int(body: dict, key: str, default: int, low: int, high: int, errors: list) -> int:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors.append(f"{key} must be an integer between {low} and {high}")
    return value


def _reference(table: dict, body: dict, key: str, label: str, errors: list) -> dict | None:
    value = body.get(key)
    if value is None or value == "":
        errors.append(f"{key} is required")
    elif not isinstance(value, str) or not is_object_id(value):
        errors.append(f"{key} must be a valid id")
    elif value not in table:
        errors.append(f"{label} not found: {value}")
    else:
        return table[value]
    return None


def _phone_numbers(world, body: dict, errors: list) -> list[dict] | None:
    ids = body.get("phoneNumberIds")
    if ids is None:
        return None
    if not isinstance(ids, list) or not all(isinstance(item, str) for item in ids):
        errors.append("phoneNumberIds must be an array of phone number ids")
        return None
    found = []
    for phone_id in ids:
        phone = world.phone_numbers.get(phone_id) if is_object_id(phone_id) else None
        if phone is None:
            errors.append(f"Phone number not found: {phone_id}")
        elif not phone["isActive"]:
            errors.append(f"Phone number {phone['attributes']['phoneNumber']} is not active")
        else:
            found.append(phone)
    return found


def _caller_ids(world, agent: dict, phones: list[dict] | None) -> list[str]:
    """Chosen numbers, else the agent's own numbers, else the first active rented number."""
    if phones:
        return [phone["attributes"]["phoneNumber"] for phone in phones]
    if agent.get("phoneNumber"):
        return list(agent["phoneNumber"])
    active = [p for p in world.phone_numbers.values() if p["isActive"]]
    return [active[0]["attributes"]["phoneNumber"]] if active else []


def create_campaign(world, body: dict, now: int) -> dict:
    """Validate a create request like Atoms does (every problem reported) and store it."""
    errors: list[str] = []
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append("name is required")
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        errors.append("description must be a string")
    agent = _reference(world.agents, body, "agentId", "Agent", errors)
    audience = _reference(world.audiences, body, "audienceId", "Audience", errors)
    phones = _phone_numbers(world, body, errors)
    max_retries = _bounded_int(body, "maxRetries", 3, 0, 10, errors)
    retry_delay = _bounded_int(body, "retryDelay", 15, 1, 1440, errors)
    scheduled_at = None
    if body.get("scheduledAt") is not None:
        scheduled_at = parse_time(body["scheduledAt"])
        if scheduled_at is None:
            errors.append("scheduledAt must be an ISO-8601 date-time")
        elif scheduled_at <= now:
            errors.append("scheduledAt must be in the future")
    if agent and agent["archived"]:
        errors.append("Agent is archived")
    if audience is not None and not audience["members"]:
        errors.append("Audience has no members")
    caller_ids = _caller_ids(world, agent, phones) if agent else []
    if agent and not caller_ids:
        errors.append("No active phone number available; pass phoneNumberIds")
    if errors:
        raise ApiError(400, *errors)
    fields = {
        "name": name.strip(),
        "description": description or "",
        "agentId": agent["_id"],
        "audienceId": audience["_id"],
        "phoneNumberIds": body.get("phoneNumberIds"),
        "fromNumbers": caller_ids,
        "maxRetries": max_retries,
        "retryDelay": retry_delay,
        "scheduledAt": scheduled_at,
    }
    campaign = dialer.create(
        world, fields, audience["members"], audience["phoneNumberColumnName"], now
    )
    world.campaigns[campaign["_id"]] = campaign
    return campaign


# --- handlers ----------------------------------------------------------------------------


def list_campaigns(world, req) -> Response:
    page = req.int_param("page", 1)
    size = req.int_param("offset", 5)
    status = req.choice_param("status", STATUSES)
    sort_field = req.choice_param("sortField", ("createdAt", "updatedAt"), "createdAt")
    descending = req.choice_param("sortOrder", ("asc", "desc"), "desc") == "desc"
    search = req.query.get("search", "").strip().lower()
    world.advance_all()
    matches = ordered(
        (
            campaign
            for campaign in world.campaigns.values()
            if (status is None or campaign["status"] == status)
            and search in campaign["name"].lower()
        ),
        key=lambda campaign: campaign[sort_field],
        descending=descending,
    )
    shown, total_pages, has_more = paginate(matches, page, size)
    return ok(
        {
            "campaigns": [_nested(world, campaign) for campaign in shown],
            "pagination": {
                "total": len(matches),
                "page": page,
                "offset": size,
                "hasMore": has_more,
                "totalPages": total_pages,
            },
            "totalCampaignCount": len(world.campaigns),
        }
    )


def post_campaign(world, req) -> Response:
    campaign = create_campaign(world, req.json_object(), world.now)
    created = _document(campaign)
    created.update(agentId=campaign["agentId"], audienceId=campaign["audienceId"])
    return ok(created, status=201)


def get_campaign(world, req) -> Response:
    campaign = world.campaign(req.params["id"])
    shaped = _nested(world, campaign)
    shaped["executions"] = [_execution(execution) for execution in campaign["executions"]]
    return ok(
        {
            "campaign": shaped,
            "events": [_event(event) for event in campaign["events"]],
            "metrics": dialer.metrics(campaign),
        }
    )


def delete_campaign(world, req) -> Response:
    campaign = world.campaign(req.params["id"])
    if campaign["status"] in ("running", "processing"):
        raise ApiError(400, "Campaign is running; pause it before deleting it")
    world.delete_campaign(campaign)
    return ok()


def start_campaign(world, req) -> Response:
    campaign = world.campaign(req.params["id"])
    task_id = dialer.request_start(world, campaign, world.now)
    data = {"message": "Campaign is being processed", "taskId": task_id}
    return ok({**data, "campaignId": campaign["_id"]}, status=202)


def pause_campaign(world, req) -> Response:
    dialer.request_pause(world, world.campaign(req.params["id"]), world.now)
    return ok()


def _csv(rows: list[list], filename: str) -> Response:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    disposition = f'attachment; filename="{filename}"'
    return Response(200, buffer.getvalue().encode(), CSV_TYPE, {"Content-Disposition": disposition})


def export_by_member(world, req) -> Response:
    export_format = req.choice_param("format", ("json", "csv"), "json")
    campaign = world.campaign(req.params["id"])
    rows = []
    for participant in campaign["participants"]:
        attempts = [calls.export_attempt(campaign["calls"][i]) for i in participant["calls"]]
        rows.append(
            {
                "audienceMemberId": participant["memberId"],
                "audienceMemberData": participant["data"],
                "phoneNumber": participant["phone"],
                "originalCall": attempts[0] if attempts else None,
                "retryAttempts": attempts[1:],
                "totalAttempts": len(attempts),
                "finalStatus": attempts[-1]["status"] if attempts else "pending",
                "totalCallDuration": round(sum(a["duration"] for a in attempts), 1),
                "totalCallCost": round(sum(a["callCost"] for a in attempts), 4),
            }
        )
    if export_format == "json":
        return json_response(
            200,
            {
                "campaign": campaign["name"],
                "exportedAt": js_time(world.now),
                "totalAudienceMembers": len(rows),
                "data": rows,
            },
        )
    fixed = ["audienceMemberId", "phoneNumber", "totalAttempts", "finalStatus"]
    fixed += ["totalCallDuration", "totalCallCost"]
    columns = [
        key
        for key in dict.fromkeys(key for row in rows for key in row["audienceMemberData"])
        if key not in fixed  # the phone column is already there as phoneNumber
    ]
    table = [fixed + columns]
    for row in rows:
        data = row["audienceMemberData"]
        table.append([row[key] for key in fixed] + [data.get(key, "") for key in columns])
    return _csv(table, f"campaign-{campaign['_id']}-by-audience-member.csv")


def export_logs(world, req) -> Response:
    campaign_id = req.params["id"]
    campaign = world.campaign(
        campaign_id, missing_status=400, missing=f"no campaign found for id {campaign_id}"
    )
    agent_name = world.agents[campaign["agentId"]]["name"]
    header = ["timestamp", "callId", "phoneNumber", "agentName", "status", "duration"]
    header += ["callCost", "recordingUrl", "transcriptUrl"]
    table = [header]
    for call in campaign["calls"]:
        item = calls.log_item(world, campaign, call)
        recording = item.get("recordingUrl", "")
        transcript = f"{calls.RECORDINGS}/{call['callId']}-transcript.json" if recording else ""
        table.append(
            [item["createdAt"], item["callId"], item["to"], agent_name, item["status"]]
            + [item["duration"], item["callCost"], recording, transcript]
        )
    return _csv(table, f"campaign-{campaign_id}-logs.csv")


ROUTES = [
    ("GET", "/campaign", list_campaigns),
    ("POST", "/campaign", post_campaign),
    ("GET", "/campaign/{id}", get_campaign),
    ("DELETE", "/campaign/{id}", delete_campaign),
    ("POST", "/campaign/{id}/start", start_campaign),
    ("POST", "/campaign/{id}/pause", pause_campaign),
    ("GET", "/campaign/{id}/export/by-audience-member", export_by_member),
    ("GET", "/campaign/{id}/logs/export", export_logs),
]
