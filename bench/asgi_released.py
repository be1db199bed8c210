"""The shipped ASGI application plus one change these benchmarks propose, for the web
server of the benchmarks that need hundreds of viewers.

As shipped, every open live stream keeps the PostgreSQL connection its request opened
(for the session, the permission check and the current state) until the stream ends:
Django closes a request's connections on `request_finished`, which for a streaming
response comes only when the viewer leaves. So each viewer holds one connection, and the
server's `max_connections` (100 here, shared with the worker) caps the number of viewers.
The change: once the stream has sent the current state, it hands its connections back.
`sse_memory` measures the shipped server and this one side by side.

This module is benchmark scaffolding, not a fix: the fix belongs in campaigns/live.py.
"""

from asgiref.sync import sync_to_async
from django.db import connections

from dashboard.asgi import application


def _install() -> None:
    # Imported here: the models need Django set up, which loading dashboard.asgi did.
    from campaigns import live

    shipped_current_state = live._current_state

    async def current_state_then_release(viewer):
        try:
            return await shipped_current_state(viewer)
        finally:
            # Runs on the request's own sync thread (thread-sensitive, in the request's
            # context): the thread whose connection the auth and the query opened.
            await sync_to_async(connections.close_all)()

    live._current_state = current_state_then_release


_install()
__all__ = ["application"]
