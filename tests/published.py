"""Listening to what the dashboard publishes on its live channel, for tests."""

import json
import time

from django.utils import timezone

from campaigns.connections import redis_client
from campaigns.live import publish


class Published:
    """Every message the poller publishes on the live channel while the test runs."""

    def __init__(self):
        self.pubsub = redis_client().pubsub()
        self.pubsub.subscribe(publish.channel())
        # Wait for Redis to confirm, or a message published right away could be missed.
        confirmation = self.pubsub.get_message(timeout=2)
        assert confirmation and confirmation["type"] == "subscribe"

    def messages(self) -> list[dict]:
        found = []
        while (message := self.pubsub.get_message(timeout=0.2)) is not None:
            if message["type"] == "message":
                found.append(json.loads(message["data"]))
        return found

    def changes(self) -> list[dict]:
        return [m for m in self.messages() if "campaign" in m]


def watch(pk: int | None, kinds=publish.KINDS, seconds: float = 60) -> None:
    """Note that some stream watches these fragments of campaign `pk` (None: a board of
    all), as an open page's stream does: the poller renders only what is watched."""
    until = time.time() + seconds
    redis_client().zadd(publish.WATCHING_KEY,
                        {publish.watch_member(kind, pk): until for kind in kinds})


def server_said(server, words: str) -> int:
    """How many times the web server has logged `words` so far."""
    return server.process.output(tail=10**7).count(words)


def mark_sent_so_far() -> None:
    """Publish a tick naming no campaign: every open stream receives it, after every
    frame published before it (the poller's own ticks go only to those watching)."""
    redis_client().publish(publish.channel(), json.dumps(
        {"tick": timezone.now().isoformat(), "ids": []}))


def flood(pk: int, messages: int = 600) -> None:
    """More tick messages for campaign `pk` at once than a viewer's queue holds
    (stream.QUEUE_LIMIT): the web server ends the streams that watch it as too far behind,
    as it would after a burst of changes a slow viewer could not take."""
    stamp = timezone.now().isoformat()
    pipe = redis_client().pipeline(transaction=False)
    for _ in range(messages):
        pipe.publish(publish.channel(), json.dumps({"tick": stamp, "ids": [pk]}))
    pipe.execute()
