"""The one error hierarchy of the Atoms client, and how responses and network failures map
onto it. Import these names from `campaigns.atoms`, not from here.

Every error says whether trying again can help (`permanent`), carries Atoms' own messages,
and offers `user_message`: plain words for staff. None of them ever holds the API key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

DEFAULT_RETRY_AFTER_SECONDS = 1.0

_NOT_FOUND_WORDING = re.compile(r"\bnot found\b|\bno \w+ found\b", re.IGNORECASE)


class AtomsError(Exception):
    """Base of every failure talking to Atoms.

    `str(error)` is for logs and engineers; `user_message` is for the page.
    """

    permanent: bool = True

    def __init__(
        self,
        summary: str = "Atoms request failed",
        *,
        status: int | None = None,
        messages: tuple[str, ...] = (),
        permanent: bool | None = None,
    ) -> None:
        super().__init__(summary)
        self.status = status
        self.messages = tuple(messages)
        if permanent is not None:
            self.permanent = permanent

    @property
    def user_message(self) -> str:
        return _with_details("Atoms could not complete the request.", self.messages)


class AtomsUnavailable(AtomsError):
    """Atoms could not be reached or answered badly (network, timeout, 5xx, broken JSON).

    Transient: trying again later can succeed. `outcome_unknown` is True when a request
    that changes something may nevertheless have been carried out, so the caller must
    look before repeating it.
    """

    permanent = False

    def __init__(self, summary: str = "Atoms is unavailable", *, outcome_unknown: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(summary, **kwargs)
        self.outcome_unknown = outcome_unknown

    @property
    def user_message(self) -> str:
        if self.outcome_unknown:
            return (
                "Atoms did not confirm the request, so we cannot tell whether it was carried "
                "out. Refresh and check before trying again."
            )
        return "Atoms is not responding right now. Please try again in a minute."


class AtomsRateLimited(AtomsUnavailable):
    """Atoms asked us to slow down (429); `retry_after` is how many seconds it wants."""

    def __init__(self, summary: str = "Atoms rate limit reached", *,
                 retry_after: float = DEFAULT_RETRY_AFTER_SECONDS, **kwargs: Any) -> None:
        super().__init__(summary, **kwargs)
        self.retry_after = retry_after

    @property
    def user_message(self) -> str:
        seconds = max(1, round(self.retry_after))
        return f"Atoms is busy right now. Please try again in {seconds} seconds."


class AtomsRejected(AtomsError):
    """Atoms refused the request as given (400 and other client errors): repeating it
    unchanged will fail again. `plan_limit` marks the plan gate ("upgrade … plan")."""

    @property
    def plan_limit(self) -> bool:
        return any(
            "upgrade" in message.lower() and "plan" in message.lower()
            for message in self.messages
        )

    @property
    def user_message(self) -> str:
        if self.plan_limit:
            return _with_details(
                "Your Atoms plan does not allow this, or its limit has been reached.",
                self.messages,
            )
        return _with_details("Atoms did not accept this request.", self.messages)


class AtomsNotFound(AtomsError):
    """The campaign, audience, agent or call does not exist (any more) in Atoms."""

    @property
    def user_message(self) -> str:
        return "Atoms could not find this item. It may have been deleted."


class AtomsNotAuthorised(AtomsError):
    """The API key was refused (401) or lacks access (403)."""

    @property
    def user_message(self) -> str:
        return (
            "The dashboard's Atoms API key is wrong or does not have access to this. "
            "Ask an administrator to check the SMALLEST_API_KEY setting."
        )


def describe(error: BaseException) -> str:
    """Words for staff about any failure, Atoms-related or not."""
    if isinstance(error, AtomsError):
        return error.user_message
    return "Something went wrong while talking to Atoms. Please try again."


def _with_details(lead: str, messages: tuple[str, ...]) -> str:
    details = " ".join(m.rstrip(".") + "." for m in messages if m)
    return f"{lead} {details}" if details else lead


# --- mapping responses and exceptions --------------------------------------------------


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


def redact(text: str, secret: str) -> str:
    return text.replace(secret, "[redacted]") if secret else text


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
    if status == 404 or (
        status == 400 and not_found_on_400 and any(_NOT_FOUND_WORDING.search(m) for m in messages)
    ):
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
