"""How an Atoms response or a network failure becomes a body or an AtomsError.

Decodes bodies, reads Atoms' several error envelopes, parses Retry-After, and decides
for each failure whether it is permanent and whether a write may nevertheless have been
carried out (`outcome_unknown`). Nothing here ever keeps the API key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from campaigns.atoms.errors import (
    DEFAULT_RETRY_AFTER_SECONDS,
    AtomsError,
    AtomsNotAuthorised,
    AtomsNotFound,
    AtomsRateLimited,
    AtomsRejected,
    AtomsUnavailable,
)
from campaigns.atoms.redaction import redact

# A 400 for a request naming one object by id that says the object is missing.
_NOT_FOUND_WORDING = re.compile(r"\bnot found\b|\bno \w+ found\b", re.IGNORECASE)
# A 400 to a read of one object by id saying the id cannot name any ("Invalid callId:
# CALL-1234567-abc"): there is no such object either (its page answers 404, not "Atoms
# failed, try again"). Only for reads: a start refused for an "Invalid agentId" says
# nothing about whether the campaign exists.
_INVALID_ID_WORDING = re.compile(r"\binvalid \w*id\b", re.IGNORECASE)



def decode_json(response: httpx.Response) -> Any:
    """The JSON body, or None when there is none or it is not JSON."""
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None


def extract_messages(body: Any) -> tuple[str, ...]:
    """Atoms' human messages, from whichever error envelope the endpoint uses:
    `{"errors": [...]}`, `{"error": {"message"}}`, `{"error": "..."}` or `{"message"}`."""
    if not isinstance(body, Mapping):
        return ()
    found: list[str] = []
    errors = body.get("errors")
    if isinstance(errors, str):
        errors = [errors]
    for item in errors if isinstance(errors, list) else []:
        if isinstance(item, Mapping):
            item = item.get("message") or item.get("msg")
        if isinstance(item, str) and item.strip():
            found.append(item.strip())
    error = body.get("error")
    if isinstance(error, Mapping):
        error = error.get("message")
    if isinstance(error, str) and error.strip():
        found.append(error.strip())
    message = body.get("message")
    if not found and isinstance(message, str) and message.strip():
        found.append(message.strip())
    return tuple(found)


def is_failure_envelope(body: Any) -> bool:
    """A 2xx whose envelope nevertheless says it failed."""
    return isinstance(body, Mapping) and (
        body.get("status") is False or body.get("status") == "error"
        or body.get("success") is False
    )


def parse_retry_after(response: httpx.Response, body: Any, now: datetime | None = None) -> float:
    """Seconds to wait, from `Retry-After` (seconds or HTTP-date), `retry-after-ms`, or the
    body's `rateLimit.retryAfterSec`, in that order."""
    header = response.headers.get("retry-after", "").strip()
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
            return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
    millis = response.headers.get("retry-after-ms", "").strip()
    try:
        return max(0.0, float(millis) / 1000)
    except ValueError:
        pass
    rate_limit = body.get("rateLimit") if isinstance(body, Mapping) else None
    if isinstance(rate_limit, Mapping):
        seconds = rate_limit.get("retryAfterSec")
        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
            return max(0.0, float(seconds))
    return DEFAULT_RETRY_AFTER_SECONDS


def error_from_response(
    response: httpx.Response,
    *,
    idempotent: bool,
    not_found_on_400: bool,
    secret: str,
) -> AtomsError:
    """The error for a response that is not a success; `response` must be read already."""
    status = response.status_code
    body = decode_json(response)
    messages = tuple(redact(m, secret) for m in extract_messages(body))
    where = f"{response.request.method} {response.request.url.path}"
    summary = f"{where} answered HTTP {status}"
    if messages:
        summary += ": " + "; ".join(messages)
    common: dict[str, Any] = {"status": status, "messages": messages}

    if status == 429:
        return AtomsRateLimited(summary, retry_after=parse_retry_after(response, body), **common)
    if status >= 500 or status == 408:
        # The server got the request; for a create or start it may already have acted.
        return AtomsUnavailable(summary, outcome_unknown=not idempotent, **common)
    if status in (401, 403):
        return AtomsNotAuthorised(summary, **common)
    wording = (_NOT_FOUND_WORDING, _INVALID_ID_WORDING) if idempotent else (_NOT_FOUND_WORDING,)
    if status == 404 or (status == 400 and not_found_on_400 and any(
            pattern.search(m) for pattern in wording for m in messages)):
        return AtomsNotFound(summary, **common)
    if 400 <= status < 500 or is_failure_envelope(body):
        return AtomsRejected(summary, **common)
    # A redirect or another surprise: nothing was done, and the base URL is probably wrong.
    return AtomsUnavailable(summary, outcome_unknown=False, **common)


# Raised before a single byte of the request could reach Atoms.
_NEVER_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.ProxyError,
    httpx.LocalProtocolError,
)


def error_from_transport(
    exc: httpx.TransportError, *, method: str, path: str, idempotent: bool
) -> AtomsUnavailable:
    never_sent = isinstance(exc, _NEVER_SENT)
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
    # The exception text comes from the socket layer and never includes request headers.
    detail = str(exc) or type(exc).__name__
    return AtomsUnavailable(
        f"{method} {path} {kind} ({type(exc).__name__}: {detail})",
        outcome_unknown=not idempotent and not never_sent,
        timed_out=isinstance(exc, httpx.TimeoutException),
    )


def shape_error(response: httpx.Response, detail: str, *, idempotent: bool) -> AtomsUnavailable:
    """A success status whose body is not what Atoms documents. Treating it as "nothing
    there" would make lists look empty and counters drop to zero, so it is an error."""
    return AtomsUnavailable(
        f"{response.request.method} {response.request.url.path} answered HTTP "
        f"{response.status_code} with an unexpected body: {detail}",
        status=response.status_code,
        outcome_unknown=not idempotent,
    )
