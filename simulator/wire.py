"""What travels on the wire: ids, timestamps, requests, responses and error envelopes."""

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

JSON_TYPE = "application/json; charset=utf-8"
CSV_TYPE = "text/csv; charset=utf-8"

OBJECT_ID = re.compile(r"[0-9a-f]{24}")
CALL_ID = re.compile(r"CALL-\d{13}-[0-9a-f]{6}")


def _digest(parts: tuple, size: int) -> bytes:
    return hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=size).digest()


def object_id(*parts) -> str:
    """A Mongo-style 24-hex id that is a pure function of its parts (seed, namespace, ...)."""
    return _digest(parts, 12).hex()


def call_id(at_ms: int, *parts) -> str:
    """`CALL-<13-digit epoch ms>-<6 hex>`, the shape Atoms uses for call ids."""
    return f"CALL-{at_ms:013d}-{_digest(parts, 3).hex()}"


def task_uuid(*parts) -> str:
    return str(uuid.UUID(bytes=_digest(parts, 16), version=4))


def unit(*parts) -> float:
    """A uniform number in [0, 1) derived from its parts: seeded randomness without state."""
    return int.from_bytes(_digest(parts, 8), "big") / 2**64


def js_time(ms: int) -> str:
    """JavaScript's `Date.toISOString()`: millisecond precision, always UTC with `Z`."""
    stamp = datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{ms % 1000:03d}Z"


def parse_time(value: str) -> int | None:
    """Epoch ms of an ISO-8601 datetime (naive values are taken as UTC), or None if invalid."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def is_object_id(value: str) -> bool:
    return bool(OBJECT_ID.fullmatch(value))


class ApiError(Exception):
    """Raised by handlers; the server turns it into `{"status": false, "errors": [...]}`."""

    def __init__(self, status: int, *messages: str, status_value: object = False):
        super().__init__(status, messages)
        self.status = status
        self.messages = list(messages)
        # One documented quirk (GET /audience/{id}/members 400) sends "status": "error".
        self.status_value = status_value

    def body(self) -> dict:
        return {"status": self.status_value, "errors": self.messages}


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    # A streamed answer (server-sent events): called with the app after the headers go out,
    # it yields the body's chunks; `body` is then ignored.
    stream: object = None


def json_response(status: int, payload, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(status, body, JSON_TYPE, headers or {})


def ok(data=None, status: int = 200) -> Response:
    """The usual `{"status": true, "data": ...}` envelope; data=None gives `{"status": true}`."""
    payload = {"status": True} if data is None else {"status": True, "data": data}
    return json_response(status, payload)


def error_response(error: ApiError) -> Response:
    return json_response(error.status, error.body())


@dataclass
class Request:
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""
    json: object = None
    params: dict[str, str] = field(default_factory=dict)

    def json_object(self) -> dict:
        if not isinstance(self.json, dict):
            raise ApiError(400, "Request body must be a JSON object")
        return self.json

    def int_param(
        self, name: str, default: int, *, maximum: int | None = None, clamp: bool = False
    ) -> int:
        """A positive integer query parameter; above `maximum` it is clamped, and below 1
        it is clamped too when `clamp` is set (else a 400)."""
        raw = self.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(400, f"{name} must be a positive integer") from None
        if value < 1 and not clamp:
            raise ApiError(400, f"{name} must be a positive integer")
        return min(max(value, 1), maximum) if maximum else max(value, 1)

    def choice_param(self, name: str, choices: tuple[str, ...], default: str | None = None):
        value = self.query.get(name) or default
        if value is not None and value not in choices:
            raise ApiError(400, f"{name} must be one of: {', '.join(choices)}")
        return value


def ordered(items, key, *, descending: bool) -> list:
    """Sort by `key`; equal keys keep creation order, newest first when descending.

    Real ObjectIds grow with time, so Atoms breaks ties in creation order; ours are hashes,
    so the tie-break comes from the order items were stored in instead.
    """
    items = list(items)
    if descending:
        items.reverse()
    return sorted(items, key=key, reverse=descending)


def paginate(items: list, page: int, size: int) -> tuple[list, int, bool]:
    """Slice one page; Atoms' page-size parameters count items per page, not items to skip."""
    total_pages = -(-len(items) // size)
    start = (page - 1) * size
    return items[start : start + size], total_pages, page < total_pages
