"""The live stream: server-sent events from one Redis subscription per web process.

`/live/` is served by `asgi_stream`, a small ASGI app beside Django's (dashboard/asgi.py
routes to it): a request through Django's handler keeps a thread and a database
connection for as long as it lasts, which for a stream is as long as someone watches.
Here a viewer costs an asyncio task and a queue; the session check and the first read use
the database once and give the connection back. This is the only implementation: the
Django URL of the same path only names it (for `reverse`) and explains itself under WSGI.
"""

import asyncio
import json
import logging
import signal
import threading
import time
from collections import Counter, defaultdict
from typing import NamedTuple
from urllib.parse import parse_qs, quote

import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import close_old_connections
from django.db.models import Q
from django.http import HttpResponse
from django.http.cookie import parse_cookie
from django.urls import reverse
from django.views.decorators.http import require_GET

from campaigns.live import compress, publish, sessions
from campaigns.live.publish import FETCHED_KEY, KINDS, VERSIONS_KEY, channel, fragment_key
from campaigns.models import Campaign, active_q, anchor_id, is_listed, listed_q
from dashboard.security import host_allowed, is_secure, stream_headers

log = logging.getLogger(__name__)

# A viewer this many frames behind is disconnected; its browser reconnects and catches up.
QUEUE_LIMIT = 200
MAX_IDS_PER_STREAM = 500
# The largest primary key a database holds (a 64-bit integer): a larger id in a lookup
# makes the database driver raise instead of finding nothing.
MAX_ID = 2**63 - 1
VIEW_PERMISSION = "campaigns.view_campaign"
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    # Proxies must neither cache nor buffer a stream.
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
    (b"vary", b"accept-encoding"),  # gzipped for those who ask (compress.py)
]
RETRY = "retry: 3000\n\n"
PING = ": ping\n\n"


def sse_frame(event: str, data: str) -> str:
    lines = data.splitlines() or [""]
    return f"event: {event}\n" + "".join(f"data: {line}\n" for line in lines) + "\n"


def state_of(campaign: Campaign) -> str:
    """What the role-dependent buttons depend on; a page sends it to learn of changes."""
    return campaign.button_state


class ListFilter(NamedTuple):
    """What a campaign list shows (its search and status) and the newest campaign it was
    drawn with (`upto`, an id: a campaign synced in late has an older creation time, and
    was missed): it is told of campaigns added that it would show."""

    q: str = ""
    status: str = ""
    upto: int | None = None

    def shows(self, added: dict) -> bool:
        return is_listed(added["name"], added["status"], self.q, self.status)


class Viewer:
    __slots__ = ("all_ids", "ids", "kind", "list_filter", "page_state", "queue", "session_key",
                 "user_id")

    def __init__(self, kind: str, ids: set[int] | None, page_state: str = "",
                 list_filter: ListFilter | None = None):
        self.kind = kind
        self.all_ids = ids is None
        self.ids = ids or set()
        self.page_state = page_state
        # A campaign list: told when campaigns it would show are added.
        self.list_filter = list_filter
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_LIMIT)
        # The session the stream was opened with: when it ends, so does the stream.
        self.session_key: str | None = None
        self.user_id: int | None = None  # whose stream it is (LIVE_STREAMS_PER_PERSON)

    def wants(self, pk: int) -> bool:
        return self.all_ids or pk in self.ids


def viewer_from_query(query: dict[str, str]) -> Viewer | str:
    """A Viewer for `?kind=card&ids=all|1,2,3[&state=status:pending]`, or a campaign
    list's `?kind=row&ids=…&added=1[&q=…&status=…&upto=<campaign id>]`; or what is wrong.

    `state` (one campaign only) is the state the page was rendered in; if the campaign
    has moved on since, the stream starts with a status event so the page refetches its
    buttons. A list (which may show no live campaign: then `ids` may be empty) also hears
    of campaigns added that its search and status would show, those added since it was
    drawn first (a reconnect after a dropped stream missed them).
    """
    kind = query.get("kind", "")
    raw = query.get("ids", "")
    if raw == "all":
        ids = None
    else:
        parts = [part.strip() for part in raw.split(",") if part.strip()]
        # isdigit() alone lets "²" through, which int() refuses: ASCII digits only.
        if (not all(part.isascii() and part.isdigit() and int(part) <= MAX_ID for part in parts)
                or len(parts) > MAX_IDS_PER_STREAM):
            return "ids must be 'all' or up to 500 comma-separated numbers"
        ids = {int(part) for part in parts}
    list_filter = _list_filter(query) if query.get("added") == "1" else None
    if kind not in KINDS or (ids == set() and list_filter is None):
        return "kind must be row, card or detail, with some ids"
    return Viewer(kind, ids, query.get("state", "")[:64], list_filter)


def _list_filter(query: dict[str, str]) -> ListFilter:
    # An edited anchor (None): only the catching up is lost, not the stream.
    return ListFilter(query.get("q", "")[:200], query.get("status", "")[:20],
                      anchor_id(query.get("upto", "")))


class Broadcaster:
    """One Redis subscription per process, fanned out to every open stream in memory."""

    def __init__(self):
        self.viewers: set[Viewer] = set()
        # Open streams by person: one person's tabs are a handful; a script opening 800
        # held them all (see LIVE_STREAMS_PER_PERSON). Counted per person, not per session:
        # signing in again gave a script 30 more each time (a probe).
        self.per_person: Counter[int] = Counter()
        self._task: asyncio.Task | None = None
        self._sessions_task: asyncio.Task | None = None
        self._checking: asyncio.Task | None = None  # the heartbeat's session check
        self._loop = None
        self._redis: aioredis.Redis | None = None
        # Set while the Redis subscription is live. A viewer reads its first state only
        # after that: a change published in between is then either in that state or in
        # the subscription, never lost (a lost status event left stale buttons).
        self._subscribed: asyncio.Event | None = None

    def redis(self) -> aioredis.Redis:
        # A small fixed pool: connection count stays constant however many viewers come.
        loop = asyncio.get_running_loop()
        if self._redis is None or self._loop is not loop:
            self._redis = aioredis.Redis(connection_pool=aioredis.BlockingConnectionPool.from_url(
                settings.REDIS_URL, max_connections=4, timeout=5))
            self._loop = loop
        return self._redis

    def add(self, viewer: Viewer) -> None:
        if viewer not in self.viewers and viewer.user_id is not None:
            self.per_person[viewer.user_id] += 1
        self.viewers.add(viewer)
        loop = asyncio.get_running_loop()
        _end_streams_on_exit_signal(loop)
        if self._task is None or self._task.done():
            self._subscribed = asyncio.Event()
            self._task = loop.create_task(self._listen(self._subscribed))
        if self._sessions_task is None or self._sessions_task.done():
            self._sessions_task = loop.create_task(self._watch_sessions())

    async def subscribed(self, timeout: float = 5.0) -> bool:
        """Wait until the subscription is live (False if Redis is not reachable yet)."""
        if self._subscribed is None:
            return False
        try:
            await asyncio.wait_for(self._subscribed.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def remove(self, viewer: Viewer) -> None:
        if viewer in self.viewers and viewer.user_id is not None:
            self.per_person[viewer.user_id] -= 1
            if self.per_person[viewer.user_id] <= 0:
                del self.per_person[viewer.user_id]
        self.viewers.discard(viewer)

    def end(self, viewer: Viewer) -> None:
        """Close this viewer's stream at its next read (sign-out, shutdown, too slow)."""
        self.remove(viewer)
        while not viewer.queue.empty():
            viewer.queue.get_nowait()
        viewer.queue.put_nowait(None)

    def end_all(self) -> None:
        for viewer in list(self.viewers):
            self.end(viewer)

    async def _watch_sessions(self) -> None:
        """Once a heartbeat, renew the note of what this process's viewers watch, and end
        the streams whose session has ended (signed out here or elsewhere, expired): one
        query for all viewers of this process, not one each.

        The session check runs beside the renewals, never in their way: a database that
        kept it waiting (a lock, a slow disk) kept the next renewal waiting too, the note
        lapsed, and the poller stopped rendering these viewers' changes while its ticks
        still told their pages the numbers were fresh."""
        while self.viewers:
            await asyncio.sleep(settings.SSE_HEARTBEAT_SECONDS)
            await note_watching(list(self.viewers))
            checking = self._checking
            if (checking is None or checking.done()
                    or checking.get_loop() is not asyncio.get_running_loop()):
                self._checking = asyncio.create_task(self._end_signed_out())

    async def _end_signed_out(self) -> None:
        keys = {viewer.session_key for viewer in self.viewers}
        try:
            alive = await live_sessions(keys)
        except Exception:  # a database blip must not end every stream
            log.warning("Could not check the sessions of open streams", exc_info=True)
            return
        # Only those asked about: a viewer that came meanwhile was checked on arriving.
        ended = [viewer for viewer in self.viewers
                 if viewer.session_key in keys and viewer.session_key not in alive]
        for viewer in ended:
            self.end(viewer)
        if ended:
            log.info("Ended %d live stream(s) whose session is over", len(ended))

    async def _listen(self, subscribed: asyncio.Event) -> None:
        while self.viewers:
            try:
                pubsub = self.redis().pubsub()
                await pubsub.subscribe(channel())
                try:
                    while self.viewers:
                        message = await pubsub.get_message(timeout=1.0)
                        if message is None:
                            continue
                        if message["type"] == "subscribe":
                            # Redis confirmed it: every later publish reaches us.
                            subscribed.set()
                        elif message["type"] == "message":
                            self.dispatch_or_skip(message["data"])
                finally:
                    subscribed.clear()
                    await pubsub.aclose()
            except (aioredis.RedisError, OSError) as error:
                log.warning("Live stream lost Redis (%s); reconnecting", error)
                await asyncio.sleep(1)

    def dispatch_or_skip(self, data: bytes) -> None:
        """A message this process cannot read is skipped, not fatal: one from a newer
        release (a rolling deploy) ended this listener, and every open stream of the
        process silently stopped changing."""
        try:
            self.dispatch(json.loads(data))
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("Live stream skipped a message it cannot read: %r", data[:200])

    def dispatch(self, message: dict) -> None:
        """Turn one published message into SSE frames, formatted once for all viewers."""
        if "tick" in message:
            self._dispatch_tick(message["tick"], message["ids"])
            return
        if "added" in message:
            for viewer in list(self.viewers):
                if viewer.list_filter is not None:
                    shown = sum(map(viewer.list_filter.shows, message["added"]))
                    if shown:
                        self._offer(viewer, sse_frame("added", str(shown)))
            return
        pk = message["campaign"]
        status = sse_frame(f"status-{pk}", message["status"]) if message["status_changed"] else ""
        frames = {kind: sse_frame(f"{kind}-{pk}", html) + status
                  for kind, html in message["fragments"].items()}
        # Boards (all campaigns) also reload their grid when a status moves.
        board = sse_frame("board", str(pk))
        board_frames = {kind: frame + board for kind, frame in frames.items()} if status else frames
        for viewer in list(self.viewers):
            if viewer.wants(pk) and viewer.kind in frames:
                self._offer(viewer, (board_frames if viewer.all_ids else frames)[viewer.kind])

    def _dispatch_tick(self, at: str, ids: list[int]) -> None:
        """Each viewer is told of the campaigns it watches: a page of one campaign was sent
        every refreshed id each interval (about 5 KB at 1,000 active campaigns), and a
        tick that refreshed none of its campaigns is not sent at all. A tick naming none
        (never the poller's: the benchmarks' and tests' marker that all before it has
        arrived) goes to every viewer. Viewers watching the same ones share one frame."""
        whole = sse_frame("tick", json.dumps({"at": at, "ids": ids}))
        fresh = set(ids)
        frames: dict[tuple[int, ...], str] = {}
        for viewer in list(self.viewers):
            if viewer.all_ids or not ids:
                self._offer(viewer, whole)
                continue
            own = tuple(sorted(viewer.ids & fresh))
            if not own:
                continue
            frame = frames.get(own)
            if frame is None:
                frame = frames[own] = sse_frame("tick", json.dumps({"at": at, "ids": list(own)}))
            self._offer(viewer, frame)

    def _offer(self, viewer: Viewer, frame: str) -> None:
        try:
            viewer.queue.put_nowait(frame)
        except asyncio.QueueFull:
            # Too far behind: end its stream; EventSource reconnects and gets fresh state.
            self.end(viewer)
            log.warning("Ended a live stream %d frames behind (kind=%s)", QUEUE_LIMIT,
                        viewer.kind)


broadcaster = Broadcaster()
_hooked_loops: set[int] = set()


def _end_streams_on_exit_signal(loop: asyncio.AbstractEventLoop) -> None:
    """On SIGTERM or SIGINT, end every open stream, then let the server's own handler run.

    uvicorn's graceful shutdown waits for every response to finish, and a stream never
    does by itself: without this, a server with one viewer ignores SIGTERM until killed.
    Chained in front of the handler in place when the first viewer arrives (uvicorn's).
    """
    if id(loop) in _hooked_loops or threading.current_thread() is not threading.main_thread():
        return
    _hooked_loops.add(id(loop))
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(signum)
        if not callable(previous):
            continue  # no server handles it: the default (exit at once) is right

        def on_signal(number, frame, previous=previous):
            loop.call_soon_threadsafe(broadcaster.end_all)
            previous(number, frame)

        signal.signal(signum, on_signal)


async def current_state(viewer: Viewer) -> str:
    """What a (re)connecting viewer sees first: cached fragments, then their freshness."""
    if viewer.all_ids:
        # The same for every viewer of the whole board: made once for those arriving
        # together.
        return await board_state(viewer.kind)
    pks = sorted(viewer.ids)
    frames = await _state_of(pks, viewer.kind)
    if viewer.list_filter is not None and viewer.list_filter.upto is not None:
        added = await _count_added(viewer.list_filter)
        if added:
            # How many in all since the page was drawn; the page keeps the larger count.
            frames += sse_frame("added-since", str(added))
    if viewer.page_state and len(pks) == 1:
        # The status may have moved between the page's render and this connection:
        # then its buttons are stale, and the status event makes the page refetch them.
        campaign = await Campaign.objects.filter(pk=pks[0]).afirst()
        if campaign is not None and state_of(campaign) != viewer.page_state:
            frames += sse_frame(f"status-{campaign.pk}", campaign.status)
    return frames


async def _state_of(pks: list[int], kind: str) -> str:
    """The fragments of these campaigns (cached, or rendered now for the ones a change
    nobody watched dropped from the cache), then tick frames saying how fresh."""
    if not pks:
        return ""
    try:
        pipe = broadcaster.redis().pipeline(transaction=False)
        pipe.mget([fragment_key(pk, kind) for pk in pks])
        pipe.hmget(FETCHED_KEY, [str(pk) for pk in pks])
        pipe.hmget(VERSIONS_KEY, [str(pk) for pk in pks])
        html, fetched, versions = await pipe.execute()
    except (aioredis.RedisError, OSError) as error:
        # Redis down: the page already shows what the database holds; the changes flow
        # again once the broadcaster's subscription is back.
        log.warning("Live stream could not read the cache (%s)", error)
        html = fetched = [None] * len(pks)
    else:
        html = [None if value is None else value.decode() for value in html]
        missing = [pk for pk, value in zip(pks, html, strict=True) if value is None]
        if missing:
            rendered = await _render_from_database(
                (missing, kind, dict(zip(pks, versions, strict=True))))
            html = [rendered.get(pk) if value is None else value
                    for pk, value in zip(pks, html, strict=True)]
    frames = [sse_frame(f"{kind}-{pk}", value)
              for pk, value in zip(pks, html, strict=True) if value is not None]
    by_time: dict[str, list[int]] = defaultdict(list)
    for pk, stamp in zip(pks, fetched, strict=True):
        if stamp is not None:
            by_time[stamp.decode()].append(pk)
    frames += [sse_frame("tick", json.dumps({"at": at, "ids": ids}))
               for at, ids in by_time.items()]
    return "".join(frames)


async def event_stream(viewer: Viewer):
    """The frames of one viewer: the current state, then changes and heartbeats."""
    broadcaster.add(viewer)
    try:
        await broadcaster.subscribed()
        # Noted before the first read, so a change the poller does not render for this
        # viewer is one that read finds (see publish.forget_and_watched).
        await note_watching([viewer])
        # Reconnect quickly after a network blip; the first frames are the current state.
        yield [RETRY, await current_state(viewer)]
        if viewer.page_state:
            # It read its campaign's row: hand the database connection back.
            await sync_to_async(close_old_connections)()
        heartbeat = settings.SSE_HEARTBEAT_SECONDS
        while True:
            try:
                frame = await asyncio.wait_for(viewer.queue.get(), timeout=heartbeat)
            except TimeoutError:
                # A comment line keeps proxies from buffering or cutting an idle stream.
                yield [PING]
                continue
            if frame is None:
                return
            frames, ended = _with_waiting_frames(viewer, frame)
            del frame
            yield frames
            # Nothing of this tick stays referenced while an idle viewer waits for the next.
            del frames
            if ended:
                return
    finally:
        broadcaster.remove(viewer)


def _with_waiting_frames(viewer: Viewer, first: str) -> tuple[list[str], bool]:
    """A tick brings many frames at once: all that are waiting go in one write.

    Returns the frames and whether the stream was told to end.
    """
    frames = [first]
    while not viewer.queue.empty():
        queued = viewer.queue.get_nowait()
        if queued is None:
            return frames, True
        frames.append(queued)
    return frames, False


# --- the URL's name in Django ---------------------------------------------------------------


@require_GET
def stream_needs_asgi(request):
    """Only reached without dashboard/asgi.py in front (a WSGI server): say why."""
    return HttpResponse("The live stream is served by the ASGI app: run the site with uvicorn.",
                        status=501, content_type="text/plain; charset=utf-8")


# --- as a bare ASGI app (uvicorn) ---------------------------------------------------------


class Together:
    """Calls that arrive together are served together: one trip to the database thread
    and one connection, closed once, for all of them. A thousand viewers opening the board
    at once (a shift starting, a web process restarting) then cost a few connections and
    queries, not a thousand, and nobody waits behind a queue of thread hops.

    `work(arguments) -> results` is a coroutine function. A call that arrives while a
    batch is under way waits for the next batch, so what it gets was read after it asked.
    """

    def __init__(self, work):
        self._work = work
        self._waiting: list[tuple[object, asyncio.Future]] = []
        self._draining = False
        self._loop = None

    async def __call__(self, argument):
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests): nothing of the old one
            self._waiting, self._draining, self._loop = [], False, loop
        answer = loop.create_future()
        self._waiting.append((argument, answer))
        if not self._draining:
            self._draining = True
            loop.create_task(self._drain())
        return await answer

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    results = await self._work([arg for arg, _ in batch])
                except Exception as error:  # noqa: BLE001 (each caller gets the failure)
                    results = [error] * len(batch)
                for (_, answer), result in zip(batch, results, strict=True):
                    if answer.done():
                        continue
                    if isinstance(result, Exception):
                        answer.set_exception(result)
                    else:
                        answer.set_result(result)
        finally:
            self._draining = False



def in_database_thread(work):
    """`work` run in Django's database thread, its connection closed after each batch."""

    def closing(arguments: list) -> list:
        try:
            return work(arguments)
        finally:
            close_old_connections()

    return sync_to_async(closing)


def _check_sessions(session_keys: list[str | None]) -> list[tuple[int | None, bool]]:
    """Each session's (person signed in or None, may watch): who is signed in, as Django's
    `get_user` says (sessions.signed_in_users: two queries for all of them), then the view
    permission of all of them in one query."""
    users = sessions.signed_in_users(session_keys)
    allowed = may_view([user.pk for user in users if user.is_authenticated])
    return [(user.pk if user.is_authenticated else None, user.pk in allowed) for user in users]


def may_view(user_ids: list[int]) -> set[int]:
    """Which of these users hold the view permission, as ModelBackend's `has_perm` decides
    (active, and superuser or granted it directly or through a group; the project's only
    other backend, axes', grants nothing): one query instead of two per user."""
    if not user_ids:
        return set()
    app_label, codename = VIEW_PERMISSION.split(".")
    granted = {"content_type__app_label": app_label, "codename": codename}
    permission = Permission.objects.filter(**granted)
    return set(get_user_model().objects.filter(pk__in=user_ids, is_active=True).filter(
        Q(is_superuser=True) | Q(user_permissions__in=permission)
        | Q(groups__permissions__in=permission)).values_list("pk", flat=True))


@in_database_thread
def _render_from_database(request: tuple[list[int], str, dict]) -> dict[int, str]:
    """Fragments of one kind rendered from the database for campaigns not in the cache
    (deleted campaigns are left out), and cached unless a fragment got there first or a
    change came since the cache was read (`versions`, see publish.VERSIONS_KEY).

    The viewer was noted as watching before the cache was read: a poller that changed one
    of these campaigns since has rendered the newer fragment and sends it to this viewer."""
    return publish.render_and_cache(*request)


def _watched_members(viewers: list[Viewer]) -> set[str]:
    members: set[str] = set()
    for viewer in viewers:
        members.update(publish.watch_member(viewer.kind, pk)
                       for pk in ([None] if viewer.all_ids else viewer.ids))
    return members


async def _note_watching(batch: list[list[Viewer]]) -> list[None]:
    """Tell the poller what these viewers watch, until `publish.watch_seconds()` from
    now (it renders only that); one round trip for all viewers arriving together."""
    members = _watched_members([viewer for viewers in batch for viewer in viewers])
    if members:
        now = time.time()
        try:
            pipe = broadcaster.redis().pipeline(transaction=False)
            # GT: never shorten another process's note of the same campaign.
            pipe.zadd(publish.WATCHING_KEY, dict.fromkeys(members, now + publish.watch_seconds()),
                      gt=True)
            pipe.zremrangebyscore(publish.WATCHING_KEY, "-inf", now)
            await pipe.execute()
        except (aioredis.RedisError, OSError) as error:
            # The page still gets every change it is sent; unwatched ones it reads anew
            # when it reconnects.
            log.warning("Live stream could not note what it watches (%s)", error)
    return [None] * len(batch)


@in_database_thread
def _count_added(list_filter: ListFilter) -> int:
    """Campaigns a list drawn up to campaign `upto` would now show that came after it."""
    return Campaign.objects.filter(
        listed_q(list_filter.q, list_filter.status), pk__gt=list_filter.upto).count()


@in_database_thread
def _read_active_ids(_: list) -> list[int]:
    return list(Campaign.objects.filter(active_q()).values_list("pk", flat=True))


async def _board_states(kinds: list[str]) -> list[str]:
    """The whole board's first frames for every viewer waiting: one read of the active
    campaigns and one of the cache per fragment kind, however many viewers."""
    pks = await _read_active_ids([])
    states = {kind: await _state_of(pks, kind) for kind in set(kinds)}
    return [states[kind] for kind in kinds]


check_session = Together(in_database_thread(_check_sessions))
# Which of these session keys still sign an active person in: the heartbeat's check of
# open streams.
live_sessions = in_database_thread(sessions.live_sessions)
board_state = Together(_board_states)
note_watching = Together(_note_watching)


def _header(scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return value.decode("latin-1")
    return None


async def _refuse_like_django(scope, send) -> bool:
    """What Django does to a page before any view: a Host not in ALLOWED_HOSTS is a 400,
    plain http is redirected when HTTPS=1. True when it has answered."""
    host = _header(scope, b"host") or ""
    if not host_allowed(host):
        log.warning("Live stream refused: Host %r is not in ALLOWED_HOSTS", host[:100])
        await _respond(send, 400, b"Bad Request")
        return True
    if settings.SECURE_SSL_REDIRECT and not is_secure(
            scope.get("scheme", "http"), lambda name: _header(scope, name.encode())):
        query = scope.get("query_string", b"").decode("latin-1")
        target = f"https://{host}{quote(scope['path'])}" + (f"?{query}" if query else "")
        await _respond(send, 301, b"", [(b"location", target.encode("latin-1"))])
        return True
    return False




async def asgi_stream(scope, receive, send) -> None:
    """GET /live/?kind=…&ids=… (see `viewer_from_query`) without Django's request
    machinery: the session cookie, the view permission, then the frames."""
    if await _refuse_like_django(scope, send):
        return
    if scope["method"] != "GET":
        # Allow is required on a 405 (RFC 9110); a stream has no HEAD form.
        await _respond(send, 405, b"Method not allowed", [(b"allow", b"GET")])
        return
    # Read as Django reads them for pages (several headers joined, as its ASGI handler
    # does): SimpleCookie drops every cookie after one it finds malformed, such as a
    # consent cookie holding JSON, and the person would look signed out here alone.
    session_key = parse_cookie("; ".join(
        value.decode("latin-1") for name, value in scope.get("headers", [])
        if name == b"cookie")).get(settings.SESSION_COOKIE_NAME)
    query = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
    user_id, allowed = await check_session(session_key)
    if user_id is None:
        login = f"{reverse(settings.LOGIN_URL)}?next={quote(scope['path'])}"
        await _respond(send, 302, b"", [(b"location", login.encode())])
        return
    if not allowed:
        await _respond(send, 403, b"Watching campaigns needs the manager, staff or admin role.")
        return
    viewer = viewer_from_query(query)
    if isinstance(viewer, str):
        await _respond(send, 400, viewer.encode())
        return
    if broadcaster.per_person[user_id] >= settings.LIVE_STREAMS_PER_PERSON:
        # The page falls back to polling (static/js/app.js), as for any stream refused.
        await _respond(send, 429, b"Too many live pages open at once: close some tabs.")
        return
    viewer.session_key, viewer.user_id = session_key, user_id
    # Counted now, with nothing awaited since the check: streams asked for all at once
    # each saw the count as it was, and all got in (a probe: 150 of one person's, the cap
    # 30). `event_stream` counts it no further, and whoever removes it first uncounts it.
    broadcaster.add(viewer)
    try:
        await _stream(viewer, scope, receive, send)
    finally:
        broadcaster.remove(viewer)


async def _stream(viewer: Viewer, scope, receive, send) -> None:
    if compress.accepts_gzip(_header(scope, b"accept-encoding")):
        encoding, encoded = [(b"content-encoding", b"gzip")], compress.GzipStream()
    else:
        encoding, encoded = [], compress.PlainStream()
    await send({"type": "http.response.start", "status": 200,
                "headers": HEADERS + encoding + stream_headers()})
    frames = event_stream(viewer)
    sending = asyncio.ensure_future(_send_all(frames, send, encoded))
    leaving = asyncio.ensure_future(_wait_for_disconnect(receive))
    await asyncio.wait({sending, leaving}, return_when=asyncio.FIRST_COMPLETED)
    for task in (sending, leaving):
        task.cancel()
    for outcome in await asyncio.gather(sending, leaving, return_exceptions=True):
        if isinstance(outcome, Exception):  # a failed stream must say why, not just stop
            log.error("Live stream failed", exc_info=outcome)
    await frames.aclose()


async def _send_all(frames, send, encoded) -> None:
    async for chunk in frames:
        body = encoded.encode(chunk)
        # An idle viewer waits here for hours: hold no reference to what was last sent
        # (the first chunk, the current state, is the biggest thing a viewer would keep).
        del chunk
        await send({"type": "http.response.body", "body": body, "more_body": True})
        del body
    await send({"type": "http.response.body", "body": encoded.end(), "more_body": False})


async def _wait_for_disconnect(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _respond(send, status: int, body: bytes, headers=()) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), *headers,
                            *stream_headers()]})
    await send({"type": "http.response.body", "body": body})
