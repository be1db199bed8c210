"""Agents, rented phone numbers (`/product/phone-numbers`) and call logs (`/conversation`)."""

from . import calls
from .dialer import outcome_of
from .wire import (
    CALL_ID,
    ApiError,
    Response,
    is_object_id,
    js_time,
    ok,
    ordered,
    paginate,
    parse_time,
)

# fmt: off
CALL_STATUSES = (
    "pending", "in_progress", "in_queue", "processing", "active", "completed", "failed",
    "no_answer", "cancelled",
)
DISCONNECT_REASONS = (
    "user_hangup", "agent_hangup", "connection_error", "timeout", "system_error",
    "transfer_complete",
)
# fmt: on
CALL_TYPES = ("telephony_inbound", "telephony_outbound", "webcall")
# durationFilter buckets in seconds, [low, high)
DURATIONS = {"0-30": (0, 30), "30-60": (30, 60), "1-5": (60, 300), "5+": (300, float("inf"))}
_AGENT_TIMES = ("createdAt", "updatedAt", "archivedAt")
_AGENT_INTERNAL = ("prompt",)


def render_agent(agent: dict, *, resolved: bool = False) -> dict:
    shaped = {k: v for k, v in agent.items() if k not in _AGENT_INTERNAL}
    shaped.update({key: js_time(agent[key]) for key in _AGENT_TIMES if agent.get(key)})
    if resolved:  # single-agent reads carry the active version's config
        shaped["_resolvedConfig"] = {
            "prompt": agent["prompt"],
            "firstMessage": agent["firstMessage"],
            "defaultLanguage": agent["language"]["default"],
            "supportedLanguages": agent["language"]["supported"],
            "modelName": agent["slmModel"],
            "tools": [],
        }
    return shaped


def list_agents(world, req) -> Response:
    page = req.int_param("page", 1)
    size = req.int_param("offset", 10)
    kind = req.choice_param("type", ("single_prompt", "workflow_graph"))
    fields = ("createdAt", "updatedAt", "totalCalls", "name", "workflowType")
    sort_field = req.choice_param("sortField", fields, "createdAt")
    descending = req.choice_param("sortOrder", ("asc", "desc"), "desc") == "desc"
    archived = req.choice_param("archived", ("true", "false"), "false") == "true"
    search = req.query.get("search", "").strip().lower()
    world.advance_all()  # totalCalls grows as campaigns dial
    matches = ordered(
        (
            agent
            for agent in world.agents.values()
            if agent["archived"] == archived
            and (kind is None or agent["workflowType"] == kind)
            and (search in agent["name"].lower() or search in agent["description"].lower())
        ),
        key=lambda agent: agent[sort_field],
        descending=descending,
    )
    shown, total_pages, has_more = paginate(matches, page, size)
    return ok(
        {
            "agents": [render_agent(agent) for agent in shown],
            # `total` is the SDK's counter; the CLI's model wants the other three too.
            "total": len(matches),
            "totalCount": len(matches),
            "totalPages": total_pages,
            "hasMore": has_more,
        }
    )


def get_agent(world, req) -> Response:
    agent = world.agents.get(req.params["id"]) if is_object_id(req.params["id"]) else None
    if agent is None:
        raise ApiError(400, "No agent found")  # Atoms reports a missing agent as a 400
    world.advance_all()
    return ok(render_agent(agent, resolved=True))


def list_phone_numbers(world, req) -> Response:
    shaped = []
    for phone in world.phone_numbers.values():
        times = {key: js_time(phone[key]) for key in ("createdAt", "updatedAt")}
        shaped.append({**phone, **times})
    return ok(shaped)


def _csv_values(req, name: str, allowed: tuple[str, ...] | None = None) -> set[str]:
    values = {v.strip() for v in req.query.get(name, "").split(",") if v.strip()}
    unknown = values - set(allowed) if allowed else set()
    if unknown:
        raise ApiError(400, f"{name} has unknown values: {', '.join(sorted(unknown))}")
    return values


def _time_param(req, name: str) -> int | None:
    raw = req.query.get(name)
    if not raw:
        return None
    value = parse_time(raw)
    if value is None:
        raise ApiError(400, f"{name} must be an ISO-8601 date-time")
    return value


def _call_filter(world, req):
    """A predicate over (campaign, call, view) built from the documented query filters."""
    agents = _csv_values(req, "agentIds")
    types = _csv_values(req, "callTypes", CALL_TYPES)
    statuses = _csv_values(req, "statusFilter", CALL_STATUSES)
    reasons = _csv_values(req, "disconnectReasonFilter", DISCONNECT_REASONS)
    attempts = _csv_values(req, "callAttemptFilter", ("initial", "retry", "all")) or {"initial"}
    durations = [DURATIONS[key] for key in _csv_values(req, "durationFilter", tuple(DURATIONS))]
    versions = _csv_values(req, "versionFilter")
    search = req.query.get("search", "").strip().lower()
    date_from, date_to = _time_param(req, "dateFrom"), _time_param(req, "dateTo")

    def keep(campaign, call, view) -> bool:
        kind = "retry" if call["attempt"] else "initial"
        version = world.agents[campaign["agentId"]]["versionId"]
        return (
            ("all" in attempts or kind in attempts)
            and (not agents or campaign["agentId"] in agents)
            and (not types or "telephony_outbound" in types)
            and (not statuses or view["status"] in statuses)
            and (not reasons or view["reason"] in reasons)
            and (not durations or any(lo <= view["duration"] < hi for lo, hi in durations))
            and (not versions or version in versions)
            and (not search or any(search in call[k].lower() for k in ("callId", "from", "to")))
            and (date_from is None or call["createdAt"] >= date_from)
            and (date_to is None or call["createdAt"] <= date_to)
        )

    return keep


def _view(call: dict) -> dict:
    """The sortable, filterable facts of a call, without rendering the whole log item."""
    outcome = outcome_of(call)
    ended = call["ended"]
    return {
        "status": outcome.status if ended else "in_progress",
        "reason": outcome.disconnection_reason if ended else None,
        "duration": outcome.duration if ended else 0,
        "updatedAt": calls.ended_at(call),
    }


def list_conversations(world, req) -> Response:
    page = req.int_param("page", 1)
    limit = req.int_param("limit", 5, maximum=500, clamp=True)  # 1..500, as documented
    sort_by = req.choice_param(
        "sortBy", ("createdAt", "updatedAt", "callDuration", "avgLatency"), "updatedAt"
    )
    descending = req.choice_param("sortOrder", ("asc", "desc"), "desc") == "desc"
    keep = _call_filter(world, req)
    campaign_ids = _csv_values(req, "campaignIds")
    if campaign_ids:
        campaigns = world.advance_only(sorted(campaign_ids))
    else:
        world.advance_all()
        campaigns = list(world.campaigns.values())
    rows = []
    for campaign in campaigns:
        for call in campaign["calls"]:
            view = _view(call)
            if keep(campaign, call, view):
                rows.append((campaign, call, view))

    def sort_key(row):
        _campaign, call, view = row
        if sort_by == "avgLatency":
            return calls.avg_latency(world, call)
        return {
            "createdAt": call["createdAt"],
            "updatedAt": view["updatedAt"],
            "callDuration": view["duration"],
        }[sort_by]

    rows = ordered(rows, key=sort_key, descending=descending)
    shown, total_pages, has_more = paginate(rows, page, limit)
    return ok(
        {
            "logs": [calls.log_item(world, campaign, call) for campaign, call, _view in shown],
            "pagination": {
                "total": len(rows),
                "page": page,
                "limit": limit,
                "hasMore": has_more,
                "totalPages": total_pages,
            },
            "dispositionMetricsConfig": calls.DISPOSITION_CONFIG,
        }
    )


def get_conversation(world, req) -> Response:
    call_id = req.params["id"]
    if not CALL_ID.fullmatch(call_id):
        raise ApiError(400, f"Invalid callId: {call_id} (expected CALL-<timestamp>-<hex>)")
    location = world.call_index.get(call_id)
    if location is None:
        raise ApiError(404, "Conversation log not found")
    campaign_id, index = location
    campaign = world.campaign(campaign_id)
    call = campaign["calls"][index]
    agent = render_agent(world.agents[campaign["agentId"]])
    return ok(calls.detail(world, campaign, call, agent))


ROUTES = [
    ("GET", "/agent", list_agents),
    ("GET", "/agent/{id}", get_agent),
    ("GET", "/product/phone-numbers", list_phone_numbers),
    ("GET", "/conversation", list_conversations),
    ("GET", "/conversation/{id}", get_conversation),
]
