"""Test controls under `/_sim` (no auth, no faults, not counted): clock, faults, reset, stats."""

from .routes_dnc import add_entry
from .wire import ApiError, Response, js_time, json_response


def _number(body: dict, key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ApiError(400, f"{key} must be a number of at least 0")
    return value


def health(app, body: dict) -> Response:
    now = app.now_ms()
    return json_response(200, {"status": "ok", "now": js_time(now), "seed": app.world.seed})


def stats(app, body: dict) -> Response:
    return json_response(200, app.stats.snapshot())


def faults(app, body: dict) -> Response:
    return json_response(200, {"faults": app.faults.configure(body)})


def clock(app, body: dict) -> Response:
    advance, speed = _number(body, "advance"), _number(body, "speed")
    if advance:
        app.clock.advance(advance)
    if speed is not None:
        app.clock.set_speed(speed)
    now = app.now_ms()
    return json_response(200, {"now": js_time(now), "nowMs": now, "speed": app.clock.speed})


def reset(app, body: dict) -> Response:
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ApiError(400, "seed must be an integer")
    app.reset(seed)
    now = app.now_ms()
    return json_response(200, {"seed": app.world.seed, "now": js_time(now)})


def dnc(app, body: dict) -> Response:
    """Add a do-not-call entry, as a call outcome or a console upload would in Atoms."""
    phone = body.get("phoneNumber")
    if not isinstance(phone, str) or not phone.strip():
        raise ApiError(400, "phoneNumber is required")
    agent_id = body.get("agentId")
    if agent_id is not None and agent_id not in app.world.agents:
        raise ApiError(400, "agentId must be an agent of this world")
    app.now_ms()  # moves the world's clock to now (takes the lock itself)
    with app.lock:
        entry = add_entry(app.world, phone.strip(), agent_id=agent_id,
                          source=str(body.get("source") or "manual"))
    return json_response(200, {"id": entry["id"]})


def phone_number(app, body: dict) -> Response:
    """Switch a rented number on or off, as the provider would (e.g. a lapsed rental)."""
    number, active = body.get("phoneNumber"), body.get("isActive")
    if not isinstance(active, bool):
        raise ApiError(400, "isActive must be true or false")
    app.now_ms()
    with app.lock:
        for phone in app.world.phone_numbers.values():
            if phone["attributes"]["phoneNumber"] == number:
                phone["isActive"] = active
                return json_response(200, {"id": phone["_id"], "isActive": active})
    raise ApiError(404, f"No rented number {number}")


ROUTES = {
    ("GET", "/_sim/health"): health,
    ("GET", "/_sim/stats"): stats,
    ("POST", "/_sim/faults"): faults,
    ("POST", "/_sim/clock"): clock,
    ("POST", "/_sim/reset"): reset,
    ("POST", "/_sim/dnc"): dnc,
    ("POST", "/_sim/phone-number"): phone_number,
}
