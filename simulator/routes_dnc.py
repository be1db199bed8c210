"""`GET /dnc`: the organization's do-not-call entries, read-only as in the SDK.

Atoms creates entries from call outcomes or a manual upload in its console; neither has an
API, so the simulator's entries come from the seeded world and the `/_sim/dnc` control.
"""

from .wire import ApiError, Response, is_object_id, js_time, object_id, ok, ordered, paginate

MAX_PAGE_SIZE = 500


def dnc_entries(world) -> list:
    # Worlds saved before the list existed have no key: they simply have no entries.
    return world.state.setdefault("dnc", [])


def add_entry(world, phone_number: str, *, agent_id=None, source="manual", call_id=None,
              at=None) -> dict:
    entries = dnc_entries(world)
    at = world.now if at is None else at
    entry = {
        # Own namespace: DNC ids must not shift the ids of everything created after them.
        "id": object_id(world.seed, "dnc", len(entries) + 1),
        "orgId": world.state["organizationId"],
        "phoneNumber": phone_number,
        "source": source,
        "detectedInCallId": call_id,
        "createdAt": at,
        "updatedAt": at,
    }
    if agent_id:
        entry["agentId"] = agent_id
    entries.append(entry)
    return entry


def _shape(entry: dict) -> dict:
    return {**entry, "createdAt": js_time(entry["createdAt"]),
            "updatedAt": js_time(entry["updatedAt"])}


def list_dnc(world, req) -> Response:
    agent_id = req.query.get("agentId", "").strip()
    if agent_id and not is_object_id(agent_id):
        raise ApiError(400, "Invalid input")
    if agent_id and agent_id not in world.agents:
        raise ApiError(404, "Resource not found")
    page = req.int_param("page", 1)
    size = req.int_param("offset", 50, maximum=MAX_PAGE_SIZE, clamp=True)
    sort_field = req.choice_param("sortField", ("createdAt", "phoneNumber"), "createdAt")
    descending = req.choice_param("sortOrder", ("asc", "desc"), "desc") == "desc"
    search = "".join(ch for ch in req.query.get("search", "") if ch.isalnum()).lower()
    entries = [
        entry for entry in dnc_entries(world)
        if (not agent_id or entry.get("agentId") == agent_id)
        and (not search or search in entry["phoneNumber"].lower())
    ]
    entries = ordered(entries, key=lambda e: e[sort_field], descending=descending)
    items, total_pages, has_more = paginate(entries, page, size)
    return ok({
        "entries": [_shape(entry) for entry in items],
        "pagination": {"page": page, "offset": size, "total": len(entries),
                       "totalPages": total_pages, "hasMore": has_more},
    })


ROUTES = [
    ("GET", "/dnc", list_dnc),
]
