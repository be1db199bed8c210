"""The SSE endpoint over real HTTP (uvicorn): fragments after a change, heartbeats,
current state first on reconnect, and a cost to Atoms that ignores the number of viewers."""

import asyncio
import gzip
import json
import time
import zlib

import httpx
import psycopg
import pytest
import redis
from django.conf import settings
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from campaigns.live import compress, poll, publish, sync
from campaigns.live import stream as stream_module
from campaigns.models import Campaign
from dashboard.processes import database_url, session_cookie
from tests.campaign_factory import make_campaign
from tests.published import flood, mark_sent_so_far
from tests.sse_client import Stream
from tests.waiting import run_coroutine

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def stream_url(server, campaign, kind="detail") -> str:
    return f"{server.url}{reverse('live_stream')}?kind={kind}&ids={campaign.pk}"


def advance_and_poll(sim, campaign, seconds=300):
    sim.advance(seconds)
    Campaign.objects.filter(pk=campaign.pk).update(next_poll_at=None)
    return poll.tick()


def test_a_viewer_receives_the_fragment_after_a_change(web_server, sim, running, users):
    stream = Stream(stream_url(web_server, running), session_cookie(users["manager"]))
    try:
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.headers["cache-control"] == "no-cache"
        assert stream.headers["x-accel-buffering"] == "no"
        # httpx asks for gzip, as browsers do: the frames below came through it.
        assert stream.headers["content-encoding"] == "gzip"
        assert stream.headers["vary"] == "accept-encoding"
        stream.next(event=f"detail-{running.pk}")  # the current state comes first
        advance_and_poll(sim, running)
        running.refresh_from_db()
        frame = stream.next(event=f"detail-{running.pk}")
        assert f'data-testid="metric-called">{running.contacts_called}<' in frame.data
        tick = stream.next(event="tick")
        assert str(running.pk) in tick.data
    finally:
        stream.close()


def test_a_stream_tells_the_poller_what_its_viewer_watches(web_server, sim, running, users):
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(publish.WATCHING_KEY)
    stream = Stream(f"{web_server.url}{reverse('live_stream')}?kind=row&ids={running.pk}",
                    session_cookie(users["manager"]))
    try:
        stream.next(event=f"row-{running.pk}")
        until = client.zscore(publish.WATCHING_KEY, publish.watch_member("row", running.pk))
        assert until is not None and until > time.time()
        assert client.zscore(publish.WATCHING_KEY,
                             publish.watch_member("detail", running.pk)) is None
        advance_and_poll(sim, running)
        running.refresh_from_db()
        frame = stream.next(event=f"row-{running.pk}")
        assert f"{running.contacts_called:,} / " in frame.data
    finally:
        stream.close()


def test_a_session_check_kept_waiting_never_lets_what_a_viewer_watches_lapse(
        web_server, sim, running, users):
    """Each heartbeat renewed what the process's streams watch, then checked their
    sessions in the database; a check kept waiting (here by a lock on the sessions) kept
    the renewals waiting, the note lapsed, and the poller stopped rendering the viewer's
    changes while its ticks still called the page's numbers fresh (seen under load)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    member = publish.watch_member("row", running.pk)
    stream = Stream(f"{web_server.url}{reverse('live_stream')}?kind=row&ids={running.pk}",
                    session_cookie(users["manager"]))
    try:
        stream.next(event=f"row-{running.pk}")
        with psycopg.connect(database_url()) as holder:
            holder.execute("LOCK TABLE django_session IN ACCESS EXCLUSIVE MODE")
            noted = client.zscore(publish.WATCHING_KEY, member)
            # Longer than a note lasts (three of the server's 2 s heartbeats), then one more.
            time.sleep(8)
            assert client.zscore(publish.WATCHING_KEY, member) > noted + 4, "not renewed"
            advance_and_poll(sim, running)
            running.refresh_from_db()
            frame = stream.next(event=f"row-{running.pk}")
            holder.rollback()
        assert f"{running.contacts_called:,} / " in frame.data
    finally:
        stream.close()


def test_a_fragment_a_connecting_viewer_needed_is_cached_but_never_over_a_newer_one(
        web_server, sim, running, users):
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(publish.WATCHING_KEY)
    advance_and_poll(sim, running)  # nobody watches: the poll drops the cached fragments
    key = publish.fragment_key(running.pk, "detail")
    assert client.get(key) is None
    stream = Stream(stream_url(web_server, running), session_cookie(users["manager"]))
    try:
        first = stream.next(event=f"detail-{running.pk}")
    finally:
        stream.close()
    cached = client.get(key).decode()
    running.refresh_from_db()
    assert f'data-testid="metric-called">{running.contacts_called}<' in cached
    assert f'data-testid="metric-called">{running.contacts_called}<' in first.data
    client.set(key, "<p>newer</p>")
    versions = {running.pk: client.hget(publish.VERSIONS_KEY, str(running.pk))}
    publish.cache_if_unchanged({running.pk: "<p>older</p>"}, "detail", versions)
    assert client.get(key) == b"<p>newer</p>"


def called_in(html: str) -> int:
    return int(html.split('data-testid="metric-called">', 1)[1].split("<", 1)[0])


def test_a_fragment_rendered_before_a_change_nobody_watched_is_never_cached(sim, running):
    """A page or stream reads the cache's versions, then the database, renders, and caches;
    a poll that commits a change in between empties the cache, and the older fragment
    must not fill it (the next page would show numbers older than the database's)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(publish.WATCHING_KEY)
    advance_and_poll(sim, running)
    versions = {running.pk: client.hget(publish.VERSIONS_KEY, str(running.pk))}
    before = publish.render_from_database([Campaign.objects.get(pk=running.pk)], "detail")
    advance_and_poll(sim, running)  # commits a change and drops the cached fragments
    publish.cache_if_unchanged(before, "detail", versions)
    key = publish.fragment_key(running.pk, "detail")
    assert client.get(key) is None
    # With no change in between, what was rendered is kept for the next reader.
    versions = {running.pk: client.hget(publish.VERSIONS_KEY, str(running.pk))}
    now = publish.render_from_database([Campaign.objects.get(pk=running.pk)], "detail")
    publish.cache_if_unchanged(now, "detail", versions)
    assert client.get(key).decode() == now[running.pk]


def test_a_page_holding_a_row_older_than_a_change_shows_and_caches_the_newer_numbers(
        sim, running):
    """A page queries its campaigns before it asks the cache: a poll committed between
    the two leaves the page an older row, which it must neither show nor cache."""
    redis.Redis.from_url(settings.REDIS_URL).delete(publish.WATCHING_KEY)
    older = Campaign.objects.get(pk=running.pk)
    advance_and_poll(sim, running)
    running.refresh_from_db()
    assert running.contacts_called > older.contacts_called
    html = publish.cached_fragments([older], "detail")[running.pk]
    assert called_in(html) == running.contacts_called
    cached = redis.Redis.from_url(settings.REDIS_URL).get(
        publish.fragment_key(running.pk, "detail")).decode()
    assert called_in(cached) == running.contacts_called


def test_a_campaign_list_hears_of_campaigns_added_in_atoms_and_other_pages_do_not(
        web_server, sim, running, users):
    """A list whose page shows no live campaign (ids empty) still hears of additions; a
    campaign's own page is not told."""
    cookies = session_cookie(users["manager"])
    url = f"{web_server.url}{reverse('live_stream')}?kind=row&ids=&added=1"
    listing = Stream(url, cookies)
    searching = Stream(f"{url}&q=MUMBAI", cookies)  # any case, as the list's search
    elsewhere = Stream(f"{url}&q=no+such+name", cookies)
    detail = Stream(stream_url(web_server, running), cookies)
    try:
        assert listing.status == 200
        detail.next(event=f"detail-{running.pk}")
        before = Campaign.objects.count()
        mumbai = Campaign.objects.filter(name__icontains="mumbai").count()

        report = sync.sync_campaign_list()  # the simulator's own campaigns, made "elsewhere"

        assert report.added >= 4 and Campaign.objects.count() == before + report.added
        assert listing.next(event="added").data == str(report.added)
        found = Campaign.objects.filter(name__icontains="mumbai").count() - mumbai
        assert 0 < found < report.added
        assert searching.next(event="added").data == str(found)
        # Published after the addition: these streams have every frame before it.
        mark_sent_so_far()
        for stream in (detail, elsewhere):
            frames = []
            while not (frames and frames[-1].event == "tick"):
                frames.append(stream.next())
            assert "added" not in [frame.event for frame in frames]
    finally:
        for stream in (listing, searching, elsewhere, detail):
            stream.close()


def test_a_list_whose_stream_was_down_is_told_on_reconnecting_of_what_it_missed(
        web_server, sim, atoms_settings, users):
    """A campaign made while a list's stream was down was never told: the page's stream
    carries the newest campaign the list was drawn with, and counts what it would show
    that came after it."""
    drawn = Campaign.objects.aggregate(newest=Max("pk"))["newest"] or 0
    make_campaign(sim, users["staff"], "draft", name="Made meanwhile")
    cookies = session_cookie(users["manager"])
    url = f"{web_server.url}{reverse('live_stream')}?kind=row&ids=&added=1&upto={drawn}"
    missed = Stream(url, cookies)
    other_search = Stream(f"{url}&q=renewals", cookies)
    try:
        assert missed.next(event="added-since").data == "1"
        mark_sent_so_far()
        frames = []
        while not (frames and frames[-1].event == "tick"):
            frames.append(other_search.next())
        assert "added-since" not in [frame.event for frame in frames]
    finally:
        missed.close()
        other_search.close()


def ticks_until_marker(stream: Stream) -> list[list[int]]:
    """The ids of each tick a stream receives until `mark_sent_so_far`'s empty one."""
    ticks = []
    while (ids := json.loads(stream.next(event="tick").data)["ids"]):
        ticks.append(ids)
    return ticks


def test_each_stream_is_told_only_of_the_refreshed_campaigns_it_watches(
        web_server, running, users):
    """A page of one campaign was sent every refreshed id, each interval (about 5 KB at
    1,000 active campaigns); a board needs them all."""
    cookies = session_cookie(users["manager"])
    other, elsewhere = 424242, 434343
    base = f"{web_server.url}{reverse('live_stream')}"
    one = Stream(stream_url(web_server, running), cookies)
    rows = Stream(f"{base}?kind=row&ids={running.pk},{other}", cookies)
    board = Stream(f"{base}?kind=card&ids=all", cookies)
    streams = (one, rows, board)
    try:
        for stream in streams:
            stream.next()  # subscribed: its first state came
        mark_sent_so_far()
        for stream in streams:
            ticks_until_marker(stream)  # past the first state's own ticks
        publish.publish_tick(timezone.now(), [elsewhere, other, running.pk])
        publish.publish_tick(timezone.now(), [elsewhere])
        mark_sent_so_far()
        assert ticks_until_marker(one) == [[running.pk]]
        assert ticks_until_marker(rows) == [sorted([running.pk, other])]
        assert ticks_until_marker(board) == [[elsewhere, other, running.pk], [elsewhere]]
    finally:
        for stream in streams:
            stream.close()


def test_an_idle_stream_gets_heartbeats(web_server, sim, running, users):
    stream = Stream(stream_url(web_server, running), session_cookie(users["staff"]))
    try:
        stream.drain()
        started = time.monotonic()
        heartbeat = stream.next(event="", timeout=8)  # the test server beats every 2 s
        assert heartbeat.data == ": ping"
        assert time.monotonic() - started < 6
    finally:
        stream.close()


def test_a_reconnecting_viewer_first_gets_the_current_state(web_server, sim, running, users):
    advance_and_poll(sim, running)
    running.refresh_from_db()
    stream = Stream(stream_url(web_server, running), session_cookie(users["staff"]))
    try:
        first = stream.next()
        assert first.event == f"detail-{running.pk}"
        assert f'data-testid="metric-called">{running.contacts_called}<' in first.data
        fresh = stream.next()
        assert fresh.event == "tick" and str(running.pk) in fresh.data
    finally:
        stream.close()


def test_an_anonymous_visitor_gets_no_stream(web_server, running):
    import httpx

    response = httpx.get(stream_url(web_server, running), follow_redirects=False)
    assert response.status_code == 302
    assert "/accounts/login/" in response.headers["location"]


@pytest.mark.parametrize("query", ["kind=row&ids=1,abc", "kind=row&ids=²",
                                   "kind=bogus&ids=1", "kind=row&ids=",
                                   "kind=row&ids=" + ",".join(map(str, range(600))),
                                   "kind=card&ids=99999999999999999999",
                                   f"kind=card&ids=1,{2**63}"])
def test_a_bad_stream_request_is_a_clear_400(web_server, users, query):
    import httpx

    # Streamed: a request wrongly let through is a stream that never ends.
    with (httpx.Client(cookies=session_cookie(users["staff"])) as client,
          client.stream("GET", f"{web_server.url}/live/?{query}") as response):
        assert response.status_code == 400
        text = response.read().decode()
    assert "ids" in text or "kind" in text


@pytest.mark.parametrize("others", ['consent={"ads":false,"stats":true}', "pref=dark mode",
                                    "name=Jürgen"])
def test_a_cookie_before_the_session_that_is_not_strictly_formed_keeps_the_stream(
        web_server, running, users, others):
    """Read as pages read it: a cookie Python's SimpleCookie finds malformed must not hide
    the session cookie after it (the person would be signed out of live updates alone)."""
    (name, value), = session_cookie(users["manager"]).items()
    with (httpx.Client(timeout=httpx.Timeout(5, read=10)) as client,
          client.stream("GET", stream_url(web_server, running),
                        headers={"Cookie": f"{others}; {name}={value}".encode()}) as response):
        assert response.status_code == 200


@pytest.mark.parametrize("viewers", [1, 50])
def test_atoms_calls_per_cycle_do_not_depend_on_viewers(web_server, sim, running, users,
                                                        viewers):
    cookies = session_cookie(users["manager"])
    streams = [Stream(stream_url(web_server, running), cookies) for _ in range(viewers)]
    try:
        before = sim.calls_to("GET /campaign/{id}")
        cycles = 3
        for _ in range(cycles):
            advance_and_poll(sim, running, seconds=120)
        assert sim.calls_to("GET /campaign/{id}") - before == cycles  # one per active campaign
        running.refresh_from_db()
        expected = f'data-testid="metric-called">{running.contacts_called}<'
        for stream in streams:  # and every viewer gets the latest numbers
            while expected not in stream.next(event=f"detail-{running.pk}").data:
                pass
    finally:
        for stream in streams:
            stream.close()


def test_a_page_rendered_before_a_status_change_is_told_to_refresh_its_buttons(
        web_server, sim, running, users):
    url = stream_url(web_server, running) + "&state=processing:start"
    stream = Stream(url, session_cookie(users["staff"]))
    try:
        # Sent on connecting; the time allowed is a loaded machine's, not a bound on it
        # (5 s once ran out with four test workers on two cores).
        frame = stream.next(event=f"status-{running.pk}")
        assert frame.data == "running"
    finally:
        stream.close()


def test_a_page_in_the_current_state_gets_no_status_event(web_server, sim, running, users):
    url = stream_url(web_server, running) + f"&state={running.button_state}"
    stream = Stream(url, session_cookie(users["staff"]))
    try:
        frames = [stream.next(timeout=8)]
        while frames[-1].event != "":  # everything up to the first heartbeat
            frames.append(stream.next(timeout=8))
        assert f"detail-{running.pk}" in [f.event for f in frames]
        assert not [f for f in frames if f.event.startswith("status-")]
    finally:
        stream.close()


def test_open_streams_hold_no_database_connections(web_server, sim, running, users):
    from django.db import connection

    def open_connections() -> int:
        with connection.cursor() as cursor:
            cursor.execute("select count(*) from pg_stat_activity where datname = "
                           "current_database() and pid <> pg_backend_pid()")
            return cursor.fetchone()[0]

    before = open_connections()
    cookies = session_cookie(users["manager"])
    streams = [Stream(stream_url(web_server, running), cookies) for _ in range(20)]
    try:
        for stream in streams:
            stream.next(event=f"detail-{running.pk}")
        assert open_connections() - before <= 1
    finally:
        for stream in streams:
            stream.close()


def test_a_signed_in_user_without_a_role_is_refused(web_server, running, django_user_model):
    import httpx

    nobody = django_user_model.objects.create_user("no-role", password="x-long-password-1")
    response = httpx.get(stream_url(web_server, running), cookies=session_cookie(nobody))
    assert response.status_code == 403


def change_after_the_first_frame(pk: int, meanwhile) -> str:
    """A detail viewer of campaign `pk` in a fresh process: its first frame, then
    `await meanwhile(broadcaster)`, then a change of `pk` published; the chunk it gets."""

    async def first_then_next():
        broadcaster = stream_module.broadcaster
        broadcaster.viewers.clear()  # a fresh process: no subscription yet
        frames = stream_module.event_stream(stream_module.Viewer("detail", {pk}))
        try:
            await frames.__anext__()  # "retry" and the (empty) current state
            await meanwhile(broadcaster)
            await asyncio.to_thread(
                publish.publish_changes,
                [(Campaign(pk=pk, status="paused"), {"detail": "<p>paused</p>"}, True)])
            return "".join(await asyncio.wait_for(frames.__anext__(), timeout=3))
        finally:
            await frames.aclose()

    return run_coroutine(first_then_next())


def test_a_change_published_right_after_the_first_frame_is_not_lost(db):
    """The first frame is sent only once the stream's Redis subscription is confirmed, so a
    change published the moment a page has its first state reaches it (before, a status
    event could fall between the two and leave the page's buttons stale)."""

    async def subscription_counted(broadcaster):
        # Redis itself counts the subscription by then.
        counts = dict(await broadcaster.redis().pubsub_numsub(publish.channel()))
        assert counts[publish.channel().encode()] >= 1

    chunk = change_after_the_first_frame(424242, subscription_counted)
    assert "event: detail-424242" in chunk and "event: status-424242" in chunk


def test_messages_a_process_cannot_read_are_skipped_and_later_changes_still_arrive(db):
    """A message from another release (a rolling deploy), or plain noise on the channel,
    ended the process's one subscription before: every open stream then stood still."""

    async def noise(broadcaster):
        for message in ("not json", "null", "[1, 2]", '{"shape": "of a newer release"}',
                        '{"campaign": 434343}'):
            await broadcaster.redis().publish(publish.channel(), message)

    chunk = change_after_the_first_frame(434343, noise)
    assert "event: detail-434343" in chunk and "<p>paused</p>" in chunk


def test_a_fragment_cached_by_an_earlier_release_is_never_shown(sim, running):
    """Fragments are cached a day; a release with another template must not serve the old
    layout from the cache (the key was the same for every release before)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    stale = "<p data-testid=stale>rendered by the release before</p>"
    for key in (f"live:fragment:detail:{running.pk}",  # the unversioned key of before
                f"live:fragment:00000000:detail:{running.pk}"):  # another template's
        client.set(key, stale)
    html = publish.cached_fragments([Campaign.objects.get(pk=running.pk)], "detail")[running.pk]
    assert "stale" not in html and 'data-testid="metric-called"' in html


def test_a_gzipped_stream_delivers_each_write_at_once_and_ends_as_a_whole_gzip_file(
        web_server, sim, running, users):
    """Compressed pieces must each be readable as they arrive (a compressor holding them
    back would hold the numbers back), and a stream the server ends (here, a viewer too
    far behind) must end as a whole gzip stream, its trailer's CRC and length right."""
    received, readable = [], zlib.decompressobj(wbits=31)
    with httpx.Client(cookies=session_cookie(users["staff"]),
                      timeout=httpx.Timeout(5, read=30)) as client, client.stream(
            "GET", stream_url(web_server, running),
            headers={"accept-encoding": "gzip"}) as response:
        assert response.headers["content-encoding"] == "gzip"
        for piece in response.iter_raw():
            received.append(piece)
            if len(received) == 1:
                first = readable.decompress(piece).decode()
                assert first.startswith("retry: 3000")
                assert f"event: detail-{running.pk}" in first
                flood(running.pk)  # more than the viewer's queue holds: the server ends it
    text = gzip.decompress(b"".join(received)).decode()  # checks the CRC and the length
    assert text.startswith(first)
    assert text.count("event: tick") > 0


def test_a_viewer_that_does_not_ask_for_gzip_gets_plain_frames(web_server, running, users):
    with httpx.Client(cookies=session_cookie(users["staff"]),
                      timeout=httpx.Timeout(5, read=30)) as client, client.stream(
            "GET", stream_url(web_server, running),
            headers={"accept-encoding": "gzip;q=0, identity"}) as response:
        assert "content-encoding" not in response.headers
        first = next(response.iter_raw()).decode()
    assert first.startswith("retry: 3000") and f"event: detail-{running.pk}" in first


@pytest.mark.parametrize(("header", "gzipped"), [
    ("gzip, deflate, br, zstd", True), ("GZIP", True), ("deflate, gzip;q=0.5", True),
    ("*", True), ("gzip;q=0", False), ("gzip;q=0.000, *", False), ("identity", False),
    ("", False), (None, False), ("gzip;q=nonsense", False), ("x-gzip", True),
])
def test_what_counts_as_asking_for_gzip(header, gzipped):
    assert compress.accepts_gzip(header) is gzipped


def test_frames_deflated_once_and_shared_make_each_viewers_gzip_stream(db):
    """Viewers share the deflated frames but not their order; each stream must still
    decompress to exactly its own frames (the CRC of each covers its own)."""
    frames = ["retry: 3000\n\n", "event: card-1\ndata: <p>é 1</p>\n\n", ": ping\n\n",
              "event: tick\ndata: {}\n\n"]
    one, other = compress.GzipStream(), compress.GzipStream()
    first = one.encode(frames[:2]) + one.encode(frames[2:]) + one.end()
    second = other.encode([frames[0], frames[3]]) + other.encode([frames[1]]) + other.end()
    assert gzip.decompress(first).decode() == "".join(frames)
    assert gzip.decompress(second).decode() == frames[0] + frames[3] + frames[1]
    assert gzip.decompress(compress.GzipStream().end()) == b""  # ended before any frame
