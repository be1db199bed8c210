"""A real Celery worker with its beat, on real Redis (not eager mode), polls the simulator:
the mirror, the cache, the snapshots and the published messages change by themselves."""

import json
import time

import pytest
import redis
from django.conf import settings
from django.urls import reverse

from campaigns.connections import redis_client
from campaigns.live import publish
from campaigns.models import Campaign, MetricSnapshot
from tests.campaign_factory import make_campaign
from tests.published import watch
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def drop_this_suites_redis_connections() -> None:
    """Every connection to this suite's cache and broker databases, as a Redis restart
    would drop them; not `CLIENT KILL TYPE normal`, which would also cut every other
    suite sharing the Redis server (their streams and workers) in the middle of a test."""
    client = redis_client()
    ours = {_db(settings.REDIS_URL), _db(settings.CELERY_BROKER_URL)}
    me = client.client_id()
    victims = [c["id"] for c in client.client_list(_type="normal")
               if int(c["db"]) in ours and int(c["id"]) != me]
    assert victims  # at least the worker's broker connections
    for victim in victims:
        client.client_kill_filter(_id=victim)


def _db(url: str) -> int:
    return redis.Redis.from_url(url).connection_pool.connection_kwargs.get("db", 0)


def test_the_beat_polls_a_running_campaign_and_publishes_its_changes(
        celery_worker, sim, atoms_settings, users):
    running = make_campaign(sim, users["staff"], "running", audience_size=50)
    watch(running.pk, seconds=120)  # an open page
    pubsub = redis_client().pubsub()
    pubsub.subscribe(publish.channel())
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"
    snapshots = MetricSnapshot.objects.filter(campaign=running).count()
    called = running.contacts_called

    sim.advance(900)  # Atoms dials; nobody in this test calls the poller

    def mirror_moved():
        running.refresh_from_db()
        return running.contacts_called > called

    wait_until(mirror_moved, what="the mirror's contacts called rising")
    assert MetricSnapshot.objects.filter(campaign=running).count() > snapshots

    # The fragment is cached just after the mirror's commit: wait for it, don't race it.
    def cached_card():
        cached = redis_client().get(publish.fragment_key(running.pk, "card"))
        shown = f'data-testid="card-called">{running.contacts_called}<'
        return cached is not None and shown in cached.decode()

    wait_until(cached_card, what="the cached card showing the new count")

    def published_change():
        message = pubsub.get_message(timeout=1)
        if message and message["type"] == "message":
            body = json.loads(message["data"])
            return body if body.get("campaign") == running.pk else None
        return None

    change = wait_until(published_change, what="a published change")
    assert set(change["fragments"]) == {"row", "card", "detail"}
    pubsub.close()


def test_a_draft_made_here_is_read_once_by_the_worker_so_its_page_shows_atoms_events(
        celery_worker, sim, atoms_settings, users, login_as):
    """Atoms' answer to the create carries no events, and drafts are not polled: the page
    said "No events reported by Atoms yet" beside Atoms' own "created" event."""
    draft = make_campaign(sim, users["staff"], "draft", name="Only created")
    assert not draft.is_active()  # not on the boards, not in the poll

    def events():
        draft.refresh_from_db()
        return draft.events

    assert [event["action"] for event in wait_until(events, what="the one read")] == [
        "created"]
    html = login_as("manager").get(reverse("campaign_detail", args=[draft.pk])).content
    assert "No events reported by Atoms yet" not in html.decode()
    time.sleep(3)  # three of the worker's ticks: a draft is still not polled
    assert sim.calls_to("GET /campaign/{id}") == 1


def test_a_start_click_is_confirmed_by_the_worker_without_anyone_polling(
        celery_worker, sim, atoms_settings, users, login_as):
    draft = make_campaign(sim, users["staff"], "draft")
    login_as("staff").post(reverse("campaign_start", args=[draft.pk]))
    sim.advance(10)  # past Atoms' processing step

    def confirmed():
        draft.refresh_from_db()
        return draft.status == "running" and draft.pending_action == ""

    wait_until(confirmed, what="the worker confirming the start")


def test_the_worker_keeps_polling_after_redis_restarts_its_connections(
        celery_worker, sim, atoms_settings, users):
    """Celery 5.x workers have stopped consuming after a Redis reconnect (celery#8030,
    #8091, #9054): drop every client connection and check the beat still gets through."""
    running = make_campaign(sim, users["staff"], "running", audience_size=50)
    drop_this_suites_redis_connections()
    called = Campaign.objects.get(pk=running.pk).contacts_called
    sim.advance(900)

    def moved():
        return Campaign.objects.get(pk=running.pk).contacts_called > called

    wait_until(moved, timeout=40, what="polling resuming after the reconnect")
