"""One call's extras: its retry family, a presigned recording link, and its live events.

`GET /events?callId=` is the one streamed route: the handler validates under the world
lock and answers with a `stream` that re-reads the world (briefly taking the lock) every
`POLL_S`, so a live call's transcript goes out line by line as simulated time passes and
the stream closes with `sse_close` when the call ends.
"""

import hashlib
import hmac
import io
import json
import math
import struct
import time
import wave
from urllib.parse import quote

from . import calls
from .dialer import outcome_of
from .wire import CALL_ID, ApiError, Response, js_time, object_id, ok

LINK_SECONDS = 300  # presigned recording links live this long (simulated time)
RECORDING_PREFIX = "/recordings/"
POLL_S = 0.05  # real seconds between looks at a live call
STREAM_LIMIT_S = 900  # real seconds; a frozen clock must not hold a thread forever
SSE_TYPE = "text/event-stream; charset=utf-8"


def _locate(world, call_id: str, *, bad: str = "Invalid call ID format"):
    if not CALL_ID.fullmatch(call_id or ""):
        raise ApiError(400, bad)
    location = world.call_index.get(call_id)
    if location is None:
        raise ApiError(404, "Conversation log not found")
    campaign_id, index = location
    campaign = world.campaign(campaign_id)
    return campaign, campaign["calls"][index]


def list_retries(world, req) -> Response:
    """The whole family (any member may be named): one contact's calls in attempt order."""
    campaign, call = _locate(world, req.params["callId"])
    participant = campaign["participants"][call["participant"]]
    family = [campaign["calls"][index] for index in participant["calls"]]
    return ok({"retries": [calls.log_item(world, campaign, member) for member in family]})


# --- recordings --------------------------------------------------------------------------


def _signature(world, call_id: str, issued: int) -> str:
    key = f"{world.seed}|{world.state['organizationId']}".encode()
    return hmac.new(key, f"{call_id}|{issued}".encode(), hashlib.sha256).hexdigest()[:32]


def recording_url(world, req) -> Response:
    campaign, call = _locate(world, req.params["callId"])
    if not calls.has_recording(call):
        raise ApiError(404, "No recording found for this call")
    host = req.headers.get("host", "127.0.0.1")
    issued = world.now
    query = (
        f"X-Amz-Date={issued}&X-Amz-Expires={LINK_SECONDS}"
        f"&X-Amz-Signature={_signature(world, call['callId'], issued)}"
    )
    url = f"http://{host}{RECORDING_PREFIX}{quote(call['callId'])}.wav?{query}"
    return ok({"presignedUrl": url})


def serve_recording(app, path: str, query: dict) -> Response:
    """The "S3" side of a presigned link: no key, only a valid unexpired signature."""
    call_id = path.removeprefix(RECORDING_PREFIX).removesuffix(".wav")
    now = app.now_ms()
    with app.lock:
        world = app.world
        try:
            issued = int(query.get("X-Amz-Date", ""))
        except ValueError:
            issued = -1
        expected = _signature(world, call_id, issued)
        signed = hmac.compare_digest(expected, query.get("X-Amz-Signature", ""))
        if not signed or call_id not in world.call_index:
            return _s3_error(403, "SignatureDoesNotMatch")
        if now > issued + LINK_SECONDS * 1000:
            return _s3_error(403, "Request has expired")
        campaign_id, index = world.call_index[call_id]
        seconds = outcome_of(world.campaigns[campaign_id]["calls"][index]).duration
    return Response(200, _tone(min(seconds, 3.0)), "audio/wav")


def _s3_error(status: int, message: str) -> Response:
    body = f"<Error><Code>AccessDenied</Code><Message>{message}</Message></Error>"
    return Response(status, body.encode(), "application/xml")


def _tone(seconds: float) -> bytes:
    """A short, quiet 440 Hz WAV: real audio a browser can play, a few kB."""
    rate = 8000
    frames = b"".join(
        struct.pack("<h", int(2000 * math.sin(2 * math.pi * 440 * i / rate)))
        for i in range(int(rate * seconds))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


# --- live events -------------------------------------------------------------------------


def subscribe_events(world, req) -> Response:
    call_id = req.query.get("callId", "")
    if not call_id:
        raise ApiError(400, "callId is required")
    _campaign, call = _locate(world, call_id, bad=f"Invalid callId: {call_id}")
    if call["ended"]:
        raise ApiError(400, "Call is already completed; only active calls can be subscribed to")
    return Response(200, b"", SSE_TYPE, {"Cache-Control": "no-cache"}, stream=_stream(call_id))


def _frame(payload: dict) -> bytes:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


def _events(world, campaign: dict, call: dict, now: int) -> list[dict]:
    """Every event of the call up to `now`, in order (the stream sends the new tail)."""
    call_id = call["callId"]
    out = [("call_start", call["createdAt"], {"telephony_id": f"sim-{call['_id'][:12]}"})]
    for line in calls.live_transcript(world, campaign, call, now):
        at = line["at"]
        if line["role"] == "agent":
            out.append(("tts_completed", at, {"tts_text": line["content"], "tts_latency": 180}))
        else:
            words = line["content"].split()
            partial = " ".join(words[: max(1, len(words) // 2)])
            out.append(("user_interim_transcription", at, {"interim_transcription_text": partial}))
            out.append(("user_transcription", at, {"user_transcription_text": line["content"]}))
    if call["ended"]:
        outcome = outcome_of(call)
        reason = {"reason": outcome.disconnection_reason, "status": outcome.status}
        out.append(("call_end", calls.ended_at(call), {"metadata": reason}))
    return [
        {
            "event_type": kind,
            "event_id": object_id(world.seed, call_id, "event", n),
            "timestamp": js_time(at),
            "call_id": call_id,
            **extra,
        }
        for n, (kind, at, extra) in enumerate(out)
    ]


def _stream(call_id: str):
    def run(app):
        yield _frame({"event_type": "sse_init", "event_time": js_time(app.now_ms())})
        sent, ended = 0, False
        deadline = time.monotonic() + STREAM_LIMIT_S
        while not ended and time.monotonic() < deadline and not app.stopping.is_set():
            with app.lock:
                world = app.world
                now = world.tick(app.clock.now_ms())
                location = world.call_index.get(call_id)
                if location is None:  # deleted or the world was reset
                    events, ended = [], True
                else:
                    campaign = world.campaign(location[0])
                    call = campaign["calls"][location[1]]
                    events, ended = _events(world, campaign, call, now), call["ended"]
            for event in events[sent:]:
                yield _frame(event)
            sent = max(sent, len(events))
            if not ended:
                app.stopping.wait(POLL_S)
        yield _frame({"event_type": "sse_close", "event_time": js_time(app.now_ms())})

    return run


ROUTES = [
    ("GET", "/conversation/{callId}/retries", list_retries),
    ("GET", "/conversation/{callId}/recording/download-url", recording_url),
    ("GET", "/events", subscribe_events),
]
