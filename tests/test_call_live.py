"""A call in progress: its transcript relayed line by line through the dashboard's own
stream (the browser never holds the API key), ending when the call ends; and new calls
appearing in an open call log."""

import re
import threading

import pytest
from django.urls import reverse

from campaigns.models import Campaign
from tests.campaign_factory import make_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def running(sim, atoms_settings, users, settings):
    settings.CALL_LOG_CACHE_SECONDS = 0
    return make_campaign(sim, users["staff"], "running", audience_size=50, max_retries=0)


def live_call_ids(client, campaign):
    html = client.get(reverse("campaign_calls", args=[campaign.pk]),
                      {"status": "in_progress"}).content.decode()
    return ["CALL-" + part.split("/")[0] for part in html.split("/calls/CALL-")[1:]]


def call_log_tag(html: str) -> str:
    """The call log's own opening tag (the top bar's alert count refreshes itself too)."""
    return re.search(r'<div id="call-log"[^>]*>', html)[0]


def move_clock(sim, stop, steps):
    """Simulated time passes while the test reads the stream."""
    while not stop.wait(0.1):
        sim.advance(4)
        steps.append(1)


def test_the_live_transcript_arrives_line_by_line_and_stops_at_hang_up(running, login_as, sim):
    client = login_as("manager")
    calls = live_call_ids(client, running)
    assert len(calls) == 3
    page = client.get(reverse("campaign_call", args=[running.pk, calls[0]])).content.decode()
    assert 'data-testid="live-transcript"' in page
    assert reverse("call_live", args=[running.pk, calls[0]]) in page

    transcripts = {}
    for call_id in calls:  # one of the first three calls talks (fixed seed)
        response = client.get(reverse("call_live", args=[running.pk, call_id]))
        assert response["Content-Type"] == "text/event-stream"
        frames, steps = [], []
        stop = threading.Event()

        mover = threading.Thread(target=move_clock, args=(sim, stop, steps))
        mover.start()
        try:
            for chunk in response.streaming_content:
                frames.append((len(steps), chunk.decode() if isinstance(chunk, bytes) else chunk))
        finally:
            stop.set()
            mover.join()
        transcripts[call_id] = frames
    talked = {k: v for k, v in transcripts.items() if any("event: line" in f for _, f in v)}
    assert talked, "no live call spoke"
    call_id, frames = next(iter(talked.items()))
    lines = [(step, f) for step, f in frames if f.startswith("event: line")]
    assert len({step for step, _ in lines}) >= 3  # spread over the call, not one batch
    final = client.get(reverse("campaign_call", args=[running.pk, call_id])).content.decode()
    for _step, frame in lines:
        said = frame.split('class="said">')[1].split("</span>")[0]
        assert said in final  # the same words as the finished transcript
    assert frames[-2][1].startswith("event: status") and "The call has ended." in frames[-2][1]
    assert frames[-1][1].startswith("event: end")

    ended = client.get(reverse("call_live", args=[running.pk, call_id]))
    text = "".join(c.decode() if isinstance(c, bytes) else c for c in ended.streaming_content)
    assert "no longer in progress" in text and "event: line" not in text


def test_the_live_stream_needs_the_pages_permission(running, client):
    response = client.get(reverse("call_live", args=[running.pk, "CALL-1737000000000-abc123"]))
    assert response.status_code == 302 and "login" in response["Location"]


def test_new_calls_appear_while_the_call_log_is_open(running, login_as, sim):
    client = login_as("manager")
    url = reverse("campaign_calls", args=[running.pk])
    first = client.get(url).content.decode()
    assert 'hx-trigger="every' in call_log_tag(first)  # page one of a live campaign refreshes
    before = first.count('data-testid="call-row"')
    sim.advance(600)
    refreshed = client.get(url, {"attempt": "all", "size": 50}, HTTP_HX_REQUEST="true")
    html = refreshed.content.decode()
    assert html.lstrip().startswith('<div id="call-log"')
    assert html.count('data-testid="call-row"') > before
    Campaign.objects.filter(pk=running.pk).update(status="completed")
    done = client.get(url).content.decode()
    assert 'hx-trigger="every' not in call_log_tag(done)


def test_a_quiet_call_keeps_its_stream_open_with_comments(running, login_as, sim, settings):
    settings.CALL_LIVE_KEEPALIVE_SECONDS = 0.2
    client = login_as("staff")
    call_id = live_call_ids(client, running)[0]
    response = client.get(reverse("call_live", args=[running.pk, call_id]))
    chunks = iter(response.streaming_content)
    seen = [next(chunks) for _ in range(3)]  # nothing is said while the clock stands still
    assert all(": keep-alive" in (c.decode() if isinstance(c, bytes) else c) for c in seen[1:])
    sim.advance(600)  # the call ends
    rest = "".join(c.decode() if isinstance(c, bytes) else c for c in chunks)
    assert "The call has ended." in rest and rest.rstrip().endswith("data:")


def test_only_the_page_itself_says_the_live_transcript_ended(running, login_as):
    """The page fetches itself once its live transcript ends; a URL (a shared link) must not
    make a call in progress read as ended."""
    client = login_as("manager")
    url = reverse("campaign_call", args=[running.pk, live_call_ids(client, running)[0]])
    shared = client.get(url, {"ended": "1"}).content.decode()
    assert 'data-testid="live-call"' in shared and "The call has ended" not in shared
    refetched = client.get(url, headers={"HX-Request": "true", "HX-Trigger": "live-ended"})
    html = refetched.content.decode()
    assert "The call has ended; its details appear once Atoms reports them." in html
    assert 'data-testid="live-call"' not in html  # no second stream
