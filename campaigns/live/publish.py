"""Live numbers: the fragments, their cache, and publishing them (the stream is stream.py).

Cost model: the poller renders each changed campaign's fragments once and publishes them
in one Redis message; each web process holds one Redis subscription and fans the ready-made
SSE frames out to its connections in memory. Upstream calls, Redis connections and template
renders therefore grow with the number of changes, never with the number of viewers.

Only fragments someone is watching are rendered: streams note what their viewers watch in
`WATCHING_KEY`, and a change nobody watches costs its cached fragments instead (a page or
stream that wants them later renders them from the database). At thousands of active
campaigns rendering was most of the poller's CPU per change, for pages nobody had open.
"""

import functools
import hashlib
import json
import re
import time
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.template.loader import get_template, render_to_string
from django.utils import timezone
from redis.commands.core import Script
from redis.exceptions import RedisError

from campaigns import audit, explain, progress
from campaigns.charts import line_chart
from campaigns.connections import redis_client
from campaigns.live import health
from campaigns.models import PAUSABLE_STATUSES, Campaign, MetricSnapshot
from campaigns.outcomes import breakdown

KINDS = ("row", "card", "detail")
TEMPLATE = "campaigns/live.html"
# How far back the charts look; bounds the snapshot query for long campaigns.
CHART_WINDOW = timedelta(hours=6)


@functools.cache
def render_version() -> str:
    """Which template the cached fragments were rendered with: a hash of its source.

    A finished campaign's fragments stay cached for a day; without this, a release that
    changes the template kept showing the old layout on their pages until then (seen:
    a phone-width fix absent from the pages of finished campaigns after a restart).
    """
    source = get_template(TEMPLATE).template.source
    return hashlib.blake2b(source.encode(), digest_size=4).hexdigest()


def fragment_key(pk: int, kind: str) -> str:
    return f"live:fragment:{render_version()}:{kind}:{pk}"


FETCHED_KEY = "live:fetched"  # hash: campaign pk -> ISO time of its last good fetch
# Sorted set: "kind:pk" (or "kind:all", a board) -> until when some stream watches it
# (epoch seconds). Streams renew theirs every heartbeat; a crashed process's lapse.
WATCHING_KEY = "live:watching"
# Hash: campaign pk -> how many times a change dropped its cached fragments. Whoever renders
# a missing fragment from the database reads it with the cache, before that database read,
# and caches the fragment only if it has not moved since: a change committed after the
# read moves it, so an older fragment never fills the cache the change emptied.
VERSIONS_KEY = "live:versions"


def watch_member(kind: str, pk: int | None) -> str:
    """The WATCHING_KEY member of one kind of fragment of one campaign (None: all)."""
    return f"{kind}:{'all' if pk is None else pk}"


def watch_seconds() -> int:
    """How long a stream's note that it watches lasts: three heartbeats, so one late
    renewal never leaves a viewer without its changes."""
    return 3 * settings.SSE_HEARTBEAT_SECONDS


def channel() -> str:
    # Pub/sub ignores Redis database numbers; naming the database keeps two deployments
    # (or the demo and the tests) on one Redis server from hearing each other.
    return f"live:events:{redis_client().connection_pool.connection_kwargs.get('db', 0)}"


# --- rendering (once per change, in the worker) ---------------------------------------------


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
    now = timezone.now()
    moved_at = progress.last_moved_at(snapshots)
    return {
        "c": campaign,
        "why": explain.why_not_dialing(campaign, moved_at=moved_at, now=now),
        "eta": _eta(campaign, snapshots, now),
        "chart": line_chart(snapshots, total=campaign.total_participants),
        "trend": line_chart(snapshots[-30:], width=280, height=48, fit_movement=True),
        "poll_interval": settings.POLL_INTERVAL_SECONDS,
        "pending_warn_seconds": settings.PENDING_ACTION_WARN_SECONDS,
        "outcomes": breakdown(campaign.call_summary or {}),
        # Called by the template only where it shows the events (a query, for the names).
        "events": lambda: audit.campaign_events(campaign),
    }


def _eta(campaign: Campaign, snapshots, now):
    """Time to finish while it dials; None otherwise or without enough history."""
    if campaign.status not in PAUSABLE_STATUSES or campaign.deleted_remotely_at:
        return None
    # The dialing since it last (re)started: a paused stretch is no slow dialing (after a
    # resume it said "1 min to 1 h 47 min").
    since = next((index + 1 for index in range(len(snapshots) - 1, -1, -1)
                  if snapshots[index].status not in PAUSABLE_STATUSES), 0)
    points = [(s.taken_at, s.contacts_called) for s in snapshots[since:]]
    points.append((now, campaign.contacts_called))  # a slowdown since the last change counts
    # Only retries left: the last of them is due at a set time, and it cannot finish
    # sooner (one query, so only then: while first calls remain, the rate governs).
    only_retries = (campaign.contacts_called >= campaign.total_participants
                    and (campaign.call_summary or {}).get("retries_pending", 0))
    return progress.eta(points, remaining_calls=progress.remaining_calls(campaign), now=now,
                        not_before=explain.last_retry_at(campaign) if only_retries else None)


# The template's indentation and blank lines were a fifth of a card, sent to every open
# board at each change and kept in Redis, and on the wire each line costs an SSE "data: "
# prefix. A line break and the spaces after it render as one space (these fragments hold
# no <pre>, <textarea> or script), so they become one. (Spaces before a line break too,
# with a leading \s*, cost 5x the time: the pattern is tried at every space.)
_LINE_BREAK = re.compile(r"\n\s*")


def _render(kind: str, context: dict) -> str:
    return _LINE_BREAK.sub(" ", render_to_string(f"{TEMPLATE}#{kind}", context)).strip()


def render_fragment(campaign: Campaign, kind: str, snapshots) -> str:
    return _render(kind, fragment_context(campaign, snapshots))


def render_fragments(campaign: Campaign, snapshots, kinds=KINDS) -> dict[str, str]:
    if not kinds:
        return {}
    context = fragment_context(campaign, snapshots)
    return {kind: _render(kind, context) for kind in kinds}


def forget_and_watched(pks: list[int]) -> dict[int, set[str]]:
    """Drop the cached fragments of these changed campaigns, then say which kinds of each
    some stream watches (those are to be rendered and published).

    One round trip, in this order: a stream that starts watching after the read finds
    the cache empty and renders from the database, which already holds the change; one
    that watched before is in the answer. Either way no viewer keeps the old fragment.
    """
    if not pks:
        return {}
    members = [watch_member(kind, pk) for pk in pks for kind in KINDS]
    boards = [watch_member(kind, None) for kind in KINDS]
    pipe = redis_client().pipeline(transaction=False)
    for pk in pks:
        pipe.hincrby(VERSIONS_KEY, str(pk), 1)
    pipe.delete(*[fragment_key(pk, kind) for pk in pks for kind in KINDS])
    pipe.zmscore(WATCHING_KEY, boards + members)
    *_, scores = pipe.execute()
    now = time.time()
    live = {member for member, until in zip(boards + members, scores, strict=True)
            if until is not None and until > now}
    return {pk: {kind for kind in KINDS
                 if watch_member(kind, pk) in live or watch_member(kind, None) in live}
            for pk in pks}


# --- publish side (worker) ----------------------------------------------------------------


def publish_changes(changes: list[tuple[Campaign, dict[str, str], bool]]) -> None:
    """Cache and publish the fragments of changed campaigns: one message per change.

    `changes` holds (campaign, fragments, status_changed) triples; `fragments` may hold
    only the kinds being watched.
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
    publish_campaigns([pk])


def publish_campaigns(pks: list[int]) -> None:
    """`publish_campaign` for many (those the list sync found deleted in Atoms): two
    queries and one round trip to Redis, however many."""
    snapshots = snapshots_by_campaign(pks)
    publish_changes([(campaign, render_fragments(campaign, snapshots.get(campaign.pk, [])), True)
                     for campaign in Campaign.objects.filter(pk__in=pks)])


def removed_fragments(name: str = "") -> dict[str, str]:
    """What each kind of fragment says of a deleted campaign (its name, when known)."""
    html = _render("removed", {"name": name})
    return {"row": f'<td colspan="7">{html}</td>', "card": html, "detail": html}


def publish_removed(pk: int, name: str) -> None:
    """A deleted campaign: open pages say so, boards drop its card, the cache forgets it."""
    removed = removed_fragments(name)
    pipe = redis_client().pipeline(transaction=False)
    for kind in KINDS:
        pipe.delete(fragment_key(pk, kind))
    pipe.hdel(FETCHED_KEY, str(pk))
    pipe.hdel(VERSIONS_KEY, str(pk))
    pipe.publish(channel(), json.dumps({"campaign": pk, "status": "deleted",
                                        "status_changed": True, "fragments": removed}))
    pipe.execute()


def publish_added(campaigns: list[Campaign]) -> None:
    """Campaigns were added (made here, or found in Atoms' list): open campaign lists that
    would show them say so and offer to show them (the stream matches each list's search
    and status by name and status). Rows are not pushed into a list as they come: the one
    a person was about to click would move under the pointer."""
    if campaigns:
        redis_client().publish(channel(), json.dumps(
            {"added": [{"name": c.name, "status": c.status} for c in campaigns]}))


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
    try:
        stamps = redis_client().hmget(FETCHED_KEY, [str(pk) for pk in pks])
    except RedisError:
        health.mark_down()  # the page still renders; it says live updates are paused
        return {}
    return {pk: stamp.decode() for pk, stamp in zip(pks, stamps, strict=True) if stamp}


def render_from_database(campaigns: list[Campaign], kind: str) -> dict[int, str]:
    """One kind of fragment of each campaign as the database has it, charts included."""
    snapshots = snapshots_by_campaign(c.pk for c in campaigns)
    return {c.pk: render_fragment(c, kind, snapshots.get(c.pk, [])) for c in campaigns}


# KEYS: VERSIONS_KEY, then one fragment key per fragment. ARGV: seconds to keep, then per
# fragment its campaign's pk, the version read before rendering ("" for none) and the html.
_CACHE_IF_UNCHANGED = Script(None, b"""
for i = 2, #KEYS do
  local at = 2 + (i - 2) * 3
  if (redis.call('HGET', KEYS[1], ARGV[at]) or '') == ARGV[at + 1] then
    redis.call('SET', KEYS[i], ARGV[at + 2], 'EX', ARGV[1], 'NX')
  end
end
""")


def cache_if_unchanged(rendered: dict[int, str], kind: str,
                       versions: dict[int, bytes | None]) -> None:
    """Cache fragments rendered from the database where the cache holds none and no change
    came since `versions` was read (see VERSIONS_KEY); a cache that cannot be reached is
    left alone."""
    if not rendered:
        return
    args: list = [86400]
    for pk, html in rendered.items():
        args += [pk, versions.get(pk) or b"", html]
    try:
        _CACHE_IF_UNCHANGED([VERSIONS_KEY] + [fragment_key(pk, kind) for pk in rendered], args,
                            client=redis_client())
    except RedisError:
        health.mark_down()


def render_and_cache(pks: list[int], kind: str, versions: dict[int, bytes | None]
                     ) -> dict[int, str]:
    """One kind of fragment of these campaigns, read from the database now (any deleted
    meanwhile left out), and cached unless a change came since `versions` was read. Read
    after the versions, so a change committed before this read is in it, and one
    committed after it moved a version."""
    rendered = render_from_database(list(Campaign.objects.filter(pk__in=pks)), kind)
    cache_if_unchanged(rendered, kind, versions)
    return rendered


def cached_fragments(campaigns: list[Campaign], kind: str) -> dict[int, str]:
    """Fragments for a page: from the cache in one round trip, rendering only the misses."""
    if not campaigns:
        return {}
    pks = [c.pk for c in campaigns]
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.mget([fragment_key(pk, kind) for pk in pks])
        pipe.hmget(VERSIONS_KEY, [str(pk) for pk in pks])
        cached, versions = pipe.execute()
    except RedisError:
        # Redis down: every fragment from the database, nothing cached.
        health.mark_down()
        cached = versions = None
    found = dict(zip(pks, cached or [None] * len(pks), strict=True))
    missing = [pk for pk in pks if found[pk] is None]
    if missing and versions is not None:
        found.update(render_and_cache(missing, kind, dict(zip(pks, versions, strict=True))))
    # Redis down, or deleted since the page read it: as the page has it, and not cached.
    found.update(render_from_database([c for c in campaigns if found[c.pk] is None], kind))
    return {pk: value.decode() if isinstance(value, bytes) else value
            for pk, value in found.items()}
