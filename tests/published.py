"""Listening to what the dashboard publishes on its live channel, for tests."""

import json
import time

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
