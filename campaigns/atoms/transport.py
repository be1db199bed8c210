"""HTTP mechanics of the Atoms client: base URL, auth, timeouts, retries of reads, and the
envelope checks every endpoint shares. The endpoint methods live in `client`.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from importlib import metadata
from typing import Any, Self, TypeVar
from urllib.parse import urlencode

import httpx
from django.conf import settings

from campaigns.atoms.coerce import as_objects
from campaigns.atoms.errors import AtomsRateLimited, AtomsUnavailable
from campaigns.atoms.responses import (
    decode_json,
    error_from_response,
    error_from_transport,
    is_failure_envelope,
    shape_error,
)
from campaigns.atoms.types import Page

logger = logging.getLogger("campaigns.atoms")

API_PREFIX = "/atoms/v1"
# Atoms ids are 24-hex ObjectIds or CALL-<ms>-<hex>; anything else must not reach a path.
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]+")
# A Retry-After longer than this is handed to the caller to schedule, not slept through.
MAX_RETRY_AFTER_SECONDS = 30.0
# Stops a walk over pages if a server kept answering "has more" forever.
MAX_PAGES = 10_000

T = TypeVar("T")

# When the Atoms requests of the code running now must be over (time.monotonic()), if ever.
_deadline: ContextVar[float | None] = ContextVar("atoms_deadline", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every Atoms request made inside gives up `seconds` from now, retries and waits
    included: a person waiting on a page gets an answer in bounded time. Without it a page
    whose Atoms reads hang took each read's timeout three times over (about 47 s for the
    create form's pickers; 106 s was seen for one action in a fault probe). A nested
    deadline never extends an outer one."""
    until = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(until if outer is None else min(outer, until))
    try:
        yield
    finally:
        _deadline.reset(token)


def _time_left() -> float | None:
    """Seconds left before the deadline (None: no deadline)."""
    until = _deadline.get()
    return None if until is None else until - time.monotonic()


def _dashboard_version() -> str:
    try:
        return metadata.version("atoms-campaign-dashboard")
    except metadata.PackageNotFoundError:
        return "dev"


USER_AGENT = f"atoms-campaign-dashboard/{_dashboard_version()} httpx/{httpx.__version__}"


def normalise_base_url(base_url: str) -> str:
    """The full Atoms base. The SDK helpers expect `…/atoms/v1` while the CLI convention
    is the host root, so the prefix is appended when it is missing."""
    base = base_url.strip().rstrip("/")
    if not base:
        raise ValueError("The Atoms base URL is empty")
    return base if base.endswith(API_PREFIX) else base + API_PREFIX


def safe_id(value: str, what: str = "id") -> str:
    """`value` if it can go into a URL path as is. A blank id would turn `GET /campaign/{id}`
    into the list endpoint, and user input must never change which path is called."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"The {what} is empty")
    # Not stripped: ids come from Atoms or our mirror, so stray whitespace means damage.
    if not _SAFE_ID.fullmatch(value):
        raise ValueError(f"The {what} contains characters an Atoms id never has")
    return value


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 in UTC with a trailing Z and milliseconds, as Atoms writes them."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("The date and time must carry a time zone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class AtomsHttp:
    """Connection, retries and envelope checks shared by every Atoms endpoint method.
    Thread-safe, so one instance may serve a thread pool."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        max_connections: int = 20,
        transport: httpx.BaseTransport | None = None,
        max_read_attempts: int = 3,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        max_retry_after: float = MAX_RETRY_AFTER_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not api_key or not api_key.strip():
            raise ValueError("The Atoms API key is empty")
        self.base_url = normalise_base_url(base_url)
        self._base_url_no_slash = self.base_url.rstrip("/")
        self._api_key = api_key.strip()
        self._max_read_attempts = max(1, max_read_attempts)
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._max_retry_after = max_retry_after
        self._sleep = sleep
        # Kept to send through directly (`_exchange`); a given transport brings its own
        # limits, as with httpx.Client.
        self._transport = transport or httpx.HTTPTransport(limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections))
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {self._api_key}",
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
            },
            # Writes and waits for a pooled connection get the read budget; connecting
            # has its own, shorter one.
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            transport=self._transport,
            follow_redirects=False,
        )

    @classmethod
    def from_settings(cls, **overrides: Any) -> Self:
        """A client configured from Django settings; keyword arguments win over them."""
        options: dict[str, Any] = {
            "base_url": settings.SMALLEST_BASE_URL,
            "api_key": settings.SMALLEST_API_KEY,
            "connect_timeout": float(settings.ATOMS_CONNECT_TIMEOUT),
            "read_timeout": float(settings.ATOMS_READ_TIMEOUT),
        }
        options.update(overrides)
        return cls(options.pop("base_url"), options.pop("api_key"), **options)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.base_url}>"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _get(
        self, path: str, *, params: Mapping[str, Any] | None = None, by_id: bool = False
    ) -> tuple[httpx.Response, Any]:
        """A read, retried on transient failures with capped, jittered backoff; a 429 is
        waited out for exactly its Retry-After unless that is too long to block for."""
        for attempt in range(1, self._max_read_attempts + 1):
            try:
                return self._send("GET", path, params=params, by_id=by_id)
            except AtomsUnavailable as error:
                wait = self._retry_wait(error, attempt)
                left = _time_left()
                if wait is None or (left is not None and wait >= left):
                    raise
                logger.warning("Atoms GET %s failed, attempt %d of %d in %.2fs: %s", path,
                               attempt + 1, self._max_read_attempts, wait, error)
            self._sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _retry_wait(self, error: AtomsUnavailable, attempt: int) -> float | None:
        """Seconds to wait before the next read attempt, or None to give up now."""
        if attempt >= self._max_read_attempts:
            return None
        if error.timed_out and _deadline.get() is not None:
            # A person waits on the page (a deadline): a read that had no answer in its
            # whole timeout is not asked again. That doubled their wait (30 s under an
            # Atoms 20 s slow, a probe) for an answer as likely to be late; the page says
            # so at once and offers to try again. Quick failures (a 500) are retried.
            return None
        if isinstance(error, AtomsRateLimited):
            # Longer than we may block a worker: the caller reschedules instead.
            return error.retry_after if error.retry_after <= self._max_retry_after else None
        # Full jitter keeps a pool of pollers from retrying in lockstep.
        ceiling = min(self._backoff_cap, self._backoff_base * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)

    def _send(
        self,
        method: str,
        path: str,
        *,
        by_id: bool = False,
        params: Mapping[str, Any] | None = None,
        **content: Any,
    ) -> tuple[httpx.Response, Any]:
        """One HTTP exchange: the response and its decoded JSON body, or an AtomsError."""
        idempotent = method == "GET"
        started = time.monotonic()
        request = self._http.build_request(method, self._absolute_url(path, params), **content)
        left = _time_left()
        if left is not None:
            if left <= 0:
                # Never sent, so Atoms did nothing: no outcome to find out.
                raise AtomsUnavailable(f"{method} {self.base_url_path + path} not sent: the "
                                       "time allowed for Atoms ran out", timed_out=True)
            request.extensions["timeout"] = {
                phase: left if limit is None else min(limit, left)
                for phase, limit in request.extensions["timeout"].items()}
        try:
            response = self._exchange(request)
        except httpx.TransportError as exc:
            raise error_from_transport(
                exc, method=method, path=self.base_url_path + path, idempotent=idempotent
            ) from exc
        logger.debug("Atoms %s %s -> %d in %.0f ms", method, response.request.url.path,
                     response.status_code, (time.monotonic() - started) * 1000)
        body = decode_json(response)
        if not response.is_success or is_failure_envelope(body):
            raise error_from_response(response, idempotent=idempotent,
                                      not_found_on_400=by_id, secret=self._api_key)
        # Pause and delete may answer with no body at all; anything else must be JSON.
        if response.content and not isinstance(body, dict):
            raise shape_error(response, "not a JSON object", idempotent=idempotent)
        return response, body

    def _exchange(self, request: httpx.Request) -> httpx.Response:
        """Send a built request (the client's headers, base and timeouts are in it) straight
        through the transport and read the whole answer.

        `Client.send` wraps that in auth flows, redirect handling, event hooks and a cookie
        jar, none of which an API client with a bearer header uses; skipping them took a
        fifth off the CPU of a poll read (0.45 -> 0.36 ms per GET, one thread, same run).
        """
        response = self._transport.handle_request(request)
        response.request = request
        try:
            response.read()
        finally:
            response.close()
        return response

    @contextmanager
    def _stream(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        accept: str,
        read_timeout: float | None = None,
    ) -> Iterator[httpx.Response]:
        """A GET whose body is read while it arrives (an export, an event stream). Not
        retried: the caller may already have passed part of it on. A failure before or
        while reading becomes an AtomsError like any other request's."""
        timeout = self._http.timeout
        if read_timeout is not None:
            timeout = httpx.Timeout(read_timeout, connect=timeout.connect)
        try:
            with self._http.stream("GET", self._absolute_url(path, params),
                                   headers={"Accept": accept}, timeout=timeout) as response:
                if not response.is_success:
                    response.read()
                    raise error_from_response(response, idempotent=True, not_found_on_400=True,
                                              secret=self._api_key)
                yield response
        except httpx.TransportError as exc:
            raise error_from_transport(
                exc, method="GET", path=self.base_url_path + path, idempotent=True
            ) from exc

    def _absolute_url(self, path: str, params: Mapping[str, Any] | None) -> str:
        """The full URL as one string, so httpx parses it once.

        Given a relative path and `params`, httpx parses a URL three times per request
        (merge with the base, then the query), which the poller's profile showed to be a
        large share of its CPU. Paths are safe ids by construction; values are encoded
        the way httpx would (booleans as true/false; unset values left out).
        """
        query = urlencode([(key, _query_value(value)) for key, value in (params or {}).items()
                           if value is not None])
        return f"{self._base_url_no_slash}{path}" + (f"?{query}" if query else "")

    @property
    def base_url_path(self) -> str:
        return httpx.URL(self.base_url).path

    def _data_object(self, response: httpx.Response, body: Any) -> Mapping[str, Any]:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise shape_error(response, "`data` is not an object",
                              idempotent=response.request.method == "GET")
        return data

    def _data_list(self, response: httpx.Response, body: Any) -> list[Mapping[str, Any]]:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise shape_error(response, "`data` is not a list", idempotent=True)
        return as_objects(data)

    def _items(
        self, response: httpx.Response, data: Mapping[str, Any], key: str
    ) -> list[Mapping[str, Any]]:
        # An absent list must not read as "there are none": the sync would then believe
        # every campaign had been deleted.
        if not isinstance(data.get(key), list):
            raise shape_error(response, f"data.{key} is not a list", idempotent=True)
        return as_objects(data[key])

    def _walk(self, fetch: Callable[[int], Page[T]], *, key: str) -> Iterator[T]:
        # Pages shift while new items arrive at the top, so an item can show up twice.
        seen: set[str] = set()
        for page_number in range(1, MAX_PAGES + 1):
            page = fetch(page_number)
            for item in page.items:
                item_id = getattr(item, key)
                if item_id not in seen:
                    seen.add(item_id)
                    yield item
            if not page.has_more or not page.items:
                return
        logger.warning("Stopped walking Atoms pages after %d pages", MAX_PAGES)
