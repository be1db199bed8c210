"""Live numbers: the fragments, their cache, the publish side and the SSE stream.

Cost model: the poller renders each changed campaign's fragments once and publishes them
in one Redis message; each web process holds one Redis subscription and fans the ready-made
SSE frames out to its connections in memory. Upstream calls, Redis connections and template
renders therefore grow with the number of changes, never with the number of viewers.
"""

import asyncio
import json
import logging
from collections import defaultdict
from datetime import datetime, timedelta

import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET

from campaigns.charts import line_chart
from campaigns.connections import redis_client
from campaigns.models import TERMINAL_STATUSES, Campaign, MetricSnapshot

log = logging.getLogger(__name__)


def channel() -> str:
    # Pub/sub ignores Redis database numbers; naming the database keeps two deployments
    # (or the demo and the tests) on one Redis server from hearing each other.
    return f"live:events:{redis_client().connection_pool.connection_kwargs.get('db', 0)}"

KINDS = ("row", "card", "detail")
# How far back the charts look; bounds the snapshot query for long campaigns.
CHART_WINDOW = timedelta(hours=6)
# A viewer this many frames behind is disconnected; its browser reconnects and catches up.
QUEUE_LIMIT = 200
MAX_IDS_PER_STREAM = 500


def fragment_key(pk: int, kind: str) -> str:
    return f"live:fragment:{kind}:{pk}"


FETCHED_KEY = "live:fetched"  # hash: campaign pk -> ISO time of its last good fetch

# --- rendering (once per change, in the worker) ---------------------------------------------


def active_q():
    """Campaigns the board shows and the poller refreshes."""
    from django.db.models import Q

    return (
        Q(status__in=["processing", "running"])
        | ~Q(pending_action="")
        | Q(status="scheduled")
        | Q(needs_final_poll=True)
    ) & Q(deleted_remotely_at__isnull=True)


def snapshots_by_campaign(pks) -> dict[int, list[MetricSnapshot]]:
    """Recent snapshots of many campaigns in one query, for their charts."""
    grouped: dict[int, list[MetricSnapshot]] = defaultdict(list)
    since = timezone.now() - CHART_WINDOW
    for snapshot in MetricSnapshot.objects.filter(
        campaign_id__in=list(pks), taken_at__gte=since
    ).order_by("campaign_id", "taken_at"):
        grouped[snapshot.campaign_id].append(snapshot)
    return grouped


def fragment_context(campaign: Campaign, snapshots) -> dict:
    return {
        "c": campaign,
        "chart": line_chart(snapshots, total=campaign.total_participants),
        "trend": line_chart(snapshots[-30:], width=280, height=48,
                            total=campaign.total_participants),
        "poll_interval": settings.POLL_INTERVAL_SECONDS,
        "pending_warn_seconds": settings.PENDING_ACTION_WARN_SECONDS,
    }


def render_fragment(campaign: Campaign, kind: str, snapshots) -> str:
    return render_to_string(f"campaigns/live.html#{kind}", fragment_context(campaign, snapshots))


def render_fragments(campaign: Campaign, snapshots) -> dict[str, str]:
    context = fragment_context(campaign, snapshots)
    return {kind: render_to_string(f"campaigns/live.html#{kind}", context) for kind in KINDS}


# --- publish side (worker) ----------------------------------------------------------------


def publish_changes(changes: list[tuple[Campaign, dict[str, str], bool]]) -> None:
    """Cache and publish the fragments of changed campaigns: one message per change.

    `changes` holds (campaign, fragments, status_changed) triples.
    """
    if not changes:
        return
    pipe = redis_client().pipeline(transaction=False)
    for campaign, fragments, status_changed in changes:
        for kind, html in fragments.items():
            pipe.set(fragment_key(campaign.pk, kind), html, ex=86400)
        pipe.publish(channel(), json.dumps({
            "campaign": campaign.pk,
            "status": campaign.status,
            "status_changed": status_changed,
            "fragments": fragments,
        }))
    pipe.execute()


def publish_campaign(pk: int) -> None:
    """Render and publish one campaign as it now is in the database.

    For changes made here rather than seen in Atoms (a start or pause accepted, so the
    pending state shows on every open page at once, not at the next status change).
    """
    campaign = Campaign.objects.filter(pk=pk).first()
    if campaign is None:
        return
    snapshots = snapshots_by_campaign([pk]).get(pk, [])
    publish_changes([(campaign, render_fragments(campaign, snapshots), True)])


def publish_removed(pk: int, name: str) -> None:
    """A deleted campaign: open pages say so, boards drop its card, the cache forgets it."""
    html = render_to_string("campaigns/live.html#removed", {"name": name})
    removed = {"row": f'<td colspan="7">{html}</td>', "card": html, "detail": html}
    pipe = redis_client().pipeline(transaction=False)
    for kind in KINDS:
        pipe.delete(fragment_key(pk, kind))
    pipe.hdel(FETCHED_KEY, str(pk))
    pipe.publish(channel(), json.dumps({"campaign": pk, "status": "deleted",
                                        "status_changed": True, "fragments": removed}))
    pipe.execute()


def publish_tick(at: datetime, fresh_ids: list[int]) -> None:
    """Tell viewers which campaigns were confirmed fresh at `at`, changed or not."""
    if not fresh_ids:
        return
    stamp = at.isoformat()
    pipe = redis_client().pipeline(transaction=False)
    pipe.hset(FETCHED_KEY, mapping={str(pk): stamp for pk in fresh_ids})
    pipe.publish(channel(), json.dumps({"tick": stamp, "ids": fresh_ids}))
    pipe.execute()


# --- read side for pages (sync) -------------------------------------------------------------


def fetched_times(pks) -> dict[int, str]:
    """When each campaign was last fetched fine (ISO), changed or not: one round trip.

    Cached fragments carry the time of their last change; pages and the polling fallback
    send these newer times along, as the stream's ticks do, so a quiet campaign still
    reads as live.
    """
    pks = list(pks)
    if not pks:
        return {}
    stamps = redis_client().hmget(FETCHED_KEY, [str(pk) for pk in pks])
    return {pk: stamp.decode() for pk, stamp in zip(pks, stamps, strict=True) if stamp}


def cached_fragments(campaigns: list[Campaign], kind: str) -> dict[int, str]:
    """Fragments for a page: from the cache in one round trip, rendering only the misses."""
    if not campaigns:
        return {}
    keys = [fragment_key(c.pk, kind) for c in campaigns]
    found = dict(zip([c.pk for c in campaigns], redis_client().mget(keys), strict=True))
    missing = [c for c in campaigns if found[c.pk] is None]
    if missing:
        snapshots = snapshots_by_campaign(c.pk for c in missing)
        pipe = redis_client().pipeline(transaction=False)
        for campaign in missing:
            html = render_fragment(campaign, kind, snapshots.get(campaign.pk, []))
            found[campaign.pk] = html
            pipe.set(fragment_key(campaign.pk, kind), html, ex=86400)
        pipe.execute()
    return {pk: value.decode() if isinstance(value, bytes) else value
            for pk, value in found.items()}


# --- the stream (async, in the web process) ---------------------------------------------------


def sse_frame(event: str, data: str) -> str:
    lines = data.splitlines() or [""]
    return f"event: {event}\n" + "".join(f"data: {line}\n" for line in lines) + "\n"


def state_of(campaign: Campaign) -> str:
    """What the role-dependent buttons depend on; a page sends it to learn of changes."""
    return f"{campaign.status}:{campaign.pending_action}"


class _Viewer:
    __slots__ = ("all_ids", "ids", "kind", "page_state", "queue")

    def __init__(self, kind: str, ids: set[int] | None, page_state: str = ""):
        self.kind = kind
        self.all_ids = ids is None
        self.ids = ids or set()
        self.page_state = page_state
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_LIMIT)

    def wants(self, pk: int) -> bool:
        return self.all_ids or pk in self.ids


class Broadcaster:
    """One Redis subscription per process, fanned out to every open stream in memory."""

    def __init__(self):
        self.viewers: set[_Viewer] = set()
        self._task: asyncio.Task | None = None
        self._loop = None
        self._redis: aioredis.Redis | None = None

    def redis(self) -> aioredis.Redis:
        # A small fixed pool: connection count stays constant however many viewers come.
        loop = asyncio.get_running_loop()
        if self._redis is None or self._loop is not loop:
            self._redis = aioredis.Redis(connection_pool=aioredis.BlockingConnectionPool.from_url(
                settings.REDIS_URL, max_connections=4, timeout=5))
            self._loop = loop
        return self._redis

    def add(self, viewer: _Viewer) -> None:
        self.viewers.add(viewer)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._listen())

    def remove(self, viewer: _Viewer) -> None:
        self.viewers.discard(viewer)

    async def _listen(self) -> None:
        while self.viewers:
            try:
                pubsub = self.redis().pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(channel())
                try:
                    while self.viewers:
                        message = await pubsub.get_message(timeout=1.0)
                        if message is not None:
                            self.dispatch(json.loads(message["data"]))
                finally:
                    await pubsub.aclose()
            except (aioredis.RedisError, OSError) as error:
                log.warning("Live stream lost Redis (%s); reconnecting", error)
                await asyncio.sleep(1)

    def dispatch(self, message: dict) -> None:
        if "tick" in message:
            frame = sse_frame("tick", json.dumps({"at": message["tick"], "ids": message["ids"]}))
            for viewer in list(self.viewers):
                self._offer(viewer, frame)
            return
        pk = message["campaign"]
        frames = {kind: sse_frame(f"{kind}-{pk}", html)
                  for kind, html in message["fragments"].items()}
        extra = sse_frame(f"status-{pk}", message["status"]) if message["status_changed"] else ""
        board = sse_frame("board", str(pk)) if message["status_changed"] else ""
        for viewer in list(self.viewers):
            if viewer.wants(pk) and viewer.kind in frames:
                self._offer(viewer, frames[viewer.kind] + extra + (board if viewer.all_ids else ""))

    def _offer(self, viewer: _Viewer, frame: str) -> None:
        try:
            viewer.queue.put_nowait(frame)
        except asyncio.QueueFull:
            # Too far behind: end its stream; EventSource reconnects and gets fresh state.
            self.remove(viewer)
            viewer.queue.get_nowait()
            viewer.queue.put_nowait(None)


broadcaster = Broadcaster()


def _parse_ids(raw: str) -> set[int] | None:
    if raw == "all":
        return None
    ids = set()
    for part in raw.split(","):
        part = part.strip()
        if part:
            if not part.isdigit():
                raise ValueError(part)
            ids.add(int(part))
    if len(ids) > MAX_IDS_PER_STREAM:
        raise ValueError("too many")
    return ids


async def _current_state(viewer: _Viewer) -> str:
    """What a (re)connecting viewer sees first: cached fragments, then their freshness."""
    if viewer.all_ids:
        pks = await sync_to_async(lambda: list(
            Campaign.objects.filter(active_q()).values_list("pk", flat=True)))()
    else:
        pks = sorted(viewer.ids)
    if not pks:
        return ""
    client = broadcaster.redis()
    html = await client.mget([fragment_key(pk, viewer.kind) for pk in pks])
    fetched = await client.hmget(FETCHED_KEY, [str(pk) for pk in pks])
    frames = [sse_frame(f"{viewer.kind}-{pk}", value.decode())
              for pk, value in zip(pks, html, strict=True) if value is not None]
    by_time: dict[str, list[int]] = defaultdict(list)
    for pk, stamp in zip(pks, fetched, strict=True):
        if stamp is not None:
            by_time[stamp.decode()].append(pk)
    frames += [sse_frame("tick", json.dumps({"at": at, "ids": ids}))
               for at, ids in by_time.items()]
    if viewer.page_state and len(pks) == 1:
        # The status may have moved between the page's render and this connection:
        # then its buttons are stale, and the status event makes the page refetch them.
        campaign = await Campaign.objects.filter(pk=pks[0]).afirst()
        if campaign is not None and state_of(campaign) != viewer.page_state:
            frames.append(sse_frame(f"status-{campaign.pk}", campaign.status))
    return "".join(frames)


async def _event_stream(viewer: _Viewer):
    broadcaster.add(viewer)
    try:
        # Reconnect quickly after a network blip; the first frames are the current state.
        yield "retry: 3000\n\n" + await _current_state(viewer)
        heartbeat = settings.SSE_HEARTBEAT_SECONDS
        while True:
            try:
                frame = await asyncio.wait_for(viewer.queue.get(), timeout=heartbeat)
            except TimeoutError:
                # A comment line keeps proxies from buffering or cutting an idle stream.
                yield ": ping\n\n"
                continue
            if frame is None:
                return
            yield frame
    finally:
        broadcaster.remove(viewer)


@require_GET
async def stream(request):
    """GET /live/?kind=card&ids=all|1,2,3[&state=status:pending] — server-sent events.

    `state` (one campaign only) is the state the page was rendered in; if the campaign has
    moved on since, the stream starts with a status event so the page refetches its buttons.
    """
    user = await request.auser()
    if not await sync_to_async(user.has_perm)("campaigns.view_campaign"):
        raise PermissionDenied("Watching campaigns needs the manager, staff or admin role.")
    kind = request.GET.get("kind", "")
    try:
        ids = _parse_ids(request.GET.get("ids", ""))
    except ValueError:
        return HttpResponseBadRequest("ids must be 'all' or up to 500 comma-separated numbers")
    if kind not in KINDS or ids == set():
        return HttpResponseBadRequest("kind must be row, card or detail, with some ids")
    page_state = request.GET.get("state", "")[:64]
    response = StreamingHttpResponse(_event_stream(_Viewer(kind, ids, page_state)),
                                     content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def is_terminal(campaign: Campaign) -> bool:
    return campaign.status in TERMINAL_STATUSES and not campaign.needs_final_poll
