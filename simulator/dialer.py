"""The dialing model: a campaign's lifecycle and calls, driven by its own event heap.

Every campaign owns a heap of timed events (activation after a start, the end of a pause,
the end of each call, a contact becoming due for a retry, a scheduled start). `advance`
replays the events that are due up to a simulated instant, so a campaign's state is a
function of simulated time and of the actions taken on it, never of how often anyone polls.
Campaigns never interact, which is why one can be caught up without touching the others.

All state is plain JSON-ready data (dicts, lists, ints), so persistence is a `json.dumps`.
"""

import heapq

from . import outcomes
from .wire import ApiError, call_id, object_id, task_uuid

LINES = 3  # calls a running campaign keeps in flight at once
PROCESSING_MS = 3_000  # a start or resume is queued this long before dialing begins
PAUSE_MS = 3_000  # a pause request takes this long to land
RING_MS = 5_000  # a call younger than this is still queued/ringing: a pause cancels it
NO_ACTIVE_NUMBER = "All phone numbers of this campaign are inactive"


def paced(world, ms: int) -> int:
    """A dialing duration (a call, a retry wait) at the world's pace: `--pace 30` makes
    calls and retry waits 30 times shorter while the clock itself stays on real time, so
    every timestamp still agrees with the wall clock."""
    return max(1, round(ms / world.pace))


def create(world, fields: dict, members: list[dict], phone_column: str, now: int) -> dict:
    """A new campaign whose participants are a snapshot of the audience's current members."""
    campaign_id = world.new_id()
    campaign = {
        **fields,
        "_id": campaign_id,
        "organization": world.state["organizationId"],
        "createdBy": world.state["userId"],
        "participantsCount": len(members),
        "status": "scheduled" if fields.get("scheduledAt") else "draft",
        "retryAttempts": 0,
        "pausedAt": None,
        "cancelledCallsCount": 0,
        "createdAt": now,
        "updatedAt": now,
        "executions": [],
        "events": [],
        "participants": [
            {
                "memberId": member["_id"],
                "phone": str(member["data"].get(phone_column, "")),
                "data": dict(member["data"]),
                "attempts": 0,
                "calls": [],
                "lastExecution": 0,
            }
            for member in members
        ],
        "calls": [],
        "heap": [],
        "seq": 0,
        "token": 0,
        "starts": 0,
        "pendingTrigger": None,
        "pausePending": False,
        "nextFresh": 0,
        "retryQueue": [],
        "activeCalls": 0,
        "callsPlaced": 0,
        "called": 0,
        "connected": 0,
        "terminal": 0,
    }
    _event(world, campaign, "created", "user", now)
    if fields.get("scheduledAt"):
        _schedule(campaign, fields["scheduledAt"], "scheduled_start")
    return campaign


def advance(world, campaign: dict, now: int) -> None:
    """Replay every event due at or before `now` (cheap when nothing is due)."""
    heap = campaign["heap"]
    while heap and heap[0][0] <= now:
        at, _seq, kind, arg = heapq.heappop(heap)
        _HANDLERS[kind](world, campaign, at, arg)
        _fill_lines(world, campaign, at)


def request_start(world, campaign: dict, now: int) -> str:
    """Queue a start (or a resume of a paused campaign); returns the task id."""
    advance(world, campaign, now)
    status = campaign["status"]
    if status == "processing":
        raise ApiError(400, "Campaign is already being processed")
    if status == "running":
        raise ApiError(400, "Campaign is already running")
    if status in ("completed", "failed"):
        raise ApiError(400, f"Campaign is {status} and cannot be started again")
    trigger = "resume" if campaign["executions"] else "initial_start"
    campaign["pendingTrigger"] = [trigger, "user"]
    _begin_processing(campaign, now)
    campaign["starts"] += 1
    return task_uuid(world.seed, campaign["_id"], "start", campaign["starts"])


def request_pause(world, campaign: dict, now: int) -> None:
    advance(world, campaign, now)
    if campaign["pausePending"]:
        raise ApiError(400, "Campaign is already being paused")
    if campaign["status"] == "paused":
        raise ApiError(400, "Campaign is already paused")
    if campaign["status"] not in ("running", "processing"):
        status = campaign["status"]
        raise ApiError(400, f"Only a running campaign can be paused (status: {status})")
    # Dialing stops at once; the status flips when the pause task lands. Calls not yet
    # answered are cancelled (cancelledCallsCount); calls in conversation finish.
    campaign["pausePending"] = True
    _cancel_ringing(world, campaign, now)
    campaign["token"] += 1
    _schedule(campaign, now + PAUSE_MS, "pause_done", campaign["token"])


def metrics(campaign: dict) -> dict:
    return {
        "total_participants": campaign["participantsCount"],
        "contacts_called": campaign["called"],
        "contacts_connected": campaign["connected"],
    }


def outcome_of(call: dict) -> outcomes.Outcome:
    return outcomes.Outcome.unpack(call["outcome"])


# --- internals -------------------------------------------------------------------------


def _schedule(campaign: dict, at: int, kind: str, arg=None) -> None:
    campaign["seq"] += 1
    heapq.heappush(campaign["heap"], [at, campaign["seq"], kind, arg])


def _set_status(campaign: dict, status: str, at: int) -> None:
    campaign["status"] = status
    campaign["updatedAt"] = at


def _event(world, campaign: dict, action: str, source: str, at: int) -> None:
    events = campaign["events"]
    events.append(
        {
            "_id": object_id(world.seed, campaign["_id"], "event", len(events)),
            "triggerSource": source,
            "eventAction": action,
            "createdAt": at,
        }
    )


def _begin_processing(campaign: dict, at: int) -> None:
    _set_status(campaign, "processing", at)
    campaign["token"] += 1
    _schedule(campaign, at + PROCESSING_MS, "activate", campaign["token"])


def _on_scheduled_start(world, campaign: dict, at: int, _arg) -> None:
    if campaign["status"] != "scheduled":  # started by hand before its time
        return
    campaign["pendingTrigger"] = ["scheduled_start", "scheduler"]
    _begin_processing(campaign, at)


def _on_activate(world, campaign: dict, at: int, token: int) -> None:
    if token != campaign["token"] or campaign["status"] != "processing":
        return  # superseded by a pause that arrived while processing
    if not _has_active_number(world, campaign):
        _fail(world, campaign, NO_ACTIVE_NUMBER, at)
        return
    trigger, source = campaign["pendingTrigger"]
    executions = campaign["executions"]
    executions.append(
        {
            "executionNumber": len(executions) + 1,
            "status": "running",
            "totalMembers": len(campaign["participants"]) - campaign["terminal"],
            "processedMembers": 0,
            "failedMembers": 0,
            "startedAt": at,
            "completedAt": None,
            "trigger": trigger,
        }
    )
    _set_status(campaign, "running", at)
    _event(world, campaign, "resumed" if trigger == "resume" else "started", source, at)


def _on_pause_done(world, campaign: dict, at: int, token: int) -> None:
    if token != campaign["token"] or campaign["status"] not in ("running", "processing"):
        return  # the campaign completed before the pause landed
    campaign["pausePending"] = False
    campaign["pausedAt"] = at
    _set_status(campaign, "paused", at)
    if campaign["executions"] and campaign["executions"][-1]["status"] == "running":
        campaign["executions"][-1]["status"] = "paused"
    _event(world, campaign, "paused", "user", at)


def _on_retry_due(world, campaign: dict, at: int, _arg) -> None:
    """Nothing to record: the wake-up lets `_fill_lines` dial the contact now due."""


def _on_call_end(world, campaign: dict, at: int, index: int) -> None:
    call = campaign["calls"][index]
    if call["ended"]:
        return  # cancelled by a pause before its scheduled end
    call["ended"] = True
    campaign["activeCalls"] -= 1
    participant = campaign["participants"][call["participant"]]
    execution = campaign["executions"][-1]
    if participant["lastExecution"] != execution["executionNumber"]:
        participant["lastExecution"] = execution["executionNumber"]
        execution["processedMembers"] += 1
    # The participant becomes COMPLETED, NO_ANSWER (retry pending) or FAILED (exhausted).
    if outcome_of(call).connected:
        campaign["connected"] += 1
        campaign["terminal"] += 1
    elif participant["attempts"] <= campaign["maxRetries"]:
        due = at + paced(world, campaign["retryDelay"] * 60_000)
        heapq.heappush(campaign["retryQueue"], [due, call["participant"]])
        _schedule(campaign, due, "retry_due")
    else:
        execution["failedMembers"] += 1
        campaign["terminal"] += 1
    if execution["status"] != "completed" and (
        execution["processedMembers"] == execution["totalMembers"]
    ):
        execution["status"] = "completed"
        execution["completedAt"] = at
    if campaign["terminal"] == len(campaign["participants"]) and campaign["status"] != "failed":
        campaign["pausePending"] = False
        _set_status(campaign, "completed", at)
        _event(world, campaign, "completed", "system", at)


def _fail(world, campaign: dict, message: str, at: int) -> None:
    """Atoms gives up on the campaign: `failed` with `error` and `failedAt`."""
    campaign["error"] = message
    campaign["failedAt"] = at
    campaign["pausePending"] = False
    _set_status(campaign, "failed", at)
    if campaign["executions"] and campaign["executions"][-1]["status"] == "running":
        campaign["executions"][-1]["status"] = "failed"
    _event(world, campaign, "failed", "system", at)


def _has_active_number(world, campaign: dict) -> bool:
    """A caller id we do not rent (an agent's SIP number) counts as active."""
    active = {
        phone["attributes"]["phoneNumber"]: phone["isActive"]
        for phone in world.phone_numbers.values()
    }
    return any(active.get(number, True) for number in campaign["fromNumbers"])


def _cancel_ringing(world, campaign: dict, at: int) -> None:
    for index in range(len(campaign["calls"]) - 1, -1, -1):
        call = campaign["calls"][index]
        if call["ended"]:
            if at - call["createdAt"] >= RING_MS:
                break  # calls are stored in dialing order: the rest are older still
            continue
        if at - call["createdAt"] < RING_MS:
            call["outcome"] = outcomes.cancelled((at - call["createdAt"]) // 100).pack()
            # It ends now, and its log says so (`updatedAt`): stamped with the end it was
            # scheduled for, a change seen at once carried a time still to come, and a
            # copy that had read up to that time skipped every call ending before it.
            call["endsAt"] = at
            campaign["cancelledCallsCount"] += 1
            _on_call_end(world, campaign, at, index)


def _fill_lines(world, campaign: dict, at: int) -> None:
    if campaign["status"] != "running" or campaign["pausePending"]:
        return
    if not _has_active_number(world, campaign):
        _fail(world, campaign, NO_ACTIVE_NUMBER, at)
        return
    participants = campaign["participants"]
    retries = campaign["retryQueue"]
    while campaign["activeCalls"] < LINES:
        # Contacts due for a retry go first: they have waited at least retryDelay already.
        if retries and retries[0][0] <= at:
            index = heapq.heappop(retries)[1]
        elif campaign["nextFresh"] < len(participants):
            index = campaign["nextFresh"]
            campaign["nextFresh"] += 1
        else:
            return
        _place_call(world, campaign, index, at)


def _place_call(world, campaign: dict, index: int, at: int) -> None:
    participant = campaign["participants"][index]
    attempt = participant["attempts"]
    participant["attempts"] += 1
    numbers = campaign["fromNumbers"]
    outcome = outcomes.decide(world.seed, campaign["_id"], participant["memberId"], attempt)
    call = {
        "_id": object_id(world.seed, campaign["_id"], participant["memberId"], attempt, "log"),
        "callId": call_id(at, world.seed, campaign["_id"], participant["memberId"], attempt),
        "participant": index,
        "memberId": participant["memberId"],
        "attempt": attempt,
        "from": numbers[campaign["callsPlaced"] % len(numbers)],
        "to": participant["phone"],
        "createdAt": at,
        "outcome": outcome.pack(),
        "ended": False,
        "retryCallId": None,
        "endsAt": at + paced(world, outcome.duration_ms),
    }
    campaign["callsPlaced"] += 1
    if attempt == 0:
        campaign["called"] += 1
    else:
        campaign["retryAttempts"] += 1
        campaign["updatedAt"] = at
        campaign["calls"][participant["calls"][-1]]["retryCallId"] = call["callId"]
    participant["calls"].append(len(campaign["calls"]))
    campaign["calls"].append(call)
    campaign["activeCalls"] += 1
    world.register_call(campaign, call)
    _schedule(campaign, call["endsAt"], "call_end", len(campaign["calls"]) - 1)


_HANDLERS = {
    "scheduled_start": _on_scheduled_start,
    "activate": _on_activate,
    "pause_done": _on_pause_done,
    "retry_due": _on_retry_due,
    "call_end": _on_call_end,
}
