"""Call-log shapes: list items, the single-call detail, and the per-attempt export form."""

from .dialer import outcome_of
from .wire import js_time, unit

# `.invalid` never resolves: the links look real but cannot leak anywhere.
RECORDINGS = "https://recordings.atoms-sim.invalid"
DISPOSITION_CONFIG = [{"identifier": "interested", "type": "BOOLEAN"}]
_REPLIES = ("Sure, go ahead.", "Yes, what is this about?", "Okay, but quickly please.")
_CLOSINGS = ("That works for me, thanks.", "Not right now, maybe later.", "Please send details.")
_TURNS = 5  # lines in a connected call's transcript


def ended_at(call: dict) -> int:
    if not call["ended"]:
        return call["createdAt"]
    # Calls placed before the pace existed (an older state file) end after their duration.
    return call.get("endsAt", call["createdAt"] + outcome_of(call).duration_ms)


def has_recording(call: dict) -> bool:
    return call["ended"] and outcome_of(call).kind in ("connected", "voicemail")


def log_item(world, campaign: dict, call: dict) -> dict:
    """One entry of `GET /conversation` (`campaignId` is an extra key, see README)."""
    outcome = outcome_of(call)
    ended = call["ended"]
    participant = campaign["participants"][call["participant"]]
    item = {
        "_id": call["_id"],
        "callId": call["callId"],
        "status": outcome.status if ended else "in_progress",
        "duration": outcome.duration if ended else 0,
        "from": call["from"],
        "to": call["to"],
        "type": "telephony_outbound",
        "agentId": campaign["agentId"],
        "retryCount": participant["attempts"] - 1,
        "retryAttemptNumber": call["attempt"],
        "createdAt": js_time(call["createdAt"]),
        "updatedAt": js_time(ended_at(call)),
        "callCost": outcome.cost if ended else 0,
        "isTest": False,
        "versionId": world.agents[campaign["agentId"]]["versionId"],
        "dispositionMetrics": {},
        "agentDispositionConfig": DISPOSITION_CONFIG,
        "campaignId": campaign["_id"],
    }
    if call["retryCallId"]:
        item["retryCallId"] = call["retryCallId"]
    if not ended:
        return item
    item["disconnectionReason"] = outcome.disconnection_reason
    if outcome.failure_reason:
        item["callFailureReason"] = outcome.failure_reason
    if has_recording(call):
        item["recordingUrl"] = f"{RECORDINGS}/{call['callId']}.mp3"
        item["recordingDualUrl"] = f"{RECORDINGS}/{call['callId']}-dual.mp3"
    if outcome.connected:
        interested = "yes" if unit(world.seed, call["callId"], "interested") < 0.4 else "no"
        item["dispositionMetrics"] = {"interested": interested}
        item["postCallAnalytics"] = {
            "summary": f"Spoke with {_first_name(participant)}; interested: {interested}.",
            "dispositionMetrics": [
                {"identifier": "interested", "value": interested, "confidence": 0.9}
            ],
        }
    return item


def detail(world, campaign: dict, call: dict, agent: dict) -> dict:
    """`GET /conversation/{callId}`: the log item plus transcript, variables and events."""
    item = log_item(world, campaign, call)
    outcome = outcome_of(call)
    participant = campaign["participants"][call["participant"]]
    synthesizer = agent.get("synthesizer", {}).get("voiceConfig", {})
    item.update(
        agent=agent,
        transcript=[],
        variables=dict(participant["data"]),
        events=[{"type": "call_initiated", "timestamp": js_time(call["createdAt"])}],
        voiceConfigUsed=dict(synthesizer),
        slmModelUsed=agent.get("slmModel", "electron"),
    )
    if call["ended"]:
        item["events"].append(
            {
                "type": "call_ended",
                "timestamp": item["updatedAt"],
                "reason": outcome.disconnection_reason,
            }
        )
    if call["ended"] and outcome.connected:
        item["transcript"] = _transcript(world, call, agent, participant)
        item["turnLatencyMetrics"] = _latency(world, call)
    return item


def avg_latency(world, call: dict) -> float:
    """Only connected calls have latency metrics; the others sort as zero."""
    if call["ended"] and outcome_of(call).connected:
        return _latency(world, call)["avgLatency"]
    return 0


def export_attempt(call: dict) -> dict:
    """One attempt inside the by-audience-member export (inner keys: a simulator choice)."""
    outcome = outcome_of(call)
    ended = call["ended"]
    return {
        "callId": call["callId"],
        "status": outcome.status if ended else "in_progress",
        "disposition": outcome.kind if ended else None,
        "duration": outcome.duration if ended else 0,
        "callCost": outcome.cost if ended else 0,
        "createdAt": js_time(call["createdAt"]),
    }


def _first_name(participant: dict) -> str:
    data = participant["data"]
    return str(data.get("firstName") or data.get("name") or "there")


def live_transcript(world, campaign: dict, call: dict, now: int) -> list[dict]:
    """The lines of a connected call spoken by `now` (`at` in epoch ms), for `/events`."""
    if outcome_of(call).kind != "connected":
        return []  # nobody talks on a ringing, voicemail or failed line
    agent = world.agents[campaign["agentId"]]
    participant = campaign["participants"][call["participant"]]
    start, end = call["createdAt"], ended_at(call) if call["ended"] else now
    lines = _transcript(world, call, agent, participant, ms=True)
    return [line for line in lines if line["at"] <= min(now, max(start, end))]


def _transcript(
    world, call: dict, agent: dict, participant: dict, *, ms: bool = False
) -> list[dict]:
    def pick(options, salt):
        return options[int(unit(world.seed, call["callId"], salt) * len(options))]

    lines = [  # as many as _TURNS
        ("agent", f"Hi {_first_name(participant)}, this is {agent['name']}. Is now a good time?"),
        ("user", pick(_REPLIES, "reply")),
        ("agent", agent.get("description") or "I'm calling with a quick update."),
        ("user", pick(_CLOSINGS, "closing")),
        ("agent", "Thank you for your time. Goodbye!"),
    ]
    step = (call.get("endsAt", call["createdAt"] + outcome_of(call).duration_ms)
            - call["createdAt"]) // len(lines)
    stamp = (lambda at: {"at": at}) if ms else (lambda at: {"timestamp": js_time(at)})
    return [
        {"role": role, "content": text, **stamp(call["createdAt"] + i * step)}
        for i, (role, text) in enumerate(lines)
    ]


def _latency(world, call: dict) -> dict:
    # One agent response follows each of the user's two turns.
    latencies = [round(450 + unit(world.seed, call["callId"], "latency", i) * 750) for i in (0, 1)]
    ordered = sorted(latencies)
    return {
        "turns": _TURNS,
        "avgLatency": round(sum(latencies) / len(latencies), 1),
        "medianLatency": ordered[len(ordered) // 2],
        "minLatency": ordered[0],
        "maxLatency": ordered[-1],
        "latencies": latencies,
        "transitions": [],
        "processedAt": js_time(ended_at(call)),
    }
