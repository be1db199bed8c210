"""Test controls under `/_sim` (no auth, no faults, not counted): clock, faults, reset, stats."""

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


ROUTES = {
    ("GET", "/_sim/health"): health,
    ("GET", "/_sim/stats"): stats,
    ("POST", "/_sim/faults"): faults,
    ("POST", "/_sim/clock"): clock,
    ("POST", "/_sim/reset"): reset,
}
